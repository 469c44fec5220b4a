#![doc = include_str!("../README.md")]
//!
//! # Examples
//!
//! On the server, build an [`AuthService`] and add it to the app's router with
//! [`MagicLinkRouter::with_magic_link`]:
//!
//! ```no_run
//! # #[cfg(feature = "ssr")]
//! # async fn serve(routes: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
//! use leptos_magic_link::{AuthConfig, AuthService, MagicLinkRouter, database};
//!
//! let config = AuthConfig::builder().public_url("https://app.example.com").build()?;
//! let db = database::open("sqlite://app.db?mode=rwc").await?;
//! let auth = AuthService::builder(db, config).build()?;
//! let app = routes.with_magic_link(auth);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! leptos_magic_link::serve(listener, app).await;
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
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod api;
mod components;
mod messages;
mod replies;
mod state;

#[cfg(feature = "ssr")]
mod cookies;
#[cfg(feature = "ssr")]
mod http;
#[cfg(feature = "ssr")]
mod origin;
#[cfg(feature = "ssr")]
mod serve;
#[cfg(feature = "ssr")]
mod server;
#[cfg(feature = "ssr")]
mod user;
#[cfg(feature = "passkeys")]
mod webauthn;

// The core's modules, under the paths this crate's modules use for them.
#[cfg(feature = "ssr")]
use magic_link_core::{captcha, client, clock, device, metrics, secrets, service, store};
use magic_link_types::domain;

pub use components::{
    Activity, ApproveDevicePage, ChangeEmailForm, ChangeEmailPage, CheckEmail, ConfirmPrompt,
    DeleteAccountForm, DeviceSignInPage, LoginForm, LogoutButton, MagicLinkPage, RequireAuth,
    Sessions, SignOutEverywherePage,
};
#[cfg(feature = "passkeys")]
#[cfg_attr(docsrs, doc(cfg(feature = "passkeys")))]
pub use components::{PasskeySignIn, Passkeys};
pub use magic_link_types::domain::{AllowList, Email, PersistentId, RedirectTarget};
/// Where the auth pages live: [`paths::get`] in the app's route table.
pub use magic_link_types::paths;
pub use paths::AuthPaths;
pub use replies::{AuthError, SessionInfo};
pub use state::{AuthProvider, AuthState, use_auth};

/// The connection pool and the auth tables: `open` for an app with no tables of its own,
/// `connect` for one with its own migrator.
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use magic_link_core::database;
/// Mail delivery: the [`Mailer`](mail::Mailer) trait an app may implement, and the built-in
/// providers (console, folder, SMTP, Mailgun, and an in-memory one for tests).
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use magic_link_core::mail;
/// The auth tables, as migrations an app's own migrator lists (`migrations::all()`).
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use magic_link_core::migrations;
/// The database crate whose connection the service is built on.
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use sea_orm;

#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use magic_link_core::{
    AuthBuilder, AuthConfig, AuthConfigBuilder, AuthService,
    captcha::CaptchaVerifier,
    clock::Clock,
    config::ConfigError,
    hooks::{
        AccountDeletedEvent, AuthHooks, EmailChangedEvent, HookFuture, SignInMethod, SignedInEvent,
        SignedOutEvent,
    },
    metrics::describe as describe_metrics,
    service::ServiceError,
};
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use serve::{ClientLimits, serve, serve_with, shutdown_signal};
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use server::{MAX_BODY_BYTES, MagicLinkRouter};
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use user::{SignedInUser, auth_service, current_user, require_fresh_user, require_user};

/// The default stylesheet for the components' classes. An app may serve it, include it in
/// its own, or style the classes itself.
pub const STYLESHEET: &str = include_str!("../style/magic-link.css");
