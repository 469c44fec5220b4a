//! The server side of the endpoints in `api`: cookies, client addresses, status codes and
//! redirects. The flows themselves live in [`AuthService`]. Server only.

pub(crate) mod account;
pub(crate) mod device_sign_in;
pub(crate) mod email_change;
// Served by debug builds only (see `MagicLinkRouter::with_magic_link`).
#[cfg(feature = "dev-mailbox")]
#[cfg_attr(not(debug_assertions), allow(dead_code))]
pub(crate) mod mailbox;
pub(crate) mod notices;
pub(crate) mod outcome;
#[cfg(feature = "passkeys")]
pub(crate) mod passkeys;
pub(crate) mod sessions;
pub(crate) mod sign_in;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::ConnectInfo,
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
};
use leptos::prelude::*;
use leptos_axum::{ResponseOptions, redirect};

pub(crate) use sessions::{
    current_session, delivery, end_session, list_sessions, live_session, logout,
};
pub(crate) use sign_in::{preview_link, redeem, request_link, verify_code};

use crate::{
    client::Client,
    clock::utc_minute,
    cookies::{pending_cookie, session_cookie, set_cookie},
    domain::RedirectTarget,
    paths::AuthPaths,
    replies::AuthError,
    service::AuthService,
    store::{Device, NewSession, RedeemError},
};

pub(crate) use crate::replies::{BUSY, RATE_LIMITED, UNAVAILABLE};
pub(crate) const BROKEN: &str = "Something went wrong. Please try again.";

/// The service: from the Leptos context when the app provides it there, else from the
/// request's extensions, where [`MagicLinkRouter`](crate::MagicLinkRouter) puts it.
pub(crate) fn service() -> Result<AuthService, AuthError> {
    if let Some(service) = use_context::<AuthService>() {
        return Ok(service);
    }
    let service =
        use_context::<Parts>().and_then(|parts| parts.extensions.get::<AuthService>().cloned());
    service.ok_or_else(|| {
        if listing_routes() {
            // Leptos renders the app once at start to list its routes, with a stand-in
            // request: the session check then has nothing to answer. That is no fault.
            tracing::debug!("the session is not read while Leptos lists the app's routes");
        } else {
            tracing::error!(
                "AuthService is missing from the request: add it with Router::with_magic_link"
            );
        }
        AuthError::new(BROKEN)
    })
}

/// Whether this render is Leptos listing the app's routes (at start, outside any request): it
/// renders the app with a stand-in request whose URL is empty.
fn listing_routes() -> bool {
    use_context::<leptos_router::location::RequestUrl>().is_none_or(|url| url.as_ref().is_empty())
}

pub(crate) fn parts() -> Result<Parts, AuthError> {
    use_context::<Parts>().ok_or_else(|| {
        tracing::error!("request parts are missing from the request context");
        AuthError::new(BROKEN)
    })
}

/// A session as pages see it.
pub(crate) fn session_info(session: &crate::store::Session) -> crate::replies::SessionInfo {
    crate::replies::SessionInfo {
        email: session.email.clone(),
        persistent_id: session.persistent_id.clone(),
        expires_at: session.expires_at.to_rfc3339(),
    }
}

