//! `AuthConfig`: every auth setting, read from the environment once at start.
//!
//! The variable names, defaults and rules are the original's, plus a few it lacked. An empty
//! value means the default. A value that is set but unusable stops the server at start with
//! one line naming the variable, the value and the rule, rather than failing later on a request.

use std::{path::PathBuf, time::Duration};

use secrecy::SecretString;

mod setting;
#[cfg(test)]
mod tests;
pub mod variables;

use setting::{Setting, required, smtp_settings};

pub use crate::mail::{
    queue::MailQueueSettings,
    smtp::{SmtpSettings, SmtpTls},
};

use super::{
    client::TrustedProxies,
    mail::{DEFAULT_NOTICE_SUBJECT, DEFAULT_SUBJECT, MailSettings, Templates},
    store::Policy,
};

use magic_link_types::{domain::AllowList, paths::AuthPaths};

/// One setting that could not be used. The value of a secret is never kept, and a database
/// URL is kept with its password masked, so this error can be printed anywhere.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={shown} is not usable: {rule}", shown = self.shown())]
pub struct ConfigError {
    pub variable: &'static str,
    /// The value as set; empty for a secret.
    pub value: String,
    pub rule: &'static str,
    /// Whether the value is a secret, shown as `<hidden>`.
    pub secret: bool,
}

impl ConfigError {
    fn shown(&self) -> String {
        if self.secret {
            "<hidden>".to_owned()
        } else {
            format!("{:?}", self.value)
        }
    }
}

/// `url` for messages and logs: any password replaced by `***`, and the query, which may
/// carry one too (`?password=…`), replaced by `?…`. A value that does not read as a URL but
/// holds an `@` is hidden whole, as it may still hold a secret.
pub fn redact_url(url: &str) -> String {
    let mut parsed = match url::Url::parse(url) {
        Ok(parsed) if parsed.password().is_none() && parsed.query().is_none() => {
            return url.to_owned();
        }
        Ok(parsed) => parsed,
        Err(_) if url.contains('@') => return "<hidden>".to_owned(),
        Err(_) => return url.to_owned(),
    };
    if parsed.password().is_some() && parsed.set_password(Some("***")).is_err() {
        return "<hidden>".to_owned();
    }
    let query = parsed.query().is_some();
    parsed.set_query(None);
    parsed.set_fragment(None);
    let mut shown = parsed.to_string();
    if query {
        shown.push_str("?…");
    }
    shown
}

#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// Where the auth pages live. `MAGIC_LINK_AUTH_ROUTE` sets `paths.link`; the app sets
    /// the others in code before building the service.
    pub paths: AuthPaths,
    /// The origin links are built from. Never taken from a request's Host header.
    pub public_url: String,
    /// How long a link or code stays usable, and the window the rate limits count over.
    pub credential_lifetime: Duration,
    /// How long a session lasts.
    pub session_lifetime: Duration,
    /// How recently a session must have signed in for a sensitive action (adding or deleting
    /// a passkey, signing out everywhere, ending another session, deleting the account).
    pub fresh_for: Duration,
    /// How many credentials one client may be issued per window, whatever the addresses.
    pub rate_limit: u32,
    /// How many credentials one address may be issued per window across all the clients it
    /// has not signed in from: the bound on mail strangers can cause. Always above
    /// `rate_limit` (twice it unless set), so no one client can use it up.
    pub email_rate_limit: u32,
    /// How many wrong codes a credential survives before its code is dead (its link lives on).
    pub code_max_attempts: u32,
    /// How many wrong codes one address takes per day before its codes stop working for the
    /// rest of the day: from the clients it has not signed in from, all together, and from
    /// each client it has signed in from, on its own (so strangers never pause those).
    pub code_daily_limit: u32,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// The IPv6 prefix length that keys one client for the per-client limits.
    pub ipv6_prefix: u8,
    /// How often each instance deletes expired credentials and sessions.
    pub cleanup_interval: Duration,
    /// Who may sign in: everyone when `None` (`MAGIC_LINK_AUTH_ALLOWED_EMAILS` unset).
    pub allowed_emails: Option<AllowList>,
    /// The siteverify endpoint asked before a link is issued; no CAPTCHA when `None`.
    pub captcha: Option<CaptchaSettings>,
    /// How the email goes out.
    pub mail_provider: MailProvider,
    /// How long one try at handing a message to the mail provider may take.
    pub mail_timeout: Duration,
    /// How a message is sent off the request path: queue size, tries and backoff.
    pub mail_queue: MailQueueSettings,
    /// How many codes may wait for a hashing worker before a request is told to come back.
    pub hash_queue: usize,
    /// How many threads hash and check codes, each holding 19 MiB of argon2 memory. `None`,
    /// the default, is one per core; a smaller number leaves cores to the rest of the app.
    pub hash_workers: Option<usize>,
    /// What the email says.
    pub mail: MailSettings,
    /// Whether an address is told of a sign-in from a device it has not used in 90 days
    /// (`MAGIC_LINK_AUTH_NOTIFY_NEW_DEVICE`).
    pub notify_new_device: bool,
    /// How long each address's recent activity is kept
    /// (`MAGIC_LINK_AUTH_ACTIVITY_RETENTION_SECONDS`).
    pub activity_retention: Duration,
    /// How many passkeys one address may have (`MAGIC_LINK_AUTH_PASSKEYS_PER_ADDRESS`), at
    /// most [`MAX_PASSKEYS_PER_ADDRESS`]. Every registration and confirmation stores a list
    /// of the address's passkeys (about 600 bytes each) until it finishes, so this also
    /// bounds what one ceremony can write.
    pub passkeys_per_address: u32,
    /// Whether a `GET` or `HEAD` for another host than the public URL's is redirected there
    /// before anything runs (`true`, the default; see "One address for the site" in the
    /// configuration guide). Set in code only: `false` for an app whose own probes or
    /// internal calls reach it by another name, or behind a proxy that rewrites `Host` and
    /// adds no forwarding header.
    pub redirect_other_hosts: bool,
}

