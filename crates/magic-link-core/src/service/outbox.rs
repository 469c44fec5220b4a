//! Sending the outbox. Server only.
//!
//! Every instance runs one sender. It claims the messages that are due (its own as soon as it
//! queues them, others' when it next looks), composes each from the templates, hands it to
//! the provider, and then deletes the row and records on the credential what became of it,
//! in one transaction. A provider that is down or failing gets a few tries with growing
//! pauses, which survive a restart because they live in the row. A provider that took a
//! message but did not confirm it is never tried again: it may have sent it. A message still
//! unsent at the mail deadline is dead, and the page waiting for it says it failed.

use std::{
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{Notify, Semaphore};

use super::{link_for, page_with_token};
use crate::{
    clock::Clock,
    config::AuthConfig,
    entities::credential::Delivery,
    mail::{
        EmailChange, EmailChanged, Mail, MailComposer, MailError, Mailer, NewSignIn, SignIn,
        queue::{is_transient, scrubbed},
    },
    store::{AuthStore, Claimed, Message, after},
};
use magic_link_types::domain::{Email, RedirectTarget};

/// The longest pause between two tries of one message.
const LONGEST_PAUSE: Duration = Duration::from_secs(60);

/// How long past the mail timeout a send may take before it is given up as unconfirmed.
const SEND_GRACE: Duration = Duration::from_secs(2);

/// How long a sender keeps trying to record a message it sent, while the database is away,
/// before it leaves the row to its lease.
const RECORD_FOR: Duration = Duration::from_secs(20);

/// The handle on this instance's sender, cheap to clone. The sender stops once every clone
/// is dropped.
#[derive(Clone)]
pub struct MailQueue {
    shared: Arc<Shared>,
}

struct Shared {
    /// Wakes the sender: a message was queued, or a pause ended.
    wake: Arc<Notify>,
    /// Messages this instance is sending, and work that may queue one (see [`MailQueue::hold`]).
    unsettled: AtomicUsize,
    /// Whether the sender is claiming messages right now.
    claiming: AtomicBool,
    store: AuthStore,
    clock: Arc<dyn Clock>,
}

/// Clears [`Shared::claiming`] when dropped.
struct Claiming<'a>(&'a Shared);

impl Drop for Claiming<'_> {
    fn drop(&mut self) {
        self.0.claiming.store(false, Ordering::SeqCst);
    }
}

