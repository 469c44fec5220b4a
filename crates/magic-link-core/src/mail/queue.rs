//! Sending sign-in mail off the request path. Server only.
//!
//! A request issues its credential, puts the message on a bounded queue and answers at once,
//! so the reply takes the same time whether or not a message goes out, however slow the
//! provider is: the reply says nothing about who may sign in. Each message gets a few tries
//! with growing pauses. What became of a message that carries a credential is reported to
//! the queue's owner (the service records it on the credential, where the page waiting for
//! the email can see that it failed); the queue itself knows no store.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::{Notify, Semaphore, mpsc};

use super::{Mail, MailError, Mailer};
use magic_link_types::domain::Email;

/// How mail leaves the request path: a bounded queue, and a few tries with growing pauses.
/// Not read from the environment; the defaults suit one instance sending a sign-in mail
/// per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailQueueSettings {
    /// Messages that may wait to be sent; past this a request is told to come back (503).
    pub capacity: usize,
    /// Messages handed to the provider at once.
    pub concurrency: usize,
    /// Tries per message, the first included.
    pub attempts: u32,
    /// The pause before the second try; it doubles before each further one.
    pub backoff: Duration,
}

impl Default for MailQueueSettings {
    fn default() -> Self {
        Self {
            capacity: 1024,
            concurrency: 16,
            attempts: 3,
            backoff: Duration::from_secs(1),
        }
    }
}

/// One message on its way, with the credential it carries.
pub struct Outgoing {
    /// `None` for an address off the allow-list: nothing is sent, and the credential is
    /// settled as withheld, through the queue like any other so the reply's timing is the same.
    pub mail: Option<Mail>,
    /// The sign-in credential the message carries, whose row records what became of it;
    /// `None` for a message that carries none (a notice, a confirmation).
    pub credential: Option<Carried>,
}

/// A sign-in credential a message carries: its row, the address it was issued to, and the
/// pending sign-in it replaces once sent.
pub struct Carried {
    pub id: i64,
    pub email: Email,
    pub supersedes: Option<String>,
}

impl Outgoing {
    /// A message that carries no credential.
    pub fn message(mail: Mail) -> Self {
        Self {
            mail: Some(mail),
            credential: None,
        }
    }
}

/// What became of a message that carries a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// The provider took it.
    Sent,
    /// Every try failed, or the provider refused it.
    Failed,
    /// Nothing was sent: the address is off the allow-list.
    Withheld,
}

/// Told what became of each message that carries a credential, once the queue is done with
/// it. The queue waits for the returned future before it counts the message as settled.
pub type Report =
    Arc<dyn Fn(Carried, Delivered) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The queue is full: the request should be refused with a "come back shortly" (503).
#[derive(Debug, thiserror::Error)]
#[error("the mail queue is full")]
pub struct QueueFull;

/// The sending side of the queue, cheap to clone. A worker task on the runtime drains it.
#[derive(Clone)]
pub struct MailQueue {
    sender: mpsc::Sender<Outgoing>,
    unsettled: Arc<Unsettled>,
}

/// Messages queued or in flight, and a wake-up for whoever waits for none.
#[derive(Default)]
struct Unsettled {
    count: AtomicUsize,
    idle: Notify,
}

impl MailQueue {
    /// Starts the worker on the current runtime. It stops once every `MailQueue` clone is
    /// dropped and the queue is empty.
    /// `report` hears what became of each message that carries a credential.
    pub fn start(mailer: Arc<dyn Mailer>, report: Report, settings: MailQueueSettings) -> Self {
        let (sender, receiver) = mpsc::channel(settings.capacity.max(1));
        let unsettled = Arc::new(Unsettled::default());
        let worker = Worker {
            mailer,
            report,
            settings,
            unsettled: Arc::clone(&unsettled),
        };
        tokio::spawn(worker.run(receiver));
        Self { sender, unsettled }
    }

    /// Whether a message could be queued now. Asked for requests that send nothing, too, so
    /// a full queue refuses everyone alike.
    pub fn has_room(&self) -> bool {
        self.sender.capacity() > 0
    }

    /// Queues `outgoing`, or refuses at once when the queue is full.
    pub fn enqueue(&self, outgoing: Outgoing) -> Result<(), QueueFull> {
        self.unsettled.count.fetch_add(1, Ordering::SeqCst);
        match self.sender.try_send(outgoing) {
            Ok(()) => Ok(()),
            Err(_) => {
                self.unsettled.done();
                Err(QueueFull)
            }
        }
    }

