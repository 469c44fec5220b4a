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

pub use crate::replies::{
    ActivityView, AuthError, DeliveryReport, DeviceApproval, DeviceSignIn, EmailChangeDone,
    EmailChangePreview, EmailChangeSent, FRESH_SIGN_IN_REQUIRED, LinkPreview, LinkRequested,
    MAIL_FAILED, Outcome, SessionInfo, SessionView, SignOutLinkPreview, SignedIn,
    SignedOutEverywhere,
};
#[cfg(feature = "passkeys")]
pub use crate::replies::{PasskeyOptions, PasskeyView};

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

/// Describes a new-sign-in notice's "sign out everywhere" link without using it.
/// `POST /api/auth/sign-out-link` with `token`.
#[server(prefix = "/api/auth", endpoint = "sign-out-link")]
pub async fn preview_sign_out_link(token: Option<String>) -> Result<SignOutLinkPreview, AuthError> {
    super::http::notices::preview_sign_out_link(token.unwrap_or_default()).await
}

/// Uses a new-sign-in notice's link: ends every session of its address, once; no session
/// needed. `POST /api/auth/sign-out-everywhere` with `token`; `400` for a link that is
/// invalid, used or expired.
#[server(prefix = "/api/auth", endpoint = "sign-out-everywhere")]
pub async fn sign_out_everywhere(token: Option<String>) -> Result<SignedOutEverywhere, AuthError> {
    super::http::notices::sign_out_everywhere(token.unwrap_or_default()).await
}

/// What the action that sent this browser here did, once: reading it ends it. `POST
/// /api/auth/outcome`; `null` when there is nothing to say.
#[server(prefix = "/api/auth", endpoint = "outcome")]
pub async fn take_outcome() -> Result<Option<Outcome>, AuthError> {
    super::http::outcome::take()
}

/// The signed-in address's recent activity, newest first (at most 20 events).
/// `POST /api/auth/activity`; `401` when signed out.
#[server(prefix = "/api/auth", endpoint = "activity")]
pub async fn activity() -> Result<Vec<ActivityView>, AuthError> {
    super::http::sessions::activity().await
}

/// Deletes the signed-in account: every session, credential, passkey and record of the
/// address, then the app's own rows (its hook), and mails the address. `POST
/// /api/auth/delete-account` with `confirm`, the address typed again. `400` when `confirm` is
/// not the address, `401` when signed out (a second delete included), `403` when the sign-in
/// is not fresh.
#[server(prefix = "/api/auth", endpoint = "delete-account")]
pub async fn delete_account(confirm: Option<String>) -> Result<(), AuthError> {
    super::http::account::delete_account(confirm.unwrap_or_default()).await
}

/// Asks to move the signed-in account to `email`: a single-use link goes to that address,
/// and nothing changes until it is opened there and confirmed. `POST
/// /api/auth/change-email` with `email`. `400` for an address that is malformed or the
/// account's own, `401` when signed out, `403` when the sign-in is not fresh or the allow-list
/// refuses the address, `429` past the requester's or the address's limit.
#[server(prefix = "/api/auth", endpoint = "change-email")]
pub async fn change_email(email: Option<String>) -> Result<EmailChangeSent, AuthError> {
    super::http::email_change::change_email(email.unwrap_or_default()).await
}

/// What a change-of-address link would do, without using it (a mail scanner may open it).
/// `POST /api/auth/preview-email-change` with `token`; `link` is `null` for a link that is
/// invalid, used or expired.
#[server(prefix = "/api/auth", endpoint = "preview-email-change")]
pub async fn preview_email_change(token: Option<String>) -> Result<EmailChangePreview, AuthError> {
    super::http::email_change::preview_email_change(token.unwrap_or_default()).await
}

/// Uses the link sent to the new address: the account moves there, with its sessions,
/// passkeys, activity and known devices, and the old address is mailed a link that moves it
/// back. `POST /api/auth/confirm-email-change` with `token`. `400` for a link that is invalid,
/// used or expired, `401` when the session that asked has ended, `409` when the new address
/// has an account of its own.
#[server(prefix = "/api/auth", endpoint = "confirm-email-change")]
pub async fn confirm_email_change(token: Option<String>) -> Result<EmailChangeDone, AuthError> {
    super::http::email_change::use_email_change(token.unwrap_or_default(), false).await
}

/// Uses the link sent to the old address after a change ("this wasn't me"): the account moves
/// back, every session of it ends, and the passkeys added since the sign-in that asked for the
/// change are removed. `POST /api/auth/undo-email-change` with `token`; `400` for a link that
/// is invalid, used or expired.
#[server(prefix = "/api/auth", endpoint = "undo-email-change")]
pub async fn undo_email_change(token: Option<String>) -> Result<EmailChangeDone, AuthError> {
    super::http::email_change::use_email_change(token.unwrap_or_default(), true).await
}

/// Starts a request to sign this browser in from another device where the person is signed
/// in: sets the short-lived `device-sign-in` cookie (the request's secret and its code) and
/// answers the URL and QR code for the other device and the number to pick there.
/// `POST /api/auth/device-sign-in-start`; `429` past this client's limit (its sign-in links
/// and these requests count together). A plain form lands on the device sign-in page.
#[server(prefix = "/api/auth", endpoint = "device-sign-in-start")]
pub async fn start_device_sign_in() -> Result<DeviceSignIn, AuthError> {
    super::http::device_sign_in::start().await
}

/// This browser's request to be signed in from another device, as its page shows it; reads
/// only. `POST /api/auth/device-sign-in`.
#[server(prefix = "/api/auth", endpoint = "device-sign-in")]
pub async fn read_device_sign_in() -> Result<DeviceSignIn, AuthError> {
    super::http::device_sign_in::view().await
}

