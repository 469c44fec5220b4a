//! The error every auth endpoint answers with, and (re-exported) the replies themselves.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

pub use magic_link_types::replies::*;

/// An error a person can act on. The HTTP status is set alongside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct AuthError {
    /// What went wrong, in words a person can act on.
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
    /// An error that says `error`.
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

/// What an approval without a number gets.
#[cfg(feature = "ssr")]
pub const PICK_A_NUMBER: &str = "Pick the number the other device shows.";

/// What an unusable request to sign in another device shows.
pub const DEVICE_REQUEST_INVALID: &str =
    "This sign-in request is invalid, used or expired. Start again on the new device.";

/// What a used, expired or unknown change-of-address link gets.
pub const CHANGE_LINK_INVALID: &str = "This link is invalid, used or expired.";

/// What a used, expired or unknown "sign out everywhere" link gets.
pub const SIGN_OUT_LINK_INVALID: &str = "This link is invalid, used or expired. Sign in and sign out everywhere from your account page instead.";
