//! Every integration test of the app, in one binary: 2 cores link it once instead of once
//! per file. Each module is one area; `support` holds the real parts they run against (a
//! SQLite file or PostgreSQL database, the app on a random port, a Mailgun stand-in, an SMTP
//! server).
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[macro_use]
extern crate magic_link_core;

mod support;

/// The example app's own sources (`examples/minimal`), built here with this workspace's
/// dependencies rather than as a second tree: `example` signs in on it.
#[path = "../../examples/minimal/src/lib.rs"]
mod minimal_app;

mod account;
mod captcha;
mod concurrency;
mod device_sign_in;
mod docs;
mod email_change;
mod example;
mod faults;
mod hostile;
mod mail;
mod notices;
mod outbox;
mod passkey_limits;
mod passkeys;
mod scale_out;
mod server;
mod standalone;
mod startup;
mod trust;
