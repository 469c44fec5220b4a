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
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};
use tokio::net::TcpListener;
use tower_http::{
    compression::CompressionLayer, limit::RequestBodyLimitLayer,
    set_header::SetResponseHeaderLayer, trace::TraceLayer,
};

use crate::{
    app::{App, shell},
    assets,
    auth::{
        config::{AuthConfig, ConfigError},
        route,
        service::{AuthService, ServiceError},
    },
};

/// Why the server could not start. Each variant names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not read the Leptos settings: {0}")]
    LeptosConfig(String),
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
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
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
        crate::auth::mail::mailgun::install_crypto_provider();
        // The demo keeps its own `users` table through the sign-in and sign-out hooks.
        let users = Arc::new(crate::users::UsersTable::new(db.clone()));
        let auth = AuthService::from_config(db.clone(), config)?.with_hooks(users);
        Ok(Self {
            leptos_options,
            db,
            auth,
        })
    }
}

/// Logs to stdout, filtered by `RUST_LOG` (default: `info,sqlx=warn`: one line per query is noise).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

/// How long a request waits for a database connection before it is told the database is
/// unavailable (503). Short, so a database outage is reported at once rather than after
/// sqlx's default 30 s; the pool reconnects by itself once the database is back.
pub const DB_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Connections in the SQLite pool.
const SQLITE_CONNECTIONS: u32 = 4;

/// Connects to the database and brings its schema up to date.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, StartupError> {
    let mut options = ConnectOptions::new(url);
    options
        .acquire_timeout(DB_ACQUIRE_TIMEOUT)
        .connect_timeout(DB_ACQUIRE_TIMEOUT)
        // A connection is checked with a ping only after a second unused, so a busy server
        // does not pay a round trip per query, and a dropped connection is still noticed.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        // Queries are traced by the app's own spans; one log line per query is noise.
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // Several readers at once (sea-orm's default for SQLite is one connection). Writers
        // still go one at a time: each write transaction is BEGIN IMMEDIATE.
        options.max_connections(SQLITE_CONNECTIONS);
    }
    let db = Database::connect(options)
        .await
        .map_err(|source| StartupError::Connect {
            url: url.to_owned(),
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
    let config = AuthConfig::from_env()?;
    let conf =
        get_configuration(None).map_err(|err| StartupError::LeptosConfig(err.to_string()))?;
    let leptos_options = conf.leptos_options;
    let addr = leptos_options.site_addr;
    let db = connect_and_migrate(&config.database_url).await?;

    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    tracing::info!("listening on http://{addr}");
    let state = AppState::new(leptos_options, db, config)?;
    serve(listener, state, shutdown_signal()).await
}

/// Serves the app on `listener` until `shutdown` completes; in-flight requests finish first.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let cleanup = state.auth.spawn_cleanup();
    // The peer address feeds the per-IP rate limit.
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(StartupError::Serve);
    cleanup.abort();
    served
}

/// Every route: health, server functions, pages, and static files with a 404 page.
pub fn router(state: AppState) -> Router {
    // The auth page's path is part of the route table, so it is fixed before the table is built.
    route::set(&state.auth.config.route);
    let routes = generate_route_list(App);
    let auth = state.auth.clone();
    let options = state.leptos_options.clone();

    let router = Router::new()
        .route("/healthz", get(healthz))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(auth.clone()),
            move || shell(options.clone()),
        )
        .fallback(static_file_or_page(state.auth.clone()))
        // Pages and API replies depend on the session cookie: never stored by shared caches,
        // and revalidated by the browser. Static files set their own caching.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        ))
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
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    #[cfg(feature = "bench")]
    let router = router.route("/bench/hello", get(|| async { "Hello, World!" }));
    router
}

/// Serves an embedded static file when the binary carries the site, else a file from the
/// site folder, else the app's 404 page.
fn static_file_or_page(
    auth: AuthService,
) -> impl Fn(Uri, State<AppState>, Request<Body>) -> Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ 'static {
    let files = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        move || provide_context(auth.clone()),
        shell,
    );
    move |uri, state, request| {
        if let Some(response) = assets::respond(request.method(), uri.path(), request.headers()) {
            return Box::pin(std::future::ready(response));
        }
        files(uri, state, request)
    }
}

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Sets the Content-Security-Policy of the page being rendered: scripts only with this
/// response's nonce (which Leptos puts on its own scripts) and what they load, wasm allowed,
/// and no framing. Called from the shell while the page renders.
pub fn set_content_security_policy(options: &LeptosOptions) {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    // `cargo leptos watch` reloads the page through a websocket on its own port.
    let reload = if options.env == leptos::config::Env::DEV {
        format!(" ws://{}:{}", options.site_addr.ip(), options.reload_port)
    } else {
        String::new()
    };
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    );
    match HeaderValue::from_str(&policy) {
        Ok(value) => response.insert_header(header::CONTENT_SECURITY_POLICY, value),
        Err(err) => tracing::error!(error = %err, "could not build the Content-Security-Policy"),
    }
}

/// Ready when the database answers a query on the app's own tables: a load balancer stops
/// sending traffic otherwise. (A bare ping is not enough: SQLite answers it from memory even
/// when its file can no longer be read.)
async fn healthz(State(db): State<DatabaseConnection>) -> (StatusCode, &'static str) {
    let probe = Statement::from_string(
        db.get_database_backend(),
        "SELECT 1 FROM auth_session LIMIT 1",
    );
    match db.query_one_raw(probe).await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