impl MailQueue {
    /// Starts this instance's sender on the current runtime.
    pub(crate) fn start(
        store: AuthStore,
        mailer: Arc<dyn Mailer>,
        composer: Arc<dyn MailComposer>,
        config: Arc<AuthConfig>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let wake = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            wake: Arc::clone(&wake),
            unsettled: AtomicUsize::new(0),
            claiming: AtomicBool::new(false),
            store: store.clone(),
            clock: Arc::clone(&clock),
        });
        let sender = Sender {
            shared: Arc::downgrade(&shared),
            wake,
            store,
            mailer,
            composer,
            config,
            clock,
        };
        tokio::spawn(sender.run());
        Self { shared }
    }

    /// Tells the sender that a message was queued.
    pub(crate) fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Counts as one message in flight until the guard is dropped: for work that may queue a
    /// message once it is done (a notice, decided off the request path), so [`settled`]
    /// waits for it too.
    ///
    /// [`settled`]: MailQueue::settled
    pub fn hold(&self) -> Held {
        self.shared.unsettled.fetch_add(1, Ordering::SeqCst);
        Held(Arc::clone(&self.shared))
    }

    /// Waits until this instance sends nothing and the outbox is empty: for tests that read
    /// what was sent. While the database cannot be read, nothing can be sent either, and an
    /// idle instance counts as settled.
    pub async fn settled(&self) {
        loop {
            // Work that may queue a message holds `unsettled` until its row is written, and a
            // row is deleted only once its message is sent or dead: read in that order, an
            // idle instance and an empty outbox mean nothing is left.
            let idle = self.shared.unsettled.load(Ordering::SeqCst) == 0;
            let waiting = self.shared.store.mail_waiting().await;
            if idle && matches!(waiting, Ok(0) | Err(_)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until this instance is sending nothing and no message in the outbox is due: for
    /// a graceful shutdown. A message waiting for its next try, or claimed by another
    /// instance, stays in the outbox for whichever instance is up when it is due.
    pub async fn drained(&self) {
        loop {
            // The sender counts a message in `unsettled` before it stops claiming: read in
            // that order, nothing claimed is missed.
            let claiming = self.shared.claiming.load(Ordering::SeqCst);
            let idle = !claiming && self.shared.unsettled.load(Ordering::SeqCst) == 0;
            match self.shared.store.mail_due(self.shared.clock.now()).await {
                Ok(0) if idle => return,
                // While the database is away nothing more can be claimed: done once the
                // messages being sent are.
                Err(_) if idle => return,
                Ok(_) | Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// See [`MailQueue::hold`].
pub struct Held(Arc<Shared>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.unsettled.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Sender {
    /// Gone once every [`MailQueue`] is dropped: the sender then stops.
    shared: Weak<Shared>,
    wake: Arc<Notify>,
    store: AuthStore,
    mailer: Arc<dyn Mailer>,
    composer: Arc<dyn MailComposer>,
    config: Arc<AuthConfig>,
    clock: Arc<dyn Clock>,
}

impl Sender {
    async fn run(self) {
        let settings = self.config.mail_queue;
        let lease = settings
            .lease
            .max(self.config.mail_timeout + Duration::from_secs(10));
        let sender = Arc::new(self);
        let sending = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        let mut failing = false;
        loop {
            // Wait for a free slot before claiming: a claimed message is sent at once.
            match Arc::clone(&sending).acquire_owned().await {
                Ok(slot) => drop(slot),
                Err(_) => return,
            }
            let Some(shared) = sender.shared.upgrade() else {
                return;
            };
            let free = sending.available_permits() as u64;
            // A claim counts as in flight until its messages do, so `drained` never sees a
            // moment where a claimed message is neither due nor being sent.
            shared.claiming.store(true, Ordering::SeqCst);
            let claiming = Claiming(&shared);
            match sender
                .store
                .claim_mail(sender.clock.now(), lease, free)
                .await
            {
                Ok(claimed) if !claimed.is_empty() => {
                    failing = false;
                    for message in claimed {
                        let Ok(slot) = Arc::clone(&sending).acquire_owned().await else {
                            return;
                        };
                        // Dropped when the task ends, however it ends.
                        shared.unsettled.fetch_add(1, Ordering::SeqCst);
                        let in_flight = Held(Arc::clone(&shared));
                        let sender = Arc::clone(&sender);
                        tokio::spawn(async move {
                            sender.deliver(message).await;
                            drop(slot);
                            drop(in_flight);
                        });
                    }
                    drop(claiming);
                    // There may be more waiting.
                    continue;
                }
                Ok(_) => failing = false,
                Err(err) => {
                    if !failing {
                        tracing::warn!(error = %err, "could not read the mail outbox; trying again");
                    }
                    failing = true;
                }
            }
            drop(claiming);
            drop(shared);
            tokio::select! {
                () = sender.wake.notified() => {}
                () = tokio::time::sleep(settings.poll) => {}
            }
        }
    }

    /// Sends one claimed message, and records the outcome.
    async fn deliver(&self, claimed: Claimed) {
        let now = self.clock.now();
        let delivery = if after(claimed.created_at, self.config.mail_deadline()) < now {
            tracing::error!(to = %claimed.to.masked(), attempts = claimed.attempts, "an email was still unsent at its deadline; giving up");
            Delivery::Failed
        } else {
            match self.compose(&claimed) {
                Composed::Mail(mail) => match self.send(&claimed, &mail).await {
                    Some(delivery) => delivery,
                    // Tried again later.
                    None => return,
                },
                Composed::Withheld => Delivery::Withheld,
                Composed::Unreadable => Delivery::Failed,
            }
        };
        if claimed.credential.is_some() {
            match delivery {
                Delivery::Sent => crate::metrics::link_mailed(true),
                Delivery::Failed => crate::metrics::link_mailed(false),
                Delivery::Withheld | Delivery::Pending => {}
            }
        }
        self.record(&claimed, delivery).await;
    }

    /// Hands `mail` to the provider once: the outcome, or `None` when the message is put back
    /// for another try.
    async fn send(&self, claimed: &Claimed, mail: &Mail) -> Option<Delivery> {
        let settings = self.config.mail_queue;
        let started = Instant::now();
        // The built-in mailers stop at the mail timeout; an app's own mailer is held to it too,
        // or a send could outlive its lease and go out twice.
        let sent = match tokio::time::timeout(
            self.config.mail_timeout + SEND_GRACE,
            self.mailer.send(mail),
        )
        .await
        {
            Ok(sent) => sent,
            Err(_) => Err(MailError::Unconfirmed(
                "no answer within the mail timeout".to_owned(),
            )),
        };
        crate::metrics::mail_sent_in(started);
        let attempt = claimed.attempts;
        match sent {
            Ok(()) => Some(Delivery::Sent),
            Err(err) if attempt < settings.attempts.max(1) && is_transient(&err) => {
                tracing::warn!(to = %mail.to.masked(), error = %scrubbed(&err, mail), attempt, "could not send an email; trying again");
                let pause = settings
                    .backoff
                    .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
                    .min(LONGEST_PAUSE);
                let at = after(self.clock.now(), pause);
                if let Err(err) = self.store.retry_mail(claimed, at).await {
                    // The lease runs out instead, a little later.
                    tracing::warn!(error = %err, "could not put an email back for another try");
                }
                let wake = Arc::clone(&self.wake);
                tokio::spawn(async move {
                    tokio::time::sleep(pause).await;
                    wake.notify_one();
                });
                None
            }
            Err(err) => {
                tracing::error!(to = %mail.to.masked(), error = %scrubbed(&err, mail), attempt, "could not send an email; giving up");
                Some(Delivery::Failed)
            }
        }
    }

    /// Deletes the row and records `delivery`, trying for a while if the database is away:
    /// a row left behind is sent again once its lease runs out.
    async fn record(&self, claimed: &Claimed, delivery: Delivery) {
        let started = Instant::now();
        loop {
            match self
                .store
                .finish_mail(claimed, delivery, self.clock.now())
                .await
            {
                Ok(true) => return,
                Ok(false) => {
                    tracing::warn!(
                        ?delivery,
                        "an email's lease ran out while it was being sent, and another claim took it over"
                    );
                    return;
                }
                Err(err) if started.elapsed() < RECORD_FOR => {
                    tracing::warn!(error = %err, ?delivery, "could not record what became of an email; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(err) => {
                    tracing::error!(error = %err, ?delivery, "could not record what became of an email");
                    return;
                }
            }
        }
    }

    fn compose(&self, claimed: &Claimed) -> Composed {
        let settings = &self.config.mail;
        let Some(message) = &claimed.message else {
            return Composed::Unreadable;
        };
        let mail = match message {
            Message::SignIn {
                redir,
                user_agent,
                expires_at,
            } => {
                let (Some(token), Some(code)) = (&claimed.token, &claimed.code) else {
                    return Composed::Withheld;
                };
                let redir = RedirectTarget::parse(redir).unwrap_or_default();
                let link = link_for(&self.config, token, &redir);
                self.composer.sign_in(
                    settings,
                    &SignIn {
                        to: &claimed.to,
                        link: &link,
                        code,
                        expires_at: *expires_at,
                        now: claimed.created_at,
                        user_agent: user_agent.as_deref(),
                    },
                )
            }
            Message::NewSignIn {
                device,
                network,
                at,
            } => {
                let Some(token) = &claimed.token else {
                    return Composed::Unreadable;
                };
                let link =
                    page_with_token(&self.config, &self.config.paths.sign_out_everywhere, token);
                self.composer.new_sign_in(
                    settings,
                    &NewSignIn {
                        to: &claimed.to,
                        device,
                        network,
                        at: *at,
                        sign_out_link: &link,
                    },
                )
            }
            Message::AccountDeleted { at } => {
                self.composer.account_deleted(settings, &claimed.to, *at)
            }
            Message::ConfirmEmailChange { from, expires_at } => {
                let (Some(token), Ok(old)) = (&claimed.token, Email::parse(from)) else {
                    return Composed::Unreadable;
                };
                let link = page_with_token(&self.config, &self.config.paths.change_email, token);
                self.composer.email_change(
                    settings,
                    &EmailChange {
                        to: &claimed.to,
                        old: &old,
                        confirm_link: &link,
                        expires_at: *expires_at,
                    },
                )
            }
            Message::EmailChanged { new, at } => {
                let (Some(token), Ok(new)) = (&claimed.token, Email::parse(new)) else {
                    return Composed::Unreadable;
                };
                let link = page_with_token(&self.config, &self.config.paths.change_email, token);
                self.composer.email_changed(
                    settings,
                    &EmailChanged {
                        to: &claimed.to,
                        new: &new,
                        at: *at,
                        undo_link: &link,
                    },
                )
            }
        };
        Composed::Mail(mail)
    }
}

enum Composed {
    Mail(Mail),
    /// A sign-in for an address off the allow-list: nothing is sent.
    Withheld,
    /// A row this build cannot read: it is dropped as failed.
    Unreadable,
}