    /// Queues `outgoing`, waiting up to `within` for room: for a message sent off the request
    /// path, which may wait where a request may not.
    pub async fn enqueue_within(
        &self,
        outgoing: Outgoing,
        within: std::time::Duration,
    ) -> Result<(), QueueFull> {
        self.unsettled.count.fetch_add(1, Ordering::SeqCst);
        match tokio::time::timeout(within, self.sender.send(outgoing)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => {
                self.unsettled.done();
                Err(QueueFull)
            }
        }
    }

    /// Counts as one message in flight until the guard is dropped: for work that may queue a
    /// message once it is done (a notice, decided off the request path), so [`settled`]
    /// waits for it too.
    ///
    /// [`settled`]: MailQueue::settled
    pub fn hold(&self) -> Held {
        self.unsettled.count.fetch_add(1, Ordering::SeqCst);
        Held(Arc::clone(&self.unsettled))
    }

    /// Waits until no message is queued or in flight: for a graceful shutdown, and for tests
    /// that read the outbox.
    pub async fn settled(&self) {
        loop {
            let idle = self.unsettled.idle.notified();
            if self.unsettled.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// See [`MailQueue::hold`].
pub struct Held(Arc<Unsettled>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.done();
    }
}

impl Unsettled {
    fn done(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }
}

struct Worker {
    mailer: Arc<dyn Mailer>,
    report: Report,
    settings: MailQueueSettings,
    unsettled: Arc<Unsettled>,
}

impl Worker {
    async fn run(self, mut receiver: mpsc::Receiver<Outgoing>) {
        let worker = Arc::new(self);
        let sending = Arc::new(Semaphore::new(worker.settings.concurrency.max(1)));
        while let Some(outgoing) = receiver.recv().await {
            // Waiting here for a free slot leaves later messages in the bounded queue.
            let Ok(slot) = Arc::clone(&sending).acquire_owned().await else {
                return;
            };
            let worker = Arc::clone(&worker);
            tokio::spawn(async move {
                worker.deliver(outgoing).await;
                drop(slot);
                worker.unsettled.done();
            });
        }
    }

    async fn deliver(&self, outgoing: Outgoing) {
        let delivered = match &outgoing.mail {
            Some(mail) => self.send(mail).await,
            None => Delivered::Withheld,
        };
        let Some(carried) = outgoing.credential else {
            return;
        };
        match delivered {
            Delivered::Sent => crate::metrics::link_mailed(true),
            Delivered::Failed => crate::metrics::link_mailed(false),
            Delivered::Withheld => {}
        }
        (self.report)(carried, delivered).await;
    }

    /// Hands `mail` to the provider, trying again after a fault that may pass.
    async fn send(&self, mail: &Mail) -> Delivered {
        let mut pause = self.settings.backoff;
        let attempts = self.settings.attempts.max(1);
        let mut attempt = 1;
        loop {
            let started = std::time::Instant::now();
            let sent = self.mailer.send(mail).await;
            crate::metrics::mail_sent_in(started);
            match sent {
                Ok(()) => return Delivered::Sent,
                Err(err) if attempt < attempts && is_transient(&err) => {
                    tracing::warn!(to = %mail.to.masked(), error = %scrubbed(&err, mail), attempt, "could not send an email; trying again");
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2).min(Duration::from_secs(60));
                    attempt += 1;
                }
                Err(err) => {
                    tracing::error!(to = %mail.to.masked(), error = %scrubbed(&err, mail), attempt, "could not send an email; giving up");
                    return Delivered::Failed;
                }
            }
        }
    }
}

/// `err` as a log line may show it: a provider's refusal often quotes the recipient
/// (`550 <bob@example.com>: Recipient address rejected`), which becomes its masked form.
fn scrubbed(err: &MailError, mail: &Mail) -> String {
    err.to_string()
        .replace(mail.to.as_str(), &mail.to.masked().to_string())
}

/// Whether another try might succeed, and can do no harm: the provider was unreachable,
/// overloaded or failing. A provider that took the message but did not confirm it in time
/// may have sent it, and a second try would mail the address twice.
fn is_transient(err: &MailError) -> bool {
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
