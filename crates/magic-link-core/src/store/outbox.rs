//! The mail outbox: messages written in the same transaction as what they carry, claimed by
//! whichever instance is free, and deleted once sent or dead.
//!
//! A claim moves a row's `next_attempt_at` a lease ahead, so no other instance takes it while
//! it is being sent; an instance that dies mid-send leaves the lease to run out, and another
//! instance (or the same one, restarted) takes the row over. On PostgreSQL the claim skips
//! rows another instance is claiming at the same moment (`FOR UPDATE SKIP LOCKED`); SQLite
//! has one writer, and one instance per file.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query},
};
use serde::{Deserialize, Serialize};

use super::{AuthStore, CredentialRef, StoreError, after};
use crate::entities::{credential::Delivery, outbox};
use magic_link_types::domain::{Code, Email, LinkToken};

/// What a queued message says beyond its secrets: enough to compose it when it is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// The sign-in message: its link (the row's token, and `redir`) and code.
    SignIn {
        /// Where the link lands once used, as validated when it was asked for.
        redir: String,
        /// The requesting browser's `User-Agent`, which the message names only as a known
        /// browser and system.
        user_agent: Option<String>,
        expires_at: DateTime<Utc>,
    },
    /// The notice of a sign-in from a new device, with its "sign out everywhere" link (the
    /// row's token).
    NewSignIn {
        device: String,
        network: String,
        at: DateTime<Utc>,
    },
    /// The word that the account was deleted.
    AccountDeleted { at: DateTime<Utc> },
    /// To a new address: the link (the row's token) that moves the account of `from` to it.
    ConfirmEmailChange {
        from: String,
        expires_at: DateTime<Utc>,
    },
    /// To the old address: the account moved to `new`, with the link (the row's token) that
    /// moves it back.
    EmailChanged { new: String, at: DateTime<Utc> },
}

/// A message to queue: to whom, what it says, and the secrets it carries.
pub struct Outgoing<'a> {
    pub to: &'a Email,
    pub message: Message,
    pub token: Option<&'a LinkToken>,
    pub code: Option<&'a Code>,
    /// The sign-in credential it carries, and the pending sign-in it replaces once sent.
    pub credential: Option<CredentialRef<'a>>,
}

/// A message an instance has claimed, to send now.
pub struct Claimed {
    pub id: i64,
    pub to: Email,
    /// `None` for a row whose message this build cannot read (written by a newer one).
    pub message: Option<Message>,
    pub token: Option<LinkToken>,
    pub code: Option<Code>,
    pub credential: Option<i64>,
    pub supersedes: Option<String>,
    /// Tries so far, this one included.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// When this claim's lease ends, as the row holds it: the claim's fence. Once another
    /// instance has claimed the row again, it no longer matches, and this claim's outcome is
    /// not recorded over the newer one's.
    pub leased_until: DateTime<Utc>,
}

