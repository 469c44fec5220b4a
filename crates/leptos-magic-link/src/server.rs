//! Adding the auth to an axum app: build an [`AuthService`], then one call on the app's
//! `Router`. Server only.
//!
//! ```no_run
//! use axum::Router;
//! use leptos_magic_link::{AuthConfig, AuthService, MagicLinkRouter};
//!
//! # async fn start(db: sea_orm::DatabaseConnection, app_routes: Router) -> Result<(), Box<dyn std::error::Error>> {
//! // Settings from the environment (`MAGIC_LINK_*`); paths may be changed in code.
//! let mut config = AuthConfig::from_env()?;
//! config.paths.login = "/login".into();
//! // Build the service before the app's route table: it fixes the auth pages' paths.
//! let auth = AuthService::builder(db, config).build()?;
//! let _cleanup = auth.spawn_cleanup();
//! // After every route of the app: the server functions, pages and files all get the
//! // service and the cross-site check.
//! let app: Router = app_routes.with_magic_link(auth.clone());
//! // A readiness probe for the app's own health endpoint:
//! auth.health().await?;
//! # Ok(()) }
//! ```

use axum::{Extension, Router, middleware};

use crate::{
    origin::{PublicHost, SameOrigin, refuse_cross_site, to_public_host},
    service::AuthService,
};

/// Adds the auth to an axum [`Router`].
pub trait MagicLinkRouter {
    /// Makes `auth` reachable from every server function and page (as a request extension),
    /// and refuses every state-changing request from another site before any handler runs.
    /// Before anything else, a `GET` or `HEAD` for another host than the public URL's is
    /// redirected there (`307`), the same path and query, except `/healthz` (a load balancer's probe by
    /// IP address) and requests that came through a proxy (`Forwarded`, `X-Forwarded-*`,
    /// `X-Real-IP`); `AuthConfig::redirect_other_hosts = false` turns it off.
    /// It times every auth endpoint for [`crate::metrics`].
    ///
    /// It also brings the security model's response rules with it, whatever the app's own
    /// layers: the auth endpoints (`/api/auth/…`) and the auth pages answer
    /// `Cache-Control: no-store`, `X-Content-Type-Options: nosniff` and
    /// `Referrer-Policy: same-origin` unless the app set them; an auth endpoint refuses a body
    /// over [`MAX_BODY_BYTES`] with `413`; and over https every response carries
    /// `Strict-Transport-Security` (one year). Serve the app with [`crate::serve`] for the
    /// slow-client limits. In debug builds with the
    /// `dev-mailbox` feature it also serves the dev mailbox at `/dev/mailbox`, and prints its
    /// address with its key to the console.
    ///
    /// Call it after the app's routes and fallback are in place: a layer covers only what
    /// the router holds when it is added.
    fn with_magic_link(self, auth: AuthService) -> Self;
}

impl<S: Clone + Send + Sync + 'static> MagicLinkRouter for Router<S> {
    fn with_magic_link(self, auth: AuthService) -> Self {
        let same_origin = SameOrigin {
            origin: auth.config().public_url.clone(),
            paths: auth.config().paths.clone(),
        };
        // Debug builds with the `dev-mailbox` feature only: a release binary has no dev
        // mailbox at all.
        #[cfg(all(feature = "dev-mailbox", debug_assertions))]
        let this = {
            use crate::{http::mailbox, mail::mailbox::PATH};
            // The console, not the log: the key is a secret, and logs travel further.
            match auth
                .dev_mailbox()
                .address_with_key(&auth.config().public_url)
            {
                Some(address) => eprintln!("The dev mailbox (debug builds only): {address}"),
                None => eprintln!("The dev mailbox is shut: no random key could be made"),
            }
            let with_mailbox = Extension(auth.dev_mailbox().clone());
            self.route(
                PATH,
                axum::routing::get(mailbox::list).layer(with_mailbox.clone()),
            )
            .route(
                &format!("{PATH}/{{id}}"),
                axum::routing::get(mailbox::message_html).layer(with_mailbox),
            )
        };
        #[cfg(not(all(feature = "dev-mailbox", debug_assertions)))]
        let this = self;
        let hardening = Hardening {
            paths: auth.config().paths.clone(),
            hsts: auth.config().is_https(),
        };
        let public_host = auth
            .config()
            .redirect_other_hosts
            .then(|| PublicHost::new(&auth.config().public_url))
            .flatten();
        let this = this
            .layer(Extension(auth))
            .layer(middleware::from_fn_with_state(
                same_origin,
                refuse_cross_site,
            ))
            .layer(middleware::from_fn_with_state(hardening, harden))
            // Outside the rest, so a refused request is timed too.
            .layer(middleware::from_fn(time_auth_endpoints));
        // Outermost: a page asked for by another host goes to the public URL before anything
        // runs, unless `redirect_other_hosts` is off. (Every public URL the settings take has
        // a host.)
        match public_host {
            Some(public_host) => {
                this.layer(middleware::from_fn_with_state(public_host, to_public_host))
            }
            None => this,
        }
    }
}

