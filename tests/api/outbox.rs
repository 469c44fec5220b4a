//! The mail outbox and the connection pool under pressure, over HTTP: a pool whose every
//! connection is in use is "busy" (503 with `Retry-After`), not "unavailable", and the
//! request it refused costs the requester nothing. (A message surviving a `SIGKILL` is in
//! `standalone.rs`, which runs the release binary.)
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::support::{
    TestDb,
    app::{TestApp, spawn_app_on, spawn_app_with},
};
use app::server::connect_and_migrate;
use magic_link_types::replies::{BUSY, UNAVAILABLE};
use reqwest::{StatusCode, header};
use sea_orm::{DatabaseConnection, DatabaseConnectionType, DatabaseTransaction, TransactionTrait};

/// Takes every connection of `db`'s pool, each in an open transaction, until dropped.
async fn hold_every_connection(db: &DatabaseConnection) -> Vec<DatabaseTransaction> {
    let size = match &db.inner {
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => db
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections(),
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => db
            .get_postgres_connection_pool()
            .options()
            .get_max_connections(),
        _ => panic!("a SQLite or PostgreSQL pool"),
    };
    let mut held = Vec::new();
    for _ in 0..size {
        held.push(db.begin().await.unwrap());
    }
    held
}

/// With every connection in use, a link request is told to come back in a moment; once
/// they are free, the same client's one allowed request goes through: the refused one left
/// nothing behind that counts against it.
async fn a_busy_pool_is_busy_not_down(app: &TestApp) {
    let held = hold_every_connection(&app.db).await;
    let refused = app
        .post("/api/auth/request", &[("email", "busy@example.com")], None)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert_eq!(refused.headers[header::RETRY_AFTER], "1");
    assert!(refused.body.contains(BUSY), "{}", refused.body);
    assert!(!refused.body.contains(UNAVAILABLE), "{}", refused.body);
    drop(held);

    let sent = app
        .post("/api/auth/request", &[("email", "busy@example.com")], None)
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert_eq!(app.recipients().await, ["busy@example.com"]);
    // The limit (one request) is spent now, by the request that went through.
    let limited = app
        .post("/api/auth/request", &[("email", "busy@example.com")], None)
        .await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_sqlite_pool_answers_503_with_retry_after_and_the_refusal_costs_nothing() {
    let app = spawn_app_with(|config| config.rate_limit = 1).await;
    a_busy_pool_is_busy_not_down(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_postgresql_pool_answers_503_with_retry_after_and_the_refusal_costs_nothing() {
    let Some(database) = TestDb::postgres().await else {
        return;
    };
    let db = connect_and_migrate(&database.url).await.unwrap();
    let outbox = tempfile::tempdir().unwrap();
    let app = spawn_app_on(db, outbox.path().to_owned(), |config| config.rate_limit = 1).await;
    a_busy_pool_is_busy_not_down(&app).await;
    drop(app);
    database.finish().await;
}
