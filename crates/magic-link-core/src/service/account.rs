//! Deleting an account.

use super::AuthService;
use crate::{
    hooks::AccountDeletedEvent,
    mail::queue::Outgoing,
    store::{DeletedAccount, Session, StoreError},
};

impl AuthService {
    /// Deletes the account of `session`'s address: everything the auth tables hold of it, in
    /// one transaction, so every instance sees every session gone at once. Then the app's
    /// hooks remove its own rows, and the address is told by email (off the request path).
    /// A failing hook or a full mail queue is logged; the deletion stands. `None` when
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
        let mail = self
            .composer
            .account_deleted(&self.config.mail, &session.email, now);
        let outgoing = Outgoing::message(mail);
        if self.mail.enqueue(outgoing).is_err() {
            tracing::warn!("could not queue the account-deleted email: the mail queue is full");
        }
        Ok(Some(deleted))
    }
}
