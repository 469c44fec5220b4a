//! The database work of magic-link sign-in: issuing credentials, redeeming them, and
//! sessions. Server only.
//!
//! Two rules shape every query here:
//! - **Single use is decided by the database.** A credential is consumed by a conditional
//!   `DELETE` whose affected-row count says who won, never by reading and then writing.
//! - **Secrets never reach a table.** Rows hold SHA-256 of tokens and argon2id of codes.

use std::{net::IpAddr, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait,
    sea_query::{Expr, IntoCondition},
};

use super::{
    config::{AllowList, AuthConfig, canonical},
    domain::{Code, Email, EmailError, LinkToken, PersistentId, SessionToken},
    entities::{credential, failure, session},
    secrets::{CodeHasher, SecretError, token_hash},
};

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
    ClientIp,
    Email,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    InvalidEmail(#[from] EmailError),
    #[error("Too many attempts. Please try again later.")]
    RateLimited(Limit),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("This sign-in link or code is invalid, used or expired. Request a new one.")]
    InvalidOrExpired,
    #[error("That code is not right. {attempts_left} attempts left.")]
    WrongCode { attempts_left: u32 },
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
        Self::Store(err.into())
    }
}

/// A freshly issued credential. The secrets exist only here, on their way into an email.
#[derive(Debug)]
pub struct Issued {
    pub email: Email,
    pub token: LinkToken,
    pub code: Code,
    pub expires_at: DateTime<Utc>,
}

/// A session as the app sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub email: String,
    pub persistent_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The browser's `User-Agent` at sign-in, when recorded.
    pub user_agent: Option<String>,
    /// The client address at sign-in, when recorded.
    pub client_ip: Option<String>,
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
        }
    }
}

/// A new session. The token is handed out once, for the cookie; only its hash is kept.
#[derive(Debug)]
pub struct NewSession {
    pub token: SessionToken,
    pub session: Session,
}

/// The rules the store enforces, taken from [`AuthConfig`].
#[derive(Clone, Debug)]
pub struct Policy {
    pub credential_lifetime: Duration,
    pub session_lifetime: Duration,
    pub rate_limit: u32,
    pub code_max_attempts: u32,
    /// Who may sign in; `None` lets everyone.
    pub allowed_emails: Option<AllowList>,
}

impl Policy {
    /// Whether `email` may sign in.
    pub fn allows(&self, email: &str) -> bool {
        self.allowed_emails
            .as_ref()
            .is_none_or(|list| list.allows(email))
    }
}

