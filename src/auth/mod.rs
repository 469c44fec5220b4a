//! Magic-link authentication: everything a fork needs, in one module.
//!
//! Where things happen:
//! - [`domain`]: the values that cross the boundary, each parsed once and valid from then
//!   on: [`Email`], [`RedirectTarget`], [`LinkToken`], [`Code`], [`SessionToken`],
//!   [`PersistentId`]. Shared with the wasm bundle.
//! - `config`: [`AuthConfig`](config::AuthConfig), read from the environment at start.
//! - `store`: [`AuthStore`](store::AuthStore), the database work. A magic link is made in
//!   `AuthStore::issue`, checked and consumed in `AuthStore::redeem_link` (or
//!   `redeem_code` for the typed code), and a session is read with `AuthStore::session`.
//! - `secrets`: token generation and hashing (SHA-256 for tokens, argon2id for codes).
//! - `captcha`: the CAPTCHA hook asked before a link is issued.
//! - `client`: who is asking: the address behind trusted proxies, and the key limits use.
//! - `origin`: refusing state-changing requests from other sites.
//! - `clock`: the injected time source.
//! - `hooks`: the app's callbacks on sign-in and sign-out.
//! - `mail`: composing the email, and delivering it off the request path to the log, a
//!   folder, an SMTP server, or Mailgun.

pub mod api;
pub mod components;
pub mod domain;
pub mod route;
pub mod state;

#[cfg(feature = "ssr")]
pub mod captcha;
#[cfg(feature = "ssr")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod entities;
#[cfg(feature = "ssr")]
pub mod hooks;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod origin;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

pub use domain::{Code, Email, LinkToken, PersistentId, RedirectTarget, SessionToken};
