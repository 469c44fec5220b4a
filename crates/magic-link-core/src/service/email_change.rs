//! Changing an account's address: a link to the new address moves it there, and a link to
//! the old one moves it back.

use chrono::{DateTime, Utc};

use super::{AuthService, events::By};
use crate::{
    client::Client,
    entities::event::EventKind,
    hooks::{AccountDeletedEvent, EmailChangedEvent},
    store::{ChangeError, ChangePreview, EmailChanged, Session, StoreError},
};
use magic_link_types::domain::{Email, EmailError, LinkToken};

/// Why a change of address could not be asked for.
#[derive(Debug, thiserror::Error)]
pub enum EmailChangeError {
    #[error(transparent)]
    InvalidEmail(#[from] EmailError),
    #[error(transparent)]
    Change(#[from] ChangeError),
}

/// A change of address asked for: a link is on its way to `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRequested {
    /// The new address, normalised.
    pub to: Email,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

impl AuthService {
    /// Asks to move `session`'s account to `new`: a single-use link goes to `new`, valid for a
    /// credential's lifetime. The HTTP layer has checked that the session is fresh.
    pub async fn request_email_change(
        &self,
        session: &Session,
        new: &str,
        client: &Client,
    ) -> Result<ChangeRequested, EmailChangeError> {
        let to = Email::parse(new)?;
        let now = self.clock.now();
        let expires_at = self
            .store
            .request_email_change(session, &to, &client.key, now)
            .await?;
        self.mail.wake();
        tracing::info!(
            from = %session.email.masked(),
            to = %to.masked(),
            "a change of address was asked for"
        );
        Ok(ChangeRequested { to, expires_at })
    }

    /// What a live change-of-address link would do, without using it; `None` for a link that
    /// is malformed, unknown, used or expired.
    pub async fn preview_email_change(
        &self,
        token: &str,
    ) -> Result<Option<ChangePreview>, StoreError> {
        let Ok(token) = LinkToken::parse(token) else {
            return Ok(None);
        };
        self.store
            .preview_email_change(&token, self.clock.now())
            .await
    }

    /// Uses the link sent to the new address, from `by`, a session of the account that asked:
    /// the account moves there. The activity records it, the app's hook is told, and the old address gets a message with a link that moves
    /// it back.
    pub async fn confirm_email_change(
        &self,
        token: &str,
        by: &Session,
    ) -> Result<EmailChanged, ChangeError> {
        let token = LinkToken::parse(token).map_err(|_| ChangeError::InvalidOrExpired)?;
        let now = self.clock.now();
        let changed = self.store.confirm_email_change(&token, by, now).await?;
        self.mail.wake();
        tracing::info!(
            from = %changed.from.masked(),
            to = %changed.to.masked(),
            sessions = changed.sessions,
            "an account moved to another address"
        );
        self.record(&changed.to, EventKind::EmailChanged, By::Unknown)
            .await;
        self.email_changed_hook(&changed, false, now).await;
        Ok(changed)
    }

    /// Uses the link sent to the old address after a change: the account moves back, every
    /// session of it ends, and the passkeys added since the sign-in that asked for the change
    /// go. An account the old address started meanwhile is deleted first, and the app's hook
    /// told of it.
    pub async fn undo_email_change(&self, token: &str) -> Result<EmailChanged, ChangeError> {
        let token = LinkToken::parse(token).map_err(|_| ChangeError::InvalidOrExpired)?;
        let now = self.clock.now();
        let undone = self.store.undo_email_change(&token, now).await?;
        crate::metrics::sessions_ended(undone.sessions);
        tracing::info!(
            from = %undone.from.masked(),
            to = %undone.to.masked(),
            sessions = undone.sessions,
            passkeys = undone.passkeys_removed,
            replaced = undone.replaced.is_some(),
            "a change of address was undone"
        );
        if let Some(replaced) = &undone.replaced {
            let event = AccountDeletedEvent {
                email: undone.to.clone(),
                persistent_id: replaced.clone(),
                at: now,
            };
            if let Err(err) = self.hooks.account_deleted(&event).await {
                tracing::error!(error = %err, "the account-deleted hook failed");
            }
        }
        self.record(&undone.to, EventKind::EmailChangeUndone, By::Unknown)
            .await;
        if undone.passkeys_removed > 0 {
            self.record(&undone.to, EventKind::PasskeyRemoved, By::Unknown)
                .await;
        }
        self.email_changed_hook(&undone, true, now).await;
        Ok(undone)
    }

    async fn email_changed_hook(&self, changed: &EmailChanged, undone: bool, at: DateTime<Utc>) {
        if changed.from == changed.to {
            return;
        }
        let event = EmailChangedEvent {
            old: changed.from.clone(),
            new: changed.to.clone(),
            persistent_id: changed.persistent_id.clone(),
            undone,
            at,
        };
        if let Err(err) = self.hooks.email_changed(&event).await {
            tracing::error!(error = %err, "the email-changed hook failed");
        }
    }
}
