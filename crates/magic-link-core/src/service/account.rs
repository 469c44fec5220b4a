//! Deleting an account.

use super::AuthService;
use crate::{
    hooks::AccountDeletedEvent,
    store::{DeletedAccount, Session, StoreError},
};

impl AuthService {
    /// Deletes the account of `session`'s address: everything the auth tables hold of it, in
    /// one transaction, so every instance sees every session gone at once. Then the app's
    /// hooks remove its own rows, and the address is told by email (queued with the deletion,
    /// sent off the request path). A failing hook is logged; the deletion stands. `None` when
    /// `session` is no longer live (a deletion from another tab won): nothing is done.
    pub async fn delete_account(
        &self,
        session: &Session,
    ) -> Result<Option<DeletedAccount>, StoreError> {
        let now = self.clock.now();
        let Some(deleted) = self
            .store
            .delete_account(&session.email, session.id, now)
            .await?
        else {
            return Ok(None);
        };
        crate::metrics::sessions_ended(deleted.live_sessions);
        tracing::info!(
            email = %session.email.masked(),
            rows = deleted.rows,
            sessions = deleted.live_sessions,
            "deleted an account"
        );
        let event = AccountDeletedEvent {
            email: session.email.clone(),
            persistent_id: session.persistent_id.clone(),
            at: now,
        };
        if let Err(err) = self.hooks.account_deleted(&event).await {
            tracing::error!(error = %err, "the account-deleted hook failed");
        }
        // The store queued the word of the deletion with it.
        self.mail.wake();
        Ok(Some(deleted))
    }
}
