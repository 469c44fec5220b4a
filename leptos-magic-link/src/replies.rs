//! What the auth endpoints answer, shared by the server functions, their server side and
//! the components.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, PersistentId};

/// An error a person can act on. The HTTP status is set alongside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct AuthError {
    pub error: String,
    /// Set when the action is sensitive and this session signed in too long ago: the page
    /// offers to confirm (with a passkey, or a fresh code by email), then to try again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh_sign_in_required: bool,
}

/// What a stale session is told when it tries a sensitive action.
pub const FRESH_SIGN_IN_REQUIRED: &str =
    "For your security, confirm it's you before doing this: you signed in a while ago.";

impl AuthError {
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            fresh_sign_in_required: false,
        }
    }

    /// The refusal of a sensitive action to a session that signed in too long ago.
    pub fn fresh_sign_in_required() -> Self {
        Self {
            error: FRESH_SIGN_IN_REQUIRED.to_owned(),
            fresh_sign_in_required: true,
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
                if let Some(response) =
                    leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
                {
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

/// What a used, expired or unknown "sign out everywhere" link gets.
pub const SIGN_OUT_LINK_INVALID: &str = "This link is invalid, used or expired. Sign in and sign out everywhere from your account page instead.";

/// The signed-in session, as pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub email: Email,
    pub persistent_id: PersistentId,
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
    pub email: Option<Email>,
    /// Whether this browser asked for the link, so it may sign in without a click.
    pub same_browser: bool,
}

/// One event of the address's recent activity, as the account page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityView {
    /// What happened, such as "Signed in with a link" or "Wrong code entered (3 times)".
    pub what: String,
    /// How many times: link requests and wrong codes from one browser and network within an
    /// hour are one event.
    pub count: u32,
    /// The browser and system, when known.
    pub device: Option<String>,
    /// The network around the client address, when known.
    pub network: Option<String>,
    /// When, as `2026-11-25 12:30 UTC`.
    pub at: String,
}

/// What opening a notice's "sign out everywhere" link shows, before anything changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOutLinkPreview {
    /// The address the link signs out, or `None` when the link is unusable.
    pub email: Option<Email>,
}

/// A notice's link was used: every session of the address has ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOutEverywhere {
    pub email: Email,
    /// How many live sessions ended.
    pub ended: u64,
    /// How many passkeys, added since the sign-in the notice warned of, were removed.
    pub passkeys_removed: u64,
}

/// What an action that leaves its page behind did, for the page it lands on to say once: a
/// one-time cookie carries it there, never the page's address, so no link can show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The account was deleted: the login page says so.
    AccountDeleted,
    /// A notice's link signed the address out everywhere.
    SignedOutEverywhere {
        /// How many live sessions ended.
        ended: u64,
        /// How many passkeys, added since the sign-in the notice warned of, were removed.
        passkeys_removed: u64,
    },
}

/// A passkey ceremony started by the server: what `navigator.credentials` is to be asked,
/// and the handle that finishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyOptions {
    /// Sent back with the browser's answer; single use, for a few minutes.
    pub handle: String,
    /// The WebAuthn options, as JSON (`{"publicKey": …}`, binary fields in base64url).
    pub options: String,
}

/// One of the signed-in address's passkeys, as the account page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    /// When it was added and last used, as `YYYY-MM-DD HH:MM UTC`.
    pub created: String,
    pub last_used: Option<String>,
}