/// The default for [`AuthConfig::passkeys_per_address`]: a person's phones, computers,
/// tablets, security keys and password managers, with room to replace some, come to well
/// under 20; 20 lists make a ceremony state of about 12 kB.
pub const DEFAULT_PASSKEYS_PER_ADDRESS: u32 = 20;

/// The highest `MAGIC_LINK_AUTH_PASSKEYS_PER_ADDRESS` accepted: one ceremony's state stays
/// near 60 kB.
pub const MAX_PASSKEYS_PER_ADDRESS: u32 = 100;

/// Where magic-link emails go (`MAGIC_LINK_MAIL_PROVIDER`). Its `Debug` shows no secret.
#[derive(Clone, Debug)]
pub enum MailProvider {
    /// Logged, for development.
    Console,
    /// Written as `.eml` files into a folder.
    File { outbox: PathBuf },
    /// Handed to an SMTP server.
    Smtp(SmtpSettings),
    /// Posted to Mailgun's HTTP API.
    Mailgun {
        api_url: String,
        domain: String,
        api_key: SecretString,
    },
}

pub const DEFAULT_MAILGUN_API_URL: &str = "https://api.mailgun.net";
pub const DEFAULT_OUTBOX: &str = "./outbox";

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            paths: AuthPaths::default(),
            // A name, not an address: WebAuthn refuses IP addresses, and `localhost` is a
            // secure context over plain http, so passkeys work in development as they are.
            public_url: "http://localhost:3000".to_owned(),
            credential_lifetime: Duration::from_secs(1800),
            session_lifetime: Duration::from_secs(604_800),
            rate_limit: 5,
            email_rate_limit: 10,
            code_max_attempts: 5,
            code_daily_limit: 10,
            trusted_proxies: TrustedProxies::default(),
            ipv6_prefix: 64,
            cleanup_interval: Duration::from_secs(600),
            fresh_for: Duration::from_secs(600),
            allowed_emails: None,
            captcha: None,
            mail_provider: MailProvider::Console,
            mail_timeout: Duration::from_secs(10),
            mail_queue: MailQueueSettings::default(),
            hash_queue: 256,
            hash_workers: None,
            mail: MailSettings {
                from: default_from("localhost"),
                subject: DEFAULT_SUBJECT.to_owned(),
                html: None,
                templates: Templates::default(),
                app_name: DEFAULT_APP_NAME.to_owned(),
                notice_subject: DEFAULT_NOTICE_SUBJECT.to_owned(),
            },
            notify_new_device: true,
            activity_retention: Duration::from_secs(90 * 24 * 3600),
            passkeys_per_address: DEFAULT_PASSKEYS_PER_ADDRESS,
            redirect_other_hosts: true,
        }
    }
}

