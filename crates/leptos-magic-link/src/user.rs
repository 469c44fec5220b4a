//! The signed-in person, for the app's own server functions. Server only.
//!
//! ```no_run
//! use leptos::prelude::*;
//! use leptos_magic_link::{AuthError, require_user};
//!
//! /// Only for signed-in visitors: anyone else gets a 401 with a message.
//! #[server]
//! pub async fn my_notes() -> Result<Vec<String>, AuthError> {
//!     let user = require_user().await?;
//!     Ok(vec![format!("notes of {}", user.email)])
//! }
//! ```

use crate::replies::SIGN_IN_REQUIRED;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::{
    domain::{Email, PersistentId},
    http::{live_session, parts, service},
    replies::AuthError,
};

/// The person behind the request's session cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInUser {
    /// Their address, normalised.
    pub email: Email,
    /// The stable id other systems may key on: the SHA-256 of the address.
    pub persistent_id: PersistentId,
    /// This browser's session (the id the sessions list shows).
    pub session_id: i64,
    /// When this session last proved who it is: at sign-in, or a later confirmation.
    pub authenticated_at: chrono::DateTime<chrono::Utc>,
}

/// The [`AuthService`](crate::AuthService) serving this request, for the app's own server
/// functions: for instance its database, through `auth_service()?.store.db()`.
pub fn auth_service() -> Result<crate::AuthService, AuthError> {
    service()
}

/// The signed-in person, or `None` for a visitor without a live session. Call it from a
/// server function or while rendering a page on the server.
///
/// Errors only when the session store cannot be read (a 503 is set on the response).
pub async fn current_user() -> Result<Option<SignedInUser>, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let Some(session) = live_session(&service, &parts).await? else {
        return Ok(None);
    };
    Ok(Some(SignedInUser::from(session)))
}

impl From<crate::store::Session> for SignedInUser {
    fn from(session: crate::store::Session) -> Self {
        Self {
            email: session.email,
            persistent_id: session.persistent_id,
            session_id: session.id,
            authenticated_at: session.authenticated_at,
        }
    }
}

/// The signed-in person, or an [`AuthError`] with the response set to `401 Unauthorized`.
pub async fn require_user() -> Result<SignedInUser, AuthError> {
    match current_user().await? {
        Some(user) => Ok(user),
        None => {
            if let Some(response) = use_context::<ResponseOptions>() {
                response.set_status(StatusCode::UNAUTHORIZED);
            }
            Err(AuthError::new(SIGN_IN_REQUIRED))
        }
    }
}

/// The signed-in person, if this session signed in (or confirmed who it is) within
/// `MAGIC_LINK_AUTH_FRESH_SECONDS`: for sensitive actions, such as changing where the account's
/// mail goes. Else an [`AuthError`] with `401` (signed out) or `403` and
/// [`AuthError::fresh_sign_in_required`] set, which the account page answers by offering to
/// confirm.
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_magic_link::{AuthError, require_fresh_user};
///
/// #[server]
/// pub async fn delete_all_notes() -> Result<(), AuthError> {
///     let user = require_fresh_user().await?;
///     // ... delete the notes of user.persistent_id
///     Ok(())
/// }
/// ```
pub async fn require_fresh_user() -> Result<SignedInUser, AuthError> {
    let user = require_user().await?;
    let service = service()?;
    let now = service.clock().now();
    if crate::store::is_fresh(user.authenticated_at, now, service.config().fresh_for) {
        return Ok(user);
    }
    tracing::info!(
        session = user.session_id,
        "sensitive action refused: the sign-in is not fresh"
    );
    if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(StatusCode::FORBIDDEN);
    }
    Err(AuthError::fresh_sign_in_required())
}
