//! Deleting the signed-in account.

use crate::replies::{NOTHING_TO_DELETE, TYPE_YOUR_ADDRESS};
use axum::http::StatusCode;
use leptos_axum::redirect;

use super::{
    delete_with_error, fail, home_with_error, parts, paths, service,
    sessions::{require_fresh_or, session_or_refuse},
    unavailable,
};
use crate::{
    cookies::{session_cookie, set_cookie},
    replies::{AuthError, Outcome},
};

pub async fn delete_account(confirm: String) -> Result<(), AuthError> {
    let (service, parts) = (service()?, parts()?);
    let session = session_or_refuse(&service, &parts, NOTHING_TO_DELETE).await?;
    // The typed address, as a last look at what is about to go.
    if !confirm.trim().eq_ignore_ascii_case(session.email.as_str()) {
        return Err(fail(
            &parts,
            StatusCode::BAD_REQUEST,
            TYPE_YOUR_ADDRESS,
            delete_with_error,
        ));
    }
    require_fresh_or(&service, &parts, &session, delete_with_error)?;
    match service.delete_account(&session).await {
        Ok(None) => Err(fail(
            &parts,
            StatusCode::UNAUTHORIZED,
            NOTHING_TO_DELETE,
            home_with_error,
        )),
        Ok(Some(_)) => {
            set_cookie(&service, session_cookie(&service), "", 0);
            super::outcome::set(&service, &parts, Outcome::AccountDeleted);
            redirect(&paths().login);
            Ok(())
        }
        Err(err) => Err(unavailable(&parts, &err, "delete an account", delete_with_error).await),
    }
}