impl From<&AuthConfig> for Policy {
    fn from(config: &AuthConfig) -> Self {
        Self {
            credential_lifetime: config.credential_lifetime,
            session_lifetime: config.session_lifetime,
            rate_limit: config.rate_limit,
            code_max_attempts: config.code_max_attempts,
            allowed_emails: config.allowed_emails.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthStore {
    db: DatabaseConnection,
    hasher: CodeHasher,
    policy: Policy,
}

fn after(now: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
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
        Self { db, hasher, policy }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Issues a credential for `email`, asked for from `client_ip`.
    ///
    /// The checks run in the original's order: the per-IP limit, then the per-email limit,
    /// then any older credential of the email is expired, so only the new one is live.
    pub async fn issue(
        &self,
        email: &str,
        client_ip: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<Issued, IssueError> {
        let email = Email::parse(email)?;
        let client_ip = canonical(client_ip).to_string();
        let window_start = before(now, self.policy.credential_lifetime);

        // A cheap look first, so a refused request costs no argon2 hash...
        self.check_rate_limits(&self.db, &email, &client_ip, window_start)
            .await?;
        let token = LinkToken::generate().map_err(StoreError::from)?;
        let code = Code::generate().map_err(StoreError::from)?;
        let code_hash = self.hasher.hash(&code).await.map_err(StoreError::from)?;

        // ...then the same checks again under a lock, where they decide.
        let txn = self.begin_write(&[&client_ip, email.as_str()]).await?;
        if let Err(err) = self
            .check_rate_limits(&txn, &email, &client_ip, window_start)
            .await
        {
            txn.rollback().await?;
            return Err(err);
        }
        credential::Entity::update_many()
            .col_expr(credential::Column::ExpiresAt, Expr::value(now))
            .filter(credential::Column::Email.eq(email.as_str()))
            .filter(credential::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?;
        let expires_at = after(now, self.policy.credential_lifetime);
        credential::Entity::insert(credential::ActiveModel {
            id: NotSet,
            email: Set(email.as_str().to_owned()),
            token_hash: Set(token_hash(token.expose())),
            code_hash: Set(code_hash),
            client_ip: Set(client_ip),
            attempts: Set(0),
            created_at: Set(now),
            expires_at: Set(expires_at),
        })
        .exec(&txn)
        .await?;
        txn.commit().await?;

        Ok(Issued {
            email,
            token,
            code,
            expires_at,
        })
    }

    async fn check_rate_limits(
        &self,
        conn: &impl ConnectionTrait,
        email: &Email,
        client_ip: &str,
        window_start: DateTime<Utc>,
    ) -> Result<(), IssueError> {
        let limit = u64::from(self.policy.rate_limit);
        let by_ip = credential::Entity::find()
            .filter(credential::Column::ClientIp.eq(client_ip))
            .filter(credential::Column::CreatedAt.gt(window_start))
            .count(conn)
            .await?;
        if by_ip >= limit {
            return Err(IssueError::RateLimited(Limit::ClientIp));
        }
        let by_email = credential::Entity::find()
            .filter(credential::Column::Email.eq(email.as_str()))
            .filter(credential::Column::CreatedAt.gt(window_start))
            .count(conn)
            .await?;
        if by_email >= limit {
            return Err(IssueError::RateLimited(Limit::Email));
        }
        Ok(())
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
            for key in keys {
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                    [(*key).into()],
                ))
                .await?;
            }
        }
        Ok(txn)
    }

    /// The email a link token would sign in, if the link is still usable. Reads only:
    /// opening a link must never use it up, or a mail scanner could burn it.
    pub async fn peek_link(
        &self,
        token: &LinkToken,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        Ok(credential::Entity::find()
            .filter(credential::Column::TokenHash.eq(token_hash(token.expose())))
            .filter(credential::Column::ExpiresAt.gt(now))
            .filter(credential::Column::Attempts.lt(self.max_attempts()))
            .one(&self.db)
            .await?
            .map(|row| row.email))
    }

    /// Redeems the credential behind a link token and starts a session.
    pub async fn redeem_link(
        &self,
        token: &LinkToken,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        let live = credential::Entity::find()
            .filter(credential::Column::TokenHash.eq(token_hash(token.expose())))
            .filter(credential::Column::ExpiresAt.gt(now))
            .filter(credential::Column::Attempts.lt(self.max_attempts()))
            .one(&self.db)
            .await?
            .ok_or(RedeemError::InvalidOrExpired)?;
        self.consume(live, device, now).await
    }

    /// Redeems the live credential of `email` with its typed code and starts a session.
    ///
    /// Each try spends an attempt before the code is checked, so parallel guesses can never
    /// get more than the allowed number of checks.
    pub async fn redeem_code(
        &self,
        email: &Email,
        code: &Code,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        let max = self.max_attempts();
        let live = credential::Entity::find()
            .filter(credential::Column::Email.eq(email.as_str()))
            .filter(credential::Column::ExpiresAt.gt(now))
            .filter(credential::Column::Attempts.lt(max))
            .order_by_desc(credential::Column::CreatedAt)
            .one(&self.db)
            .await?
            .ok_or(RedeemError::InvalidOrExpired)?;

        // RETURNING gives the count this call reserved, exact even under parallel guesses.
        let reserved = credential::Entity::update_many()
            .col_expr(
                credential::Column::Attempts,
                Expr::col(credential::Column::Attempts).add(1),
            )
            .filter(credential::Column::Id.eq(live.id))
            .filter(credential::Column::ExpiresAt.gt(now))
            .filter(credential::Column::Attempts.lt(max))
            .exec_with_returning(&self.db)
            .await?;
        let Some(used) = reserved.first().map(|row| row.attempts) else {
            return Err(RedeemError::InvalidOrExpired);
        };

        if self.hasher.verify(code, &live.code_hash).await? {
            self.consume(live, device, now).await
        } else {
            let attempts_left = u32::try_from(max.saturating_sub(used)).unwrap_or(0);
            if attempts_left == 0 {
                Err(RedeemError::InvalidOrExpired)
            } else {
                Err(RedeemError::WrongCode { attempts_left })
            }
        }
    }

    /// Deletes `live` if it is still there, and if this call was the one that deleted it,
    /// clears the email's other credentials and starts a session, all in one transaction.
    async fn consume(
        &self,
        live: credential::Model,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        // An address taken off the allow-list signs in no more, whatever it still holds.
        if !self.policy.allows(&live.email) {
            return Err(RedeemError::InvalidOrExpired);
        }
        let txn = self.begin_write(&[&live.email]).await?;
        let won = credential::Entity::delete_many()
            .filter(credential::Column::Id.eq(live.id))
            .filter(credential::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?;
        if won.rows_affected != 1 {
            txn.rollback().await?;
            return Err(RedeemError::InvalidOrExpired);
        }
        credential::Entity::delete_many()
            .filter(credential::Column::Email.eq(live.email.as_str()))
            .exec(&txn)
            .await?;
        let new_session = self.insert_session(&txn, &live.email, device, now).await?;
        txn.commit().await?;
        Ok(new_session)
    }

    async fn insert_session(
        &self,
        txn: &DatabaseTransaction,
        email: &str,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        let email = Email::parse(email).map_err(|_| RedeemError::InvalidOrExpired)?;
        let user_agent = device
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(USER_AGENT_MAX).collect::<String>());
        let client_ip = device.client_ip.map(|ip| canonical(ip).to_string());
        let token = SessionToken::generate()?;
        let persistent_id = PersistentId::for_email(&email).to_string();
        let expires_at = after(now, self.policy.session_lifetime);
        let inserted = session::Entity::insert(session::ActiveModel {
            id: NotSet,
            token_hash: Set(token_hash(token.expose())),
            email: Set(email.as_str().to_owned()),
            persistent_id: Set(persistent_id.clone()),
            created_at: Set(now),
            expires_at: Set(expires_at),
            user_agent: Set(user_agent.clone()),
            client_ip: Set(client_ip.clone()),
        })
        .exec(txn)
        .await?;
        Ok(NewSession {
            token,
            session: Session {
                id: inserted.last_insert_id,
                email: email.as_str().to_owned(),
                persistent_id,
                created_at: now,
                expires_at,
                user_agent,
                client_ip,
            },
        })
    }

    fn max_attempts(&self) -> i32 {
        i32::try_from(self.policy.code_max_attempts).unwrap_or(i32::MAX)
    }

    /// How many failed redemptions one client IP may have per window before it is refused:
    /// enough for a person to fumble every code of every link they may ask for.
    pub fn failure_limit(&self) -> u64 {
        u64::from(self.policy.rate_limit) * u64::from(self.policy.code_max_attempts)
    }

    /// Whether `client_ip` has used up its failed redemptions for the current window.
    pub async fn too_many_failures(
        &self,
        client_ip: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let failures = failure::Entity::find()
            .filter(failure::Column::ClientIp.eq(canonical(client_ip).to_string()))
            .filter(failure::Column::CreatedAt.gt(before(now, self.policy.credential_lifetime)))
            .count(&self.db)
            .await?;
        Ok(failures >= self.failure_limit())
    }

    /// Counts a failed redemption against `client_ip`.
    pub async fn record_failure(
        &self,
        client_ip: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        failure::Entity::insert(failure::ActiveModel {
            id: NotSet,
            client_ip: Set(canonical(client_ip).to_string()),
            created_at: Set(now),
        })
        .exec(&self.db)
        .await?;
        Ok(())
    }

    /// Deletes what can no longer matter: credentials and failed attempts older than the
    /// rate-limit window (younger ones still count against the limits, even once used up or
    /// superseded), and sessions past their expiry.
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
        let failures = failure::Entity::delete_many()
            .filter(failure::Column::CreatedAt.lte(window_start))
            .exec(&self.db)
            .await?
            .rows_affected;
        let sessions = session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        Ok(Purged {
            credentials,
            sessions,
            failures,
        })
    }

    /// The live session behind `token`, if any.
    pub async fn session(
        &self,
        token: &SessionToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::TokenHash.eq(token_hash(token.expose())))
            .filter(session::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(Session::from))
    }

