//! Changing the signed-in account's address: asking (a fresh session), and the page the two
//! links open, where looking a link up changes nothing (a mail scanner may fetch it) and only
//! the confirming POST moves the account.

use axum::http::{StatusCode, request::Parts};
use leptos_axum::redirect;

use super::{
    RATE_LIMITED, client, fail, parts, paths, service,
    sessions::{live_session, require_fresh_or, session_or_refuse},
    unavailable,
};
use crate::{
    clock::utc_minute,
    domain::encode_query_value as enc,
    replies::{
        AuthError, EmailChangeDone, EmailChangeLink, EmailChangePreview, EmailChangeSent, Outcome,
        SIGN_IN_REQUIRED,
    },
    service::EmailChangeError,
    store::{ChangeError, EmailChanged},
};
use magic_link_core::entities::email_change::ChangeKind;

/// The account page with `error` for the change-of-address card.
fn account_with_change_error(error: &str) -> String {
    format!(
        "{}?{}={error}",
        paths().account,
        crate::messages::CHANGE_ERROR_PARAM
    )
}

/// The page the links open, with `query` after its path.
fn page(query: &str) -> String {
    format!("{}?{query}", paths().change_email)
}

pub async fn change_email(email: String) -> Result<EmailChangeSent, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let back = account_with_change_error;
    let session = session_or_refuse(&service, &parts, SIGN_IN_REQUIRED).await?;
    require_fresh_or(&service, &parts, &session, back)?;
    let client = client(&service, &parts);
    match service
        .request_email_change(&session, &email, &client)
        .await
    {
        Ok(sent) => {
            super::outcome::set(&service, &parts, Outcome::EmailChangeSent);
            redirect(&paths().account);
            Ok(EmailChangeSent {
                to: sent.to,
                expires_at: utc_minute(sent.expires_at),
            })
        }
        Err(EmailChangeError::InvalidEmail(err)) => Err(fail(
            &parts,
            StatusCode::BAD_REQUEST,
            &err.to_string(),
            back,
        )),
        Err(EmailChangeError::Change(err)) => {
            Err(refused(&parts, err, "ask for a change of address", back).await)
        }
    }
}

/// The status and words of a refused change, or a 503 for a fault.
async fn refused(
    parts: &Parts,
    err: ChangeError,
    doing: &str,
    back: impl Fn(&str) -> String,
) -> AuthError {
    let status = match &err {
        ChangeError::SameAddress | ChangeError::InvalidOrExpired => StatusCode::BAD_REQUEST,
        ChangeError::NotAllowed => StatusCode::FORBIDDEN,
        ChangeError::SessionEnded | ChangeError::NotSignedIn => StatusCode::UNAUTHORIZED,
        ChangeError::AddressTaken => StatusCode::CONFLICT,
        ChangeError::RateLimited(limit) => {
            tracing::info!(?limit, "change of address refused by a rate limit");
            crate::metrics::refused(crate::metrics::Refusal::RateLimit);
            // One message for both limits: the address's limit counts change requests only.
            return fail(parts, StatusCode::TOO_MANY_REQUESTS, RATE_LIMITED, back);
        }
        ChangeError::Store(store) => return unavailable(parts, store, doing, back).await,
    };
    tracing::info!(%status, reason = %err, "change of address refused");
    fail(parts, status, &err.to_string(), back)
}

pub async fn preview_email_change(token: String) -> Result<EmailChangePreview, AuthError> {
    let (service, parts) = (service()?, parts()?);
    match service.preview_email_change(&token).await {
        Ok(link) => Ok(EmailChangePreview {
            link: link.map(|link| EmailChangeLink {
                undo: link.kind == ChangeKind::Undo,
                from: link.from,
                to: link.to,
            }),
        }),
        Err(err) => Err(
            unavailable(&parts, &err, "look up a change-of-address link", |error| {
                page(&format!("error={error}"))
            })
            .await,
        ),
    }
}

/// Uses a change-of-address link: `undo` picks which kind the page asked for, and a link of
/// the other kind is refused as invalid.
pub async fn use_email_change(token: String, undo: bool) -> Result<EmailChangeDone, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let back = |error: &str| page(&format!("error={error}&token={}", enc(&token)));
    let used = if undo {
        service.undo_email_change(&token).await
    } else {
        // The account that asked must be signed in here: see `confirm_email_change`.
        match live_session(&service, &parts).await? {
            Some(session) => service.confirm_email_change(&token, &session).await,
            // A dead link says so first, whoever opens it.
            None => match service.preview_email_change(&token).await {
                Ok(Some(link)) if link.kind == ChangeKind::Confirm => Err(ChangeError::NotSignedIn),
                Ok(_) => Err(ChangeError::InvalidOrExpired),
                Err(err) => Err(ChangeError::Store(err)),
            },
        }
    };
    match used {
        Ok(changed) => {
            let EmailChanged {
                from,
                to,
                sessions,
                passkeys_removed,
                ..
            } = changed;
            let ended = if undo { sessions } else { 0 };
            super::outcome::set(
                &service,
                &parts,
                Outcome::EmailChanged {
                    undone: undo,
                    ended,
                    passkeys_removed,
                },
            );
            redirect(&paths().change_email);
            Ok(EmailChangeDone {
                from,
                to,
                undone: undo,
                ended,
                passkeys_removed,
            })
        }
        Err(err) => Err(refused(&parts, err, "use a change-of-address link", back).await),
    }
}
