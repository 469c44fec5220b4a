//! Deleting an account: every row of the address, in every auth table, at once.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::{AuthStore, StoreError};
use crate::{
    domain::Email,
    entities::{
        credential, event, failure, known_client, known_device, passkey, passkey_challenge,
        passkey_user, session, sign_out_link,
    },
};

/// What one deletion removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeletedAccount {
    /// Live sessions ended (every session row of the address is removed).
    pub live_sessions: u64,
    /// Rows removed across the auth tables, sessions included.
    pub rows: u64,
}

impl AuthStore {
    /// Removes everything the auth tables hold of `email` in one transaction, if `session` is
    /// still one of its live sessions (else `None`, and nothing changes: of two deletions at
    /// once, one wins): its sessions,
    /// credentials, wrong codes, known clients and devices, notice links, recent activity,
    /// passkeys, passkey handle and ceremonies. Another address's rows are untouched. Deleting an address that
    /// has nothing left removes nothing.
    pub async fn delete_account(
        &self,
        email: &Email,
        session: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<DeletedAccount>, StoreError> {
        let address = email.as_str();
        let txn = self.begin_write(&[address]).await?;
        let asking = session::Entity::find()
            .filter(session::Column::Id.eq(session))
            .filter(session::Column::Email.eq(address))
            .filter(session::Column::ExpiresAt.gt(now))
            .count(&txn)
            .await?;
        if asking == 0 {
            txn.rollback().await?;
            return Ok(None);
        }
        let live_sessions = session::Entity::find()
            .filter(session::Column::Email.eq(address))
            .filter(session::Column::ExpiresAt.gt(now))
            .count(&txn)
            .await?;
        let mut rows = 0;
        rows += session::Entity::delete_many()
            .filter(session::Column::Email.eq(address))
            .exec(&txn)
            .await?
            .rows_affected;
        rows += credential::Entity::delete_many()
            .filter(credential::Column::Email.eq(address))
            .exec(&txn)
            .await?
            .rows_affected;
        rows += failure::Entity::delete_many()
            .filter(failure::Column::Email.eq(address))
            .exec(&txn)
            .await?
            .rows_affected;
        rows += known_client::Entity::delete_many()
            .filter(known_client::Column::Email.eq(address))
            .exec(&txn)
            .await?
            .rows_affected;
        rows += known_device::Entity::delete_many()
            .filter(known_device::Column::Email.eq(address))
            .exec(&txn)
            .await?
            .rows_affected;
        rows += sign_out_link::Entity::delete_many()
            .filter(sign_out_link::Column::Email.eq(address))
            .exec(&txn)
            .await?
            .rows_affected;
        rows += event::Entity::delete_many()
            .filter(event::Column::Email.eq(address))
            .exec(&txn)
            .await?
            .rows_affected;
        // The passkey tables exist with or without the `passkeys` feature.
        rows += passkey::Entity::delete_many()
            .filter(passkey::Column::Email.eq(address))
            .exec(&txn)
            .await?
            .rows_affected;
        rows += passkey_user::Entity::delete_many()
            .filter(passkey_user::Column::Email.eq(address))
            .exec(&txn)
            .await?
            .rows_affected;
        rows += passkey_challenge::Entity::delete_many()
            .filter(passkey_challenge::Column::Email.eq(address))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        Ok(Some(DeletedAccount {
            live_sessions,
            rows,
        }))
    }
}
