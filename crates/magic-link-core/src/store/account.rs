//! Deleting an account: every row of the address, in every auth table, at once.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::{
    AuthStore, StoreError,
    outbox::{Message, Outgoing},
};
use crate::entities::{email_change, session};
use magic_link_types::domain::Email;

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
    /// once, one wins): its account row and links of changes of address, its sessions,
    /// credentials, wrong codes, known clients and devices, notice links, recent activity,
    /// passkeys, passkey handle and ceremonies, and its messages still waiting to go out; and queues the word of the deletion. Another
    /// address's rows are untouched. Deleting an address that has nothing left removes
    /// nothing.
    pub async fn delete_account(
        &self,
        email: &Email,
        session: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<DeletedAccount>, StoreError> {
        let address = email.as_str();
        let _changing = self.sessions_changing();
        let txn = self.begin_write(&[address]).await?;
        if !super::sessions::is_live_session(&txn, email, session, now).await? {
            txn.rollback().await?;
            return Ok(None);
        }
        let live_sessions = session::Entity::find()
            .filter(session::Column::Email.eq(address))
            .filter(session::Column::ExpiresAt.gt(now))
            .count(&txn)
            .await?;
        // The account's pending changes of address, and the undo links of its past ones.
        let persistent_id = super::email_change::account_id_of(&txn, email).await?;
        let mut rows = email_change::Entity::delete_many()
            .filter(email_change::Column::PersistentId.eq(persistent_id.as_str()))
            .exec(&txn)
            .await?
            .rows_affected;
        // A message still waiting for the address carries a credential or link that is gone;
        // the word of the deletion takes its place, in the same transaction.
        rows += super::email_change::delete_address_rows(&txn, address).await?;
        let deleted = Outgoing {
            to: email,
            message: Message::AccountDeleted { at: now },
            token: None,
            code: None,
            credential: None,
        };
        Self::queue_mail(&txn, deleted, now).await?;
        txn.commit().await?;
        Ok(Some(DeletedAccount {
            live_sessions,
            rows,
        }))
    }
}
