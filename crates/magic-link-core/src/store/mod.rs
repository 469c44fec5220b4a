//! The database work of magic-link sign-in: issuing credentials, redeeming them, and
//! sessions. Server only.
//!
//! Three rules shape every query here:
//! - **Single use is decided by the database.** A credential is consumed by a conditional
//!   `DELETE` whose affected-row count says who won, never by reading and then writing.
//! - **Secrets never reach a table,** but for the outbox: rows hold SHA-256 of tokens and
//!   argon2id of codes; a queued message holds the token and code it carries only until it
//!   is sent or dead, and is then deleted.
//! - **Nobody can lock a person out.** Limits count per requester: another client's requests
//!   and wrong codes never end a link someone holds, nor refuse their own next request.
//!   Only the code, 6 digits, is limited per address as well, and a client the address
//!   signs in from keeps a cap of its own that strangers cannot spend.

use std::{net::IpAddr, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, QueryFilter, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};

mod account;
mod device_request;
mod email_change;
mod events;
mod issue;
mod notices;
mod outbox;
pub use account::DeletedAccount;
pub use device_request::{
    ApproveError, DEVICE_REQUEST_FOR, PendingRequest, PollOutcome, StartedRequest, normalize_code,
};
pub use email_change::{ChangeError, ChangePreview, EmailChanged};
pub use events::{MERGE_WITHIN, NewEvent, RECENT_EVENTS, RECENT_NOISY_EVENTS, SEVERAL};
pub use issue::SignInMail;
pub use notices::{DeviceKey, KNOWN_DEVICE_FOR, SignedOutEverywhere};
pub use outbox::{Claimed, Message, Outgoing};
#[cfg(feature = "passkeys")]
pub mod passkeys;
mod redeem;
mod sessions;
pub use issue::RESERVATION_GRACE;
pub use sessions::SESSION_REUSE_FOR;

use super::{
    client::ClientKey,
    entities::{
        credential::{self},
        failure, known_client, session,
    },
    secrets::{CodeHasher, SecretError},
};

use magic_link_types::domain::{AllowList, Code, Email, LinkToken, PersistentId, SessionToken};

/// The span the per-address cap on wrong codes counts over.
pub const CODE_DAY: Duration = Duration::from_secs(24 * 3600);

/// How long an address remembers a client it signed in from.
pub const KNOWN_CLIENT_FOR: Duration = Duration::from_secs(90 * 24 * 3600);

/// A fault below the auth rules: the database or the random source.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// How many rows one [`AuthStore::purge_expired`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub credentials: u64,
    pub sessions: u64,
    pub failures: u64,
    pub known_clients: u64,
    /// Passkey ceremonies past their expiry (always 0 without the `passkeys` feature).
    pub passkey_challenges: u64,
    /// Expired "sign out everywhere" links, and devices long unused.
    pub notices: u64,
    /// Events past the activity retention.
    pub events: u64,
    /// Change-of-address links past their expiry.
    pub email_changes: u64,
    /// Requests to sign in another device, past their expiry and the limit's window.
    pub device_requests: u64,
}

/// The longest browser or network description kept for a known device or an event.
pub const DEVICE_TEXT_MAX: usize = 120;

/// `text` cut to [`DEVICE_TEXT_MAX`] characters, as device and network descriptions are kept.
fn cut_device_text(text: &str) -> String {
    text.chars().take(DEVICE_TEXT_MAX).collect()
}

/// Deletes the rows whose `column` (an address column) is `address`; returns how many.
async fn delete_rows_of<C>(
    conn: &impl ConnectionTrait,
    column: C,
    address: &str,
) -> Result<u64, StoreError>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait,
{
    Ok(<C::EntityName as EntityTrait>::delete_many()
        .filter(column.eq(address))
        .exec(conn)
        .await?
        .rows_affected)
}

/// The longest user agent kept for a session.
pub const USER_AGENT_MAX: usize = 256;

