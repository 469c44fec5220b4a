//! The server side of the endpoints in `api`: cookies, client addresses, status codes and
//! redirects. Server only.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::ConnectInfo,
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
};
use leptos::prelude::*;
use leptos_axum::{ResponseOptions, redirect};

use super::{
    api::{
        AuthError, DeliveryReport, LinkPreview, LinkRequested, SessionInfo, SessionView, SignedIn,
    },
    captcha::CaptchaError,
    client::Client,
    domain::{Code, Email, LinkToken, RedirectTarget, SessionToken, encode_query_value as enc},
    hooks::{SignedInEvent, SignedOutEvent},
    paths::AuthPaths,
    secrets::{constant_time_eq, token_hash},
    service::{AuthService, RequestLinkError},
    store::{CodeClaim, Device, IssueError, NewSession, RedeemError, Session, StoreError},
};

pub const RATE_LIMITED: &str = "Too many attempts. Please try again later.";
pub const UNAVAILABLE: &str =
    "The service is temporarily unavailable. Please try again in a moment.";
pub const BUSY: &str = "The service is busy. Please try again in a moment.";
const BROKEN: &str = "Something went wrong. Please try again.";

/// The service: from the Leptos context when the app provides it there, else from the
/// request's extensions, where [`MagicLinkRouter`](crate::MagicLinkRouter) puts it.
pub(crate) fn service() -> Result<AuthService, AuthError> {
    if let Some(service) = use_context::<AuthService>() {
        return Ok(service);
    }
    use_context::<Parts>()
        .and_then(|parts| parts.extensions.get::<AuthService>().cloned())
        .ok_or_else(|| {
            tracing::error!(
                "AuthService is missing from the request: add it with Router::with_magic_link"
            );
            AuthError::new(BROKEN)
        })
}

pub(crate) fn parts() -> Result<Parts, AuthError> {
    use_context::<Parts>().ok_or_else(|| {
        tracing::error!("request parts are missing from the request context");
        AuthError::new(BROKEN)
    })
}

/// A plain HTML form post, as sent with JavaScript off.
pub(super) fn is_form_post(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// Answers with `status` and the message as JSON, or, for a plain form post, sends the
/// browser back to the form at `back_to`, which gets the message in its `error` parameter.
fn fail(
    parts: &Parts,
    status: StatusCode,
    message: &str,
    back_to: impl Fn(&str) -> String,
) -> AuthError {
    if is_form_post(&parts.headers) {
        redirect(&back_to(&enc(message)));
    } else if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(status);
        response.insert_header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    AuthError::new(message)
}

/// As [`fail`] with a 503 that tells the client when to come back: the server is busy, and
/// nothing was done.
fn busy(parts: &Parts, back_to: impl Fn(&str) -> String) -> AuthError {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.insert_header(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    fail(parts, StatusCode::SERVICE_UNAVAILABLE, BUSY, back_to)
}

fn paths() -> &'static AuthPaths {
    crate::paths::get()
}

/// The login page showing `error` (already encoded): where a plain form goes back on a fault.
fn home_with_error(error: &str) -> String {
    format!("{}?error={error}", paths().login)
}

use crate::cookies::{pending_cookie, read_cookie, session_cookie, set_cookie};

/// The client asking: its address behind any trusted proxies, and the key its limits use.
fn client(service: &AuthService, parts: &Parts) -> Client {
    let ip = match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => service
            .config
            .trusted_proxies
            .client_ip(peer.ip(), &parts.headers),
        None => {
            tracing::warn!("no peer address on the request: serve with connect info");
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }
    };
    Client::new(ip, service.config.ipv6_prefix)
}

/// The redirect target from a request: a bad one is logged and replaced by the default,
/// never followed.
fn target(redir: Option<&str>) -> RedirectTarget {
    crate::paths::sign_in_target(redir)
}

