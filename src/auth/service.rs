//! The auth component's server side as the HTTP layer sees it: one value in context that
//! ties the store, the mailer, the settings and the clock together. Server only.

use std::{net::IpAddr, sync::Arc, time::Duration};

use axum::http::HeaderMap;

use super::{
    captcha::{CaptchaError, CaptchaVerifier, NoCaptcha, SiteVerify},
    clock::{Clock, SystemClock},
    config::{AuthConfig, MailProvider, canonical},
    domain::{Email, LinkToken, RedirectTarget, encode_query_value},
    hooks::{AuthHooks, NoHooks},
    mail::{
        MailError, Mailer, compose, console::ConsoleMailer, file::FileMailer,
        mailgun::MailgunMailer, smtp::SmtpMailer,
    },
    secrets::{CodeHasher, SecretError, token_hash},
    store::{AuthStore, IssueError, Policy},
};

/// Why a sign-in link could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum RequestLinkError {
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Captcha(#[from] CaptchaError),
}

#[derive(Clone)]
pub struct AuthService {
    pub store: AuthStore,
    pub config: Arc<AuthConfig>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    /// Asked before a link is issued; [`NoCaptcha`] unless configured.
    pub captcha: Arc<dyn CaptchaVerifier>,
    /// Told of every sign-in and sign-out; [`NoHooks`] unless the app sets its own.
    pub hooks: Arc<dyn AuthHooks>,
}

/// What a successful request hands back to the HTTP layer: enough to bind the requesting
/// browser to the credential, and nothing that could redeem it.
pub struct LinkSent {
    /// The normalised address the link went to.
    pub email: super::domain::Email,
    /// SHA-256 of the link token, for the short-lived "pending sign-in" cookie.
    pub pending: String,
}

impl AuthService {
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

    pub fn new(
        store: AuthStore,
        config: Arc<AuthConfig>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            config,
            mailer,
            clock,
            captcha: Arc::new(NoCaptcha),
            hooks: Arc::new(NoHooks),
        }
    }

    /// The same service, telling `hooks` of every sign-in and sign-out.
    pub fn with_hooks(mut self, hooks: Arc<dyn AuthHooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// The same service, asking `captcha` before every link is issued.
    pub fn with_captcha(mut self, captcha: Arc<dyn CaptchaVerifier>) -> Self {
        self.captcha = captcha;
        self
    }

    /// The service for `config` with the real clock and the configured mail provider.
    pub fn from_config(
        db: sea_orm::DatabaseConnection,
        config: AuthConfig,
    ) -> Result<Self, ServiceError> {
        let mailer = mailer_for(&config.mail_provider, config.mail_timeout)?;
        let store = AuthStore::new(db, CodeHasher::per_core()?, Policy::from(&config));
        let captcha: Arc<dyn CaptchaVerifier> = match &config.captcha {
            Some(site) => Arc::new(SiteVerify::new(
                &site.verify_url,
                &site.secret,
                CAPTCHA_TIMEOUT,
            )?),
            None => Arc::new(NoCaptcha),
        };
        Ok(Self::new(store, Arc::new(config), mailer, Arc::new(SystemClock)).with_captcha(captcha))
    }

    /// The link a credential's email carries.
    pub fn link(&self, token: &LinkToken, redir: &RedirectTarget) -> String {
        let mut link = format!(
            "{}{}?token={}",
            self.config.public_url,
            self.config.route,
            token.expose()
        );
        if redir.as_str() != "/" {
            link.push_str("&redir=");
            link.push_str(&encode_query_value(redir.as_str()));
        }
        link
    }

    /// Issues a credential for `email` and mails it, once the address reads as one and the
    /// CAPTCHA check (`captcha`, the widget's token) has passed: nothing is written before.
    pub async fn request_link(
        &self,
        email: &str,
        redir: &RedirectTarget,
        client_ip: IpAddr,
        captcha: Option<&str>,
    ) -> Result<LinkSent, RequestLinkError> {
        Email::parse(email).map_err(IssueError::from)?;
        self.captcha.verify(captcha, client_ip).await?;
        let now = self.clock.now();
        let issued = self.store.issue(email, client_ip, now).await?;
        let link = self.link(&issued.token, redir);
        let mail = compose(
            &self.config.mail,
            &issued.email,
            &link,
            &issued.code,
            issued.expires_at,
            now,
        );
        if self.store.policy().allows(issued.email.as_str()) {
            self.mailer.send(&mail).await?;
        } else {
            // The same reply and the same database work as for an allowed address, so the
            // reply tells nobody who may sign in; only the mail stays unsent.
            tracing::info!("address not on the allow-list: no mail sent");
        }
        Ok(LinkSent {
            pending: token_hash(issued.token.expose()),
            email: issued.email,
        })
    }

    /// The client's address: the connection's peer, unless that peer is a trusted proxy,
    /// in which case the nearest address in `X-Forwarded-For` that is not itself a trusted
    /// proxy. Entries further left are written by the client and never believed.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.config.is_trusted_proxy(client) {
            return client;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = canonical(ip);
                    if !self.config.is_trusted_proxy(client) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
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
}

fn mailer_for(provider: &MailProvider, timeout: Duration) -> Result<Arc<dyn Mailer>, MailError> {
    Ok(match provider {
        MailProvider::Console => Arc::new(ConsoleMailer),
        MailProvider::File { outbox } => Arc::new(FileMailer::new(outbox.clone())),
        MailProvider::Mailgun {
            api_url,
            domain,
            api_key,
        } => Arc::new(MailgunMailer::new(api_url, domain, api_key, timeout)?),
        MailProvider::Smtp(settings) => Arc::new(SmtpMailer::new(settings, timeout)?),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn service(trusted: &str) -> AuthService {
        let config = AuthConfig {
            trusted_proxies: trusted
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| super::super::config::Cidr::parse(s).unwrap())
                .collect(),
            ..AuthConfig::default()
        };
        let db = sea_orm::DatabaseConnection::default();
        AuthService::new(
            AuthStore::new(db, CodeHasher::new(1).unwrap(), Policy::from(&config)),
            Arc::new(config),
            Arc::new(ConsoleMailer),
            Arc::new(SystemClock),
        )
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let service = service("");
        let peer: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(service.client_ip(peer, &forwarded("203.0.113.1")), peer);
    }

    #[test]
    fn a_trusted_proxy_speaks_for_the_nearest_untrusted_hop() {
        let service = service("10.0.0.0/8");
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        // The client wrote "1.1.1.1" itself; the proxies appended the real hops.
        let headers = forwarded("1.1.1.1, 203.0.113.9, 10.0.0.5");
        assert_eq!(
            service.client_ip(peer, &headers),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(service.client_ip(peer, &HeaderMap::new()), peer);
        assert_eq!(service.client_ip(peer, &forwarded("garbage")), peer);
    }

    #[test]
    fn links_carry_the_token_and_an_encoded_redirect() {
        let service = service("");
        let token = LinkToken::parse(&"A".repeat(43)).unwrap();
        let redir = RedirectTarget::parse("/a b'<x>?q=1&r=2".replace(' ', "%20").as_str()).unwrap();
        assert_eq!(
            service.link(&token, &redir),
            format!(
                "http://127.0.0.1:3000/magic-link-auth?token={}&redir=%2Fa%2520b%27%3Cx%3E%3Fq%3D1%26r%3D2",
                "A".repeat(43)
            )
        );
        assert_eq!(
            service.link(&token, &RedirectTarget::default()),
            format!(
                "http://127.0.0.1:3000/magic-link-auth?token={}",
                "A".repeat(43)
            )
        );
    }
}
