//! Delivery into memory: every message is kept, for tests and examples that sign in without
//! a mail server and read the link from the composed message itself.
//!
//! ```
//! use magic_link_core::mail::recording::RecordingMailer;
//!
//! let mailer = RecordingMailer::default();
//! // AuthService::builder(db, config).mailer(Arc::new(mailer.clone())) …
//! assert!(mailer.messages().is_empty());
//! ```

use std::sync::{Arc, Mutex, PoisonError};

use super::{Mail, Mailer, SendFuture};
use magic_link_types::domain::Email;

/// Keeps every message it is given; clones share the same list.
#[derive(Clone, Debug, Default)]
pub struct RecordingMailer {
    sent: Arc<Mutex<Vec<Mail>>>,
    notify: Arc<tokio::sync::Notify>,
}

impl RecordingMailer {
    /// Every message so far, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The newest message to `to`, waiting for it up to `within` (mail goes out after the
    /// reply to the request that asked for it).
    pub async fn last_to(&self, to: &Email, within: std::time::Duration) -> Option<Mail> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.notify.notified();
            if let Some(mail) = self.messages().into_iter().rev().find(|m| &m.to == to) {
                return Some(mail);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

impl Mailer for RecordingMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(mail.clone());
        self.notify.notify_waiters();
        Box::pin(std::future::ready(Ok(())))
    }
}
