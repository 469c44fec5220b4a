//! The HTTP server: settings, database, router, and serving until shutdown. Server only.

use std::{net::SocketAddr, pin::Pin, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::{FromRef, Request, State},
    http::{HeaderValue, StatusCode, Uri, header},
    response::Response,
    routing::get,
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use magic_link_core::config::redact_url;
use migration::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, DbErr};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tower_http::{
    compression::CompressionLayer, limit::RequestBodyLimitLayer,
    set_header::SetResponseHeaderLayer, trace::TraceLayer,
};

use crate::{
    app::{App, shell},
    assets,
    auth::{AuthConfig, AuthService, ClientLimits, ConfigError, MagicLinkRouter, ServiceError},
};

/// Why the server could not start. Each variant names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not read the Leptos settings: {0}")]
    LeptosConfig(String),
    /// `url` has its password masked.
    #[error("could not connect to the database at {url}: {source}")]
    Connect { url: String, source: DbErr },
    #[error("could not apply database migrations: {0}")]
    Migrate(DbErr),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "MAGIC_LINK_METRICS_ADDR={0:?} is not usable: must be an address and port, such as 127.0.0.1:9090"
    )]
    MetricsAddr(String),
    #[error("could not start the metrics recorder: {0}")]
    Metrics(String),
}

/// What every request handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub auth: AuthService,
}

impl AppState {
    /// Wires the auth component to `db` with `config`, using the real clock.
    pub fn new(
        leptos_options: LeptosOptions,
        db: DatabaseConnection,
        config: AuthConfig,
    ) -> Result<Self, StartupError> {
        // The demo keeps its own `users` table through the sign-in and sign-out hooks.
        let users = Arc::new(crate::users::UsersTable::new(db.clone()));
        let auth = AuthService::builder(db.clone(), config)
            .hooks(users)
            .build()?;
        Ok(Self {
            leptos_options,
            db,
            auth,
        })
    }
}

/// Logs to stdout, filtered by `RUST_LOG` (default: `info,sqlx=warn`: one line per query is
/// noise): as text, or with `MAGIC_LINK_LOG_FORMAT=json` as one JSON object per line for a log
/// shipper (tracing-subscriber's own JSON formatter).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let format = std::env::var("MAGIC_LINK_LOG_FORMAT").unwrap_or_default();
    let format = format.trim().to_ascii_lowercase();
    if format == "json" {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(false)
            .init();
        return;
    }
    // Colour only for a person at a terminal: a log file or a collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .init();
    if !format.is_empty() && format != "text" {
        tracing::warn!(value = %format, "MAGIC_LINK_LOG_FORMAT is neither text nor json: logging text");
    }
}

/// Connects to the database and brings its schema up to date.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, StartupError> {
    let db = crate::auth::database::connect(url)
        .await
        .map_err(|source| StartupError::Connect {
            url: redact_url(url),
            source,
        })?;
    Migrator::up(&db, None)
        .await
        .map_err(StartupError::Migrate)?;
    Ok(db)
}

/// Reads the settings, prepares the database, and serves until SIGTERM or Ctrl-C.
pub async fn run() -> Result<(), StartupError> {
    // Settings first: a bad value stops the server before it touches anything.
    // The demo's own MAGIC_LINK_* variables, which it reads itself.
    let config =
        AuthConfig::from_env_allowing(&["MAGIC_LINK_LOG_FORMAT", "MAGIC_LINK_METRICS_ADDR"])?;
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    let conf =
        get_configuration(None).map_err(|err| StartupError::LeptosConfig(err.to_string()))?;
    let mut leptos_options = conf.leptos_options;
    // A release binary is a deployment unless told otherwise: no development reload socket
    // in its pages or their Content-Security-Policy.
    if !cfg!(debug_assertions) && std::env::var_os("LEPTOS_ENV").is_none() {
        leptos_options.env = leptos::config::Env::PROD;
    }
    let addr = leptos_options.site_addr;
    let metrics = metrics_addr()?;
    let database_url = database_url()?;
    let db = connect_and_migrate(database_url.expose_secret()).await?;
    if let Some(metrics) = metrics {
        serve_metrics(metrics).await?;
    }

    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    // The site's address is the public URL: a request for another host is sent there.
    tracing::info!(
        "listening on http://{addr}; the site is {public}",
        public = config.public_url
    );
    let state = AppState::new(leptos_options, db, config)?;
    serve(listener, state, leptos_magic_link::shutdown_signal()).await
}

/// Where the demo's database lives when `DATABASE_URL` is unset or empty: a SQLite file in the
/// working folder, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://magic_link_auth.db?mode=rwc";

/// `DATABASE_URL`: the app's database, which the auth tables share. It may hold a password,
/// so a refused value is shown through `redact_url`.
fn database_url() -> Result<SecretString, StartupError> {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if known.iter().any(|scheme| url.starts_with(scheme)) {
        return Ok(url.into());
    }
    Err(ConfigError {
        variable: "DATABASE_URL",
        value: redact_url(&url),
        rule: "must start with sqlite:, postgres:// or postgresql://",
        secret: false,
    }
    .into())
}

