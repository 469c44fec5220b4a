//! The two auth cookies: the session, and the short-lived pending sign-in that binds a
//! link to the browser that asked for it. Written and read with the `cookie` crate. Server
//! only.

use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use cookie::{Cookie, SameSite};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use crate::service::AuthService;

fn secure(service: &AuthService) -> bool {
    service.config().is_https()
}

/// `__Host-` binds the cookie to this exact origin over https; browsers refuse it over http.
pub(crate) fn session_cookie(service: &AuthService) -> &'static str {
    if secure(service) {
        "__Host-session"
    } else {
        "session"
    }
}

pub(crate) fn pending_cookie(service: &AuthService) -> &'static str {
    if secure(service) {
        "__Host-pending-sign-in"
    } else {
        "pending-sign-in"
    }
}

/// This browser's request to be signed in from another device: its secret and the code it
/// shows (see `http::device_sign_in`).
pub(crate) fn device_request_cookie(service: &AuthService) -> &'static str {
    if secure(service) {
        "__Host-device-sign-in"
    } else {
        "device-sign-in"
    }
}

/// The one-time cookie that carries an action's outcome to the page it lands on (see
/// `http::outcome`).
pub(crate) fn outcome_cookie(service: &AuthService) -> &'static str {
    if secure(service) {
        "__Host-outcome"
    } else {
        "outcome"
    }
}

/// The `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` over https, and
/// `Max-Age` (0 removes it).
pub(crate) fn set_cookie_value(secure: bool, name: &str, value: &str, max_age: u64) -> String {
    Cookie::build((name, value))
        .path("/")
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
        .to_string()
}

/// Adds a `Set-Cookie` to the response being built.
pub(crate) fn set_cookie(service: &AuthService, name: &str, value: &str, max_age: u64) {
    let cookie = set_cookie_value(secure(service), name, value, max_age);
    match (
        HeaderValue::from_str(&cookie),
        use_context::<ResponseOptions>(),
    ) {
        (Ok(value), Some(response)) => response.append_header(header::SET_COOKIE, value),
        _ => tracing::error!(cookie = name, "could not set a cookie"),
    }
}

/// The value of the request's cookie `name`, from any of its `Cookie` headers.
pub(crate) fn read_cookie(parts: &Parts, name: &str) -> Option<String> {
    cookie_in(&parts.headers, name)
}

/// The value of cookie `name` in `headers`' `Cookie` headers: for a handler that holds the
/// request rather than its parts.
pub(crate) fn cookie_in(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_carry_every_attribute() {
        let set = set_cookie_value(true, "__Host-session", "abc", 60);
        let mut attributes: Vec<&str> = set.split("; ").collect();
        attributes.sort_unstable();
        assert_eq!(
            attributes,
            [
                "HttpOnly",
                "Max-Age=60",
                "Path=/",
                "SameSite=Lax",
                "Secure",
                "__Host-session=abc"
            ]
        );
        assert!(!set_cookie_value(false, "session", "abc", 0).contains("Secure"));
    }

    #[test]
    fn the_named_cookie_is_read_from_any_header() {
        let mut parts = axum::http::Request::new(()).into_parts().0;
        for value in ["theme=dark; session=one", "pending-sign-in=two"] {
            parts
                .headers
                .append(header::COOKIE, HeaderValue::from_static(value));
        }
        assert_eq!(read_cookie(&parts, "session").as_deref(), Some("one"));
        assert_eq!(
            read_cookie(&parts, "pending-sign-in").as_deref(),
            Some("two")
        );
        assert_eq!(read_cookie(&parts, "missing"), None);
    }
}