/// A plain HTML form post, as sent with JavaScript off.
pub(crate) fn is_form_post(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// Answers with `status` and the message as JSON, or, for a plain form post, sends the
/// browser back to the form at `back_to`, which gets the message's code (see `messages`) in
/// its `error` parameter: never the words, so no URL can put words on a page.
fn fail(
    parts: &Parts,
    status: StatusCode,
    message: &str,
    back_to: impl Fn(&str) -> String,
) -> AuthError {
    fail_with(parts, status, AuthError::new(message), back_to)
}

/// As [`fail`], with the whole error to answer.
fn fail_with(
    parts: &Parts,
    status: StatusCode,
    error: AuthError,
    back_to: impl Fn(&str) -> String,
) -> AuthError {
    if is_form_post(&parts.headers) {
        redirect(&back_to(crate::messages::code_for(&error.error)));
    } else if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(status);
        response.insert_header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    error
}

/// As [`fail`] with a 503 that tells the client when to come back: the server is busy, and
/// nothing was done.
fn busy(parts: &Parts, back_to: impl Fn(&str) -> String) -> AuthError {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.insert_header(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    fail(parts, StatusCode::SERVICE_UNAVAILABLE, BUSY, back_to)
}

/// As [`fail`] with a 503 for a database or provider that could not be reached, which is
/// logged; or, when the database answers but every connection stayed in use for the pool's
/// whole wait, as [`busy`]: the client is told to come back in a moment, not that the
/// service is down.
async fn unavailable(
    parts: &Parts,
    err: &(dyn std::error::Error + Send + Sync + 'static),
    doing: &str,
    back_to: impl Fn(&str) -> String,
) -> AuthError {
    if crate::store::is_pool_timeout(err)
        && let Ok(service) = service()
        && service.store().database_answers().await
    {
        tracing::warn!(error = %err, "could not {doing}: every database connection is in use");
        return busy(parts, back_to);
    }
    tracing::error!(error = %err, "could not {doing}");
    fail(parts, StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE, back_to)
}

/// The status and message for a refused redemption.
async fn redeem_refused(
    parts: &Parts,
    err: RedeemError,
    back_to: impl Fn(&str) -> String,
) -> AuthError {
    let status = match &err {
        RedeemError::InvalidOrExpired => StatusCode::BAD_REQUEST,
        // Counted against the client and the address as it was tried.
        RedeemError::WrongCode { .. } | RedeemError::CodeUsedUp => StatusCode::UNAUTHORIZED,
        RedeemError::CodesPaused => {
            tracing::info!("code refused: the address has had its wrong codes for the day");
            crate::metrics::refused(crate::metrics::Refusal::RateLimit);
            StatusCode::TOO_MANY_REQUESTS
        }
        RedeemError::Busy => {
            tracing::warn!("code check refused: the server is busy");
            return busy(parts, back_to);
        }
        RedeemError::Store(err) => {
            return unavailable(parts, err, "redeem a credential", back_to).await;
        }
    };
    fail(parts, status, &err.to_string(), back_to)
}

fn paths() -> &'static AuthPaths {
    crate::paths::get()
}

/// The login page showing `error` (already encoded): where a plain form goes back on a fault.
fn home_with_error(error: &str) -> String {
    format!("{}?error={error}", paths().login)
}

/// The account page with `error` for its sessions card, where a plain form goes back. Each
/// card of the account page reads its own parameter, so a refusal shows on the card whose
/// form was sent, not on every card.
fn account_with_error(error: &str) -> String {
    format!("{}?error={error}", paths().account)
}

/// As [`account_with_error`], for the passkeys card.
#[cfg(feature = "passkeys")]
fn passkeys_with_error(error: &str) -> String {
    format!(
        "{}?{}={error}",
        paths().account,
        crate::messages::PASSKEY_ERROR_PARAM
    )
}

/// As [`account_with_error`], for the delete card.
fn delete_with_error(error: &str) -> String {
    format!(
        "{}?{}={error}",
        paths().account,
        crate::messages::DELETE_ERROR_PARAM
    )
}

/// The client asking: its address behind any trusted proxies, and the key its limits use.
fn client(service: &AuthService, parts: &Parts) -> Client {
    let ip = match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => service
            .config()
            .trusted_proxies
            .client_ip(peer.ip(), &parts.headers),
        None => {
            tracing::warn!("no peer address on the request: serve with connect info");
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }
    };
    Client::new(ip, service.config().ipv6_prefix)
}

/// The redirect target from a request: a bad one is logged and replaced by the default,
/// never followed.
fn target(redir: Option<&str>) -> RedirectTarget {
    crate::paths::sign_in_target(redir)
}

/// Where a sign-in comes from: the browser's user agent and the client address.
fn device(parts: &Parts, client: &Client) -> Device {
    Device {
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        client_ip: Some(client.ip),
    }
}

/// Gives the browser the new session's cookie, and clears its pending sign-in.
fn start_session(service: &AuthService, new_session: &NewSession) {
    let lifetime = service.config().session_lifetime.as_secs();
    set_cookie(
        service,
        session_cookie(service),
        new_session.token.expose(),
        lifetime,
    );
    set_cookie(service, pending_cookie(service), "", 0);
}