impl AuthConfig {
    /// Reads the settings from the `MAGIC_LINK_*` environment variables (and no other), with
    /// the defaults for those unset or empty. The table of them is `variables::VARIABLES`. A
    /// `MAGIC_LINK_*` variable that is not one of them is refused, so a misspelt setting
    /// stops the start instead of being ignored.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_allowing(&[])
    }

    /// As [`from_env`](Self::from_env), for an app that names variables of its own with the
    /// `MAGIC_LINK_` prefix: those in `app_variables` are left to the app.
    pub fn from_env_allowing(app_variables: &[&str]) -> Result<Self, ConfigError> {
        let names = std::env::vars_os().filter_map(|(name, _)| name.into_string().ok());
        if let Some(unknown) = unknown_variable(names, app_variables) {
            return Err(ConfigError {
                // The start ends with this error: the one name leaked is never freed twice.
                variable: Box::leak(unknown.into_boxed_str()),
                // It may hold a secret under a misspelt name.
                value: String::new(),
                rule: "names no setting of the sign-in (check its spelling against docs/configuration.md)",
                secret: true,
            });
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can supply them without touching the process.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let read = |variable: &'static str| {
            debug_assert!(
                variables::variable(variable).is_some(),
                "{variable} is missing from config::variables::VARIABLES"
            );
            lookup(variable)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .map(|value| Setting { variable, value })
        };

        let public_url = match read("MAGIC_LINK_AUTH_PUBLIC_URL") {
            Some(s) => s.origin()?,
            None => defaults.public_url,
        };
        let mailgun_domain = read("MAGIC_LINK_MAILGUN_DOMAIN_NAME").map(|s| s.value);
        let mail_provider = match read("MAGIC_LINK_MAIL_PROVIDER") {
            // On https this is a deployment: console delivery would write every link and
            // code into its logs. Console stays the default for local http development.
            None if public_url.starts_with("https://") => {
                return Err(ConfigError {
                    variable: "MAGIC_LINK_MAIL_PROVIDER",
                    value: String::new(),
                    rule: "must be set when MAGIC_LINK_AUTH_PUBLIC_URL is https: smtp or mailgun (console would write every link and code into the logs)",
                    secret: false,
                });
            }
            None => MailProvider::Console,
            Some(s) => match s.value.to_ascii_lowercase().as_str() {
                "console" => MailProvider::Console,
                "file" => MailProvider::File {
                    outbox: read("MAGIC_LINK_MAIL_OUTBOX")
                        .map_or_else(|| PathBuf::from(DEFAULT_OUTBOX), |s| PathBuf::from(s.value)),
                },
                "mailgun" => MailProvider::Mailgun {
                    api_url: match read("MAGIC_LINK_MAILGUN_API_URL") {
                        Some(s) => s.http_url()?,
                        None => DEFAULT_MAILGUN_API_URL.to_owned(),
                    },
                    domain: required("MAGIC_LINK_MAILGUN_DOMAIN_NAME", mailgun_domain.clone())?,
                    api_key: required(
                        "MAGIC_LINK_MAILGUN_API_KEY",
                        read("MAGIC_LINK_MAILGUN_API_KEY").map(|s| s.value),
                    )?
                    .into(),
                },
                "smtp" => MailProvider::Smtp(smtp_settings(&read)?),
                _ => return s.reject("must be console, file, smtp or mailgun"),
            },
        };
        let from_domain = mailgun_domain.unwrap_or_else(|| {
            url::Url::parse(&public_url)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_else(|| "localhost".to_owned())
        });
        let from = match read("MAGIC_LINK_EMAIL_FROM") {
            Some(s) => s.header_value()?,
            None => default_from(&from_domain),
        };
        let mail = MailSettings {
            app_name: app_name(&from, &from_domain),
            from,
            subject: match read("MAGIC_LINK_EMAIL_SUBJECT") {
                Some(s) => s.header_value()?,
                None => DEFAULT_SUBJECT.to_owned(),
            },
            html: read("MAGIC_LINK_EMAIL_HTML").map(|s| s.value),
            templates: match read("MAGIC_LINK_EMAIL_TEMPLATES") {
                Some(s) => s.templates()?,
                None => Templates::default(),
            },
            notice_subject: DEFAULT_NOTICE_SUBJECT.to_owned(),
        };

        let rate_limit = match read("MAGIC_LINK_AUTH_OTP_RATE_LIMIT") {
            Some(s) => s.count()?,
            None => defaults.rate_limit,
        };
        // Above what one client may ask for, so no one stranger can use it up alone.
        let email_rate_limit = match read("MAGIC_LINK_AUTH_EMAIL_RATE_LIMIT") {
            Some(s) => match s.count()? {
                limit if limit > rate_limit => limit,
                _ => {
                    return s.reject(
                        "must be a whole number above MAGIC_LINK_AUTH_OTP_RATE_LIMIT, so no one client can use it up",
                    );
                }
            },
            None => rate_limit.saturating_mul(2),
        };

        Ok(Self {
            mail_provider,
            mail_timeout: match read("MAGIC_LINK_MAIL_TIMEOUT_SECONDS") {
                Some(s) => s.timeout_seconds()?,
                None => defaults.mail_timeout,
            },
            mail,
            public_url,
            paths: match read("MAGIC_LINK_AUTH_ROUTE") {
                Some(s) => AuthPaths {
                    link: s.absolute_path()?,
                    ..defaults.paths
                },
                None => defaults.paths,
            },
            credential_lifetime: match read("MAGIC_LINK_AUTH_OTP_EXPIRATION_SECONDS") {
                Some(s) => s.seconds()?,
                None => defaults.credential_lifetime,
            },
            session_lifetime: match read("MAGIC_LINK_AUTH_SESSION_EXPIRATION_SECONDS") {
                Some(s) => s.seconds()?,
                None => defaults.session_lifetime,
            },
            activity_retention: match read("MAGIC_LINK_AUTH_ACTIVITY_RETENTION_SECONDS") {
                Some(s) => s.seconds()?,
                None => defaults.activity_retention,
            },
            passkeys_per_address: match read("MAGIC_LINK_AUTH_PASSKEYS_PER_ADDRESS") {
                Some(s) => s.passkeys_per_address()?,
                None => defaults.passkeys_per_address,
            },
            notify_new_device: match read("MAGIC_LINK_AUTH_NOTIFY_NEW_DEVICE") {
                Some(s) => s.boolean()?,
                None => defaults.notify_new_device,
            },
            fresh_for: match read("MAGIC_LINK_AUTH_FRESH_SECONDS") {
                Some(s) => s.seconds()?,
                None => defaults.fresh_for,
            },
            rate_limit,
            email_rate_limit,
            code_max_attempts: match read("MAGIC_LINK_AUTH_CODE_MAX_ATTEMPTS") {
                Some(s) => s.count()?,
                None => defaults.code_max_attempts,
            },
            code_daily_limit: match read("MAGIC_LINK_AUTH_CODE_DAILY_LIMIT") {
                Some(s) => s.count()?,
                None => defaults.code_daily_limit,
            },
            trusted_proxies: match read("MAGIC_LINK_AUTH_TRUSTED_PROXIES") {
                Some(s) => s.trusted_proxies()?,
                None => defaults.trusted_proxies,
            },
            ipv6_prefix: match read("MAGIC_LINK_AUTH_IPV6_PREFIX") {
                Some(s) => s.ipv6_prefix()?,
                None => defaults.ipv6_prefix,
            },
            mail_queue: defaults.mail_queue,
            hash_queue: defaults.hash_queue,
            hash_workers: defaults.hash_workers,
            redirect_other_hosts: defaults.redirect_other_hosts,
            cleanup_interval: match read("MAGIC_LINK_AUTH_CLEANUP_INTERVAL_SECONDS") {
                Some(s) => s.seconds()?,
                None => defaults.cleanup_interval,
            },
            allowed_emails: match read("MAGIC_LINK_AUTH_ALLOWED_EMAILS") {
                Some(s) => Some(s.allow_list()?),
                None => defaults.allowed_emails,
            },
            captcha: match (
                read("MAGIC_LINK_CAPTCHA_VERIFY_URL"),
                read("MAGIC_LINK_CAPTCHA_SECRET"),
            ) {
                (Some(url), Some(secret)) => Some(CaptchaSettings {
                    verify_url: url.http_url()?,
                    secret: secret.value.into(),
                }),
                (Some(url), None) => {
                    return url.reject("needs MAGIC_LINK_CAPTCHA_SECRET set as well");
                }
                (None, Some(secret)) => {
                    return secret.reject("needs MAGIC_LINK_CAPTCHA_VERIFY_URL set as well");
                }
                (None, None) => None,
            },
        })
    }

    /// How long a queued email may take to go out: every try at `mail_timeout`, the pauses
    /// between them, and a minute in the queue. Past it, an email still pending was lost (the
    /// instance stopped before sending it), and the page waiting for it says it failed.
    pub fn mail_deadline(&self) -> Duration {
        let queue = &self.mail_queue;
        let tries = self.mail_timeout.saturating_mul(queue.attempts);
        let pauses = queue
            .backoff
            .saturating_mul(2u32.saturating_pow(queue.attempts.saturating_sub(1)));
        tries
            .saturating_add(pauses)
            .saturating_add(Duration::from_secs(60))
    }

    /// Whether pages are served over https: the cookies are then `Secure` and `__Host-`,
    /// and responses carry `Strict-Transport-Security`.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// What deserves a warning at start, though it is allowed.
    pub fn warnings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self.is_https() {
            match self.mail_provider {
                MailProvider::Console => warnings.push(
                    "MAGIC_LINK_MAIL_PROVIDER=console on an https deployment: every sign-in link and code is written into the logs",
                ),
                MailProvider::File { .. } => warnings.push(
                    "MAGIC_LINK_MAIL_PROVIDER=file on an https deployment: every sign-in link and code is written to disk, and nobody receives it",
                ),
                MailProvider::Smtp(_) | MailProvider::Mailgun { .. } => {}
            }
        }
        warnings
    }
}

