//! The server side of magic-link sign-in, with no web framework in it. Its face for apps is
//! the `leptos-magic-link` crate, which re-exports what an app needs from here.

pub mod builder;
pub mod captcha;
pub mod client;
pub mod clock;
pub mod config;
pub mod database;
pub mod device;
pub mod entities;
pub mod hooks;
pub mod mail;
pub mod metrics;
pub mod migrations;
pub mod secrets;
pub mod service;
pub mod store;

#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;

// The shared values, under the paths the modules here use for them.
pub use magic_link_types::{domain, paths};

pub use builder::AuthBuilder;
pub use config::{AuthConfig, AuthConfigBuilder};
pub use service::AuthService;
