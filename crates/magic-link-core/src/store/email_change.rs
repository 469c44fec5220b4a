//! Accounts and their change of address: the `persistent_id` each account keeps for life, and
//! the single-use links that move an account to a new address and back.
//!
//! Every transaction that moves an account locks its `persistent_id` first, then the
//! addresses it touches in sorted order, so it serialises with sign-ins, deletions and other
//! moves of the same addresses and never deadlocks with them.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::Expr,
};

use super::{
    AuthStore, Limit, Session, StoreError, after, before, delete_rows_of,
    outbox::{Message, Outgoing},
};
use crate::{
    client::ClientKey,
    entities::{
        account, credential, device_request,
        email_change::{self, ChangeKind},
        event, known_client, known_device, outbox, passkey, passkey_challenge, passkey_user,
        session, sign_out_link,
    },
    secrets::token_hash,
};
use magic_link_types::domain::{Email, LinkToken, PersistentId};

/// Why a change of address was refused. Each leaves everything as it was, but for a used
/// link, which stays used.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The new address is the account's address already.
    #[error("That is already your email address.")]
    SameAddress,
    /// The allow-list does not take the new address.
    #[error("This site does not accept that email address.")]
    NotAllowed,
    #[error("Too many attempts. Please try again later.")]
    RateLimited(Limit),
    /// The browser using the link is not signed in to the account that asked.
    #[error(
        "Open this link in a browser where you are signed in to the account that asked for the change."
    )]
    NotSignedIn,
    /// The session that asked has ended (signed out, or signed out everywhere).
    #[error("The session that asked for this change has ended. Sign in and ask again.")]
    SessionEnded,
    /// The link is unknown, used or expired, or its account is gone.
    #[error("This link is invalid, used or expired.")]
    InvalidOrExpired,
    /// The new address has an account of its own.
    #[error(
        "That email address already has an account here. Sign in with it and delete that account first, or choose another address."
    )]
    AddressTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for ChangeError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Store(err.into())
    }
}

/// A live link of a change of address, as its page shows it before it is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangePreview {
    pub kind: ChangeKind,
    /// The address the account has now.
    pub from: Email,
    /// The address the link moves it to.
    pub to: Email,
}

/// An account that has moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailChanged {
    pub from: Email,
    pub to: Email,
    pub persistent_id: PersistentId,
    /// Live sessions that moved with it (after an undo: that ended).
    pub sessions: u64,
    /// After an undo: the passkeys added since the sign-in that asked for the change, removed.
    pub passkeys_removed: u64,
    /// After an undo: the account that the old address had started meanwhile, deleted to make
    /// room (its id, for the app's own rows).
    pub replaced: Option<PersistentId>,
}

/// The tables whose rows follow an account when it moves.
async fn move_rows(txn: &DatabaseTransaction, from: &Email, to: &Email) -> Result<u64, StoreError> {
    async fn set_email<C>(
        txn: &DatabaseTransaction,
        column: C,
        from: &Email,
        to: &Email,
    ) -> Result<u64, StoreError>
    where
        C: ColumnTrait,
        C::EntityName: EntityTrait,
    {
        Ok(<C::EntityName as EntityTrait>::update_many()
            .col_expr(column, Expr::value(to.as_str()))
            .filter(column.eq(from.as_str()))
            .exec(txn)
            .await?
            .rows_affected)
    }
    set_email(txn, account::Column::Email, from, to).await?;
    let sessions = session::Entity::find()
        .filter(session::Column::Email.eq(from.as_str()))
        .count(txn)
        .await?;
    set_email(txn, session::Column::Email, from, to).await?;
    set_email(txn, passkey::Column::Email, from, to).await?;
    set_email(txn, passkey_user::Column::Email, from, to).await?;
    set_email(txn, event::Column::Email, from, to).await?;
    set_email(txn, known_device::Column::Email, from, to).await?;
    set_email(txn, known_client::Column::Email, from, to).await?;
    // A sign-in on another device approved a moment ago signs in to the account where it is.
    set_email(txn, device_request::Column::Email, from, to).await?;
    // What stays with the old address would let it act on the account: its unused sign-in
    // links and codes, its notices' links, its passkey ceremonies, its messages waiting.
    delete_rows_of(txn, credential::Column::Email, from.as_str()).await?;
    delete_rows_of(txn, sign_out_link::Column::Email, from.as_str()).await?;
    delete_rows_of(txn, passkey_challenge::Column::Email, from.as_str()).await?;
    delete_rows_of(txn, outbox::Column::Email, from.as_str()).await?;
    Ok(sessions)
}

