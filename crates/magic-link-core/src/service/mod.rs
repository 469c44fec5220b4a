//! The auth component's server side as the HTTP layer sees it: one value in context that
//! ties the store, the mail queue, the settings and the clock together. Server only.

use std::{sync::Arc, time::Duration};

mod account;
mod device_sign_in;
mod email_change;
pub(crate) mod events;
mod notices;
mod outbox;
#[cfg(feature = "passkeys")]
pub mod passkeys;
mod sign_in;

pub use device_sign_in::ApprovalRequest;
pub use email_change::{ChangeRequested, EmailChangeError};
pub use outbox::{Held, MailQueue};
pub use sign_in::SignInError;

use super::{
    captcha::{CaptchaError, CaptchaVerifier, NoCaptcha, SiteVerify},
    client::Client,
    clock::{Clock, SystemClock},
    config::{AuthConfig, MailProvider},
    entities::event::EventKind,
    hooks::{AuthHooks, NoHooks},
    mail::{
        Compose, MailComposer, MailError, Mailer, console::ConsoleMailer, file::FileMailer,
        mailgun::MailgunMailer, smtp::SmtpMailer,
    },
    secrets::{CodeHasher, SecretError, token_hash},
    store::{AuthStore, Device, IssueError, SignInMail, StoreError},
};

use magic_link_types::domain::{Email, EmailError, LinkToken, RedirectTarget, encode_query_value};

/// Why a sign-in link could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum RequestLinkError {
    #[error(transparent)]
    InvalidEmail(#[from] EmailError),
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error(transparent)]
    Captcha(#[from] CaptchaError),
}

impl From<StoreError> for RequestLinkError {
    fn from(err: StoreError) -> Self {
        Self::Issue(IssueError::Store(err))
    }
}

/// The sign-in, put together: the store, the mail queue, the settings, the clock, the app's
/// hooks. Cheap to clone (every part is shared). Built with [`AuthService::builder`].
#[derive(Clone)]
pub struct AuthService {
    pub(crate) store: AuthStore,
    pub(crate) config: Arc<AuthConfig>,
    /// Sends the outbox's mail off the request path.
    pub(crate) mail: MailQueue,
    pub(crate) clock: Arc<dyn Clock>,
    /// Asked before a link is issued; [`NoCaptcha`] unless configured.
    pub(crate) captcha: Arc<dyn CaptchaVerifier>,
    /// Told of every sign-in and sign-out; [`NoHooks`] unless the app sets its own.
    pub(crate) hooks: Arc<dyn AuthHooks>,
    /// The WebAuthn relying party, from `MAGIC_LINK_AUTH_PUBLIC_URL`; `None` when that
    /// names no domain, which turns passkeys off.
    #[cfg(feature = "passkeys")]
    pub(crate) passkeys: Option<Arc<webauthn_rs::Webauthn>>,
    /// Every message sent since start, for `/dev/mailbox` (the `dev-mailbox` feature). Only a
    /// debug build fills it and serves it.
    #[cfg(feature = "dev-mailbox")]
    pub(crate) dev_mailbox: crate::mail::mailbox::DevMailbox,
}

/// What a successful request hands back to the HTTP layer: enough to bind the requesting
/// browser to the credential, and nothing that could redeem it.
pub struct LinkSent {
    /// The normalised address the link went to.
    pub email: magic_link_types::domain::Email,
    /// SHA-256 of the link token, for the short-lived "pending sign-in" cookie.
    pub pending: String,
}

impl AuthService {
    /// The settings it runs with.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The database connection it was built with, which the app may share for its own
    /// tables.
    pub fn db(&self) -> &sea_orm::DatabaseConnection {
        self.store.db()
    }

    /// Its clock: the system's, or the one given to the builder.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// This instance's sender of the mail outbox: [`MailQueue::drained`] waits for the
    /// messages it is sending and those due, for a graceful shutdown.
    pub fn mail_queue(&self) -> &MailQueue {
        &self.mail
    }

    /// The database work itself, for the HTTP layer's reads (a session, a preview). An app
    /// does not need it.
    #[doc(hidden)]
    pub fn store(&self) -> &AuthStore {
        &self.store
    }

    /// The WebAuthn relying party; `None` when the public URL names no domain, which turns
    /// passkeys off.
    #[cfg(feature = "passkeys")]
    pub fn passkeys(&self) -> Option<&Arc<webauthn_rs::Webauthn>> {
        self.passkeys.as_ref()
    }