/// The original's default sender: the app's name at the sending domain.
/// The name the default sender and messages speak for.
const DEFAULT_APP_NAME: &str = "Magic Link Auth";

fn default_from(domain: &str) -> String {
    format!("{DEFAULT_APP_NAME} <magic_link_auth@{domain}>")
}

/// The name messages speak for (`{app_name}`): the display name of the sender, as in
/// `Acme <login@acme.example>`, else `fallback` (the sender's domain).
fn app_name(from: &str, fallback: &str) -> String {
    from.split_once('<')
        .map(|(name, _)| name.trim().trim_matches('"').trim())
        .filter(|name| !name.is_empty())
        .unwrap_or(fallback)
        .to_owned()
}

/// A siteverify endpoint (`MAGIC_LINK_CAPTCHA_VERIFY_URL`) and the site's secret
/// (`MAGIC_LINK_CAPTCHA_SECRET`).
#[derive(Clone, Debug)]
pub struct CaptchaSettings {
    pub verify_url: String,
    pub secret: SecretString,
}

impl AuthConfig {
    /// The rules the store enforces, from these settings.
    pub fn store_policy(&self) -> Policy {
        let config = self;
        Policy {
            credential_lifetime: config.credential_lifetime,
            session_lifetime: config.session_lifetime,
            rate_limit: config.rate_limit,
            email_rate_limit: config.email_rate_limit,
            code_max_attempts: config.code_max_attempts,
            code_daily_limit: config.code_daily_limit,
            mail_deadline: config.mail_deadline(),
            allowed_emails: config.allowed_emails.clone(),
            activity_retention: config.activity_retention,
        }
    }
}

