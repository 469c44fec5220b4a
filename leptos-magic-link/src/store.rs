//! The database work of magic-link sign-in: issuing credentials, redeeming them, and
//! sessions. Server only.
//!
//! Three rules shape every query here:
//! - **Single use is decided by the database.** A credential is consumed by a conditional
//!   `DELETE` whose affected-row count says who won, never by reading and then writing.
//! - **Secrets never reach a table.** Rows hold SHA-256 of tokens and argon2id of codes.
//! - **Nobody can lock a person out.** Limits count per requester: another client's requests
//!   and wrong codes never end a link someone holds, nor refuse their own next request.
//!   Only the code, 6 digits, is limited per address as well.

use std::{net::IpAddr, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait,
    sea_query::{Expr, IntoCondition, OnConflict},
};

use super::{
    client::{ClientKey, canonical},
    config::{AllowList, AuthConfig},
    domain::{Code, Email, LinkToken, PersistentId, SessionToken},
    entities::{
        credential::{self, Delivery},
        failure, known_client, session,
    },
    secrets::{CodeHasher, SecretError, token_hash},
};

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
    /// The address has taken its day's wrong codes: codes are off until the day has passed.
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

/// A credential, with the address and the requester it was issued to.
#[derive(Clone, Copy, Debug)]
pub struct CredentialRef<'a> {
    pub id: i64,
    pub email: &'a Email,
    pub client: &'a ClientKey,
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