/// The largest request body an auth endpoint takes: each of its forms is a few fields.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Where the server functions live (`#[server(prefix = "/api/auth")]` in `api`).
const AUTH_API: &str = "/api/auth/";

/// What [`harden`] needs: which paths are the auth's, and whether the site is https.
#[derive(Clone)]
struct Hardening {
    paths: crate::paths::AuthPaths,
    hsts: bool,
}

impl Hardening {
    /// Whether `path` is an auth endpoint (`Some(true)`), an auth page (`Some(false)`), or
    /// the app's own (`None`).
    fn route(&self, path: &str) -> Option<bool> {
        if path.starts_with(AUTH_API) {
            return Some(true);
        }
        let paths = &self.paths;
        [
            &paths.login,
            &paths.check_email,
            &paths.link,
            &paths.account,
            &paths.sign_out_everywhere,
            &paths.change_email,
            &paths.device_sign_in,
            &paths.approve_device,
        ]
        .iter()
        .any(|page| page.as_str() == path)
        .then_some(false)
    }
}

/// The response rules the security model promises for the auth's own routes, applied
/// whatever the app layers around them (see [`MagicLinkRouter::with_magic_link`]).
async fn harden(
    axum::extract::State(hardening): axum::extract::State<Hardening>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::{
        body::Body,
        http::{HeaderValue, StatusCode, header},
        response::IntoResponse,
    };
    let route = hardening.route(request.uri().path());
    let request = if route == Some(true) {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
            return (StatusCode::PAYLOAD_TOO_LARGE, "The request is too large.").into_response();
        }
        // A body without a length is cut off at the limit as it is read. (tower-http's
        // RequestBodyLimit does the same, but as a layer for a whole router: here only the
        // auth's paths are limited, and the app's own keep whatever limit it chose.)
        request.map(|body| Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES)))
    } else {
        request
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if route.is_some() {
        for (name, value) in [
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "same-origin"),
        ] {
            headers
                .entry(name)
                .or_insert_with(|| HeaderValue::from_static(value));
        }
    }
    if hardening.hsts {
        // Not includeSubDomains: the app may live on a domain whose other hosts it does not
        // own.
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert_with(|| HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// The endpoint label for `rest`, the path after `/api/auth/`: the endpoint when a server
/// function is registered there (a fixed set, read once), else `other`.
fn endpoint_label(rest: &str) -> &'static str {
    static ENDPOINTS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ENDPOINTS
        .get_or_init(|| {
            leptos::server_fn::axum::server_fn_paths()
                .filter_map(|(path, _)| path.strip_prefix(AUTH_API))
                .collect()
        })
        .iter()
        .find(|known| **known == rest)
        .copied()
        .unwrap_or("other")
}

/// Axum middleware: times every request to `/api/auth/…`, by endpoint.
async fn time_auth_endpoints(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let Some(rest) = request.uri().path().strip_prefix(AUTH_API) else {
        return next.run(request).await;
    };
    let endpoint = endpoint_label(rest);
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    crate::metrics::endpoint_answered(endpoint, started);
    response
}
