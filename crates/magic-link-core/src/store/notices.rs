//! New-sign-in notices: the devices each address signs in from, and the single-use "sign
//! out everywhere" links the notices carry.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
    sea_query::{Alias, Expr, ExprTrait, OnConflict, Query},
};

use super::{
    AuthStore, StoreError, after, before, cut_device_text, delete_rows_of,
    outbox::{Message, Outgoing},
};
use crate::{
    entities::{
        credential, device_request, known_client, known_device, outbox, passkey, session,
        sign_out_link,
    },
    secrets::token_hash,
};
use magic_link_types::domain::{Email, LinkToken, PersistentId};

/// What a "sign out everywhere" link did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedOutEverywhere {
    pub email: Email,
    /// The account's id.
    pub persistent_id: PersistentId,
    /// Live sessions ended.
    pub sessions: u64,
    /// Passkeys added since the sign-in the notice warned of, removed.
    pub passkeys: u64,
}

/// How long a device stays known: a sign-in from one unused for longer is news again.
pub const KNOWN_DEVICE_FOR: std::time::Duration = std::time::Duration::from_secs(90 * 24 * 3600);

/// A device as notices tell them apart: the browser and system, and the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceKey<'a> {
    /// Such as "Firefox on macOS".
    pub browser: &'a str,
    /// Such as `203.0.113.0/24`.
    pub network: &'a str,
}

