//! Refusing requests from other sites that would change state. Server only.
//!
//! `SameSite=Lax` does not stop a top-level cross-site POST from setting cookies, so without
//! this any page could sign its visitor into the attacker's account (login CSRF), or plant a
//! pending sign-in. Every request that is not `GET`, `HEAD` or `OPTIONS` must come from this
//! site's own pages:
//! - `Sec-Fetch-Site`, when present, must be `same-origin`;
//! - `Origin`, when present, must be exactly the origin of `MAGIC_LINK_AUTH_PUBLIC_URL`
//!   (so `null`, another port, another scheme and a sibling subdomain are all refused).
//!
//! Browsers send at least one of the two on every POST. A request with neither comes from a
//! program (curl, a server), which no other site can make a visitor's browser send.
//!
//! A refusal changes nothing: it happens before any endpoint runs.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{http::is_form_post, paths::AuthPaths};

pub(crate) use crate::replies::CROSS_SITE;

/// The origin requests must come from, and where a refused plain form is sent back to.
#[derive(Clone, Debug)]
pub struct SameOrigin {
    /// The exact origin, as `MAGIC_LINK_AUTH_PUBLIC_URL` names it (`https://app.example.com`).
    pub origin: String,
    /// The auth pages: a refused plain form goes back to its own.
    pub paths: AuthPaths,
}

impl SameOrigin {
    /// Why a request with `headers` must be refused, or `None` when it may go on.
    pub fn refusal(&self, headers: &HeaderMap) -> Option<String> {
        let fetch_site = headers.get("sec-fetch-site");
        if let Some(site) = fetch_site
            && site.as_bytes() != b"same-origin"
        {
            return Some(format!("Sec-Fetch-Site is {site:?}"));
        }
        match headers.get(header::ORIGIN) {
            Some(origin) if origin.as_bytes() != self.origin.as_bytes() => Some(format!(
                "Origin {origin:?} is not MAGIC_LINK_AUTH_PUBLIC_URL ({})",
                self.origin
            )),
            _ => None,
        }
    }

    /// The form page a refused plain form post goes back to, by the endpoint it was sent to.
    fn form_page(&self, path: &str) -> &str {
        match path.rsplit('/').next() {
            Some("redeem") => &self.paths.link,
            Some("verify-code") => &self.paths.check_email,
            Some("end-session") => &self.paths.account,
            Some("sign-out-everywhere") => &self.paths.sign_out_everywhere,
            Some("confirm-email-change" | "undo-email-change") => &self.paths.change_email,
            Some("change-email") => &self.paths.account,
            Some("device-sign-in-start" | "device-sign-in-poll") => &self.paths.device_sign_in,
            Some("approve-device") => &self.paths.approve_device,
            _ => &self.paths.login,
        }
    }
}

