//! Real databases for tests, for this crate's own tests and an app's: a fresh SQLite file
//! always, and a fresh PostgreSQL database when `TEST_DATABASE_URL` points at a server. Each
//! holds the auth tables. Behind the `testing` feature; not part of the API an app builds on.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

use crate::{
    secrets::CodeHasher,
    store::{AuthStore, Policy},
};

use magic_link_types::domain::Email;

/// A fresh database with the auth tables; [`finish`](Self::finish) drops it.
pub struct TestDb {
    pub db: DatabaseConnection,
    /// Where `db` points, for a second connection pool to the same database.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The folder holding the file, deleted when dropped.
    Sqlite {
        _folder: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDb {
    /// A new SQLite file in a temporary folder.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("auth.db").display());
        let db = migrated(&url).await;
        Self {
            db,
            url,
            cleanup: Cleanup::Sqlite { _folder: dir },
        }
    }

    /// A new, empty database on the server at `TEST_DATABASE_URL`, or `None` when it is unset.
    /// Under CI the variable must be set: PostgreSQL tests may not silently skip there.
    pub async fn postgres() -> Option<Self> {
        let Some(admin_url) = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
        else {
            assert!(
                std::env::var_os("CI").is_none(),
                "TEST_DATABASE_URL must be set under CI so the PostgreSQL tests run"
            );
            eprintln!("TEST_DATABASE_URL is unset: skipping the PostgreSQL half of this test");
            return None;
        };
        let name = format!("mla_test_{:016x}", rand_u64());
        let admin = Database::connect(&admin_url)
            .await
            .expect("PostgreSQL reachable");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.expect("close admin connection");

        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        let db = migrated(url.as_str()).await;
        Some(Self {
            db,
            url: url.to_string(),
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// Closes the pool and drops a PostgreSQL database (a SQLite folder goes with `self`).
    pub async fn finish(self) {
        self.db.close().await.expect("close pool");
        if let Cleanup::Postgres { admin_url, name } = self.cleanup {
            let admin = Database::connect(&admin_url)
                .await
                .expect("PostgreSQL reachable");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .expect("drop test database");
            admin.close().await.expect("close admin connection");
        }
    }
}

/// A pool on `url` with the auth tables in place.
async fn migrated(url: &str) -> DatabaseConnection {
    crate::database::open(url)
        .await
        .expect("database with the auth tables")
}

/// The auth store on `db` with small limits (3 links per client, 5 per address per
/// 30 minutes), for the tests that drive the store directly.
pub fn small_store(db: &DatabaseConnection) -> AuthStore {
    let policy = Policy {
        credential_lifetime: Duration::from_secs(1800),
        session_lifetime: Duration::from_secs(7 * 24 * 3600),
        rate_limit: 3,
        email_rate_limit: 5,
        code_max_attempts: 5,
        code_daily_limit: 10,
        mail_deadline: Duration::from_secs(90),
        allowed_emails: None,
        activity_retention: Duration::from_secs(90 * 24 * 3600),
    };
    let hasher = CodeHasher::new(1, 4).expect("hasher");
    AuthStore::new(db.clone(), hasher, policy)
}

/// Noon on a fixed day, where the store tests' clocks start.
pub fn noon() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
        .unwrap()
}

/// `s` as an address; the tests pass only valid ones.
pub fn email(s: &str) -> Email {
    Email::parse(s).expect("valid email")
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Runs one async scenario, `async fn name(db: &DatabaseConnection)`, against SQLite and, when
/// configured, PostgreSQL, as two tests in a module of its name.
#[macro_export]
macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::sqlite().await;
                super::$scenario(&db.db).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) = $crate::testing::TestDb::postgres().await {
                    super::$scenario(&db.db).await;
                    db.finish().await;
                }
            }
        }
    )*};
}
