//! Putting the service together: [`AuthService::builder`], then [`AuthBuilder::build`].

use std::sync::Arc;

use crate::{
    captcha::CaptchaVerifier,
    clock::Clock,
    config::AuthConfig,
    hooks::AuthHooks,
    mail::Mailer,
    service::{AuthService, ServiceError},
    store::StoreError,
};

/// Puts together an [`AuthService`] from its settings, with the app's own hooks, and
/// optionally its own mailer, CAPTCHA check or clock (tests use the last three).
#[must_use = "call .build() to get the service"]
pub struct AuthBuilder {
    db: sea_orm::DatabaseConnection,
    config: AuthConfig,
    hooks: Option<Arc<dyn AuthHooks>>,
    captcha: Option<Arc<dyn CaptchaVerifier>>,
    mailer: Option<Arc<dyn Mailer>>,
    clock: Option<Arc<dyn Clock>>,
    composer: Option<Arc<dyn crate::mail::MailComposer>>,
}

impl AuthService {
    /// A builder for the service over `db` (migrated with [`crate::migrations`]) and `config`.
    pub fn builder(db: sea_orm::DatabaseConnection, config: AuthConfig) -> AuthBuilder {
        AuthBuilder {
            db,
            config,
            hooks: None,
            captcha: None,
            mailer: None,
            clock: None,
            composer: None,
        }
    }

    /// Ready when the database answers a query on the auth tables; for the app's health
    /// endpoint. (A bare ping is not enough: SQLite answers it from memory even when its
    /// file can no longer be read.)
    pub async fn health(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }
}

impl AuthBuilder {
    /// Told of every sign-in and sign-out, for instance to keep the app's user rows.
    pub fn hooks(mut self, hooks: Arc<dyn AuthHooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// Asked before every link is issued, instead of the configured CAPTCHA.
    pub fn captcha(mut self, captcha: Arc<dyn CaptchaVerifier>) -> Self {
        self.captcha = Some(captcha);
        self
    }

    /// Sends the sign-in mail instead of the configured provider.
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Writes the sign-in message instead of the settings' templates: for full control of
    /// its parts.
    pub fn composer(mut self, composer: Arc<dyn crate::mail::MailComposer>) -> Self {
        self.composer = Some(composer);
        self
    }

    /// The time source instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The service, with its mail queue started on the current tokio runtime. Fixes the
    /// auth pages' paths for this process, and installs rustls's ring crypto provider as
    /// the process default unless one is installed already.
    pub fn build(self) -> Result<AuthService, ServiceError> {
        self.config.paths.validate()?;
        // HTTPS to Mailgun and the CAPTCHA provider (and any reqwest client of the app's)
        // uses ring, the provider already compiled in for the database driver.
        crate::mail::mailgun::install_crypto_provider();
        let mut service = AuthService::from_parts(
            self.db,
            self.config,
            self.mailer,
            self.captcha,
            self.clock,
            self.composer,
        )?;
        if let Some(hooks) = self.hooks {
            service = service.with_hooks(hooks);
        }
        Ok(service)
    }
}