/// Where a sign-in comes from, kept on its session for the sessions page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    /// The browser's `User-Agent`; cut to [`USER_AGENT_MAX`] characters when stored.
    pub user_agent: Option<String>,
    /// The client address.
    pub client_ip: Option<IpAddr>,
}

/// Which rate limit refused a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The requesting client's own limit, whatever the addresses.
    Client,
    /// The address's limit across the clients it has not signed in from.
    Email,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("Too many attempts. Please try again later.")]
    RateLimited(Limit),
    /// The code-hashing queue is full: nothing was written.
    #[error("The service is busy. Please try again in a moment.")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("This sign-in link or code is invalid, used or expired. Request a new one.")]
    InvalidOrExpired,
    #[error("That code is not right. {attempts_left} attempts left.")]
    WrongCode { attempts_left: u32 },
    /// That was the code's last try: the code is dead, its link is not.
    #[error(
        "That code is not right, and it can't be used again. Use the link in the email, or request a new one."
    )]
    CodeUsedUp,
    /// The address has taken its day's wrong codes from this client (from all the clients it
    /// has not signed in from, or from this one it has): codes from here are off until the
    /// day has passed.
    #[error(
        "Too many wrong codes were entered for this address today, so codes are paused for 24 hours. Use the link in the email instead."
    )]
    CodesPaused,
    /// The code-hashing queue is full: the try was not counted.
    #[error("The service is busy. Please try again in a moment.")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DbErr> for IssueError {
    fn from(err: DbErr) -> Self {
        Self::Store(err.into())
    }
}

impl From<DbErr> for RedeemError {
    fn from(err: DbErr) -> Self {
        Self::Store(err.into())
    }
}

impl From<SecretError> for RedeemError {
    fn from(err: SecretError) -> Self {
        match err {
            SecretError::Busy => Self::Busy,
            other => Self::Store(other.into()),
        }
    }
}

/// A freshly issued credential. The secrets exist only here, on their way into an email.
#[derive(Debug)]
pub struct Issued {
    /// The credential's row, for recording what became of its email.
    pub id: i64,
    pub email: Email,
    pub token: LinkToken,
    pub code: Code,
    pub expires_at: DateTime<Utc>,
}

/// A session as the app sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub email: Email,
    pub persistent_id: PersistentId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The browser's `User-Agent` at sign-in, when recorded.
    pub user_agent: Option<String>,
    /// The client address at sign-in, when recorded.
    pub client_ip: Option<String>,
    /// When it last proved who it is: at sign-in, or a later confirmation.
    pub authenticated_at: DateTime<Utc>,
}

impl Session {
    /// Whether it proved who it is within `fresh_for` of `now`, as a sensitive action needs.
    pub fn is_fresh(&self, now: DateTime<Utc>, fresh_for: Duration) -> bool {
        is_fresh(self.authenticated_at, now, fresh_for)
    }
}

/// Whether a sign-in (or confirmation) at `authenticated_at` is within `fresh_for` of `now`.
pub fn is_fresh(authenticated_at: DateTime<Utc>, now: DateTime<Utc>, fresh_for: Duration) -> bool {
    authenticated_at > before(now, fresh_for)
}

impl From<session::Model> for Session {
    fn from(row: session::Model) -> Self {
        Self {
            id: row.id,
            email: row.email,
            persistent_id: row.persistent_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            user_agent: row.user_agent,
            client_ip: row.client_ip,
            authenticated_at: row.authenticated_at.unwrap_or(row.created_at),
        }
    }
}

/// A new session. The token is handed out once, for the cookie; only its hash is kept.
#[derive(Debug)]
pub struct NewSession {
    pub token: SessionToken,
    pub session: Session,
}

/// A credential, with the address it was issued to and the earlier pending sign-in of the
/// browser that asked for it.
#[derive(Clone, Copy, Debug)]
pub struct CredentialRef<'a> {
    pub id: i64,
    pub email: &'a Email,
    /// The SHA-256 of the link token the requesting browser was already waiting for (its
    /// `pending-sign-in` cookie): that credential, if it is for the same address, ends once
    /// this one's email is out. `None` (a request without the cookie) ends nothing, since
    /// another browser behind the same address may be the one waiting for it.
    pub supersedes: Option<&'a str>,
}

