//! Every integration test of the app, in one binary: 2 cores link it once instead of once
//! per file. Each module is one area; `support` holds the real parts they run against (a
//! SQLite file or PostgreSQL database, the app on a random port, a Mailgun stand-in, an SMTP
//! server).
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[macro_use]
mod support;

mod captcha;
mod concurrency;
mod docs;
mod faults;
mod hostile;
mod mail;
mod scale_out;
mod server;
mod standalone;
mod startup;
mod store;
mod trust;
