//! Passwordless magic-link sign-in for Leptos 0.8 and axum 0.8.
//!
//! A visitor enters an email; the server mails a one-time link and a 6-digit code; opening
//! the link, or typing the code, starts a cookie session. Pages react to
//! [`AuthState::session_is_valid`]. The crate holds everything: settings, the database
//! store and its [`migrations`], mail delivery (console, folder, SMTP, Mailgun), the
//! server functions under `/api/auth/`, and the components.
//!
//! # Features
//! - `ssr`: the server side (store, service, mail, axum integration).
//! - `hydrate`: the browser side (components and server-function clients).
//! - `migrations`: the schema alone, for an app's migrator crate.
//! - `passkeys`: WebAuthn passkeys after the first link.
//! - `dev-mailbox`: for development, `/dev/mailbox` lists the messages sent since start. Only
//!   in debug builds, and only to a browser holding the key printed to the console at start.
//!
//! # Adding it to an app
//! On the server, build an [`AuthService`] and add it to the app's router with
//! [`MagicLinkRouter::with_magic_link`]:
//!
//! ```no_run
//! # #[cfg(feature = "ssr")]
//! # async fn serve(db: sea_orm::DatabaseConnection, routes: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
//! use leptos_magic_link::{AuthConfig, AuthService, MagicLinkRouter};
//!
//! let auth = AuthService::builder(db, AuthConfig::from_env()?).build()?;
//! let app = routes.with_magic_link(auth.clone());
//! # Ok(()) }
//! ```
//!
//! In the app, wrap the routes in [`AuthProvider`] and place the components on pages:
//!
//! ```
//! use leptos::prelude::*;
//! use leptos_magic_link::{AuthProvider, CheckEmail, LoginForm, MagicLinkPage, paths};
//! use leptos_router::{StaticSegment, components::{Route, Router, Routes}};
//!
//! #[component]
//! fn App() -> impl IntoView {
//!     let paths = paths::get();
//!     view! {
//!         <Router>
//!             <AuthProvider>
//!                 <Routes fallback=|| "Not found.">
//!                     <Route path=StaticSegment("") view=LoginForm />
//!                     <Route path=StaticSegment(paths.segment(&paths.check_email)) view=CheckEmail />
//!                     <Route path=StaticSegment(paths.segment(&paths.link)) view=MagicLinkPage />
//!                 </Routes>
//!             </AuthProvider>
//!         </Router>
//!     }
//! }
//! ```
//!
//! Gate a part of the UI with [`RequireAuth`], and a server function with
//! [`require_user`].
//!
//! # Modules
//! - [`domain`]: the values that cross the boundary, each parsed once and valid from then
//!   on: [`Email`], [`RedirectTarget`], [`LinkToken`], [`Code`], [`SessionToken`],
//!   [`PersistentId`]. Shared with the wasm bundle.
//! - [`paths`]: where the auth pages live.
//! - `config`: [`AuthConfig`], read from the environment at start; `config::variables` is
//!   the table of every variable it reads.
//! - `database`: the connection pool, and `open` for an app with no tables of its own.
//! - `store`: [`AuthStore`](store::AuthStore), the database work. A magic link is made in
//!   `AuthStore::issue`, checked and consumed in `AuthStore::redeem_link` (or
//!   `redeem_code` for the typed code), and a session is read with `AuthStore::session`.
//! - `service`: [`AuthService`], the store, mail queue, settings and clock together, and
//!   the whole sign-in and sign-out flow.
//! - `server`: [`AuthService::builder`], [`MagicLinkRouter`] and the health probe.
//! - `user`: [`require_user`], [`require_fresh_user`] and [`current_user`] for the app's server
//!   functions.
//! - `http`, `cookies`: the server side of the endpoints: statuses, cookies, redirects.
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
mod messages;
pub mod replies;
pub mod state;

#[cfg(feature = "ssr")]
mod cookies;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod origin;
#[cfg(feature = "ssr")]
mod serve;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod user;
#[cfg(feature = "passkeys")]
mod webauthn;

#[cfg(feature = "ssr")]
pub use magic_link_core::{
    captcha, client, clock, config, database, device, entities, hooks, mail, metrics, migrations,
    secrets, service, store,
};
pub use magic_link_types::{domain, paths};

pub use components::{
    Activity, CheckEmail, ConfirmPrompt, DeleteAccountForm, LoginForm, LogoutButton, MagicLinkPage,
    RequireAuth, Sessions, SignOutEverywherePage,
};
#[cfg(feature = "passkeys")]
pub use components::{PasskeySignIn, Passkeys};
pub use domain::{Code, Email, LinkToken, PersistentId, RedirectTarget, SessionToken};
pub use paths::AuthPaths;
pub use replies::{AuthError, SessionInfo};
pub use state::{AuthProvider, AuthState, use_auth};

#[cfg(feature = "ssr")]
pub use config::AuthConfig;
#[cfg(feature = "ssr")]
pub use hooks::{AccountDeletedEvent, AuthHooks, SignInMethod, SignedInEvent, SignedOutEvent};
#[cfg(feature = "ssr")]
pub use magic_link_core::AuthBuilder;
#[cfg(feature = "ssr")]
pub use serve::{ClientLimits, serve, serve_with, shutdown_signal};
#[cfg(feature = "ssr")]
pub use server::{MAX_BODY_BYTES, MagicLinkRouter};
#[cfg(feature = "ssr")]
pub use service::AuthService;
#[cfg(feature = "ssr")]
pub use user::{SignedInUser, auth_service, current_user, require_fresh_user, require_user};

/// The default stylesheet for the components' classes (see [`components`]). An app may
/// serve it, include it in its own, or style the classes itself.
pub const STYLESHEET: &str = include_str!("../style/magic-link.css");