    /// Every message sent since start, for `/dev/mailbox`; only a debug build fills it.
    #[cfg(feature = "dev-mailbox")]
    pub fn dev_mailbox(&self) -> &crate::mail::mailbox::DevMailbox {
        &self.dev_mailbox
    }

    /// Starts the periodic cleanup of expired rows on the current runtime: once at once,
    /// then every `cleanup_interval`. Every instance runs its own; they are safe together.
    pub fn spawn_cleanup(&self) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(service.config.cleanup_interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match service.store.purge_expired(service.clock.now()).await {
                    Ok(purged) if purged == Default::default() => {}
                    Ok(purged) => tracing::info!(?purged, "deleted expired auth rows"),
                    // A database outage: try again next time.
                    Err(err) => tracing::warn!(error = %err, "could not delete expired auth rows"),
                }
            }
        })
    }

    /// The service with its mail sender started on the current runtime.
    pub(crate) fn new(
        store: AuthStore,
        config: Arc<AuthConfig>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        composer: Arc<dyn MailComposer>,
    ) -> Self {
        magic_link_types::paths::set(config.paths.clone());
        // A debug build with the `dev-mailbox` feature keeps a copy of every message for it; a
        // release build's mailbox stays empty and is never served.
        #[cfg(feature = "dev-mailbox")]
        let dev_mailbox = crate::mail::mailbox::DevMailbox::new(config.is_https());
        #[cfg(feature = "dev-mailbox")]
        let mailer: Arc<dyn Mailer> = if cfg!(debug_assertions) {
            Arc::new(crate::mail::mailbox::Keeping {
                inner: mailer,
                mailbox: dev_mailbox.clone(),
                clock: Arc::clone(&clock),
            })
        } else {
            mailer
        };
        // The sender writes each message with `composer` ([`Compose`], the settings and
        // templates, unless the app sets its own).
        let mail = MailQueue::start(
            store.clone(),
            mailer,
            composer,
            Arc::clone(&config),
            Arc::clone(&clock),
        );
        #[cfg(feature = "passkeys")]
        let passkeys = passkeys::relying_party(&config.public_url);
        Self {
            #[cfg(feature = "passkeys")]
            passkeys,
            #[cfg(feature = "dev-mailbox")]
            dev_mailbox,
            store,
            config,
            mail,
            clock,
            captcha: Arc::new(NoCaptcha),
            hooks: Arc::new(NoHooks),
        }
    }

    /// The same service, telling `hooks` of every sign-in and sign-out.
    pub(crate) fn with_hooks(mut self, hooks: Arc<dyn AuthHooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// The same service, asking `captcha` before every link is issued.
    pub(crate) fn with_captcha(mut self, captcha: Arc<dyn CaptchaVerifier>) -> Self {
        self.captcha = captcha;
        self
    }

    /// The service for `config`, with `mailer`, `captcha`, `clock` and `composer` in place of
    /// the configured provider, the configured CAPTCHA check, the system clock and the
    /// templates when given.
    pub(crate) fn from_parts(
        db: sea_orm::DatabaseConnection,
        config: AuthConfig,
        mailer: Option<Arc<dyn Mailer>>,
        captcha: Option<Arc<dyn CaptchaVerifier>>,
        clock: Option<Arc<dyn Clock>>,
        composer: Option<Arc<dyn MailComposer>>,
    ) -> Result<Self, ServiceError> {
        let mailer = match mailer {
            Some(mailer) => mailer,
            None => mailer_for(&config.mail_provider, config.mail_timeout)?,
        };
        let hasher = match config.hash_workers {
            Some(workers) => CodeHasher::new(workers, config.hash_queue)?,
            None => CodeHasher::per_core(config.hash_queue)?,
        };
        let store = AuthStore::new(db, hasher, config.store_policy());
        let captcha: Arc<dyn CaptchaVerifier> = match (captcha, &config.captcha) {
            (Some(captcha), _) => captcha,
            (None, Some(site)) => Arc::new(SiteVerify::new(
                &site.verify_url,
                site.secret.clone(),
                CAPTCHA_TIMEOUT,
            )?),
            (None, None) => Arc::new(NoCaptcha),
        };
        let clock = clock.unwrap_or_else(|| Arc::new(SystemClock));
        let composer = composer.unwrap_or_else(|| Arc::new(Compose));
        Ok(Self::new(store, Arc::new(config), mailer, clock, composer).with_captcha(captcha))
    }

    /// The link a credential's email carries.
    pub fn link(&self, token: &LinkToken, redir: &RedirectTarget) -> String {
        link_for(&self.config, token, redir)
    }

    /// Issues a credential for `email` and queues its mail, once the address reads as one
    /// and the CAPTCHA check (`captcha`, the widget's token) has passed: nothing is written
    /// before. The reply does not wait for the mail provider.
    /// The message says which browser asked, from `device`. `waiting_for` is the browser's
    /// pending sign-in (its cookie, the SHA-256 of the link token it was waiting for): once
    /// the new email is out, that link ends; without it, no link ends.
    pub async fn request_link(
        &self,
        email: &str,
        redir: &RedirectTarget,
        client: &Client,
        device: &Device,
        captcha: Option<&str>,
        waiting_for: Option<&str>,
    ) -> Result<LinkSent, RequestLinkError> {
        let email = Email::parse(email)?;
        self.captcha.verify(captcha, client.ip).await?;
        let now = self.clock.now();
        // Off the allow-list the mail stays unsent, but everything else is the same, down to
        // the row in the outbox: the reply tells nobody who may sign in.
        let mail = SignInMail {
            redir: redir.as_str(),
            user_agent: device.user_agent.as_deref(),
            supersedes: waiting_for,
        };
        let issued = self
            .store
            .issue_and_queue(&email, &client.key, now, Some(mail))
            .await?;
        self.mail.wake();
        if !self.store.policy().allows(email.as_str()) {
            crate::metrics::refused(crate::metrics::Refusal::AllowList);
        }
        let pending = token_hash(issued.token.expose());
        crate::metrics::link_requested();
        self.record(&email, EventKind::LinkRequested, events::By::Device(device))
            .await;
        Ok(LinkSent { email, pending })
    }
}

