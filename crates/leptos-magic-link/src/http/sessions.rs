//! The visitor's session and the address's sessions: reading, listing and ending them.

use axum::http::{StatusCode, request::Parts};
use leptos_axum::redirect;

use super::{
    account_with_error, fail, fail_with, home_with_error, parts, paths, service, unavailable,
    utc_minute,
};
use crate::{
    cookies::{pending_cookie, read_cookie, session_cookie, set_cookie},
    device::describe_user_agent,
    domain::SessionToken,
    replies::{ActivityView, AuthError, DeliveryReport, SessionInfo, SessionView},
    service::AuthService,
    store::Session,
};

const SIGN_IN_FIRST: &str = "Sign in to manage your sessions.";

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
    match service.store().session(&token, service.clock().now()).await {
        Ok(session) => Ok(session),
        Err(err) => Err(unavailable(parts, &err, "read a session", home_with_error).await),
    }
}

pub async fn current_session() -> Result<Option<SessionInfo>, AuthError> {
    let (service, parts) = (service()?, parts()?);
    Ok(live_session(&service, &parts)
        .await?
        .as_ref()
        .map(super::session_info))
}

/// The live session of the browser asking, or a `401` when there is none.
pub(super) async fn signed_in_session(
    service: &AuthService,
    parts: &Parts,
) -> Result<Session, AuthError> {
    session_or_refuse(service, parts, SIGN_IN_FIRST).await
}

/// The live session of the browser asking, or a `401` saying `refusal` when there is none (a
/// plain form goes back to the login page with it).
pub(super) async fn session_or_refuse(
    service: &AuthService,
    parts: &Parts,
    refusal: &str,
) -> Result<Session, AuthError> {
    let Some(session) = live_session(service, parts).await? else {
        return Err(fail(
            parts,
            StatusCode::UNAUTHORIZED,
            refusal,
            home_with_error,
        ));
    };
    Ok(session)
}

/// The live session of the browser asking if it signed in recently enough for a sensitive
/// action: else a `401` when there is none, or a `403` that asks it to confirm.
pub(crate) async fn fresh_session(
    service: &AuthService,
    parts: &Parts,
) -> Result<Session, AuthError> {
    let session = signed_in_session(service, parts).await?;
    require_fresh(service, parts, &session)?;
    Ok(session)
}

/// Nothing when `session` signed in recently enough for a sensitive action, else the `403`
/// that asks it to confirm.
pub(super) fn require_fresh(
    service: &AuthService,
    parts: &Parts,
    session: &Session,
) -> Result<(), AuthError> {
    require_fresh_or(service, parts, session, account_with_error)
}

/// As [`require_fresh`], sending a plain form back to `back_to`.
pub(super) fn require_fresh_or(
    service: &AuthService,
    parts: &Parts,
    session: &Session,
    back_to: impl Fn(&str) -> String,
) -> Result<(), AuthError> {
    if session.is_fresh(service.clock().now(), service.config().fresh_for) {
        return Ok(());
    }
    tracing::info!(
        session = session.id,
        "sensitive action refused: the sign-in is not fresh"
    );
    let refusal = AuthError::fresh_sign_in_required();
    Err(fail_with(parts, StatusCode::FORBIDDEN, refusal, back_to))
}

pub async fn list_sessions() -> Result<Vec<SessionView>, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let current = signed_in_session(&service, &parts).await?;
    match service
        .store()
        .list_sessions(&current.email, service.clock().now())
        .await
    {
        Ok(sessions) => Ok(sessions
            .into_iter()
            .map(|session| SessionView {
                id: session.id,
                device: describe_user_agent(session.user_agent.as_deref()),
                ip: session.client_ip,
                created: utc_minute(session.created_at),
                expires: utc_minute(session.expires_at),
                current: session.id == current.id,
            })
            .collect()),
        Err(err) => Err(unavailable(&parts, &err, "list sessions", account_with_error).await),
    }
}

pub async fn activity() -> Result<Vec<ActivityView>, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let current = signed_in_session(&service, &parts).await?;
    match service.activity(&current.email).await {
        Ok(events) => Ok(events
            .into_iter()
            .map(|event| ActivityView {
                what: match event.count {
                    ..=1 => event.kind.describe().to_owned(),
                    n => format!("{} ({n} times)", event.kind.describe()),
                },
                count: u32::try_from(event.count).unwrap_or(1),
                device: event
                    .device
                    .map(|device| several(device, "several browsers")),
                network: event
                    .network
                    .map(|network| several(network, "several networks")),
                at: utc_minute(event.created_at),
            })
            .collect()),
        Err(err) => {
            Err(unavailable(&parts, &err, "read the recent activity", account_with_error).await)
        }
    }
}

/// A merged line's browser or network as the page says it: `said` when it came from more than
/// one (see [`SEVERAL`](crate::store::SEVERAL)).
fn several(value: String, said: &str) -> String {
    if value == crate::store::SEVERAL {
        said.to_owned()
    } else {
        value
    }
}

pub async fn end_session(id: String) -> Result<(), AuthError> {
    let (service, parts) = (service()?, parts()?);
    let current = signed_in_session(&service, &parts).await?;
    let Ok(id) = id.trim().parse::<i64>() else {
        return Err(fail(
            &parts,
            StatusCode::BAD_REQUEST,
            "Choose a session to sign out.",
            account_with_error,
        ));
    };
    // Signing this browser out is always allowed; ending another session is sensitive.
    if id != current.id {
        require_fresh(&service, &parts, &current)?;
    }
    match service.end_session(&current, id).await {
        Ok(true) => {
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
        Err(err) => Err(unavailable(&parts, &err, "end a session", account_with_error).await),
    }
}

pub async fn logout(everywhere: bool) -> Result<(), AuthError> {
    let (service, parts) = (service()?, parts()?);
    // Signing out everywhere is sensitive; signing this browser out never is.
    if everywhere {
        fresh_session(&service, &parts).await?;
    }
    if let Some(token) = session_token(&service, &parts)
        && let Err(err) = service.sign_out(&token, everywhere).await
    {
        return Err(unavailable(&parts, &err, "end a session", home_with_error).await);
    }
    set_cookie(&service, session_cookie(&service), "", 0);
    redirect(&paths().login);
    Ok(())
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
        .store()
        .delivery_failed(&pending, service.clock().now())
        .await
    {
        Ok(failed) => Ok(DeliveryReport { failed }),
        Err(err) => Err(unavailable(
            &parts,
            &err,
            "read what became of a sign-in email",
            home_with_error,
        )
        .await),
    }
}
