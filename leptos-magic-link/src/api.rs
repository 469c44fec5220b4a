//! The auth endpoints, as Leptos server functions with fixed paths under `/api/auth/`.
//!
//! Each takes a form-encoded body and answers JSON. Every argument is optional at the
//! protocol level, so a missing field is a clear 400 from the function itself rather than a
//! decoding failure. The bodies are thin: read the request, call [`AuthService`], map errors.
//! With JavaScript off, the same endpoints serve plain HTML forms: they answer with a
//! redirect, carrying any error back to the form in the query string.
//!
//! [`AuthService`]: super::service::AuthService

use leptos::prelude::*;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// An error a person can act on. The HTTP status is set alongside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct AuthError {
    pub error: String,
}

impl AuthError {
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
        }
    }
}

impl FromServerFnError for AuthError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // A body that is not the form an endpoint takes (repeated fields, bad encoding)
            // is the sender's mistake: a 400, not a 500.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => {
                #[cfg(feature = "ssr")]
                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(axum::http::StatusCode::BAD_REQUEST);
                    response.insert_header(
                        axum::http::header::CONTENT_TYPE,
                        axum::http::HeaderValue::from_static("application/json"),
                    );
                }
                Self::new("The request could not be read: send a form with the documented fields.")
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                Self::new("The server could not be reached. Check your connection and try again.")
            }
            _ => Self::new("Something went wrong. Please try again."),
        }
    }
}

/// The signed-in session, as pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub email: String,
    pub persistent_id: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// One of the signed-in address's sessions, as the sessions page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: i64,
    /// A short description of the browser, such as "Firefox on macOS".
    pub device: String,
    /// The client address at sign-in.
    pub ip: Option<String>,
    /// When it started and when it runs out, as `YYYY-MM-DD HH:MM UTC`.
    pub created: String,
    pub expires: String,
    /// Whether it is the session of the browser asking.
    pub current: bool,
}

/// The reply to every accepted link request, the same whether or not the address is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRequested {
    pub message: String,
}

/// What became of the sign-in email this browser asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// The mail provider failed every try: the email never went out.
    pub failed: bool,
}

/// What the page waiting for the email says when it never went out.
pub const MAIL_FAILED: &str = "We couldn't send the email. Please try again.";

/// The reply to a successful sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub redirect_to: String,
}

/// What opening a link shows, before anything is consumed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPreview {
    /// The address the link signs in, or `None` when the link is unusable.
    pub email: Option<String>,
    /// Whether this browser asked for the link, so it may sign in without a click.
    pub same_browser: bool,
}

/// Issues a credential and mails the link. `POST /api/auth/request` with `email`, `redir`,
/// and `captcha` (the CAPTCHA widget's token) when a CAPTCHA is configured.
#[server(prefix = "/api/auth", endpoint = "request")]
pub async fn request_link(
    email: Option<String>,
    redir: Option<String>,
    captcha: Option<String>,
) -> Result<LinkRequested, AuthError> {
    super::http::request_link(email.unwrap_or_default(), redir, captcha).await
}

/// Signs in with a link token. `POST /api/auth/redeem` with `token`, `redir`.
#[server(prefix = "/api/auth", endpoint = "redeem")]
pub async fn redeem(token: Option<String>, redir: Option<String>) -> Result<SignedIn, AuthError> {
    super::http::redeem(token.unwrap_or_default(), redir).await
}

/// Signs in with the typed code. `POST /api/auth/verify-code` with `email`, `code`, `redir`.
#[server(prefix = "/api/auth", endpoint = "verify-code")]
pub async fn verify_code(
    email: Option<String>,
    code: Option<String>,
    redir: Option<String>,
) -> Result<SignedIn, AuthError> {
    super::http::verify_code(email.unwrap_or_default(), code.unwrap_or_default(), redir).await
}

/// The current session, if the session cookie holds a live one. `POST /api/auth/session`.
#[server(prefix = "/api/auth", endpoint = "session")]
pub async fn current_session() -> Result<Option<SessionInfo>, AuthError> {
    super::http::current_session().await
}

/// Ends this browser's session. `POST /api/auth/logout`.
#[server(prefix = "/api/auth", endpoint = "logout")]
pub async fn logout() -> Result<(), AuthError> {
    super::http::logout(false).await
}

/// Ends every session of the signed-in address. `POST /api/auth/logout-all`.
#[server(prefix = "/api/auth", endpoint = "logout-all")]
pub async fn logout_all() -> Result<(), AuthError> {
    super::http::logout(true).await
}

/// The signed-in address's live sessions, newest first. `POST /api/auth/sessions`.
#[server(prefix = "/api/auth", endpoint = "sessions")]
pub async fn list_sessions() -> Result<Vec<SessionView>, AuthError> {
    super::http::list_sessions().await
}

/// Ends one session of the signed-in address. `POST /api/auth/end-session` with `id`.
#[server(prefix = "/api/auth", endpoint = "end-session")]
pub async fn end_session(id: Option<String>) -> Result<(), AuthError> {
    super::http::end_session(id.unwrap_or_default()).await
}

/// Whether the sign-in email this browser asked for could not be sent (the mail goes out
/// after the reply to `request`). `POST /api/auth/delivery`.
#[server(prefix = "/api/auth", endpoint = "delivery")]
pub async fn delivery() -> Result<DeliveryReport, AuthError> {
    super::http::delivery().await
}

/// Describes a link without using it. `POST /api/auth/link` with `token`.
#[server(prefix = "/api/auth", endpoint = "link")]
pub async fn preview_link(token: Option<String>) -> Result<LinkPreview, AuthError> {
    super::http::preview_link(token.unwrap_or_default()).await
}