impl std::fmt::Debug for Claimed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claimed")
            .field("id", &self.id)
            .field("message", &self.message)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl AuthStore {
    /// Writes `outgoing` to the outbox on `conn`: inside the transaction that writes what it
    /// carries, so both are there or neither. Any instance may claim it at once.
    pub(crate) async fn queue_mail(
        conn: &impl ConnectionTrait,
        outgoing: Outgoing<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let message = serde_json::to_string(&outgoing.message)
            .map_err(|err| DbErr::Custom(format!("could not write a queued message: {err}")))?;
        outbox::Entity::insert(outbox::ActiveModel {
            id: NotSet,
            email: Set(outgoing.to.clone()),
            message: Set(message),
            token: Set(outgoing.token.map(|token| token.expose().to_owned())),
            code: Set(outgoing.code.map(|code| code.expose().to_owned())),
            credential: Set(outgoing.credential.map(|credential| credential.id)),
            supersedes: Set(outgoing
                .credential
                .and_then(|credential| credential.supersedes.map(str::to_owned))),
            attempts: Set(0),
            created_at: Set(now),
            next_attempt_at: Set(now),
        })
        .exec_without_returning(conn)
        .await?;
        Ok(())
    }

    /// Queues `outgoing` on its own, for a message that goes with no other write.
    pub async fn queue_message(
        &self,
        outgoing: Outgoing<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Self::queue_mail(&self.db, outgoing, now).await
    }

    /// Claims up to `limit` messages due at `now`, oldest first, for `lease`: until it runs
    /// out no other claim returns them. Each claim counts as a try.
    pub async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: u64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let backend = self.db.get_database_backend();
        let mut due = Query::select();
        due.column(outbox::Column::Id)
            .from(outbox::Entity)
            .and_where(outbox::Column::NextAttemptAt.lte(now))
            .order_by(outbox::Column::Id, Order::Asc)
            .limit(limit);
        if backend == DbBackend::Postgres {
            due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let claim = Query::update()
            .table(outbox::Entity)
            .value(outbox::Column::NextAttemptAt, after(now, lease))
            .value(
                outbox::Column::Attempts,
                Expr::col(outbox::Column::Attempts).add(1),
            )
            .and_where(outbox::Column::Id.in_subquery(due))
            .returning_all()
            .to_owned();
        let rows = outbox::Entity::find()
            .from_raw_sql(backend.build(&claim))
            .all(&self.db)
            .await?;
        let mut claimed: Vec<Claimed> = rows.into_iter().map(Claimed::from).collect();
        claimed.sort_by_key(|row| row.id);
        Ok(claimed)
    }

    /// Puts a claimed message back for another try at `at`, unless another claim has taken it
    /// since.
    pub async fn retry_mail(&self, claimed: &Claimed, at: DateTime<Utc>) -> Result<(), StoreError> {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(at))
            .filter(outbox::Column::Id.eq(claimed.id))
            .filter(outbox::Column::NextAttemptAt.eq(claimed.leased_until))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Done with a claimed message: deletes it, secrets and all, and records `delivery` on the
    /// credential it carries, in one transaction. A claim whose lease ran out and was taken
    /// over records nothing (`Ok(false)`): the newer claim's outcome stands.
    pub async fn finish_mail(
        &self,
        claimed: &Claimed,
        delivery: Delivery,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await?;
        let deleted = outbox::Entity::delete_many()
            .filter(outbox::Column::Id.eq(claimed.id))
            .filter(outbox::Column::NextAttemptAt.eq(claimed.leased_until))
            .exec(&txn)
            .await?
            .rows_affected;
        if deleted == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        if let Some(id) = claimed.credential {
            let credential = CredentialRef {
                id,
                email: &claimed.to,
                supersedes: claimed.supersedes.as_deref(),
            };
            Self::settle_on(&txn, &credential, delivery, now).await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// How many messages in the outbox an instance may claim at `now`.
    pub async fn mail_due(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(outbox::Entity::find()
            .filter(outbox::Column::NextAttemptAt.lte(now))
            .count(&self.db)
            .await?)
    }

    /// How many messages wait in the outbox, claimed or not.
    pub async fn mail_waiting(&self) -> Result<u64, StoreError> {
        Ok(outbox::Entity::find().count(&self.db).await?)
    }
}

impl From<outbox::Model> for Claimed {
    fn from(row: outbox::Model) -> Self {
        let message = match serde_json::from_str(&row.message) {
            Ok(message) => Some(message),
            Err(err) => {
                tracing::error!(id = row.id, error = %err, "a queued message cannot be read");
                None
            }
        };
        Self {
            id: row.id,
            to: row.email,
            message,
            token: row.token.and_then(|token| LinkToken::parse(&token).ok()),
            code: row.code.and_then(|code| Code::parse(&code).ok()),
            credential: row.credential,
            supersedes: row.supersedes,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            created_at: row.created_at,
            leased_until: row.next_attempt_at,
        }
    }
}