/// `MAGIC_LINK_METRICS_ADDR`: where to serve `/metrics`, if anywhere.
fn metrics_addr() -> Result<Option<SocketAddr>, StartupError> {
    let Some(value) = std::env::var("MAGIC_LINK_METRICS_ADDR")
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
    else {
        return Ok(None);
    };
    value
        .parse()
        .map(Some)
        .map_err(|_| StartupError::MetricsAddr(value))
}

/// Installs the Prometheus recorder and serves its text at `/metrics` on `addr`, a listener of
/// its own: the app's address never serves it.
async fn serve_metrics(addr: SocketAddr) -> Result<(), StartupError> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    // Seconds: 1 ms to 30 s, for request and mail-send times.
    const BUCKETS: [f64; 14] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &BUCKETS)
        .and_then(|builder| builder.install_recorder())
        .map_err(|err| StartupError::Metrics(err.to_string()))?;
    crate::auth::describe_metrics();
    // Without the exporter's own listener, its upkeep (draining histogram samples) is ours.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticks.tick().await;
            upkeep.run_upkeep();
        }
    });
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    tracing::info!("serving metrics on http://{addr}/metrics");
    let metrics = Router::new()
        .route("/metrics", get(move || std::future::ready(handle.render())))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES));
    // The app's own loop and limits: a client that trickles its request is cut off here too.
    // It serves until the process ends.
    tokio::spawn(leptos_magic_link::serve_with(
        listener,
        metrics,
        ClientLimits::default(),
        std::future::pending(),
    ));
    Ok(())
}

/// How long a graceful shutdown waits for the messages being sent and those due once the
/// requests in flight are done (the rest stay in the outbox for another instance, or for
/// this one's restart).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Serves the app on `listener` until `shutdown` completes; in-flight requests finish first,
/// then the messages due go out.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    serve_with(listener, state, ClientLimits::default(), shutdown).await
}

/// As [`serve`], with `limits` on slow clients.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    limits: ClientLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let cleanup = state.auth.spawn_cleanup();
    let mail = state.auth.mail_queue().clone();
    leptos_magic_link::serve_with(listener, router(state), limits, shutdown).await;
    if tokio::time::timeout(SHUTDOWN_GRACE, mail.drained())
        .await
        .is_err()
    {
        tracing::warn!("shutting down while an email is still being sent");
    }
    cleanup.abort();
    Ok(())
}

/// Every route: health, server functions, pages, and static files with a 404 page.
pub fn router(state: AppState) -> Router {
    // The auth pages' paths were fixed when the service was built, before this route table.
    let routes = route_list();
    let options = state.leptos_options.clone();

    let router = Router::new()
        .route("/healthz", get(healthz))
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(static_file_or_page())
        // Pages and API replies may carry personal data (the address, the sessions): no
        // cache keeps them, the browser's included. Static files set their own caching.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // The auth service for every server function and page; and before any endpoint
        // runs, a state-changing request from another site is refused and changes nothing.
        // It also brings the auth routes' headers and body limit, and HSTS over https.
        .with_magic_link(state.auth.clone())
        // Every form here is a few fields: anything bigger is refused with 413 unread.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // Pages and JSON are compressed on the way out; embedded files come precompressed
        // and keep their encoding. No page carries a secret a compression side channel
        // could read: the session token lives only in an HttpOnly cookie.
        .layer(CompressionLayer::new())
        // The path only: a query may hold a link's token.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                tracing::debug_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        .with_state(state);
    #[cfg(feature = "bench")]
    let router = router.route("/bench/hello", get(|| async { "Hello, World!" }));
    router
}

/// The app's routes, generated once per process. They depend only on the auth pages' paths,
/// which are fixed per process; and generating them holds back every resource in the process
/// while it runs (leptos's process-wide `SuppressResourceLoad`), so a page rendered by another
/// router at that moment would wait forever. A binary builds one router before it serves; the
/// tests build one per server, many while others serve.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Serves an embedded static file when the binary carries the site, else a file from the
/// site folder, else the app's 404 page.
fn static_file_or_page()
-> impl Fn(Uri, State<AppState>, Request<Body>) -> Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ 'static {
    let files = leptos_axum::file_and_error_handler::<AppState, _>(shell);
    move |uri, state, request| {
        if let Some(response) = assets::respond(request.method(), uri.path(), request.headers()) {
            return Box::pin(std::future::ready(response));
        }
        files(uri, state, request)
    }
}

/// The largest request body accepted: the auth endpoints' own limit, for the demo's forms
/// too.
pub const MAX_BODY_BYTES: usize = leptos_magic_link::MAX_BODY_BYTES;

/// Ready when the database answers a query on the app's own tables: a load balancer stops
/// sending traffic otherwise. (A bare ping is not enough: SQLite answers it from memory even
/// when its file can no longer be read.)
async fn healthz(State(auth): State<AuthService>) -> (StatusCode, &'static str) {
    match auth.health().await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
