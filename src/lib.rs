//! Magic-link auth: a Leptos full-stack starter with passwordless sign-in.
//!
//! The crate builds twice: with `ssr` as the server binary, and with `hydrate` as the
//! wasm bundle that takes over the server-rendered page in the browser.

pub mod app;
pub mod pages;

/// The auth component this app is built on.
pub use leptos_magic_link as auth;

#[cfg(feature = "ssr")]
pub mod assets;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod users;