pub async fn request_link(
    email: String,
    redir: Option<String>,
    captcha: Option<String>,
) -> Result<LinkRequested, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let redir = target(redir.as_deref());
    let back = |error: &str| {
        format!(
            "{}?error={error}&email={}&redir={}",
            paths().login,
            enc(&email),
            enc(redir.as_str())
        )
    };
    match service
        .request_link(
            &email,
            &redir,
            &client(&service, &parts),
            captcha.as_deref(),
        )
        .await
    {
        Ok(sent) => {
            let lifetime = service.config.credential_lifetime.as_secs();
            set_cookie(&service, pending_cookie(&service), &sent.pending, lifetime);
            redirect(&format!(
                "{}?email={}&redir={}",
                paths().check_email,
                enc(sent.email.as_str()),
                enc(redir.as_str())
            ));
            Ok(LinkRequested {
                message: "Check your email for a magic link!".to_owned(),
            })
        }
        Err(RequestLinkError::InvalidEmail(err)) => Err(fail(
            &parts,
            StatusCode::BAD_REQUEST,
            &err.to_string(),
            back,
        )),
        Err(RequestLinkError::Issue(IssueError::RateLimited(limit))) => {
            tracing::info!(?limit, "link request refused by the rate limit");
            Err(fail(
                &parts,
                StatusCode::TOO_MANY_REQUESTS,
                RATE_LIMITED,
                back,
            ))
        }
        Err(RequestLinkError::Issue(IssueError::Busy) | RequestLinkError::MailQueueFull) => {
            tracing::warn!("link request refused: the server is busy");
            Err(busy(&parts, back))
        }
        Err(RequestLinkError::Issue(IssueError::Store(err))) => {
            tracing::error!(error = %err, "could not issue a credential");
            Err(fail(
                &parts,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                back,
            ))
        }
        Err(RequestLinkError::Captcha(err @ CaptchaError::Refused)) => {
            tracing::info!("link request refused by the CAPTCHA check");
            Err(fail(
                &parts,
                StatusCode::BAD_REQUEST,
                &err.to_string(),
                back,
            ))
        }
        Err(RequestLinkError::Captcha(err @ CaptchaError::Unavailable(_))) => {
            tracing::error!(error = %err, "could not check the CAPTCHA");
            Err(fail(
                &parts,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                back,
            ))
        }
    }
}

pub async fn redeem(token: String, redir: Option<String>) -> Result<SignedIn, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let redir = target(redir.as_deref());
    let back = |error: &str| format!("{}?error={error}", paths().link);
    let client = client(&service, &parts);
    refuse_after_too_many_failures(&service, &parts, &client, &back).await?;
    let token = match LinkToken::parse(&token) {
        Ok(token) => token,
        Err(err) => {
            count_failure(&service, &client).await;
            return Err(fail(
                &parts,
                StatusCode::BAD_REQUEST,
                &err.to_string(),
                back,
            ));
        }
    };
    let outcome = service
        .store
        .redeem_link(
            &token,
            &client.key,
            &device(&parts, &client),
            service.clock.now(),
        )
        .await;
    finish_sign_in(&service, &parts, &client, outcome, &redir, back).await
}

pub async fn verify_code(
    email: String,
    code: String,
    redir: Option<String>,
) -> Result<SignedIn, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let redir = target(redir.as_deref());
    let back = |error: &str| {
        format!(
            "{}?error={error}&email={}&redir={}",
            paths().check_email,
            enc(&email),
            enc(redir.as_str())
        )
    };
    let parsed = Email::parse(&email)
        .map_err(|err| err.to_string())
        .and_then(|email| {
            Code::parse(&code)
                .map(|code| (email, code))
                .map_err(|err| err.to_string())
        });
    let client = client(&service, &parts);
    refuse_after_too_many_failures(&service, &parts, &client, &back).await?;
    let (email, code) = match parsed {
        Ok(pair) => pair,
        Err(message) => {
            count_failure(&service, &client).await;
            return Err(fail(&parts, StatusCode::BAD_REQUEST, &message, back));
        }
    };
    let pending = read_cookie(&parts, pending_cookie(&service));
    let claim = CodeClaim {
        pending: pending.as_deref(),
        client: &client.key,
    };
    let outcome = service
        .store
        .redeem_code(
            &email,
            &code,
            &claim,
            &device(&parts, &client),
            service.clock.now(),
        )
        .await;
    finish_sign_in(&service, &parts, &client, outcome, &redir, back).await
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