/// The first of `names` that has the library's prefix but is neither one of its variables nor
/// one of `app_variables`.
fn unknown_variable(
    names: impl IntoIterator<Item = String>,
    app_variables: &[&str],
) -> Option<String> {
    names.into_iter().find(|name| {
        name.starts_with("MAGIC_LINK_")
            && variables::variable(name).is_none()
            && !app_variables.contains(&name.as_str())
    })
}

/// Builds an [`AuthConfig`] in code, with the same defaults and the same rules as the
/// `MAGIC_LINK_*` variables: a value a rule refuses fails [`build`](Self::build) with the error
/// [`AuthConfig::from_env`] would give, naming the setting by its variable.
///
/// ```
/// use std::time::Duration;
/// use magic_link_core::AuthConfig;
///
/// let config = AuthConfig::builder()
///     .public_url("https://app.example.com")
///     .mail_provider("console")
///     .credential_lifetime(Duration::from_secs(900))
///     .rate_limit(3)
///     .allowed_emails("*@example.com")
///     .build()
///     .unwrap();
/// assert_eq!(config.rate_limit, 3);
/// assert_eq!(config.email_rate_limit, 6);
///
/// let refused = AuthConfig::builder().rate_limit(5).email_rate_limit(5).build();
/// assert_eq!(refused.unwrap_err().variable, "MAGIC_LINK_AUTH_EMAIL_RATE_LIMIT");
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "call .build() to get the settings"]
pub struct AuthConfigBuilder {
    values: std::collections::BTreeMap<&'static str, String>,
}

