//! New-sign-in notices: when a session starts from a device its address has not used in 90
//! days, the address is mailed, with a single-use link that signs it out everywhere.
//!
//! The notice is decided off the request path, and queued in the outbox in the same
//! transaction as its link: the sign-in never waits for it, and nothing that goes wrong with
//! it (the database, the mail provider) fails the sign-in.

use super::AuthService;
use crate::{
    device::{describe_user_agent, network_of},
    store::{DeviceKey, Session, SignedOutEverywhere, StoreError},
};
use magic_link_types::domain::{Email, LinkToken};

impl AuthService {
    /// Mails the address of `session` if it signed in from a new device, on a task of its
    /// own. Off with `MAGIC_LINK_AUTH_NOTIFY_NEW_DEVICE=false`.
    pub(super) fn notice_new_device(&self, session: &Session) {
        if !self.config.notify_new_device {
            return;
        }
        // The mail queue counts the task as a message in flight until it is done.
        let held = self.mail.hold();
        let service = self.clone();
        let session = session.clone();
        tokio::spawn(async move {
            if let Err(err) = service.send_notice_if_new(&session).await {
                tracing::error!(error = %err, "could not check for a new-sign-in notice");
            }
            drop(held);
        });
    }

    async fn send_notice_if_new(&self, session: &Session) -> Result<(), StoreError> {
        let browser = describe_user_agent(session.user_agent.as_deref());
        let network = network_of(session.client_ip.as_deref());
        let device = DeviceKey {
            browser: &browser,
            network: &network,
        };
        let at = session.created_at;
        if !self.store.note_device(&session.email, device, at).await? {
            return Ok(());
        }
        // Once the device is known, its next sign-in is no news: if the notice cannot be
        // queued, forget it again, so the notice is not lost for good.
        let queued = self
            .store
            .queue_notice(&session.email, &device, at, self.clock.now())
            .await;
        match queued {
            Ok(()) => {
                self.mail.wake();
                tracing::info!(email = %session.email.masked(), session = session.id, "new device: queued a new-sign-in notice");
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not queue a new-sign-in notice");
                self.store.forget_device(&session.email, device, at).await?;
            }
        }
        Ok(())
    }

    /// The address a "sign out everywhere" link is for, if it is live; it stays usable.
    pub async fn preview_sign_out_link(&self, token: &str) -> Result<Option<Email>, StoreError> {
        let Ok(token) = LinkToken::parse(token) else {
            return Ok(None);
        };
        self.store
            .sign_out_link_email(&token, self.clock.now())
            .await
    }

    /// Uses a "sign out everywhere" link: every session of its address ends, its unused links
    /// and codes go, and so do the passkeys added since the sign-in the notice warned of; the
    /// app's hooks are told. `None` for a link that is malformed, unknown, used or expired.
    pub async fn use_sign_out_link(
        &self,
        token: &str,
    ) -> Result<Option<SignedOutEverywhere>, StoreError> {
        let Ok(token) = LinkToken::parse(token) else {
            return Ok(None);
        };
        let now = self.clock.now();
        let Some(outcome) = self.store.use_sign_out_link(&token, now).await? else {
            return Ok(None);
        };
        let email = outcome.email.clone();
        crate::metrics::sessions_ended(outcome.sessions);
        tracing::info!(
            sessions = outcome.sessions,
            passkeys = outcome.passkeys,
            "a notice's link signed an address out everywhere"
        );
        self.record(
            &email,
            crate::entities::event::EventKind::SignedOutEverywhere,
            super::events::By::Unknown,
        )
        .await;
        if outcome.passkeys > 0 {
            self.record(
                &email,
                crate::entities::event::EventKind::PasskeyRemoved,
                super::events::By::Unknown,
            )
            .await;
        }
        let event = crate::hooks::SignedOutEvent {
            persistent_id: outcome.persistent_id.clone(),
            email: email.clone(),
            everywhere: true,
            at: now,
        };
        if let Err(err) = self.hooks.signed_out(&event).await {
            tracing::error!(error = %err, "the sign-out hook failed");
        }
        Ok(Some(outcome))
    }
}
