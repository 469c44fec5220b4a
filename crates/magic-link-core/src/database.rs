//! Connecting to the database the auth tables live in. Server only.
//!
//! The URL is the app's to choose: `sqlite://…` (the embedded default) or `postgres://…`
//! (several instances on one database).

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// How long a request waits for a database connection before it is told the database is
/// unavailable (503). Short, so a database outage is reported at once rather than after
/// sqlx's default 30 s; the pool reconnects by itself once the database is back.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Connections in the SQLite pool.
const SQLITE_CONNECTIONS: u32 = 4;

/// A connection pool to `url`, set up for the auth store: a short acquire timeout, cheap
/// liveness checks, several SQLite readers. Apply the migrations next (see
/// [`crate::migrations`]).
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        // A connection is checked with a ping only after a second unused, so a busy server
        // does not pay a round trip per query, and a dropped connection is still noticed.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        // Queries are traced by the app's own spans; one log line per query is noise.
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // Several readers at once (sea-orm's default for SQLite is one connection). Writers
        // still go one at a time: each write transaction is BEGIN IMMEDIATE.
        options.max_connections(SQLITE_CONNECTIONS);
    }
    Database::connect(options).await
}

/// Connects to `url` and brings the auth tables up to date: all an app with no tables of its
/// own needs. `url` is the app's: `sqlite://…` (the embedded default) or `postgres://…`
/// (several instances on one database). An app with its own migrator calls [`connect`] and
/// lists [`crate::migrations::all`] in it instead.
pub async fn open(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url).await?;
    crate::migrations::up(&db).await?;
    Ok(db)
}
