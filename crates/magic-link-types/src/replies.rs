//! What the auth endpoints answer, as plain data: shared by the server, the browser and any
//! other client of the HTTP API.

use serde::{Deserialize, Serialize};

use crate::domain::{Email, PersistentId};

/// What a state-changing request from another site is told.
pub const CROSS_SITE: &str = "This request came from another site, so it was refused. Open this site directly and try again.";

/// What a request over a rate limit is told.
pub const RATE_LIMITED: &str = "Too many attempts. Please try again later.";
/// What a request is told while the database or a provider is down.
pub const UNAVAILABLE: &str =
    "The service is temporarily unavailable. Please try again in a moment.";
/// What a request is told while a queue is full.
pub const BUSY: &str = "The service is busy. Please try again in a moment.";
/// What a browser with no live session gets: a second delete, or one from another tab.
pub const NOTHING_TO_DELETE: &str =
    "You are signed out: this account is already deleted, or you need to sign in to delete it.";

/// What a confirmation that is not the address gets.
pub const TYPE_YOUR_ADDRESS: &str = "Type your email address exactly to confirm.";

/// The refusal at the address's cap, where a person who never signed in from here may be
/// the owner, kept out by strangers' requests. It tells them the way in that still works:
/// the links those requests mailed are in their inbox, and any of them signs in from any
/// browser. The same words for every address at the cap, allowed or not (the cap counts
/// both alike), so it says nothing about the allow-list.
pub const ADDRESS_RATE_LIMITED: &str = "Many sign-in links were asked for this address recently, so no more are sent for now. If this is your address, open the newest sign-in email in your inbox: its link works in any browser. Or try again later.";

/// What a request without a live session is told by `require_user`.
pub const SIGN_IN_REQUIRED: &str = "Sign in to continue.";

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
    /// The session just started, as [`SessionInfo`]: a page shows it without asking again.
    pub session: SessionInfo,
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

/// A change of address was asked for: a link is on its way to the new address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChangeSent {
    /// The new address, normalised.
    pub to: Email,
    /// When the link stops working, as `2026-11-25 12:30 UTC`.
    pub expires_at: String,
}

/// What opening a change-of-address link shows, before anything changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChangePreview {
    /// The link's move, or `None` when the link is unusable.
    pub link: Option<EmailChangeLink>,
}

/// What a live change-of-address link moves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChangeLink {
    /// True for the old address's link, which moves the account back and signs it out
    /// everywhere; false for the new address's, which moves the account there.
    pub undo: bool,
    /// The address the account has now.
    pub from: Email,
    /// The address the link moves it to.
    pub to: Email,
}

/// A change-of-address link was used: the account has moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChangeDone {
    pub from: Email,
    pub to: Email,
    /// True when the old address's link moved the account back.
    pub undone: bool,
    /// After an undo: how many live sessions ended.
    pub ended: u64,
    /// After an undo: how many passkeys, added since the sign-in that asked for the change,
    /// were removed.
    pub passkeys_removed: u64,
}

/// Where a request to sign in this device from another one stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSignInState {
    /// This browser holds no request.
    None,
    /// Waiting for the other device to approve.
    Waiting,
    /// Approved: this browser is signed in now.
    SignedIn,
    /// It expired, a wrong number was picked, or it was used.
    Ended,
}

/// This browser's request to be signed in from another device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSignIn {
    pub state: DeviceSignInState,
    /// While waiting: the URL the other device opens, with the code in it.
    pub url: Option<String>,
    /// While waiting: the approval code, as `ABCDE-12345`.
    pub code: Option<String>,
    /// While waiting: the number to pick on the other device.
    pub number: Option<u8>,
    /// While waiting: the URL as a QR code, an SVG element drawn by the server.
    pub qr_svg: Option<String>,
    /// Once signed in: where to go.
    pub redirect_to: Option<String>,
}

/// A request to sign in another device, as the approving device shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceApproval {
    /// The browser and system, such as "Firefox on macOS".
    pub device: String,
    /// The network around the asking device's address.
    pub network: String,
    /// When it asked, as `2026-11-25 12:30 UTC`.
    pub at: String,
    /// The three numbers to pick from, one of them the asking device's.
    pub choices: Vec<u8>,
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
    /// A change of address was asked for: the account page says to open the link sent to
    /// the new address.
    EmailChangeSent,
    /// A sign-in on another device was approved.
    DeviceApproved,
    /// A change-of-address link moved the account (`undone`: back to the old address, every
    /// session ended).
    EmailChanged {
        undone: bool,
        /// After an undo: how many live sessions ended.
        ended: u64,
        /// After an undo: how many passkeys were removed.
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