    /// Ends the session behind `token`. Returns whether there was a live one.
    pub async fn logout(
        &self,
        token: &SessionToken,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let which = session::Column::TokenHash.eq(token_hash(token.expose()));
        Ok(self.end_live_sessions(which, now).await? > 0)
    }

    /// Ends session `id` if it is a live session of `email`. Returns whether one ended.
    pub async fn logout_session(
        &self,
        email: &Email,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let which = Condition::all()
            .add(session::Column::Id.eq(id))
            .add(session::Column::Email.eq(email.as_str()));
        Ok(self.end_live_sessions(which, now).await? > 0)
    }

    /// Ends every live session of `email`. Returns how many there were.
    pub async fn logout_all(&self, email: &Email, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let which = session::Column::Email.eq(email.as_str());
        self.end_live_sessions(which, now).await
    }

    /// Ends the live sessions that `which` picks by expiring them now. Returns how many.
    async fn end_live_sessions(
        &self,
        which: impl IntoCondition,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let ended = session::Entity::update_many()
            .col_expr(session::Column::ExpiresAt, Expr::value(now))
            .filter(which)
            .filter(session::Column::ExpiresAt.gt(now))
            .exec(&self.db)
            .await?;
        Ok(ended.rows_affected)
    }

    /// The live sessions of `email`, newest first.
    pub async fn list_sessions(
        &self,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::Email.eq(email.as_str()))
            .filter(session::Column::ExpiresAt.gt(now))
            .order_by_desc(session::Column::CreatedAt)
            .order_by_desc(session::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Session::from)
            .collect())
    }
}