/// Who is typing a code: the requesting browser's pending sign-in (the SHA-256 of its
/// link token, from its cookie) and its client. A code is checked against the credential
/// that browser asked for, else the newest one its client asked for: another client's
/// guesses never reach it.
#[derive(Clone, Debug)]
pub struct CodeClaim<'a> {
    pub pending: Option<&'a str>,
    pub client: &'a ClientKey,
}

/// The rules the store enforces: a plain value, which the service takes from its settings
/// (`AuthConfig::store_policy`).
#[derive(Clone, Debug)]
pub struct Policy {
    pub credential_lifetime: Duration,
    pub session_lifetime: Duration,
    pub rate_limit: u32,
    pub email_rate_limit: u32,
    pub code_max_attempts: u32,
    pub code_daily_limit: u32,
    /// How long a queued email may take to go out, every try included: past it, a credential
    /// whose email is still pending is told as failed.
    pub mail_deadline: Duration,
    /// Who may sign in; `None` lets everyone.
    pub allowed_emails: Option<AllowList>,
    /// How long each address's recent activity is kept.
    pub activity_retention: Duration,
}

impl Policy {
    /// Whether `email` may sign in.
    pub fn allows(&self, email: &str) -> bool {
        self.allowed_emails
            .as_ref()
            .is_none_or(|list| list.allows(email))
    }
}

#[derive(Clone)]
pub struct AuthStore {
    db: DatabaseConnection,
    hasher: CodeHasher,
    policy: Policy,
    /// Session rows reused for a moment, on SQLite only (see [`sessions::SessionCache`]).
    sessions: Option<std::sync::Arc<sessions::SessionCache>>,
    /// The last answer of [`AuthStore::database_answers`], and when it was found.
    probed: std::sync::Arc<tokio::sync::Mutex<Option<(std::time::Instant, bool)>>>,
}

/// How long [`AuthStore::database_answers`] waits for a new connection.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long one answer of [`AuthStore::database_answers`] serves every request that asks.
const PROBE_FOR: Duration = Duration::from_secs(1);

/// Whether `err`, or an error under it, is the connection pool's wait running out: every
/// connection stayed in use, or none could be opened (see [`AuthStore::database_answers`]).
pub fn is_pool_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if matches!(
            err.downcast_ref::<DbErr>(),
            Some(DbErr::ConnectionAcquire(
                sea_orm::error::ConnAcquireErr::Timeout
            ))
        ) {
            return true;
        }
        next = err.source();
    }
    false
}

