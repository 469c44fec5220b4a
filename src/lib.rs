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

/// The wasm entry point: attaches to the server-rendered HTML instead of re-rendering it.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