impl AuthConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> AuthConfigBuilder {
        AuthConfigBuilder::default()
    }
}

impl AuthConfigBuilder {
    /// Sets any setting by its variable's name (see `variables::VARIABLES`), as text in the
    /// variable's form. A name that is not a setting fails [`build`](Self::build).
    pub fn set(mut self, variable: &'static str, value: impl Into<String>) -> Self {
        self.values.insert(variable, value.into());
        self
    }

    /// The origin links are built from (`MAGIC_LINK_AUTH_PUBLIC_URL`).
    pub fn public_url(self, url: impl Into<String>) -> Self {
        self.set("MAGIC_LINK_AUTH_PUBLIC_URL", url)
    }

    /// The page a magic link opens (`MAGIC_LINK_AUTH_ROUTE`).
    pub fn link_path(self, path: impl Into<String>) -> Self {
        self.set("MAGIC_LINK_AUTH_ROUTE", path)
    }

    /// How long a link and its code last, and the window the rate limits count over.
    pub fn credential_lifetime(self, lifetime: Duration) -> Self {
        self.set(
            "MAGIC_LINK_AUTH_OTP_EXPIRATION_SECONDS",
            lifetime.as_secs().to_string(),
        )
    }

    /// How long a session lasts.
    pub fn session_lifetime(self, lifetime: Duration) -> Self {
        self.set(
            "MAGIC_LINK_AUTH_SESSION_EXPIRATION_SECONDS",
            lifetime.as_secs().to_string(),
        )
    }

    /// How recently a session must have signed in for a sensitive action.
    pub fn fresh_for(self, within: Duration) -> Self {
        self.set(
            "MAGIC_LINK_AUTH_FRESH_SECONDS",
            within.as_secs().to_string(),
        )
    }

    /// Links one client may ask for per window.
    pub fn rate_limit(self, limit: u32) -> Self {
        self.set("MAGIC_LINK_AUTH_OTP_RATE_LIMIT", limit.to_string())
    }

    /// Links one address may get per window from clients it has not signed in from.
    pub fn email_rate_limit(self, limit: u32) -> Self {
        self.set("MAGIC_LINK_AUTH_EMAIL_RATE_LIMIT", limit.to_string())
    }

    /// Wrong codes a code survives.
    pub fn code_max_attempts(self, attempts: u32) -> Self {
        self.set("MAGIC_LINK_AUTH_CODE_MAX_ATTEMPTS", attempts.to_string())
    }

    /// Wrong codes one address takes in 24 hours.
    pub fn code_daily_limit(self, limit: u32) -> Self {
        self.set("MAGIC_LINK_AUTH_CODE_DAILY_LIMIT", limit.to_string())
    }

    /// The proxies whose `X-Forwarded-For` is believed: comma-separated addresses or CIDR
    /// blocks.
    pub fn trusted_proxies(self, list: impl Into<String>) -> Self {
        self.set("MAGIC_LINK_AUTH_TRUSTED_PROXIES", list)
    }

    /// Who may sign in: comma-separated addresses and `*@domain` patterns.
    pub fn allowed_emails(self, list: impl Into<String>) -> Self {
        self.set("MAGIC_LINK_AUTH_ALLOWED_EMAILS", list)
    }

    /// How the email goes out: `console`, `file`, `smtp` or `mailgun`.
    pub fn mail_provider(self, provider: impl Into<String>) -> Self {
        self.set("MAGIC_LINK_MAIL_PROVIDER", provider)
    }

    /// The sender of every message.
    pub fn email_from(self, from: impl Into<String>) -> Self {
        self.set("MAGIC_LINK_EMAIL_FROM", from)
    }

    /// The settings, checked by the same rules as the variables.
    pub fn build(self) -> Result<AuthConfig, ConfigError> {
        if let Some((name, value)) = self
            .values
            .iter()
            .find(|(name, _)| variables::variable(name).is_none())
        {
            return Err(ConfigError {
                variable: name,
                value: value.clone(),
                rule: "names no setting of the sign-in",
                secret: false,
            });
        }
        AuthConfig::from_lookup(|name| self.values.get(name).cloned())
    }
}
