//! Passkeys over HTTP: the two halves of adding one and of signing in with one, and the
//! account page's list, rename and delete. The ceremonies need the browser's JavaScript and
//! answer JSON; rename and delete are also plain forms, which a refusal sends back to the
//! passkeys card (`/account?passkey_error=`).

use axum::http::StatusCode;

use super::{
    RATE_LIMITED, client, device, fail, home_with_error, parts, passkeys_with_error, service,
    sessions::{fresh_session, require_fresh_or, signed_in_session},
    start_session, target, unavailable, utc_minute,
};
use crate::{
    replies::{AuthError, PasskeyOptions, PasskeyView, SignedIn},
    service::passkeys::{PasskeyFlowError, Started},
    store::passkeys::{PasskeyError, PasskeyInfo},
};

/// A passkey as the account page shows it.
fn passkey_view(info: PasskeyInfo) -> PasskeyView {
    PasskeyView {
        id: info.id,
        name: info.name,
        created: utc_minute(info.created_at),
        last_used: info.last_used_at.map(utc_minute),
    }
}

/// `result`, with a failed ceremony's error as [`refused`] answers it.
async fn or_refused<T>(
    parts: &axum::http::request::Parts,
    result: Result<T, PasskeyFlowError>,
) -> Result<T, AuthError> {
    match result {
        Ok(value) => Ok(value),
        Err(err) => Err(refused(parts, err).await),
    }
}

/// The status and message for a failed ceremony; faults of this service are logged.
async fn refused(parts: &axum::http::request::Parts, err: PasskeyFlowError) -> AuthError {
    let status = match &err {
        PasskeyFlowError::Unavailable => StatusCode::NOT_FOUND,
        PasskeyFlowError::TooManyFailures => {
            crate::metrics::refused(crate::metrics::Refusal::RateLimit);
            return fail(
                parts,
                StatusCode::TOO_MANY_REQUESTS,
                RATE_LIMITED,
                home_with_error,
            );
        }
        PasskeyFlowError::Passkey(
            PasskeyError::AlreadyRegistered | PasskeyError::TooMany { .. },
        ) => StatusCode::CONFLICT,
        PasskeyFlowError::Passkey(PasskeyError::NotAllowed) => StatusCode::FORBIDDEN,
        PasskeyFlowError::Passkey(PasskeyError::SignedOut) => StatusCode::UNAUTHORIZED,
        PasskeyFlowError::Passkey(PasskeyError::Store(store)) => {
            return unavailable(parts, store, "run a passkey ceremony", home_with_error).await;
        }
        PasskeyFlowError::State(_) | PasskeyFlowError::Internal(_) => {
            tracing::error!(error = %err, "passkey ceremony failed on the server");
            return fail(
                parts,
                StatusCode::INTERNAL_SERVER_ERROR,
                super::BROKEN,
                home_with_error,
            );
        }
        PasskeyFlowError::Rejected(cause) => {
            tracing::info!(error = %cause, "passkey refused");
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::BAD_REQUEST,
    };
    fail(parts, status, &err.to_string(), home_with_error)
}

/// A started ceremony as the browser gets it: the handle, and the options as JSON.
fn options_reply(
    started: Result<Started<impl serde::Serialize>, PasskeyFlowError>,
) -> Result<PasskeyOptions, PasskeyFlowError> {
    let started = started?;
    Ok(PasskeyOptions {
        options: serde_json::to_string(&started.options).map_err(PasskeyFlowError::State)?,
        handle: started.handle,
    })
}

pub async fn register_start() -> Result<PasskeyOptions, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let session = fresh_session(&service, &parts).await?;
    or_refused(
        &parts,
        options_reply(service.start_passkey_registration(&session).await),
    )
    .await
}

pub async fn register_finish(
    handle: String,
    name: String,
    credential: String,
) -> Result<PasskeyView, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let session = fresh_session(&service, &parts).await?;
    let finished = service
        .finish_passkey_registration(&session, &handle, &name, &credential)
        .await
        .map(passkey_view);
    or_refused(&parts, finished).await
}

pub async fn sign_in_start() -> Result<PasskeyOptions, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let client = client(&service, &parts);
    or_refused(
        &parts,
        options_reply(service.start_passkey_sign_in(&client).await),
    )
    .await
}

pub async fn sign_in_finish(
    handle: String,
    credential: String,
    redir: Option<String>,
) -> Result<SignedIn, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let redir = target(redir.as_deref());
    let client = client(&service, &parts);
    match service
        .finish_passkey_sign_in(&handle, &credential, &client, &device(&parts, &client))
        .await
    {
        Ok(new_session) => {
            start_session(&service, &new_session);
            Ok(SignedIn {
                redirect_to: redir.as_str().to_owned(),
                session: super::session_info(&new_session.session),
            })
        }
        Err(err) => Err(refused(&parts, err).await),
    }
}

pub async fn list() -> Result<Vec<PasskeyView>, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let session = signed_in_session(&service, &parts).await?;
    match service.store().list_passkeys(&session.email).await {
        Ok(passkeys) => Ok(passkeys.into_iter().map(passkey_view).collect()),
        Err(err) => Err(unavailable(&parts, &err, "list passkeys", passkeys_with_error).await),
    }
}

fn passkey_id(parts: &axum::http::request::Parts, id: &str) -> Result<i64, AuthError> {
    id.trim().parse::<i64>().map_err(|_| {
        fail(
            parts,
            StatusCode::BAD_REQUEST,
            "Choose a passkey.",
            passkeys_with_error,
        )
    })
}

const NO_SUCH_PASSKEY: &str = "That passkey is not registered.";

pub async fn rename(id: String, name: String) -> Result<(), AuthError> {
    let (service, parts) = (service()?, parts()?);
    let session = signed_in_session(&service, &parts).await?;
    let id = passkey_id(&parts, &id)?;
    match service
        .store()
        .rename_passkey(&session.email, id, &name)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(fail(
            &parts,
            StatusCode::NOT_FOUND,
            NO_SUCH_PASSKEY,
            passkeys_with_error,
        )),
        Err(err) => Err(unavailable(&parts, &err, "rename a passkey", passkeys_with_error).await),
    }
}

pub async fn delete(id: String) -> Result<(), AuthError> {
    let (service, parts) = (service()?, parts()?);
    let session = signed_in_session(&service, &parts).await?;
    require_fresh_or(&service, &parts, &session, passkeys_with_error)?;
    let id = passkey_id(&parts, &id)?;
    match service.delete_passkey(&session, id).await {
        Ok(true) => {
            tracing::info!(email = %session.email.masked(), session = session.id, passkey = id, "passkey deleted");
            Ok(())
        }
        Ok(false) => Err(fail(
            &parts,
            StatusCode::NOT_FOUND,
            NO_SUCH_PASSKEY,
            passkeys_with_error,
        )),
        Err(err) => Err(unavailable(&parts, &err, "delete a passkey", passkeys_with_error).await),
    }
}

pub async fn confirm_start() -> Result<PasskeyOptions, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let session = signed_in_session(&service, &parts).await?;
    or_refused(
        &parts,
        options_reply(service.start_passkey_confirmation(&session).await),
    )
    .await
}

pub async fn confirm_finish(handle: String, credential: String) -> Result<(), AuthError> {
    let (service, parts) = (service()?, parts()?);
    let session = signed_in_session(&service, &parts).await?;
    let client = client(&service, &parts);
    let finished = service
        .finish_passkey_confirmation(&session, &handle, &credential, &client)
        .await;
    or_refused(&parts, finished).await
}