/// Redeeming is limited per client IP too: each failure counts, and past the store's limit
/// every try is refused for the rest of the window, whatever it carries.
async fn refuse_after_too_many_failures(
    service: &AuthService,
    parts: &Parts,
    client: &Client,
    back: &impl Fn(&str) -> String,
) -> Result<(), AuthError> {
    match service
        .store
        .too_many_failures(&client.key, service.clock.now())
        .await
    {
        Ok(false) => Ok(()),
        Ok(true) => {
            tracing::info!(client = %client.key, "redemption refused: too many failures from this client");
            Err(fail(
                parts,
                StatusCode::TOO_MANY_REQUESTS,
                RATE_LIMITED,
                back,
            ))
        }
        Err(err) => {
            tracing::error!(error = %err, "could not count failed redemptions");
            Err(fail(
                parts,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                back,
            ))
        }
    }
}

async fn count_failure(service: &AuthService, client: &Client) {
    if let Err(err) = service
        .store
        .record_failure(&client.key, service.clock.now())
        .await
    {
        tracing::error!(error = %err, "could not record a failed redemption");
    }
}

async fn finish_sign_in(
    service: &AuthService,
    parts: &Parts,
    client: &Client,
    outcome: Result<NewSession, RedeemError>,
    redir: &RedirectTarget,
    back: impl Fn(&str) -> String,
) -> Result<SignedIn, AuthError> {
    match outcome {
        Ok(new_session) => {
            let lifetime = service.config.session_lifetime.as_secs();
            set_cookie(
                service,
                session_cookie(service),
                new_session.token.expose(),
                lifetime,
            );
            set_cookie(service, pending_cookie(service), "", 0);
            tracing::info!(persistent_id = %new_session.session.persistent_id, "signed in");
            let event = SignedInEvent {
                email: new_session.session.email.clone(),
                persistent_id: new_session.session.persistent_id.clone(),
                session_id: new_session.session.id,
                at: new_session.session.created_at,
            };
            if let Err(err) = service.hooks.signed_in(&event).await {
                tracing::error!(error = %err, "the sign-in hook failed");
            }
            redirect(redir.as_str());
            Ok(SignedIn {
                redirect_to: redir.as_str().to_owned(),
            })
        }
        Err(err @ RedeemError::InvalidOrExpired) => {
            count_failure(service, client).await;
            Err(fail(parts, StatusCode::BAD_REQUEST, &err.to_string(), back))
        }
        // Counted against the client and the address as it was tried.
        Err(err @ (RedeemError::WrongCode { .. } | RedeemError::CodeUsedUp)) => Err(fail(
            parts,
            StatusCode::UNAUTHORIZED,
            &err.to_string(),
            back,
        )),
        Err(err @ RedeemError::CodesPaused) => {
            tracing::info!("code refused: the address has had its wrong codes for the day");
            Err(fail(
                parts,
                StatusCode::TOO_MANY_REQUESTS,
                &err.to_string(),
                back,
            ))
        }
        Err(RedeemError::Busy) => {
            tracing::warn!("code check refused: the server is busy");
            Err(busy(parts, back))
        }
        Err(RedeemError::Store(err)) => {
            tracing::error!(error = %err, "could not redeem a credential");
            Err(fail(
                parts,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                back,
            ))
        }
    }
}

fn session_token(service: &AuthService, parts: &Parts) -> Option<SessionToken> {
    read_cookie(parts, session_cookie(service)).and_then(|value| SessionToken::parse(&value).ok())
}

