//! Issuing a credential within the limits, and settling it once its email is out or has failed.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::Expr,
};

use super::{
    AuthStore, CredentialRef, IssueError, Issued, KNOWN_CLIENT_FOR, Limit, StoreError, after,
    before,
};
use crate::secrets::SecretError;
use crate::{
    client::ClientKey,
    entities::{
        credential::{self, Delivery},
        device_request, known_client, outbox,
    },
    secrets::token_hash,
};
use magic_link_types::domain::Email;
use sea_orm::{DbErr, TransactionTrait};

use super::outbox::{Message, Outgoing};

/// The sign-in message to queue with a credential: where its link lands, the browser that
/// asked, and that browser's earlier pending sign-in, which it replaces once sent.
#[derive(Clone, Copy, Debug)]
pub struct SignInMail<'a> {
    pub redir: &'a str,
    pub user_agent: Option<&'a str>,
    pub supersedes: Option<&'a str>,
}

/// How long a reserved credential whose code is not hashed yet counts against the limits: far
/// longer than hashing a code takes, even behind a full queue, so a request in flight always
/// counts; a reservation its failed request left behind stops counting after it.
pub const RESERVATION_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

impl AuthStore {
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
        self.issue_and_queue(email, client, now, None).await
    }

    /// As [`issue`](Self::issue), and queues its sign-in message in the outbox in the same
    /// transaction that makes the credential live: the credential is never live without its
    /// message, nor the message queued for a credential that is not. For an address off the
    /// allow-list the row carries no secret, and its message is settled as withheld unsent.
    pub async fn issue_and_queue(
        &self,
        email: &Email,
        client: &ClientKey,
        now: DateTime<Utc>,
        mail: Option<SignInMail<'_>>,
    ) -> Result<Issued, IssueError> {
        let token = crate::secrets::new_link_token().map_err(StoreError::from)?;
        let code = crate::secrets::new_code().map_err(StoreError::from)?;

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
        let outgoing = mail.map(|mail| {
            let allowed = self.policy.allows(email.as_str());
            Outgoing {
                to: email,
                message: Message::SignIn {
                    redir: mail.redir.to_owned(),
                    user_agent: mail.user_agent.map(str::to_owned),
                    expires_at,
                },
                token: allowed.then_some(&token),
                code: allowed.then_some(&code),
                credential: Some(CredentialRef {
                    id,
                    email,
                    supersedes: mail.supersedes,
                }),
            }
        });
        let finished = self
            .finish_issue(id, code_hash, expires_at, outgoing, now)
            .await;
        if let Err(err) = finished {
            // The request fails, so its slot goes back if the database lets it; if not, the
            // unfinished reservation stops counting after `RESERVATION_GRACE` all the same.
            if let Err(release) = self.release(id).await {
                tracing::warn!(error = %release, "could not hand back an unfinished credential");
            }
            return Err(err.into());
        }

        Ok(Issued {
            id,
            email: email.clone(),
            token,
            code,
            expires_at,
        })
    }

    /// Makes reserved credential `id` live, and queues its message, in one transaction.
    async fn finish_issue(
        &self,
        id: i64,
        code_hash: String,
        expires_at: DateTime<Utc>,
        outgoing: Option<Outgoing<'_>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        credential::Entity::update_many()
            .col_expr(credential::Column::CodeHash, Expr::value(code_hash))
            .col_expr(credential::Column::ExpiresAt, Expr::value(expires_at))
            .filter(credential::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        if let Some(outgoing) = outgoing {
            Self::queue_mail(&txn, outgoing, now).await?;
        }
        txn.commit().await?;
        Ok(())
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
        // confirmed, may still have reached the address, and cost a hash either way. A
        // reservation whose code was never hashed (its request failed, and handing the slot
        // back failed too) counts only while a request could still be finishing it.
        let counted = Condition::all()
            .add(credential::Column::CreatedAt.gt(before(now, self.policy.credential_lifetime)))
            .add(
                Condition::any()
                    .add(credential::Column::CodeHash.ne(""))
                    .add(credential::Column::CreatedAt.gt(before(now, RESERVATION_GRACE))),
            );
        let by_client = credential::Entity::find()
            .filter(counted.clone())
            .filter(credential::Column::Client.eq(client.as_str()))
            .count(conn)
            .await?
            // Requests to sign in from another device count with the client's links.
            + device_request::Entity::find()
                .filter(device_request::Column::Client.eq(client.as_str()))
                .filter(
                    device_request::Column::CreatedAt
                        .gt(before(now, self.policy.credential_lifetime)),
                )
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
    pub(super) async fn is_known_client(
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

    /// Deletes a credential whose request failed, with its message if one was queued (a
    /// commit that failed on the way back may have gone through).
    pub async fn release(&self, id: i64) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        outbox::Entity::delete_many()
            .filter(outbox::Column::Credential.eq(id))
            .exec(&txn)
            .await?;
        credential::Entity::delete_by_id(id).exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Records what became of credential `id`'s email: `Sent` or `Withheld` retire the
    /// credential the same browser asked for before, if it is for the same address (one live
    /// credential per browser and address); `Failed` ends this one, and the older stays.
    ///
    /// Superseding goes by browser, never by client: a household or office behind one NAT
    /// address (or one IPv6 /64) is one client, and a neighbour's request must not end the
    /// link another browser is waiting for. A request without the browser's cookie (a first
    /// request, curl, another browser) ends nothing: it cannot tell whose older link it
    /// would end. Live links stay bounded all the same, by the limits every request counts
    /// against.
    pub async fn settle(
        &self,
        issued: &CredentialRef<'_>,
        delivery: Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Self::settle_on(&self.db, issued, delivery, now).await
    }

    /// [`settle`](Self::settle) on `conn`, inside a caller's transaction.
    pub(super) async fn settle_on(
        conn: &impl ConnectionTrait,
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
        update.exec(conn).await?;
        if let Some(older) = issued.supersedes
            && delivery != Delivery::Failed
        {
            credential::Entity::update_many()
                .col_expr(credential::Column::ExpiresAt, Expr::value(now))
                .filter(credential::Column::Email.eq(issued.email.as_str()))
                .filter(credential::Column::TokenHash.eq(older))
                .filter(credential::Column::Id.lt(issued.id))
                .filter(credential::Column::ExpiresAt.gt(now))
                .exec(conn)
                .await?;
        }
        Ok(())
    }

    /// Whether the email of the credential behind `token_hash` could not be sent: its
    /// provider failed every try, or it is still pending past [`Policy::mail_deadline`](super::Policy::mail_deadline) (the
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
}