/// The rules the store enforces, taken from [`AuthConfig`].
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
            email_rate_limit: config.email_rate_limit,
            code_max_attempts: config.code_max_attempts,
            code_daily_limit: config.code_daily_limit,
            mail_deadline: config.mail_deadline(),
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

    /// Issues a credential for `email`, asked for by `client`.
    ///
    /// The limits are checked, and the slot taken, before the code is hashed, so a burst of
    /// requests costs no more argon2 work than the limits allow. The new credential is dead
    /// until its code is hashed; older credentials of the same requester stay live until its
    /// email is out (see [`AuthStore::settle`]), so a failed send loses no link.
    pub async fn issue(
        &self,
        email: &Email,
        client: &ClientKey,
        now: DateTime<Utc>,
    ) -> Result<Issued, IssueError> {
        let token = LinkToken::generate().map_err(StoreError::from)?;
        let code = Code::generate().map_err(StoreError::from)?;

        let txn = self.begin_write(&[client.as_str(), email.as_str()]).await?;
        if let Err(err) = self.check_rate_limits(&txn, email, client, now).await {
            txn.rollback().await?;
            return Err(err);
        }
        let reserved = credential::Entity::insert(credential::ActiveModel {
            id: NotSet,
            email: Set(email.clone()),
            token_hash: Set(token_hash(token.expose())),
            code_hash: Set(String::new()),
            client: Set(client.as_str().to_owned()),
            attempts: Set(0),
            created_at: Set(now),
            expires_at: Set(now),
            delivery: Set(Delivery::Pending),
        })
        .exec(&txn)
        .await?;
        txn.commit().await?;
        let id = reserved.last_insert_id;

        let code_hash = match self.hasher.hash(&code).await {
            Ok(hash) => hash,
            Err(err) => {
                // Hand the slot back: the request failed, and must cost nothing.
                self.release(id).await?;
                return Err(match err {
                    SecretError::Busy => IssueError::Busy,
                    other => IssueError::Store(other.into()),
                });
            }
        };
        let expires_at = after(now, self.policy.credential_lifetime);
        credential::Entity::update_many()
            .col_expr(credential::Column::CodeHash, Expr::value(code_hash))
            .col_expr(credential::Column::ExpiresAt, Expr::value(expires_at))
            .filter(credential::Column::Id.eq(id))
            .exec(&self.db)
            .await?;

        Ok(Issued {
            id,
            email: email.clone(),
            token,
            code,
            expires_at,
        })
    }

    /// The checks, in order: the client's own limit, then the address's limit, which a
    /// client the address has signed in from passes (strangers could use it up).
    async fn check_rate_limits(
        &self,
        conn: &impl ConnectionTrait,
        email: &Email,
        client: &ClientKey,
        now: DateTime<Utc>,
    ) -> Result<(), IssueError> {
        // Every credential counts, its mail sent or not: one whose provider failed, or never
        // confirmed, may still have reached the address, and cost a hash either way.
        let counted =
            credential::Column::CreatedAt.gt(before(now, self.policy.credential_lifetime));
        let by_client = credential::Entity::find()
            .filter(counted.clone())
            .filter(credential::Column::Client.eq(client.as_str()))
            .count(conn)
            .await?;
        if by_client >= u64::from(self.policy.rate_limit) {
            return Err(IssueError::RateLimited(Limit::Client));
        }
        let by_email = credential::Entity::find()
            .filter(counted)
            .filter(credential::Column::Email.eq(email.as_str()))
            .count(conn)
            .await?;
        if by_email >= u64::from(self.policy.email_rate_limit)
            && !self.is_known_client(conn, email, client, now).await?
        {
            return Err(IssueError::RateLimited(Limit::Email));
        }
        Ok(())
    }

    /// Whether `email` has signed in from `client` within [`KNOWN_CLIENT_FOR`].
    async fn is_known_client(
        &self,
        conn: &impl ConnectionTrait,
        email: &Email,
        client: &ClientKey,
        now: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        Ok(known_client::Entity::find()
            .filter(known_client::Column::Email.eq(email.as_str()))
            .filter(known_client::Column::Client.eq(client.as_str()))
            .filter(known_client::Column::LastSeenAt.gt(before(now, KNOWN_CLIENT_FOR)))
            .count(conn)
            .await?
            > 0)
    }

    /// Deletes a credential whose request failed before its email was queued.
    pub async fn release(&self, id: i64) -> Result<(), StoreError> {
        credential::Entity::delete_by_id(id).exec(&self.db).await?;
        Ok(())
    }

    /// Records what became of credential `id`'s email: `Sent` or `Withheld` retire the older
    /// credentials of the same requester (one live credential per requester and address);
    /// `Failed` ends this one, which then counts against no limit.
    pub async fn settle(
        &self,
        issued: &CredentialRef<'_>,
        delivery: Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut update = credential::Entity::update_many()
            .col_expr(credential::Column::Delivery, Expr::value(delivery))
            .filter(credential::Column::Id.eq(issued.id));
        if delivery == Delivery::Failed {
            update = update.col_expr(credential::Column::ExpiresAt, Expr::value(now));
        }
        update.exec(&self.db).await?;
        if delivery != Delivery::Failed {
            credential::Entity::update_many()
                .col_expr(credential::Column::ExpiresAt, Expr::value(now))
                .filter(credential::Column::Email.eq(issued.email.as_str()))
                .filter(credential::Column::Client.eq(issued.client.as_str()))
                .filter(credential::Column::Id.lt(issued.id))
                .filter(credential::Column::ExpiresAt.gt(now))
                .exec(&self.db)
                .await?;
        }
        Ok(())
    }

    /// Whether the email of the credential behind `token_hash` could not be sent: its
    /// provider failed every try, or it is still pending past [`Policy::mail_deadline`] (the
    /// instance that queued it stopped before it went out).
    pub async fn delivery_failed(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let lost = Condition::all()
            .add(credential::Column::Delivery.eq(Delivery::Pending))
            .add(credential::Column::CreatedAt.lt(before(now, self.policy.mail_deadline)));
        Ok(credential::Entity::find()
            .filter(credential::Column::TokenHash.eq(token_hash))
            .filter(
                Condition::any()
                    .add(credential::Column::Delivery.eq(Delivery::Failed))
                    .add(lost),
            )
            .count(&self.db)
            .await?
            > 0)
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
    ) -> Result<Option<Email>, StoreError> {
        Ok(self
            .live_link(token, now)
            .await?
            .map(|credential| credential.email))
    }

    /// The live credential behind a link token. Wrong codes never end a link: only its own
    /// expiry, its use, or a newer link of the same requester does.
    async fn live_link(
        &self,
        token: &LinkToken,
        now: DateTime<Utc>,
    ) -> Result<Option<credential::Model>, DbErr> {
        credential::Entity::find()
            .filter(credential::Column::TokenHash.eq(token_hash(token.expose())))
            .filter(credential::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await
    }

    /// Redeems the credential behind a link token and starts a session for `client`.
    pub async fn redeem_link(
        &self,
        token: &LinkToken,
        client: &ClientKey,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        let live = self
            .live_link(token, now)
            .await?
            .ok_or(RedeemError::InvalidOrExpired)?;
        self.consume(live, client, device, now).await
    }

    /// Redeems `email`'s credential that `claim` asked for with its typed code, and starts a
    /// session.
    ///
    /// Each try spends one of the credential's attempts and one of the address's wrong codes
    /// for the day before the code is checked, so parallel guesses can never get more checks
    /// than allowed; a right code gives its day's slot back.
    pub async fn redeem_code(
        &self,
        email: &Email,
        code: &Code,
        claim: &CodeClaim<'_>,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        let max = self.max_attempts();
        let live = self
            .claimed_credential(email, claim, now)
            .await?
            .ok_or(RedeemError::InvalidOrExpired)?;

        let txn = self.begin_write(&[email.as_str()]).await?;
        let wrong_today = failure::Entity::find()
            .filter(failure::Column::Email.eq(email.as_str()))
            .filter(failure::Column::CreatedAt.gt(before(now, CODE_DAY)))
            .count(&txn)
            .await?;
        if wrong_today >= u64::from(self.policy.code_daily_limit) {
            txn.rollback().await?;
            return Err(RedeemError::CodesPaused);
        }
        // RETURNING gives the count this call reserved, exact even under parallel guesses.
        let reserved = credential::Entity::update_many()
            .col_expr(
                credential::Column::Attempts,
                Expr::col(credential::Column::Attempts).add(1),
            )
            .filter(credential::Column::Id.eq(live.id))
            .filter(credential::Column::ExpiresAt.gt(now))
            .filter(credential::Column::Attempts.lt(max))
            .exec_with_returning(&txn)
            .await?;
        let Some(used) = reserved.first().map(|row| row.attempts) else {
            txn.rollback().await?;
            return Err(RedeemError::InvalidOrExpired);
        };
        let guess = failure::Entity::insert(failure::ActiveModel {
            id: NotSet,
            client: Set(claim.client.as_str().to_owned()),
            email: Set(Some(email.clone())),
            created_at: Set(now),
        })
        .exec(&txn)
        .await?
        .last_insert_id;
        txn.commit().await?;

        let checked = self.hasher.verify(code, &live.code_hash).await;
        if !matches!(checked, Ok(false)) {
            // Right, or not checked at all: either way this was no wrong code.
            failure::Entity::delete_by_id(guess).exec(&self.db).await?;
        }
        match checked {
            Ok(true) => self.consume(live, claim.client, device, now).await,
            Ok(false) => {
                let attempts_left = u32::try_from(max.saturating_sub(used)).unwrap_or(0);
                if attempts_left == 0 {
                    Err(RedeemError::CodeUsedUp)
                } else {
                    Err(RedeemError::WrongCode { attempts_left })
                }
            }
            Err(err) => {
                // The try was never checked: give the attempt back.
                credential::Entity::update_many()
                    .col_expr(
                        credential::Column::Attempts,
                        Expr::col(credential::Column::Attempts).sub(1),
                    )
                    .filter(credential::Column::Id.eq(live.id))
                    .filter(credential::Column::Attempts.gt(0))
                    .exec(&self.db)
                    .await?;
                Err(err.into())
            }
        }
    }

    /// The credential whose code `claim` may try: the one its browser asked for, else the
    /// newest one its client asked for, if its code is still live.
    async fn claimed_credential(
        &self,
        email: &Email,
        claim: &CodeClaim<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<credential::Model>, DbErr> {
        let live_code = Condition::all()
            .add(credential::Column::Email.eq(email.as_str()))
            .add(credential::Column::ExpiresAt.gt(now))
            .add(credential::Column::Attempts.lt(self.max_attempts()))
            // Still being issued: its code is not hashed yet (another instance's clock may
            // run behind the one that reserved it).
            .add(credential::Column::CodeHash.ne(""));
        if let Some(pending) = claim.pending {
            let asked = credential::Entity::find()
                .filter(live_code.clone())
                .filter(credential::Column::TokenHash.eq(pending))
                .one(&self.db)
                .await?;
            if asked.is_some() {
                return Ok(asked);
            }
        }
        credential::Entity::find()
            .filter(live_code)
            .filter(credential::Column::Client.eq(claim.client.as_str()))
            .order_by_desc(credential::Column::CreatedAt)
            .order_by_desc(credential::Column::Id)
            .one(&self.db)
            .await
    }

    /// Deletes `live` if it is still there, and if this call was the one that deleted it,
    /// clears the email's other credentials, starts a session, and remembers `client` as
    /// one the address signs in from, all in one transaction.
    async fn consume(
        &self,
        live: credential::Model,
        client: &ClientKey,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        // An address taken off the allow-list signs in no more, whatever it still holds.
        if !self.policy.allows(live.email.as_str()) {
            return Err(RedeemError::InvalidOrExpired);
        }
        let txn = self.begin_write(&[live.email.as_str()]).await?;
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
        known_client::Entity::insert(known_client::ActiveModel {
            id: NotSet,
            email: Set(live.email.clone()),
            client: Set(client.as_str().to_owned()),
            last_seen_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([known_client::Column::Email, known_client::Column::Client])
                .update_column(known_client::Column::LastSeenAt)
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(new_session)
    }

    async fn insert_session(
        &self,
        txn: &DatabaseTransaction,
        email: &Email,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        let user_agent = device
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(USER_AGENT_MAX).collect::<String>());
        let client_ip = device.client_ip.map(|ip| canonical(ip).to_string());
        let token = SessionToken::generate()?;
        let persistent_id = PersistentId::for_email(email);
        let expires_at = after(now, self.policy.session_lifetime);
        let inserted = session::Entity::insert(session::ActiveModel {
            id: NotSet,
            token_hash: Set(token_hash(token.expose())),
            email: Set(email.clone()),
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
                email: email.clone(),
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

    /// How many failed redemptions one client may have per window before it is refused:
    /// enough for a person to fumble every code of every link they may ask for.
    pub fn failure_limit(&self) -> u64 {
        u64::from(self.policy.rate_limit) * u64::from(self.policy.code_max_attempts)
    }

    /// Whether `client` has used up its failed redemptions for the current window.
    pub async fn too_many_failures(
        &self,
        client: &ClientKey,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let failures = failure::Entity::find()
            .filter(failure::Column::Client.eq(client.as_str()))
            .filter(failure::Column::CreatedAt.gt(before(now, self.policy.credential_lifetime)))
            .count(&self.db)
            .await?;
        Ok(failures >= self.failure_limit())
    }

    /// Counts a failed redemption against `client`. (A wrong code is counted as it is tried.)
    pub async fn record_failure(
        &self,
        client: &ClientKey,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        failure::Entity::insert(failure::ActiveModel {
            id: NotSet,
            client: Set(client.as_str().to_owned()),
            email: Set(None),
            created_at: Set(now),
        })
        .exec(&self.db)
        .await?;
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
    /// superseded; wrong codes count for a day), sessions past their expiry, and clients an
    /// address has not signed in from for [`KNOWN_CLIENT_FOR`].
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
        Ok(Purged {
            credentials,
            sessions,
            failures,
            known_clients,
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