/// The live session of the browser asking, if it has one.
pub(crate) async fn live_session(
    service: &AuthService,
    parts: &Parts,
) -> Result<Option<Session>, AuthError> {
    let Some(token) = session_token(service, parts) else {
        return Ok(None);
    };
    service
        .store
        .session(&token, service.clock.now())
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "could not read a session");
            fail(
                parts,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                home_with_error,
            )
        })
}

pub async fn current_session() -> Result<Option<SessionInfo>, AuthError> {
    let (service, parts) = (service()?, parts()?);
    Ok(live_session(&service, &parts)
        .await?
        .map(|session| SessionInfo {
            email: session.email,
            persistent_id: session.persistent_id,
            expires_at: session.expires_at.to_rfc3339(),
        }))
}

/// The live session of the browser asking and its address, or a `401` when there is none.
pub(crate) async fn signed_in_session(
    service: &AuthService,
    parts: &Parts,
) -> Result<(Session, Email), AuthError> {
    let Some(session) = live_session(service, parts).await? else {
        return Err(fail(
            parts,
            StatusCode::UNAUTHORIZED,
            SIGN_IN_FIRST,
            home_with_error,
        ));
    };
    let email = Email::parse(&session.email).map_err(|err| {
        tracing::error!(error = %err, "a session holds an address that does not parse");
        AuthError::new(BROKEN)
    })?;
    Ok((session, email))
}

/// Tells the app's hooks that a session ended; a failing hook is logged, never shown.
async fn announce_sign_out(
    service: &AuthService,
    session: &Session,
    everywhere: bool,
    at: chrono::DateTime<chrono::Utc>,
) {
    let event = SignedOutEvent {
        email: session.email.clone(),
        persistent_id: session.persistent_id.clone(),
        everywhere,
        at,
    };
    if let Err(err) = service.hooks.signed_out(&event).await {
        tracing::error!(error = %err, "the sign-out hook failed");
    }
}

const SIGN_IN_FIRST: &str = "Sign in to manage your sessions.";

fn account_with_error(error: &str) -> String {
    format!("{}?error={error}", paths().account)
}

pub async fn list_sessions() -> Result<Vec<SessionView>, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let (current, email) = signed_in_session(&service, &parts).await?;
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    match service
        .store
        .list_sessions(&email, service.clock.now())
        .await
    {
        Ok(sessions) => Ok(sessions
            .into_iter()
            .map(|session| SessionView {
                id: session.id,
                device: describe_user_agent(session.user_agent.as_deref()),
                ip: session.client_ip,
                created: when(session.created_at),
                expires: when(session.expires_at),
                current: session.id == current.id,
            })
            .collect()),
        Err(err) => {
            tracing::error!(error = %err, "could not list sessions");
            Err(fail(
                &parts,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                account_with_error,
            ))
        }
    }
}

pub async fn end_session(id: String) -> Result<(), AuthError> {
    let (service, parts) = (service()?, parts()?);
    let (current, email) = signed_in_session(&service, &parts).await?;
    let Ok(id) = id.trim().parse::<i64>() else {
        return Err(fail(
            &parts,
            StatusCode::BAD_REQUEST,
            "Choose a session to sign out.",
            account_with_error,
        ));
    };
    let now = service.clock.now();
    match service.store.logout_session(&email, id, now).await {
        Ok(true) => {
            announce_sign_out(&service, &current, false, now).await;
            if id == current.id {
                set_cookie(&service, session_cookie(&service), "", 0);
                redirect(&paths().login);
            } else {
                redirect(&paths().account);
            }
            Ok(())
        }
        // Not a live session of this address: already ended, or someone else's.
        Ok(false) => Err(fail(
            &parts,
            StatusCode::NOT_FOUND,
            "That session has already ended.",
            account_with_error,
        )),
        Err(err) => {
            tracing::error!(error = %err, "could not end a session");
            Err(fail(
                &parts,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                account_with_error,
            ))
        }
    }
}