impl AuthStore {
    /// Records that `email` signed in from `device` at `now`. True when the address should
    /// be told: it had signed in before from some device, and not from this one within
    /// [`KNOWN_DEVICE_FOR`].
    ///
    /// One transaction per address: two sign-ins from the same new device at once record it
    /// once, and only one of them is news.
    pub async fn note_device(
        &self,
        email: &Email,
        device: DeviceKey<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (browser, network) = (
            cut_device_text(device.browser),
            cut_device_text(device.network),
        );
        let txn = self.begin_write(&[email.as_str()]).await?;
        let known = known_device::Entity::find()
            .filter(known_device::Column::Email.eq(email.as_str()))
            .all(&txn)
            .await?;
        let this = known
            .iter()
            .find(|row| row.browser == browser && row.network == network);
        let news = match this {
            // The address's very first sign-in is no news to anyone.
            None => !known.is_empty(),
            // Seen later already (two sign-ins noted out of order): nothing to update.
            Some(row) if row.last_seen_at >= now => {
                txn.commit().await?;
                return Ok(false);
            }
            Some(row) => row.last_seen_at <= before(now, KNOWN_DEVICE_FOR),
        };
        known_device::Entity::insert(known_device::ActiveModel {
            id: NotSet,
            email: Set(email.clone()),
            browser: Set(browser),
            network: Set(network),
            last_seen_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([
                known_device::Column::Email,
                known_device::Column::Browser,
                known_device::Column::Network,
            ])
            .update_column(known_device::Column::LastSeenAt)
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(news)
    }

    /// Forgets that `email` signed in from `device` at `at`, when a notice of it could not be
    /// sent: the device's next sign-in is news again (unless it has signed in since).
    pub async fn forget_device(
        &self,
        email: &Email,
        device: DeviceKey<'_>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        known_device::Entity::delete_many()
            .filter(known_device::Column::Email.eq(email.as_str()))
            .filter(known_device::Column::Browser.eq(cut_device_text(device.browser)))
            .filter(known_device::Column::Network.eq(cut_device_text(device.network)))
            .filter(known_device::Column::LastSeenAt.eq(at))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// A new "sign out everywhere" link for `email`, warning of a sign-in at `since`, usable
    /// once until `now` plus a session's lifetime (as long as the session it warns of may
    /// last). Only its hash is kept.
    pub async fn issue_sign_out_link(
        &self,
        email: &Email,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<LinkToken, StoreError> {
        let token = crate::secrets::new_link_token()?;
        Self::insert_sign_out_link(&self.db, email, &token, since, now, &self.policy).await?;
        Ok(token)
    }

    /// Issues a "sign out everywhere" link as [`issue_sign_out_link`](Self::issue_sign_out_link)
    /// does, and queues the new-sign-in notice that carries it in the same transaction.
    pub async fn queue_notice(
        &self,
        email: &Email,
        device: &DeviceKey<'_>,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let token = crate::secrets::new_link_token()?;
        let txn = self.db.begin().await?;
        Self::insert_sign_out_link(&txn, email, &token, since, now, &self.policy).await?;
        let notice = Outgoing {
            to: email,
            message: Message::NewSignIn {
                device: device.browser.to_owned(),
                network: device.network.to_owned(),
                at: since,
            },
            token: Some(&token),
            code: None,
            credential: None,
        };
        Self::queue_mail(&txn, notice, now).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn insert_sign_out_link(
        conn: &impl ConnectionTrait,
        email: &Email,
        token: &LinkToken,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        policy: &super::Policy,
    ) -> Result<(), StoreError> {
        sign_out_link::Entity::insert(sign_out_link::ActiveModel {
            id: NotSet,
            token_hash: Set(token_hash(token.expose())),
            email: Set(email.clone()),
            since: Set(since),
            created_at: Set(now),
            expires_at: Set(after(now, policy.session_lifetime)),
        })
        .exec_without_returning(conn)
        .await?;
        Ok(())
    }

    /// The address a live "sign out everywhere" link is for, without using it.
    pub async fn sign_out_link_email(
        &self,
        token: &LinkToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Email>, StoreError> {
        Ok(sign_out_link::Entity::find()
            .filter(sign_out_link::Column::TokenHash.eq(token_hash(token.expose())))
            .filter(sign_out_link::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(|row| row.email))
    }

    /// Uses a "sign out everywhere" link: deletes it and, if this call was the one that
    /// deleted it, in one transaction ends every live session of its address, deletes its
    /// unused links and codes, removes the passkeys added since the sign-in the notice warned
    /// of (whoever signed in may have added one to come back with), and forgets the devices
    /// and clients seen since. `None` for a link that is unknown, used or expired.
    pub async fn use_sign_out_link(
        &self,
        token: &LinkToken,
        now: DateTime<Utc>,
    ) -> Result<Option<SignedOutEverywhere>, StoreError> {
        let hash = token_hash(token.expose());
        let Some(row) = sign_out_link::Entity::find()
            .filter(sign_out_link::Column::TokenHash.eq(hash.as_str()))
            .filter(sign_out_link::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let _changing = self.sessions_changing();
        let txn = self.begin_write(&[row.email.as_str()]).await?;
        let won = sign_out_link::Entity::delete_many()
            .filter(sign_out_link::Column::Id.eq(row.id))
            .filter(sign_out_link::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?;
        if won.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(None);
        }
        let (sessions, passkeys) = sign_out_since(&txn, &row.email, row.since, now).await?;
        let persistent_id = super::email_change::account_id_of(&txn, &row.email).await?;
        txn.commit().await?;
        Ok(Some(SignedOutEverywhere {
            persistent_id,
            email: row.email,
            sessions,
            passkeys,
        }))
    }

    /// How many devices `email` is known to have signed in from, for tests and tools.
    pub async fn known_devices(&self, email: &Email) -> Result<u64, StoreError> {
        Ok(known_device::Entity::find()
            .filter(known_device::Column::Email.eq(email.as_str()))
            .count(&self.db)
            .await?)
    }

    /// Deletes expired "sign out everywhere" links, and devices unused for
    /// [`KNOWN_DEVICE_FOR`] whose address has signed in since from another device (an
    /// address's devices are kept while it is dormant, so its next sign-in is not taken for
    /// its first). Returns how many rows went.
    pub(super) async fn purge_notices(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let links = sign_out_link::Entity::delete_many()
            .filter(sign_out_link::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        let stale = before(now, KNOWN_DEVICE_FOR);
        let newer = Alias::new("newer");
        let recent_of_same_address = Query::select()
            .expr(Expr::val(1))
            .from_as(known_device::Entity, newer.clone())
            .and_where(
                Expr::col((newer.clone(), known_device::Column::Email))
                    .equals((known_device::Entity, known_device::Column::Email)),
            )
            .and_where(Expr::col((newer, known_device::Column::LastSeenAt)).gt(stale))
            .to_owned();
        let devices = known_device::Entity::delete_many()
            .filter(known_device::Column::LastSeenAt.lte(stale))
            .filter(Expr::exists(recent_of_same_address))
            .exec(&self.db)
            .await?
            .rows_affected;
        Ok(links + devices)
    }
}

/// Signs `email` out everywhere in `txn`, as someone who signed in at `since` may have left it:
/// ends every live session, voids its unused sign-in links and codes (their messages still
/// waiting would carry dead links, and hold their secrets) and any sign-in on another device
/// it approved and that is not picked up yet, removes the passkeys added since (whoever signed
/// in may have added one to come back with), and forgets the devices and clients seen since
/// (the next sign-in from them is news again, and passes the per-address limit no more).
/// Returns how many sessions ended and passkeys went.
pub(super) async fn sign_out_since(
    txn: &DatabaseTransaction,
    email: &Email,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(u64, u64), StoreError> {
    let address = email.as_str();
    let sessions =
        super::sessions::end_live_sessions(txn, session::Column::Email.eq(address), now).await?;
    delete_rows_of(txn, credential::Column::Email, address).await?;
    delete_rows_of(txn, device_request::Column::Email, address).await?;
    outbox::Entity::delete_many()
        .filter(outbox::Column::Email.eq(address))
        .filter(outbox::Column::Credential.is_not_null())
        .exec(txn)
        .await?;
    let passkeys = passkey::Entity::delete_many()
        .filter(passkey::Column::Email.eq(address))
        .filter(passkey::Column::CreatedAt.gte(since))
        .exec(txn)
        .await?
        .rows_affected;
    known_device::Entity::delete_many()
        .filter(known_device::Column::Email.eq(address))
        .filter(known_device::Column::LastSeenAt.gte(since))
        .exec(txn)
        .await?;
    known_client::Entity::delete_many()
        .filter(known_client::Column::Email.eq(address))
        .filter(known_client::Column::LastSeenAt.gte(since))
        .exec(txn)
        .await?;
    Ok((sessions, passkeys))
}
