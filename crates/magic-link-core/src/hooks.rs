//! The app's way to react to sign-in and sign-out. Server only.
//!
//! Implement [`AuthHooks`] and hand it to [`AuthBuilder::hooks`]: it is called after a
//! session starts and after one (or all of an address's) ends, for instance to keep the app's
//! own user row keyed by `persistent_id` (the demo app keeps its `users` table this way). A
//! hook that fails is logged; the sign-in or sign-out it follows stands.
//!
//! [`AuthBuilder::hooks`]: crate::AuthBuilder::hooks

use std::{future::Future, pin::Pin};

use chrono::{DateTime, Utc};

use magic_link_types::domain::{Email, PersistentId};

pub type HookFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>> + Send + 'a>>;

/// A session has started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInEvent {
    pub email: Email,
    pub persistent_id: PersistentId,
    pub session_id: i64,
    pub at: DateTime<Utc>,
    /// How the person proved who they are.
    pub method: SignInMethod,
}

/// How a session was signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInMethod {
    /// The link in the email.
    Link,
    /// The code in the email, typed.
    Code,
    /// A passkey (the `passkeys` feature).
    Passkey,
    /// Approved from another device where the person was signed in.
    Approval,
}

/// A session, or with `everywhere` every session of the address, has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedOutEvent {
    pub email: Email,
    pub persistent_id: PersistentId,
    pub everywhere: bool,
    pub at: DateTime<Utc>,
}

/// An address deleted its account: its sessions, credentials, passkeys and records are gone.
/// The app removes its own rows for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountDeletedEvent {
    pub email: Email,
    pub persistent_id: PersistentId,
    pub at: DateTime<Utc>,
}

/// An account moved to another address: the app updates the address it keeps for
/// `persistent_id`, which stays the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailChangedEvent {
    /// The address the account had.
    pub old: Email,
    /// The address it has now.
    pub new: Email,
    pub persistent_id: PersistentId,
    /// True when this is the old address's "this wasn't me" link moving the account back
    /// (every session has ended).
    pub undone: bool,
    pub at: DateTime<Utc>,
}

/// What the app does when people sign in and out, change their address, and delete their
/// account. Every method defaults to nothing.
pub trait AuthHooks: Send + Sync {
    fn signed_in<'a>(&'a self, event: &'a SignedInEvent) -> HookFuture<'a> {
        let _ = event;
        Box::pin(std::future::ready(Ok(())))
    }

    fn signed_out<'a>(&'a self, event: &'a SignedOutEvent) -> HookFuture<'a> {
        let _ = event;
        Box::pin(std::future::ready(Ok(())))
    }

    /// Called once the auth tables hold nothing more of the address: remove the app's own
    /// rows for it (keyed by `persistent_id`).
    fn account_deleted<'a>(&'a self, event: &'a AccountDeletedEvent) -> HookFuture<'a> {
        let _ = event;
        Box::pin(std::future::ready(Ok(())))
    }

    /// Called once an account has moved to another address (or back, from the old address's
    /// link): update the address the app keeps for `persistent_id`.
    fn email_changed<'a>(&'a self, event: &'a EmailChangedEvent) -> HookFuture<'a> {
        let _ = event;
        Box::pin(std::future::ready(Ok(())))
    }
}

/// No hooks.
pub struct NoHooks;

impl AuthHooks for NoHooks {}
