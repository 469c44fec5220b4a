//! How mail leaves the request path: the settings of the outbox's sending, and which faults
//! are worth another try. Server only.
//!
//! A request writes its message to the outbox table in the same transaction as the credential
//! it carries, and answers at once, so the reply takes the same time whether or not a message
//! goes out, however slow the provider is: the reply says nothing about who may sign in.
//! Every instance sends what it finds there (see `AuthService::mail_queue`).

use std::time::Duration;

use super::{Mail, MailError};

/// How the outbox is sent: messages at once, a few tries with growing pauses, how often an
/// instance looks for work it was not told of, and how long a claimed message is its own.
/// Not read from the environment; the defaults suit instances sending a sign-in mail per
/// request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailQueueSettings {
    /// Messages handed to the provider at once, per instance.
    pub concurrency: usize,
    /// Tries per message, the first included.
    pub attempts: u32,
    /// The pause before the second try; it doubles before each further one.
    pub backoff: Duration,
    /// How often an instance looks in the outbox without being told of a message: for
    /// messages another instance queued, or one that stopped left behind. An instance is
    /// told at once of the messages it queues itself.
    pub poll: Duration,
    /// How long a claimed message is the claiming instance's alone. An instance that dies
    /// mid-send leaves its messages to another once this runs out; never less than the mail
    /// timeout and ten seconds.
    pub lease: Duration,
}

impl Default for MailQueueSettings {
    fn default() -> Self {
        Self {
            concurrency: 16,
            // Pauses of 1, 2, 4, 8, 16 and 32 s: a provider down for a minute loses nothing.
            attempts: 7,
            backoff: Duration::from_secs(1),
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(30),
        }
    }
}

/// `err` as a log line may show it: a provider's refusal often quotes the recipient
/// (`550 <bob@example.com>: Recipient address rejected`), which becomes its masked form.
pub(crate) fn scrubbed(err: &MailError, mail: &Mail) -> String {
    err.to_string()
        .replace(mail.to.as_str(), &mail.to.masked().to_string())
}

/// Whether another try might succeed, and can do no harm: the provider was unreachable,
/// overloaded or failing. A provider that took the message but did not confirm it in time
/// may have sent it, and a second try would mail the address twice.
pub(crate) fn is_transient(err: &MailError) -> bool {
    match err {
        MailError::Deferred { .. } | MailError::Unreachable(_) | MailError::Io(_) => true,
        MailError::Rejected { .. } | MailError::Unconfirmed(_) | MailError::Unsendable(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_faults_that_may_pass_are_tried_again() {
        let body = String::new();
        assert!(!is_transient(&MailError::Rejected {
            status: 550,
            body: body.clone()
        }));
        assert!(is_transient(&MailError::Deferred { status: 451, body }));
        assert!(is_transient(&MailError::Unreachable(
            "connection refused".to_owned()
        )));
        assert!(!is_transient(&MailError::Unconfirmed(
            "timed out".to_owned()
        )));
    }
}
