//! The auth store against real databases: a SQLite file always, and PostgreSQL when
//! `TEST_DATABASE_URL` points at a server. One binary, so it is linked once.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[macro_use]
extern crate magic_link_core;

mod outbox;
mod passkey_store;
mod store;
