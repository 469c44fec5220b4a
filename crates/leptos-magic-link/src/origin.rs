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