/// Whether `email` has an account, or traces of one from before accounts had rows: sessions,
/// passkeys, or devices it signed in from.
async fn has_account(conn: &impl ConnectionTrait, email: &Email) -> Result<bool, StoreError> {
    async fn any<C>(
        conn: &impl ConnectionTrait,
        column: C,
        address: &str,
    ) -> Result<bool, StoreError>
    where
        C: ColumnTrait,
        C::EntityName: EntityTrait,
    {
        Ok(<C::EntityName as EntityTrait>::find()
            .filter(column.eq(address))
            .one(conn)
            .await?
            .is_some())
    }
    let address = email.as_str();
    Ok(any(conn, account::Column::Email, address).await?
        || any(conn, session::Column::Email, address).await?
        || any(conn, passkey_user::Column::Email, address).await?
        || any(conn, known_client::Column::Email, address).await?
        || any(conn, known_device::Column::Email, address).await?)
}

/// The `persistent_id` of `email`'s account, read inside a transaction that holds the
/// address, creating the account if it has none: the hash of the address, as the original
/// computes it, unless an account that moved away from this address holds that value (then a
/// random one, so a new account never takes on a moved one's data).
pub(super) async fn account_id(
    conn: &impl ConnectionTrait,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<PersistentId, StoreError> {
    if let Some(row) = find_account(conn, email).await? {
        return Ok(row.persistent_id);
    }
    let hashed = PersistentId::for_email(email);
    let taken = account::Entity::find()
        .filter(account::Column::PersistentId.eq(hashed.as_str()))
        .count(conn)
        .await?
        > 0;
    let id = if taken {
        PersistentId::from_random(crate::secrets::random_bytes::<32>()?)
    } else {
        hashed
    };
    account::Entity::insert(account::ActiveModel {
        id: NotSet,
        email: Set(email.clone()),
        persistent_id: Set(id.clone()),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

/// The `persistent_id` of `email`'s account without creating one: the hash of the address
/// when it has no row yet (as its first sign-in will write it).
pub(super) async fn account_id_of(
    conn: &impl ConnectionTrait,
    email: &Email,
) -> Result<PersistentId, StoreError> {
    Ok(find_account(conn, email)
        .await?
        .map_or_else(|| PersistentId::for_email(email), |row| row.persistent_id))
}

/// The account row of `email`, if it has one.
async fn find_account(
    conn: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<account::Model>, StoreError> {
    Ok(account::Entity::find()
        .filter(account::Column::Email.eq(email.as_str()))
        .one(conn)
        .await?)
}

/// Deletes every row `address` has in the auth tables, its account included. Returns how many.
pub(super) async fn delete_address_rows(
    txn: &DatabaseTransaction,
    address: &str,
) -> Result<u64, StoreError> {
    let mut rows = 0;
    rows += delete_rows_of(txn, account::Column::Email, address).await?;
    rows += delete_rows_of(txn, session::Column::Email, address).await?;
    rows += delete_rows_of(txn, credential::Column::Email, address).await?;
    rows += delete_rows_of(txn, crate::entities::failure::Column::Email, address).await?;
    rows += delete_rows_of(txn, known_client::Column::Email, address).await?;
    rows += delete_rows_of(txn, known_device::Column::Email, address).await?;
    rows += delete_rows_of(txn, sign_out_link::Column::Email, address).await?;
    rows += delete_rows_of(txn, event::Column::Email, address).await?;
    // The passkey tables exist with or without the `passkeys` feature.
    rows += delete_rows_of(txn, passkey::Column::Email, address).await?;
    rows += delete_rows_of(txn, passkey_user::Column::Email, address).await?;
    rows += delete_rows_of(txn, passkey_challenge::Column::Email, address).await?;
    rows += delete_rows_of(txn, outbox::Column::Email, address).await?;
    // A sign-in on another device it approved, not yet picked up.
    rows += delete_rows_of(txn, device_request::Column::Email, address).await?;
    Ok(rows)
}

/// `keys` sorted and without repeats, so every transaction takes its locks in one order.
fn in_lock_order<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    keys
}

impl AuthStore {
    /// Asks to move `session`'s account to `to`: a single-use link, valid for a credential's
    /// lifetime, queued to `to` in the same transaction (withheld for an address off the
    /// allow-list, with the same reply). Counts against `client`'s limit and
    /// `to`'s, as sign-in links do (each in its own count, so change requests never spend an
    /// address's sign-ins). Returns when the link expires.
    pub async fn request_email_change(
        &self,
        session: &Session,
        to: &Email,
        client: &ClientKey,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, ChangeError> {
        if *to == session.email {
            return Err(ChangeError::SameAddress);
        }
        let token = crate::secrets::new_link_token().map_err(StoreError::from)?;
        // The client's key first, as a sign-in link takes it; then both addresses in the order
        // every move takes them.
        let txn = self.begin_write(&[client.as_str()]).await?;
        self.lock(&txn, &in_lock_order(&[session.email.as_str(), to.as_str()]))
            .await?;
        if !super::sessions::is_live_session(&txn, &session.email, session.id, now).await? {
            txn.rollback().await?;
            return Err(ChangeError::SessionEnded);
        }
        let window = before(now, self.policy.credential_lifetime);
        let recent = || {
            email_change::Entity::find()
                .filter(email_change::Column::Kind.eq(ChangeKind::Confirm))
                .filter(email_change::Column::CreatedAt.gt(window))
        };
        let by_client = recent()
            .filter(email_change::Column::Client.eq(client.as_str()))
            .count(&txn)
            .await?;
        let by_address = recent()
            .filter(email_change::Column::ToEmail.eq(to.as_str()))
            .count(&txn)
            .await?;
        let limit = if by_client >= u64::from(self.policy.rate_limit) {
            Some(Limit::Client)
        } else if by_address >= u64::from(self.policy.email_rate_limit) {
            Some(Limit::Email)
        } else {
            None
        };
        if let Some(limit) = limit {
            txn.rollback().await?;
            return Err(ChangeError::RateLimited(limit));
        }
        let persistent_id = account_id(&txn, &session.email, now).await?;
        let expires_at = after(now, self.policy.credential_lifetime);
        email_change::Entity::insert(email_change::ActiveModel {
            id: NotSet,
            token_hash: Set(token_hash(token.expose())),
            kind: Set(ChangeKind::Confirm),
            persistent_id: Set(persistent_id),
            from_email: Set(session.email.clone()),
            to_email: Set(to.clone()),
            client: Set(client.as_str().to_owned()),
            session: Set(Some(session.id)),
            since: Set(session.created_at),
            created_at: Set(now),
            expires_at: Set(expires_at),
        })
        .exec_without_returning(&txn)
        .await?;
        let message = Outgoing {
            to,
            message: Message::ConfirmEmailChange {
                from: session.email.as_str().to_owned(),
                expires_at,
            },
            token: Some(&token),
            code: None,
            credential: None,
        };
        // Off the allow-list nothing is sent (and the link could not be used), but the reply
        // and the rows are the same: asking tells nobody who may sign in.
        if self.policy.allows(to.as_str()) {
            Self::queue_mail(&txn, message, now).await?;
        }
        txn.commit().await?;
        Ok(expires_at)
    }

    /// What a live change-of-address link would do, without using it.
    pub async fn preview_email_change(
        &self,
        token: &LinkToken,
        now: DateTime<Utc>,
    ) -> Result<Option<ChangePreview>, StoreError> {
        Ok(live_link(&self.db, token, now)
            .await?
            .map(|row| ChangePreview {
                kind: row.kind,
                from: row.from_email,
                to: row.to_email,
            }))
    }

    /// Uses a `confirm` link: moves the account to the new address in one transaction (its
    /// sessions, passkeys, activity, known devices and clients), drops what the old address
    /// could still use (unused sign-in links, notice links, messages waiting), ends the
    /// account's other pending changes, and queues to the old address the word of the change
    /// with a single-use `undo` link, valid for a session's lifetime.
    ///
    /// Refused when the session that asked has ended (the link is used up), or the new
    /// address has an account (the link stays live, for after that account is deleted).
    pub async fn confirm_email_change(
        &self,
        token: &LinkToken,
        by: &Session,
        now: DateTime<Utc>,
    ) -> Result<EmailChanged, ChangeError> {
        let Some(row) = live_link(&self.db, token, now)
            .await?
            .filter(|row| row.kind == ChangeKind::Confirm)
        else {
            return Err(ChangeError::InvalidOrExpired);
        };
        let (from, to) = (row.from_email.clone(), row.to_email.clone());
        let _changing = self.sessions_changing();
        let txn = self.begin_write(&[row.persistent_id.as_str()]).await?;
        self.lock(&txn, &in_lock_order(&[from.as_str(), to.as_str()]))
            .await?;
        // The browser that confirms must be signed in to the account that asked: a link
        // pressed by whoever reads the new mailbox moves no one else's account onto it. The
        // link stays live for a browser that is.
        if by.email != from || !super::sessions::is_live_session(&txn, &from, by.id, now).await? {
            txn.rollback().await?;
            return Err(ChangeError::NotSignedIn);
        }
        if !use_link(&txn, &row, now).await? {
            txn.rollback().await?;
            return Err(ChangeError::InvalidOrExpired);
        }
        let asked_by = match row.session {
            Some(id) => {
                session::Entity::find_by_id(id)
                    .filter(session::Column::Email.eq(from.as_str()))
                    .filter(session::Column::ExpiresAt.gt(now))
                    .one(&txn)
                    .await?
            }
            None => None,
        };
        let Some(asked_by) = asked_by else {
            // The link is used up with its session.
            txn.commit().await?;
            return Err(ChangeError::SessionEnded);
        };
        if account_id(&txn, &from, now).await? != row.persistent_id {
            txn.commit().await?;
            return Err(ChangeError::InvalidOrExpired);
        }
        if !self.policy.allows(to.as_str()) {
            txn.commit().await?;
            return Err(ChangeError::NotAllowed);
        }
        if has_account(&txn, &to).await? {
            txn.rollback().await?;
            return Err(ChangeError::AddressTaken);
        }
        let sessions = move_rows(&txn, &from, &to).await?;
        end_links(
            &txn,
            email_change::Column::PersistentId.eq(row.persistent_id.as_str()),
            email_change::Column::Kind.eq(ChangeKind::Confirm),
            now,
        )
        .await?;
        let undo = crate::secrets::new_link_token().map_err(StoreError::from)?;
        email_change::Entity::insert(email_change::ActiveModel {
            id: NotSet,
            token_hash: Set(token_hash(undo.expose())),
            kind: Set(ChangeKind::Undo),
            persistent_id: Set(row.persistent_id.clone()),
            from_email: Set(to.clone()),
            to_email: Set(from.clone()),
            client: Set(row.client.clone()),
            session: Set(None),
            since: Set(asked_by.created_at),
            created_at: Set(now),
            expires_at: Set(after(now, self.policy.session_lifetime)),
        })
        .exec_without_returning(&txn)
        .await?;
        let notice = Outgoing {
            to: &from,
            message: Message::EmailChanged {
                new: to.as_str().to_owned(),
                at: now,
            },
            token: Some(&undo),
            code: None,
            credential: None,
        };
        Self::queue_mail(&txn, notice, now).await?;
        txn.commit().await?;
        Ok(EmailChanged {
            from,
            to,
            persistent_id: row.persistent_id,
            sessions,
            passkeys_removed: 0,
            replaced: None,
        })
    }

    /// Uses an `undo` link: moves the account back to the address the link was sent to, ends
    /// every session of it, voids its unused sign-in links, removes the passkeys added since
    /// the sign-in that asked for the change and forgets the devices and clients seen since
    /// (as a notice's link does), and ends its pending changes and the `undo`
    /// links of later changes (an older one still works: whoever made the later changes
    /// cannot undo the owner's undo). When the old address has started an account of its own
    /// meanwhile, that account is deleted to make room (`replaced`).
    pub async fn undo_email_change(
        &self,
        token: &LinkToken,
        now: DateTime<Utc>,
    ) -> Result<EmailChanged, ChangeError> {
        let Some(row) = live_link(&self.db, token, now)
            .await?
            .filter(|row| row.kind == ChangeKind::Undo)
        else {
            return Err(ChangeError::InvalidOrExpired);
        };
        let target = row.to_email.clone();
        let _changing = self.sessions_changing();
        let txn = self.begin_write(&[row.persistent_id.as_str()]).await?;
        let Some(account) = account::Entity::find()
            .filter(account::Column::PersistentId.eq(row.persistent_id.as_str()))
            .one(&txn)
            .await?
        else {
            // The account was deleted: there is nothing to move back.
            use_link(&txn, &row, now).await?;
            txn.commit().await?;
            return Err(ChangeError::InvalidOrExpired);
        };
        let current = account.email;
        self.lock(&txn, &in_lock_order(&[current.as_str(), target.as_str()]))
            .await?;
        if !use_link(&txn, &row, now).await? {
            txn.rollback().await?;
            return Err(ChangeError::InvalidOrExpired);
        }
        end_links(
            &txn,
            email_change::Column::PersistentId.eq(row.persistent_id.as_str()),
            sea_orm::Condition::any()
                .add(email_change::Column::Kind.eq(ChangeKind::Confirm))
                .add(email_change::Column::Id.gt(row.id)),
            now,
        )
        .await?;
        let mut replaced = None;
        if current != target {
            if has_account(&txn, &target).await? {
                replaced = find_account(&txn, &target)
                    .await?
                    .map(|row| row.persistent_id);
                if let Some(replaced) = &replaced {
                    email_change::Entity::delete_many()
                        .filter(email_change::Column::PersistentId.eq(replaced.as_str()))
                        .exec(&txn)
                        .await?;
                }
                delete_address_rows(&txn, target.as_str()).await?;
            }
            move_rows(&txn, &current, &target).await?;
        }
        // Whoever asked for the change may have left the account as a thief would.
        let (sessions, passkeys_removed) =
            super::notices::sign_out_since(&txn, &target, row.since, now).await?;
        txn.commit().await?;
        Ok(EmailChanged {
            from: current,
            to: target,
            persistent_id: row.persistent_id,
            sessions,
            passkeys_removed,
            replaced,
        })
    }

    /// The `persistent_id` of `email`'s account (the hash of the address for one that has not
    /// signed in since accounts had rows).
    pub async fn persistent_id(&self, email: &Email) -> Result<PersistentId, StoreError> {
        account_id_of(&self.db, email).await
    }

    /// Deletes expired change-of-address links; returns how many went.
    pub(super) async fn purge_email_changes(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Kept through the limit's window once used or expired, since they count against
        // their requester and address.
        Ok(email_change::Entity::delete_many()
            .filter(email_change::Column::ExpiresAt.lte(now))
            .filter(
                email_change::Column::CreatedAt.lte(before(now, self.policy.credential_lifetime)),
            )
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}

/// The live link behind `token`.
async fn live_link(
    conn: &impl ConnectionTrait,
    token: &LinkToken,
    now: DateTime<Utc>,
) -> Result<Option<email_change::Model>, StoreError> {
    Ok(email_change::Entity::find()
        .filter(email_change::Column::TokenHash.eq(token_hash(token.expose())))
        .filter(email_change::Column::ExpiresAt.gt(now))
        .one(conn)
        .await?)
}

/// Ends link `row` if it is still live; true when this call ended it (of two uses at once,
/// one wins). The row stays, expired, until the limit's window has passed: it still counts.
async fn use_link(
    txn: &DatabaseTransaction,
    row: &email_change::Model,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(end_links(
        txn,
        email_change::Column::Id.eq(row.id),
        sea_orm::Condition::all(),
        now,
    )
    .await?
        == 1)
}

/// Ends the live links that `which` and `also` pick: they expire now, and keep counting
/// against the limits until the window has passed. Returns how many.
async fn end_links(
    txn: &DatabaseTransaction,
    which: impl sea_orm::sea_query::IntoCondition,
    also: impl sea_orm::sea_query::IntoCondition,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(email_change::Entity::update_many()
        .col_expr(email_change::Column::ExpiresAt, Expr::value(now))
        .filter(which)
        .filter(also)
        .filter(email_change::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?
        .rows_affected)
}
