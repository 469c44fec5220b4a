//! The dev mailbox's messages: with the `dev-mailbox` feature, a debug build keeps a copy of
//! every message the provider took, newest first, for `/dev/mailbox` (served by the HTTP
//! layer, only to a browser holding the key made here). Server only; a release build keeps
//! nothing and serves nothing, whatever its features.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::{Mail, Mailer, SendFuture};
use crate::clock::Clock;

/// Where the mailbox lives.
pub const PATH: &str = magic_link_types::paths::DEV_MAILBOX;

/// How many messages the mailbox keeps; older ones make way.
pub const KEEP: usize = 200;

/// One message the provider took.
#[derive(Clone, Debug)]
pub struct Kept {
    /// Its number since start, from 1.
    pub id: u64,
    pub at: DateTime<Utc>,
    pub mail: Mail,
}

/// The messages sent since start, and the key that opens them; clones share both.
#[derive(Clone)]
pub struct DevMailbox {
    inner: Arc<Mutex<Inbox>>,
    /// `None` when the system's random source failed at start: the mailbox then stays shut.
    key: Option<Arc<SecretString>>,
    /// Whether the site is served over https, so the key's cookie is `Secure`.
    secure: bool,
}

#[derive(Default)]
struct Inbox {
    last_id: u64,
    messages: VecDeque<Kept>,
}

impl DevMailbox {
    /// An empty mailbox with a new key, for a site served over https when `secure`.
    pub fn new(secure: bool) -> Self {
        let key = match crate::secrets::random_token() {
            Ok(key) => Some(Arc::new(SecretString::from(key))),
            Err(err) => {
                tracing::error!(error = %err, "no key for the dev mailbox: it stays shut");
                None
            }
        };
        Self {
            inner: Arc::default(),
            key,
            secure,
        }
    }

    pub(crate) fn keep(&self, mail: &Mail, at: DateTime<Utc>) {
        let mut inbox = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inbox.last_id += 1;
        let id = inbox.last_id;
        inbox.messages.push_front(Kept {
            id,
            at,
            mail: mail.clone(),
        });
        inbox.messages.truncate(KEEP);
    }

    /// Every message kept, newest first.
    pub fn messages(&self) -> Vec<Kept> {
        let inbox = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inbox.messages.iter().cloned().collect()
    }

    /// The message numbered `id`, if it is still kept.
    pub fn message(&self, id: u64) -> Option<Kept> {
        let inbox = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inbox.messages.iter().find(|m| m.id == id).cloned()
    }

    /// The key itself, for the cookie that keeps it; `None` when the mailbox has no key.
    pub fn key(&self) -> Option<&SecretString> {
        self.key.as_deref()
    }

    /// Whether the site is served over https, so the key's cookie is `Secure`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The mailbox's full address with its key, under `public_url`: what the console shows
    /// the developer once at start. `None` when the mailbox has no key.
    pub fn address_with_key(&self, public_url: &str) -> Option<String> {
        let key = self.key.as_ref()?;
        Some(format!("{public_url}{PATH}?key={}", key.expose_secret()))
    }

    /// Whether `offered` is the key, compared in constant time.
    pub fn is_key(&self, offered: &str) -> bool {
        self.key.as_ref().is_some_and(|key| {
            crate::secrets::constant_time_eq(offered.as_bytes(), key.expose_secret().as_bytes())
        })
    }
}

/// A mailer that keeps a copy of every message `inner` took in the mailbox.
pub struct Keeping {
    pub inner: Arc<dyn Mailer>,
    pub mailbox: DevMailbox,
    pub clock: Arc<dyn Clock>,
}

impl Mailer for Keeping {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        Box::pin(async move {
            self.inner.send(mail).await?;
            self.mailbox.keep(mail, self.clock.now());
            Ok(())
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_mailbox_keeps_the_newest_messages_first() {
        let mailbox = DevMailbox::new(false);
        let mail = |n: usize| Mail {
            from: "a@example.com".to_owned(),
            to: magic_link_types::domain::Email::parse("b@example.com").unwrap(),
            subject: format!("message {n}"),
            text: String::new(),
            html: String::new(),
            link: String::new(),
            code: None,
        };
        for n in 0..KEEP + 5 {
            mailbox.keep(&mail(n), Utc::now());
        }
        let messages = mailbox.messages();
        assert_eq!(messages.len(), KEEP);
        assert_eq!(messages[0].mail.subject, format!("message {}", KEEP + 4));
        assert_eq!(messages[0].id, u64::try_from(KEEP + 5).unwrap());
        assert!(mailbox.message(1).is_none());
    }
}