/// Asks whether this browser's request was approved: once it was, signs this browser in (the
/// session cookie) and uses the request up. `POST /api/auth/device-sign-in-poll`; `state` is
/// `waiting`, `signed_in` (with `redirect_to`), `ended` or `none`.
#[server(prefix = "/api/auth", endpoint = "device-sign-in-poll")]
pub async fn poll_device_sign_in() -> Result<DeviceSignIn, AuthError> {
    super::http::device_sign_in::poll().await
}

/// The request behind approval code `code`, for a signed-in device to approve: the asking
/// device's browser, network and time, and three numbers. `POST /api/auth/device-approval`;
/// `null` for a code that is invalid, used or expired; `401` when signed out.
#[server(prefix = "/api/auth", endpoint = "device-approval")]
pub async fn preview_device_request(
    code: Option<String>,
) -> Result<Option<DeviceApproval>, AuthError> {
    super::http::device_sign_in::approval(code.unwrap_or_default()).await
}

/// Approves the request behind `code` for the signed-in account, if `number` is the one the
/// asking device shows; a wrong number ends the request. `POST /api/auth/approve-device` with
/// `code`, `number`. `400` wrong number, or a request invalid, used or expired; `401` signed
/// out; `403` not a fresh sign-in.
#[server(prefix = "/api/auth", endpoint = "approve-device")]
pub async fn approve_device(code: Option<String>, number: Option<String>) -> Result<(), AuthError> {
    super::http::device_sign_in::approve(code.unwrap_or_default(), number.unwrap_or_default()).await
}

/// Starts adding a passkey to the signed-in address. `POST /api/auth/passkey-register-start`;
/// `401` when signed out, `404` when passkeys are off.
#[cfg(feature = "passkeys")]
#[server(prefix = "/api/auth", endpoint = "passkey-register-start")]
pub async fn passkey_register_start() -> Result<PasskeyOptions, AuthError> {
    super::http::passkeys::register_start().await
}

/// Finishes adding a passkey. `POST /api/auth/passkey-register-finish` with `handle`,
/// `name` and `credential` (the browser's `PublicKeyCredential`, as JSON).
#[cfg(feature = "passkeys")]
#[server(prefix = "/api/auth", endpoint = "passkey-register-finish")]
pub async fn passkey_register_finish(
    handle: Option<String>,
    name: Option<String>,
    credential: Option<String>,
) -> Result<PasskeyView, AuthError> {
    super::http::passkeys::register_finish(
        handle.unwrap_or_default(),
        name.unwrap_or_default(),
        credential.unwrap_or_default(),
    )
    .await
}

/// Starts a sign-in with a passkey. `POST /api/auth/passkey-sign-in-start`.
#[cfg(feature = "passkeys")]
#[server(prefix = "/api/auth", endpoint = "passkey-sign-in-start")]
pub async fn passkey_sign_in_start() -> Result<PasskeyOptions, AuthError> {
    super::http::passkeys::sign_in_start().await
}

/// Signs in with a passkey. `POST /api/auth/passkey-sign-in-finish` with `handle`,
/// `credential` (the browser's `PublicKeyCredential`, as JSON) and `redir`.
#[cfg(feature = "passkeys")]
#[server(prefix = "/api/auth", endpoint = "passkey-sign-in-finish")]
pub async fn passkey_sign_in_finish(
    handle: Option<String>,
    credential: Option<String>,
    redir: Option<String>,
) -> Result<SignedIn, AuthError> {
    super::http::passkeys::sign_in_finish(
        handle.unwrap_or_default(),
        credential.unwrap_or_default(),
        redir,
    )
    .await
}

/// The signed-in address's passkeys, oldest first. `POST /api/auth/passkeys`.
#[cfg(feature = "passkeys")]
#[server(prefix = "/api/auth", endpoint = "passkeys")]
pub async fn list_passkeys() -> Result<Vec<PasskeyView>, AuthError> {
    super::http::passkeys::list().await
}

/// Renames one of the signed-in address's passkeys. `POST /api/auth/passkey-rename` with
/// `id` and `name`.
#[cfg(feature = "passkeys")]
#[server(prefix = "/api/auth", endpoint = "passkey-rename")]
pub async fn rename_passkey(id: Option<String>, name: Option<String>) -> Result<(), AuthError> {
    super::http::passkeys::rename(id.unwrap_or_default(), name.unwrap_or_default()).await
}

/// Deletes one of the signed-in address's passkeys. `POST /api/auth/passkey-delete` with `id`.
#[cfg(feature = "passkeys")]
#[server(prefix = "/api/auth", endpoint = "passkey-delete")]
pub async fn delete_passkey(id: Option<String>) -> Result<(), AuthError> {
    super::http::passkeys::delete(id.unwrap_or_default()).await
}

/// Starts confirming, with one of the signed-in address's passkeys, that it is still them,
/// before a sensitive action. `POST /api/auth/passkey-confirm-start`.
#[cfg(feature = "passkeys")]
#[server(prefix = "/api/auth", endpoint = "passkey-confirm-start")]
pub async fn passkey_confirm_start() -> Result<PasskeyOptions, AuthError> {
    super::http::passkeys::confirm_start().await
}

/// Finishes the confirmation: this session counts as freshly signed in.
/// `POST /api/auth/passkey-confirm-finish` with `handle` and `credential`.
#[cfg(feature = "passkeys")]
#[server(prefix = "/api/auth", endpoint = "passkey-confirm-finish")]
pub async fn passkey_confirm_finish(
    handle: Option<String>,
    credential: Option<String>,
) -> Result<(), AuthError> {
    super::http::passkeys::confirm_finish(
        handle.unwrap_or_default(),
        credential.unwrap_or_default(),
    )
    .await
}
