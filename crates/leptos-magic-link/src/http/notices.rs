//! The page a new-sign-in notice's "Wasn't you? Sign out everywhere" link opens: looking the
//! link up changes nothing (a mail scanner may fetch it), and only the confirming POST ends
//! the sessions.

use axum::http::StatusCode;
use leptos_axum::redirect;

use super::{fail, parts, paths, service, unavailable};
use crate::{
    domain::encode_query_value as enc,
    replies::{AuthError, Outcome, SIGN_OUT_LINK_INVALID, SignOutLinkPreview, SignedOutEverywhere},
};

/// The page, with `query` after its path.
fn page(query: &str) -> String {
    format!("{}?{query}", paths().sign_out_everywhere)
}

pub async fn preview_sign_out_link(token: String) -> Result<SignOutLinkPreview, AuthError> {
    let (service, parts) = (service()?, parts()?);
    match service.preview_sign_out_link(&token).await {
        Ok(email) => Ok(SignOutLinkPreview { email }),
        Err(err) => Err(
            unavailable(&parts, &err, "look up a sign-out link", |error| {
                page(&format!("error={error}"))
            })
            .await,
        ),
    }
}

pub async fn sign_out_everywhere(token: String) -> Result<SignedOutEverywhere, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let back = |error: &str| page(&format!("error={error}&token={}", enc(&token)));
    match service.use_sign_out_link(&token).await {
        Ok(Some(outcome)) => {
            super::outcome::set(
                &service,
                &parts,
                Outcome::SignedOutEverywhere {
                    ended: outcome.sessions,
                    passkeys_removed: outcome.passkeys,
                },
            );
            redirect(&paths().sign_out_everywhere);
            Ok(SignedOutEverywhere {
                email: outcome.email,
                ended: outcome.sessions,
                passkeys_removed: outcome.passkeys,
            })
        }
        Ok(None) => Err(fail(
            &parts,
            StatusCode::BAD_REQUEST,
            SIGN_OUT_LINK_INVALID,
            back,
        )),
        Err(err) => Err(unavailable(&parts, &err, "sign out everywhere", back).await),
    }
}