/// `now` plus `span`, or the latest time there is when that overflows.
pub(crate) fn after(now: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|span| now.checked_add_signed(span))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn before(now: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|span| now.checked_sub_signed(span))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl AuthStore {
    pub fn new(db: DatabaseConnection, hasher: CodeHasher, policy: Policy) -> Self {
        // One instance per SQLite file, so every change to its sessions passes through here.
        // (`get_database_backend` panics on a disconnected handle, which some tests build.)
        let sqlite = matches!(
            db.inner,
            sea_orm::DatabaseConnectionType::SqlxSqlitePoolConnection(_)
        );
        let sessions = sqlite.then(sessions::SessionCache::new);
        Self {
            db,
            hasher,
            policy,
            sessions,
            probed: std::sync::Arc::default(),
        }
    }

    /// Whether the database takes a new connection now: after a pool timeout, it tells a busy
    /// pool (the database answers) from a database that is down. The pool cannot tell them
    /// apart itself: it retries a refused connection until its wait runs out, and then
    /// reports the same timeout as when every connection is in use.
    ///
    /// On SQLite a timeout is always a busy pool (opening the file fails at once otherwise).
    /// On PostgreSQL one connection is opened outside the pool, with the pool's options, for
    /// at most half a second; its answer serves every request that asks within a second, so
    /// a burst of timeouts opens one connection, not one each.
    pub async fn database_answers(&self) -> bool {
        let pool = match &self.db.inner {
            sea_orm::DatabaseConnectionType::SqlxSqlitePoolConnection(_) => return true,
            sea_orm::DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
                self.db.get_postgres_connection_pool()
            }
            _ => return false,
        };
        let mut probed = self.probed.lock().await;
        if let Some((at, answers)) = *probed
            && at.elapsed() < PROBE_FOR
        {
            return answers;
        }
        let options = pool.connect_options();
        let probe = async {
            use sea_orm::sqlx::Connection;
            let connection = sea_orm::sqlx::PgConnection::connect_with(&options).await?;
            connection.close().await
        };
        // A refusal from the server itself ("too many clients") is an answer: it is busy.
        let answers = matches!(
            tokio::time::timeout(PROBE_TIMEOUT, probe).await,
            Ok(Ok(()) | Err(sea_orm::sqlx::Error::Database(_)))
        );
        *probed = Some((std::time::Instant::now(), answers));
        answers
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Starts a transaction that serialises with every other writer of the same `keys`.
    ///
    /// SQLite has one writer at a time, so an IMMEDIATE transaction is enough. PostgreSQL
    /// takes a transaction-scoped advisory lock per key, always in the order given, so
    /// writers of different keys never wait for each other and never deadlock.
    async fn begin_write(&self, keys: &[&str]) -> Result<DatabaseTransaction, DbErr> {
        let backend = self.db.get_database_backend();
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?;
        if backend == DbBackend::Postgres {
            self.lock(&txn, keys).await?;
        }
        Ok(txn)
    }

    /// Takes `keys` in `txn` as [`begin_write`](Self::begin_write) does, after what it has
    /// read: for a transaction that learns which addresses it touches once it holds another
    /// key. (On SQLite the transaction holds the only write lock already.)
    async fn lock(&self, txn: &DatabaseTransaction, keys: &[&str]) -> Result<(), DbErr> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for key in keys {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                [(*key).into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// A query on the auth tables, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let probe = Statement::from_string(
            self.db.get_database_backend(),
            "SELECT 1 FROM auth_session LIMIT 1",
        );
        self.db.query_one_raw(probe).await?;
        Ok(())
    }

    /// Deletes what can no longer matter: credentials and failed attempts older than the
    /// rate-limit window (younger ones still count against the limits, even once used up or
    /// superseded; wrong codes count for a day), sessions and passkey ceremonies past their
    /// expiry, clients an address has not signed in from for [`KNOWN_CLIENT_FOR`], and events
    /// past the activity retention.
    ///
    /// Each statement is one conditional `DELETE`, so several instances may run this at the
    /// same moment: a row is deleted once, and the others find it gone.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Purged, StoreError> {
        let window_start = before(now, self.policy.credential_lifetime);
        let credentials = credential::Entity::delete_many()
            .filter(credential::Column::CreatedAt.lte(window_start))
            .filter(credential::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        // Wrong codes count against their address for a day, whatever the window.
        let failures = failure::Entity::delete_many()
            .filter(
                failure::Column::CreatedAt.lte(std::cmp::min(window_start, before(now, CODE_DAY))),
            )
            .exec(&self.db)
            .await?
            .rows_affected;
        let known_clients = known_client::Entity::delete_many()
            .filter(known_client::Column::LastSeenAt.lte(before(now, KNOWN_CLIENT_FOR)))
            .exec(&self.db)
            .await?
            .rows_affected;
        let sessions = session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        #[cfg(feature = "passkeys")]
        let passkey_challenges = self.purge_expired_challenges(now).await?;
        #[cfg(not(feature = "passkeys"))]
        let passkey_challenges = 0;
        let notices = self.purge_notices(now).await?;
        let events = self
            .purge_events(before(now, self.policy.activity_retention))
            .await?;
        let email_changes = self.purge_email_changes(now).await?;
        let device_requests = self.purge_device_requests(now).await?;
        Ok(Purged {
            device_requests,
            email_changes,
            notices,
            events,
            credentials,
            sessions,
            failures,
            known_clients,
            passkey_challenges,
        })
    }
}