/// Axum middleware: refuses a state-changing request from another site with a 403 and a
/// JSON message, or sends a plain form back to its page with the message.
pub async fn refuse_cross_site(
    State(same_origin): State<SameOrigin>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let Some(reason) = same_origin.refusal(request.headers()) else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    tracing::info!(path, %reason, "refused a cross-site request");
    crate::metrics::refused(crate::metrics::Refusal::CrossSite);
    if is_form_post(request.headers()) {
        let back = format!(
            "{}?error={}",
            same_origin.form_page(path),
            crate::messages::code_for(CROSS_SITE)
        );
        return match HeaderValue::from_str(&back) {
            Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
            Err(_) => StatusCode::FORBIDDEN.into_response(),
        };
    }
    let body = serde_json::json!({ "error": CROSS_SITE }).to_string();
    (
        StatusCode::FORBIDDEN,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn same_origin() -> SameOrigin {
        SameOrigin {
            origin: "https://app.example.com".to_owned(),
            paths: AuthPaths::default(),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn only_this_origin_and_same_origin_fetches_pass() {
        let guard = same_origin();
        let passes = |pairs: &[(&'static str, &str)]| guard.refusal(&headers(pairs)).is_none();
        assert!(passes(&[]), "no header: a program, not a browser");
        assert!(passes(&[("origin", "https://app.example.com")]));
        assert!(passes(&[("sec-fetch-site", "same-origin")]));
        assert!(passes(&[
            ("origin", "https://app.example.com"),
            ("sec-fetch-site", "same-origin")
        ]));
        for origin in [
            "null",
            "https://evil.example",
            "https://api.example.com",
            "https://app.example.com:8443",
            "http://app.example.com",
            "https://app.example.com.evil.example",
            "https://app.example.com/",
            "",
        ] {
            assert!(!passes(&[("origin", origin)]), "{origin:?}");
        }
        for site in ["cross-site", "same-site", "none", "", "Same-Origin"] {
            assert!(!passes(&[("sec-fetch-site", site)]), "{site:?}");
            assert!(
                !passes(&[
                    ("sec-fetch-site", site),
                    ("origin", "https://app.example.com")
                ]),
                "{site:?} with this origin"
            );
        }
    }

    #[test]
    fn a_refused_form_goes_back_to_its_own_page() {
        let guard = same_origin();
        assert_eq!(guard.form_page("/api/auth/redeem"), "/magic-link-auth");
        assert_eq!(
            guard.form_page("/api/auth/verify-code"),
            "/check-your-email"
        );
        assert_eq!(guard.form_page("/api/auth/end-session"), "/account");
        assert_eq!(guard.form_page("/api/auth/request"), "/");
        assert_eq!(guard.form_page("/api/auth/logout"), "/");
    }
}

/// The path that answers on any host: a load balancer's probe by IP address keeps working.
pub(crate) const HEALTH_PATH: &str = "/healthz";

/// Headers only a proxy adds: a request that carries one came through a proxy, which answers
/// for the host the browser asked for.
const PROXY_HEADERS: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// The one address of the site: the public URL's origin, and its authority as a `Host`
/// header names it.
#[derive(Clone, Debug)]
pub(crate) struct PublicHost {
    /// `http://localhost:3000`, as `MAGIC_LINK_AUTH_PUBLIC_URL` names it.
    origin: String,
    /// `localhost:3000`, lower case, without the scheme's default port.
    authority: String,
    /// `:80` or `:443`: a `Host` header may name the default port.
    default_port: &'static str,
}

impl PublicHost {
    /// The site's address from its public URL; `None` for one with no host.
    pub(crate) fn new(public_url: &str) -> Option<Self> {
        let uri: axum::http::Uri = public_url.parse().ok()?;
        let authority = uri.authority()?.as_str().to_ascii_lowercase();
        let default_port = if uri.scheme_str() == Some("https") {
            ":443"
        } else {
            ":80"
        };
        Some(Self {
            origin: public_url.trim_end_matches('/').to_owned(),
            authority: authority
                .strip_suffix(default_port)
                .unwrap_or(&authority)
                .to_owned(),
            default_port,
        })
    }

    /// Whether a request whose `Host` is `host` reached the site by its public address.
    pub(crate) fn is_public(&self, host: &str) -> bool {
        host.strip_suffix(self.default_port)
            .unwrap_or(host)
            .eq_ignore_ascii_case(&self.authority)
    }
}

/// Axum middleware: a `GET` or `HEAD` for another host than the public URL's (such as
/// `127.0.0.1:3000` when the public URL is `http://localhost:3000`) is sent to the same path
/// and query there with a `307`, before anything else runs. Any other method goes on to the
/// cross-site check, which refuses a browser's request from a page on another origin. Cookies, passkeys (which refuse
/// an IP address) and the cross-site check all work on one origin, so a site reached by
/// another name would half work.
///
/// Left alone: [`HEALTH_PATH`], on any host; a request that came through a proxy (it carries
/// `Forwarded`, `X-Forwarded-*` or `X-Real-IP`), since the proxy answers for the host the
/// browser asked for; and a request with no host at all.
pub(crate) async fn to_public_host(
    State(public): State<PublicHost>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str())
        });
    // Only what a browser can follow: a state-changing request redirected to another origin
    // would arrive with `Origin: null`, and is left to the cross-site check instead.
    let elsewhere = matches!(*request.method(), Method::GET | Method::HEAD)
        && host.is_some_and(|host| !public.is_public(host))
        && request.uri().path() != HEALTH_PATH
        && !PROXY_HEADERS.iter().any(|name| headers.contains_key(*name));
    if !elsewhere {
        return next.run(request).await;
    }
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str());
    match HeaderValue::from_str(&format!("{}{path}", public.origin)) {
        Ok(location) => {
            tracing::debug!("a request for another host: sent to the public URL");
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response()
        }
        Err(_) => next.run(request).await,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod public_host_tests {
    use super::PublicHost;

    #[test]
    fn the_public_host_is_recognised_with_or_without_its_default_port() {
        let dev = PublicHost::new("http://localhost:3000").unwrap();
        assert!(dev.is_public("localhost:3000"));
        assert!(dev.is_public("LocalHost:3000"));
        assert!(!dev.is_public("127.0.0.1:3000"));
        assert!(!dev.is_public("localhost:3001"));
        assert!(!dev.is_public("localhost"));
        let site = PublicHost::new("https://app.example.com").unwrap();
        assert!(site.is_public("app.example.com"));
        assert!(site.is_public("app.example.com:443"));
        assert!(!site.is_public("app.example.com:80"));
        assert!(!site.is_public("203.0.113.5"));
        assert!(!site.is_public("example.com"));
    }
}