/// The link a sign-in message carries: the link page with `token`, and `redir` unless it is
/// where a sign-in lands anyway.
pub(crate) fn link_for(config: &AuthConfig, token: &LinkToken, redir: &RedirectTarget) -> String {
    let mut link = page_with_token(config, &config.paths.link, token);
    if redir.as_str() != config.paths.after_sign_in {
        link.push_str("&redir=");
        link.push_str(&encode_query_value(redir.as_str()));
    }
    link
}

/// The absolute address of the auth page at `path`, with `token` in its query: what an
/// email links to.
pub(crate) fn page_with_token(config: &AuthConfig, path: &str, token: &LinkToken) -> String {
    format!("{}{path}?token={}", config.public_url, token.expose())
}

/// How long the CAPTCHA provider may take to answer.
const CAPTCHA_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("could not set up the CAPTCHA check: {0}")]
    Captcha(#[from] CaptchaError),
    #[error("could not set up mail delivery: {0}")]
    Mail(#[from] MailError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Paths(#[from] magic_link_types::paths::PathError),
}

fn mailer_for(provider: &MailProvider, timeout: Duration) -> Result<Arc<dyn Mailer>, MailError> {
    Ok(match provider {
        MailProvider::Console => Arc::new(ConsoleMailer),
        MailProvider::File { outbox } => Arc::new(FileMailer::new(outbox.clone())),
        MailProvider::Mailgun {
            api_url,
            domain,
            api_key,
        } => Arc::new(MailgunMailer::new(
            api_url,
            domain,
            api_key.clone(),
            timeout,
        )?),
        MailProvider::Smtp(settings) => Arc::new(SmtpMailer::new(settings, timeout)?),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn links_carry_the_token_and_an_encoded_redirect() {
        let config = AuthConfig::default();
        let db = sea_orm::DatabaseConnection::default();
        let service = AuthService::new(
            AuthStore::new(db, CodeHasher::new(1, 1).unwrap(), config.store_policy()),
            Arc::new(config),
            Arc::new(ConsoleMailer),
            Arc::new(SystemClock),
            Arc::new(Compose),
        );
        let token = LinkToken::parse(&"A".repeat(43)).unwrap();
        let redir = RedirectTarget::parse("/a b'<x>?q=1&r=2".replace(' ', "%20").as_str()).unwrap();
        assert_eq!(
            service.link(&token, &redir),
            format!(
                "http://localhost:3000/magic-link-auth?token={}&redir=%2Fa%2520b%27%3Cx%3E%3Fq%3D1%26r%3D2",
                "A".repeat(43)
            )
        );
        assert_eq!(
            service.link(&token, &RedirectTarget::default()),
            format!(
                "http://localhost:3000/magic-link-auth?token={}",
                "A".repeat(43)
            )
        );
    }
}