/// A short description of a browser from its `User-Agent`, such as "Firefox on macOS".
pub fn describe_user_agent(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return "Unknown device".to_owned();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("A browser on {system}"),
        // Not a browser: its first product token, such as `curl/8.5.0`.
        (None, None) => ua
            .split_whitespace()
            .next()
            .unwrap_or(ua)
            .chars()
            .filter(|c| !c.is_control())
            .take(40)
            .collect(),
    }
}

/// Ends the session behind `token`, or with `everywhere` every session of its address.
/// Returns the session that was live, if there was one.
async fn end_sessions(
    service: &AuthService,
    token: &SessionToken,
    everywhere: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Session>, StoreError> {
    let Some(session) = service.store.session(token, now).await? else {
        return Ok(None);
    };
    match Email::parse(&session.email) {
        Ok(email) if everywhere => service.store.logout_all(&email, now).await.map(|_| ())?,
        _ => service.store.logout(token, now).await.map(|_| ())?,
    }
    Ok(Some(session))
}

pub async fn logout(everywhere: bool) -> Result<(), AuthError> {
    let (service, parts) = (service()?, parts()?);
    let now = service.clock.now();
    if let Some(token) = session_token(&service, &parts) {
        match end_sessions(&service, &token, everywhere, now).await {
            Ok(Some(session)) => announce_sign_out(&service, &session, everywhere, now).await,
            Ok(None) => {}
            Err(err) => {
                tracing::error!(error = %err, "could not end a session");
                return Err(fail(
                    &parts,
                    StatusCode::SERVICE_UNAVAILABLE,
                    UNAVAILABLE,
                    home_with_error,
                ));
            }
        }
    }
    set_cookie(&service, session_cookie(&service), "", 0);
    redirect(&paths().login);
    Ok(())
}

pub async fn preview_link(token: String) -> Result<LinkPreview, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let Ok(token) = LinkToken::parse(&token) else {
        return Ok(LinkPreview {
            email: None,
            same_browser: false,
        });
    };
    let email = match service.store.peek_link(&token, service.clock.now()).await {
        Ok(email) => email,
        Err(err) => {
            tracing::error!(error = %err, "could not look up a link");
            return Err(fail(
                &parts,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                home_with_error,
            ));
        }
    };
    let same_browser = email.is_some()
        && read_cookie(&parts, pending_cookie(&service)).is_some_and(|pending| {
            constant_time_eq(pending.as_bytes(), token_hash(token.expose()).as_bytes())
        });
    Ok(LinkPreview {
        email,
        same_browser,
    })
}

/// Whether the mail for this browser's pending sign-in could not be sent. Only a failure is
/// told: "still sending" and "sent" look alike, as does an address off the allow-list, so the
/// answer says nothing about who may sign in.
pub async fn delivery() -> Result<DeliveryReport, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let Some(pending) = read_cookie(&parts, pending_cookie(&service)) else {
        return Ok(DeliveryReport { failed: false });
    };
    match service
        .store
        .delivery_failed(&pending, service.clock.now())
        .await
    {
        Ok(failed) => Ok(DeliveryReport { failed }),
        Err(err) => {
            tracing::error!(error = %err, "could not read what became of a sign-in email");
            Err(fail(
                &parts,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                home_with_error,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::describe_user_agent;

    #[test]
    fn user_agents_are_described_briefly() {
        let cases = [
            (None, "Unknown device"),
            (Some("  "), "Unknown device"),
            (
                Some(
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                ),
                "Safari on iPhone",
            ),
            (
                Some(
                    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                ),
                "Chrome on Android",
            ),
            (
                Some(
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
                ),
                "Edge on Windows",
            ),
            (Some("curl/8.5.0"), "curl/8.5.0"),
        ];
        for (agent, expected) in cases {
            assert_eq!(describe_user_agent(agent), expected, "{agent:?}");
        }
    }
}
