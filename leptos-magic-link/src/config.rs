//! `AuthConfig`: every auth setting, read from the environment once at start.
//!
//! The variable names, defaults and rules are the original's, plus a few it lacked. An empty
//! value means the default. A value that is set but unusable stops the server at start with
//! one line naming the variable, the value and the rule, rather than failing later on a request.

use std::{path::PathBuf, time::Duration};

use secrecy::SecretString;

use super::{
    client::TrustedProxies,
    domain::Email,
    mail::{DEFAULT_HTML, DEFAULT_SUBJECT, MailSettings},
    paths::{AuthPaths, is_valid_path},
};

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

/// The variables whose values are secrets: never printed, kept in [`SecretString`].
const SECRET_VARIABLES: &[&str] = &[
    "SMTP_PASSWORD",
    "MAILGUN_API_KEY",
    "MAGIC_LINK_CAPTCHA_SECRET",
];

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

/// The variables whose values are URLs, shown through [`redact_url`] when refused.
const URL_VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "MAGIC_LINK_AUTH_PUBLIC_URL",
    "MAILGUN_API_URL",
    "MAGIC_LINK_CAPTCHA_VERIFY_URL",
];

#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// Where the database lives; `postgres://…` selects PostgreSQL. It may hold a password:
    /// print it only through [`redact_url`].
    pub database_url: SecretString,
    /// Where the auth pages live. `MAGIC_LINK_AUTH_ROUTE` sets `paths.link`; the app sets
    /// the others in code before building the service.
    pub paths: AuthPaths,
    /// The origin links are built from. Never taken from a request's Host header.
    pub public_url: String,
    /// How long a link or code stays usable, and the window the rate limits count over.
    pub credential_lifetime: Duration,
    /// How long a session lasts.
    pub session_lifetime: Duration,
    /// How many credentials one client may be issued per window, whatever the addresses.
    pub rate_limit: u32,
    /// How many credentials one address may be issued per window across all the clients it
    /// has not signed in from: the bound on mail strangers can cause. Always above
    /// `rate_limit` (twice it unless set), so no one client can use it up.
    pub email_rate_limit: u32,
    /// How many wrong codes a credential survives before its code is dead (its link lives on).
    pub code_max_attempts: u32,
    /// How many wrong codes one address takes per day, across all its credentials and
    /// clients, before its codes stop working for the rest of the day.
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
    /// What the email says.
    pub mail: MailSettings,
}

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

pub const DEFAULT_DATABASE_URL: &str = "sqlite://magic_link_auth.db?mode=rwc";

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.into(),
            paths: AuthPaths::default(),
            public_url: "http://127.0.0.1:3000".to_owned(),
            credential_lifetime: Duration::from_secs(1800),
            session_lifetime: Duration::from_secs(604_800),
            rate_limit: 5,
            email_rate_limit: 10,
            code_max_attempts: 5,
            code_daily_limit: 10,
            trusted_proxies: TrustedProxies::default(),
            ipv6_prefix: 64,
            cleanup_interval: Duration::from_secs(600),
            allowed_emails: None,
            captcha: None,
            mail_provider: MailProvider::Console,
            mail_timeout: Duration::from_secs(10),
            mail_queue: MailQueueSettings::default(),
            hash_queue: 256,
            mail: MailSettings {
                from: default_from("127.0.0.1"),
                subject: DEFAULT_SUBJECT.to_owned(),
                html: DEFAULT_HTML.to_owned(),
            },
        }
    }
}

impl AuthConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can supply them without touching the process.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let read = |variable: &'static str| {
            lookup(variable)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .map(|value| Setting { variable, value })
        };

        let public_url = match read("MAGIC_LINK_AUTH_PUBLIC_URL") {
            Some(s) => s.origin()?,
            None => defaults.public_url,
        };
        let mailgun_domain = read("MAILGUN_DOMAIN_NAME").map(|s| s.value);
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
                    api_url: match read("MAILGUN_API_URL") {
                        Some(s) => s.http_url()?,
                        None => DEFAULT_MAILGUN_API_URL.to_owned(),
                    },
                    domain: required("MAILGUN_DOMAIN_NAME", mailgun_domain.clone())?,
                    api_key: required("MAILGUN_API_KEY", read("MAILGUN_API_KEY").map(|s| s.value))?
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
        let mail = MailSettings {
            from: match read("MAGIC_LINK_EMAIL_FROM") {
                Some(s) => s.header_value()?,
                None => default_from(&from_domain),
            },
            subject: match read("MAGIC_LINK_EMAIL_SUBJECT") {
                Some(s) => s.header_value()?,
                None => DEFAULT_SUBJECT.to_owned(),
            },
            html: match read("MAGIC_LINK_EMAIL_HTML") {
                Some(s) => s.value,
                None => DEFAULT_HTML.to_owned(),
            },
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
            database_url: match read("DATABASE_URL") {
                Some(s) => s.database_url()?.into(),
                None => defaults.database_url,
            },
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
fn default_from(domain: &str) -> String {
    format!("Magic Link Auth <magic_link_auth@{domain}>")
}

fn required(variable: &'static str, value: Option<String>) -> Result<String, ConfigError> {
    required_for(variable, value, "mailgun")
}

fn required_for(
    variable: &'static str,
    value: Option<String>,
    provider: &'static str,
) -> Result<String, ConfigError> {
    value.ok_or(ConfigError {
        variable,
        value: String::new(),
        secret: false,
        rule: match provider {
            "smtp" => "is required when MAGIC_LINK_MAIL_PROVIDER=smtp",
            _ => "is required when MAGIC_LINK_MAIL_PROVIDER=mailgun",
        },
    })
}

/// A variable that was set, with the checks that turn it into a value.
struct Setting {
    variable: &'static str,
    value: String,
}

/// The longest lifetime accepted: ten years, far past any sane setting, and small enough
/// that adding it to the current time can never overflow.
const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

impl Setting {
    fn reject<T>(&self, rule: &'static str) -> Result<T, ConfigError> {
        let secret = SECRET_VARIABLES.contains(&self.variable);
        let value = if secret {
            String::new()
        } else if URL_VARIABLES.contains(&self.variable) {
            redact_url(&self.value)
        } else {
            self.value.clone()
        };
        Err(ConfigError {
            variable: self.variable,
            value,
            rule,
            secret,
        })
    }

    fn seconds(&self) -> Result<Duration, ConfigError> {
        match self.value.parse::<u64>() {
            Ok(secs) if (1..=MAX_SECONDS).contains(&secs) => Ok(Duration::from_secs(secs)),
            _ => self.reject("must be a whole number of seconds from 1 to 315360000"),
        }
    }

    fn timeout_seconds(&self) -> Result<Duration, ConfigError> {
        match self.value.parse::<u64>() {
            Ok(secs) if (1..=300).contains(&secs) => Ok(Duration::from_secs(secs)),
            _ => self.reject("must be a whole number of seconds from 1 to 300"),
        }
    }

    fn count(&self) -> Result<u32, ConfigError> {
        match self.value.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => self.reject("must be a whole number, 1 or more"),
        }
    }

    fn absolute_path(&self) -> Result<String, ConfigError> {
        // One segment: the router matches it as a single static segment.
        let path = self.value.trim_end_matches('/');
        if is_valid_path(path, false) {
            Ok(path.to_owned())
        } else {
            self.reject(
                "must be a one-segment absolute path such as /magic-link-auth, of letters, digits and - _ . ~",
            )
        }
    }

    fn origin(&self) -> Result<String, ConfigError> {
        let rule =
            "must be an http:// or https:// origin with no path, such as https://app.example.com";
        let Ok(url) = url::Url::parse(&self.value) else {
            return self.reject(rule);
        };
        let plain = matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none();
        if plain {
            Ok(url.origin().ascii_serialization())
        } else {
            self.reject(rule)
        }
    }

    fn http_url(&self) -> Result<String, ConfigError> {
        match url::Url::parse(&self.value) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Ok(self.value.trim_end_matches('/').to_owned())
            }
            _ => self.reject("must be an http:// or https:// URL"),
        }
    }

    /// A value that goes into a mail header: one line, no control characters.
    fn header_value(&self) -> Result<String, ConfigError> {
        if self.value.chars().any(char::is_control) {
            self.reject("must be one line with no control characters")
        } else {
            Ok(self.value.clone())
        }
    }

    fn database_url(&self) -> Result<String, ConfigError> {
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if known.iter().any(|scheme| self.value.starts_with(scheme)) {
            Ok(self.value.clone())
        } else {
            self.reject("must start with sqlite:, postgres:// or postgresql://")
        }
    }

    fn allow_list(&self) -> Result<AllowList, ConfigError> {
        let rule = "must be a comma-separated list of email addresses and *@domain patterns, such as ada@example.com, *@example.org";
        let mut list = AllowList::default();
        for item in self
            .value
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            match item.strip_prefix("*@") {
                Some(domain) => match Email::parse(&format!("x@{domain}")) {
                    Ok(email) => list
                        .domains
                        .push(email.as_str().trim_start_matches("x@").to_owned()),
                    Err(_) => return self.reject(rule),
                },
                None => match Email::parse(item) {
                    Ok(email) => list.addresses.push(email.as_str().to_owned()),
                    Err(_) => return self.reject(rule),
                },
            }
        }
        if list.addresses.is_empty() && list.domains.is_empty() {
            return self.reject(rule);
        }
        Ok(list)
    }

    fn trusted_proxies(&self) -> Result<TrustedProxies, ConfigError> {
        TrustedProxies::parse_list(&self.value).or_else(|_| {
            self.reject("must be a comma-separated list of IP addresses or CIDR blocks, such as 10.0.0.0/8, ::1")
        })
    }

    fn ipv6_prefix(&self) -> Result<u8, ConfigError> {
        match self.value.parse::<u8>() {
            Ok(bits) if (32..=128).contains(&bits) => Ok(bits),
            _ => self.reject("must be a prefix length from 32 to 128, such as 64"),
        }
    }
}

/// How the connection to the SMTP server is secured (`SMTP_TLS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No encryption: only for a relay on the same host or private network (port 25).
    None,
}

/// An SMTP server to hand mail to (`MAGIC_LINK_MAIL_PROVIDER=smtp`).
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, SecretString)>,
}

fn smtp_settings(
    read: &impl Fn(&'static str) -> Option<Setting>,
) -> Result<SmtpSettings, ConfigError> {
    let host = required_for("SMTP_HOST", read("SMTP_HOST").map(|s| s.value), "smtp")?;
    let tls = match read("SMTP_TLS") {
        None => SmtpTls::StartTls,
        Some(s) => match s.value.to_ascii_lowercase().as_str() {
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Implicit,
            "none" => SmtpTls::None,
            _ => return s.reject("must be starttls, tls or none"),
        },
    };
    let port = match read("SMTP_PORT") {
        Some(s) => match s.value.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return s.reject("must be a port number from 1 to 65535"),
        },
        None => match tls {
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        },
    };
    let credentials = match (read("SMTP_USERNAME"), read("SMTP_PASSWORD")) {
        (Some(user), Some(password)) => Some((user.value, password.value.into())),
        (None, None) => None,
        (Some(user), None) => return user.reject("needs SMTP_PASSWORD set as well"),
        (None, Some(password)) => return password.reject("needs SMTP_USERNAME set as well"),
    };
    Ok(SmtpSettings {
        host,
        port,
        tls,
        credentials,
    })
}

/// A siteverify endpoint (`MAGIC_LINK_CAPTCHA_VERIFY_URL`) and the site's secret
/// (`MAGIC_LINK_CAPTCHA_SECRET`).
#[derive(Clone, Debug)]
pub struct CaptchaSettings {
    pub verify_url: String,
    pub secret: SecretString,
}

/// The addresses allowed to sign in (`MAGIC_LINK_AUTH_ALLOWED_EMAILS`): exact addresses and
/// whole domains, compared after the same normalisation as [`Email::parse`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    addresses: Vec<String>,
    domains: Vec<String>,
}

impl AllowList {
    /// Whether the normalised address `email` is on the list.
    pub fn allows(&self, email: &str) -> bool {
        self.addresses.iter().any(|allowed| allowed == email)
            || email
                .rsplit_once('@')
                .is_some_and(|(_, domain)| self.domains.iter().any(|allowed| allowed == domain))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::{collections::HashMap, net::IpAddr};

    fn config(vars: &[(&str, &str)]) -> Result<AuthConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        AuthConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn smtp_takes_a_host_a_tls_mode_its_port_and_optional_credentials() {
        let smtp = ("MAGIC_LINK_MAIL_PROVIDER", "smtp");
        let host = ("SMTP_HOST", "smtp.example.com");
        let settings = |vars: &[(&str, &str)]| match config(vars).unwrap().mail_provider {
            MailProvider::Smtp(settings) => settings,
            other => panic!("not SMTP: {other:?}"),
        };
        let default = settings(&[smtp, host]);
        assert_eq!((default.tls, default.port), (SmtpTls::StartTls, 587));
        assert!(default.credentials.is_none());
        assert_eq!(settings(&[smtp, host, ("SMTP_TLS", "tls")]).port, 465);
        let relay = settings(&[smtp, host, ("SMTP_TLS", "none"), ("SMTP_PORT", "2525")]);
        assert_eq!((relay.tls, relay.port), (SmtpTls::None, 2525));
        let with_login = config(&[
            smtp,
            host,
            ("SMTP_USERNAME", "mailer"),
            ("SMTP_PASSWORD", "hunter2"),
        ])
        .unwrap();
        assert!(
            !format!("{with_login:?}").contains("hunter2"),
            "the password stays out of logs"
        );

        assert_eq!(config(&[smtp]).unwrap_err().variable, "SMTP_HOST");
        for (variable, value) in [
            ("SMTP_TLS", "ssl"),
            ("SMTP_PORT", "0"),
            ("SMTP_USERNAME", "u"),
        ] {
            let err = config(&[smtp, host, (variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable, "{value:?}");
        }
    }

    #[test]
    fn a_captcha_needs_both_its_url_and_its_secret() {
        let url = (
            "MAGIC_LINK_CAPTCHA_VERIFY_URL",
            "https://captcha.example/siteverify",
        );
        let secret = ("MAGIC_LINK_CAPTCHA_SECRET", "s3cret");
        let both = config(&[url, secret]).unwrap().captcha.unwrap();
        assert_eq!(both.verify_url, "https://captcha.example/siteverify");
        assert!(
            !format!("{both:?}").contains("s3cret"),
            "the secret stays out of logs"
        );
        assert_eq!(
            config(&[url]).unwrap_err().rule,
            "needs MAGIC_LINK_CAPTCHA_SECRET set as well"
        );
        assert_eq!(
            config(&[secret]).unwrap_err().variable,
            "MAGIC_LINK_CAPTCHA_SECRET"
        );
        let not_a_url = ("MAGIC_LINK_CAPTCHA_VERIFY_URL", "captcha.example");
        assert!(config(&[not_a_url, secret]).is_err());
        assert!(config(&[]).unwrap().captcha.is_none());
    }

    #[test]
    fn the_allow_list_takes_addresses_and_whole_domains() {
        let list = config(&[(
            "MAGIC_LINK_AUTH_ALLOWED_EMAILS",
            " Ada@Example.com , *@Corp.Example,",
        )])
        .unwrap()
        .allowed_emails
        .unwrap();
        assert!(list.allows("ada@example.com"));
        assert!(list.allows("anyone@corp.example"));
        assert!(!list.allows("bob@example.com"));
        assert!(!list.allows("x@sub.corp.example"));
        assert!(!list.allows("ada@example.com.evil"));
        assert_eq!(config(&[]).unwrap().allowed_emails, None);
        for bad in ["ada", "*@", "*@nodot", "ada@example.com, <b>", " , "] {
            let err = config(&[("MAGIC_LINK_AUTH_ALLOWED_EMAILS", bad)]).unwrap_err();
            assert_eq!(err.variable, "MAGIC_LINK_AUTH_ALLOWED_EMAILS", "{bad:?}");
        }
    }

    #[test]
    fn unset_and_empty_values_mean_the_defaults() {
        let default = format!("{:?}", AuthConfig::default());
        assert_eq!(format!("{:?}", config(&[]).unwrap()), default);
        let all_empty: Vec<(&str, &str)> = [
            "DATABASE_URL",
            "MAGIC_LINK_AUTH_ROUTE",
            "MAGIC_LINK_AUTH_PUBLIC_URL",
            "MAGIC_LINK_AUTH_OTP_EXPIRATION_SECONDS",
            "MAGIC_LINK_AUTH_SESSION_EXPIRATION_SECONDS",
            "MAGIC_LINK_AUTH_OTP_RATE_LIMIT",
            "MAGIC_LINK_AUTH_CODE_MAX_ATTEMPTS",
            "MAGIC_LINK_AUTH_TRUSTED_PROXIES",
        ]
        .into_iter()
        .map(|name| (name, " "))
        .collect();
        assert_eq!(format!("{:?}", config(&all_empty).unwrap()), default);
    }

    #[test]
    fn usable_values_are_read() {
        let config = config(&[
            ("DATABASE_URL", "postgres://app@db/app"),
            ("MAGIC_LINK_AUTH_ROUTE", "/sign-in/"),
            ("MAGIC_LINK_AUTH_PUBLIC_URL", "https://App.Example.com/"),
            ("MAGIC_LINK_MAIL_PROVIDER", "file"),
            ("MAGIC_LINK_AUTH_OTP_EXPIRATION_SECONDS", "600"),
            ("MAGIC_LINK_AUTH_SESSION_EXPIRATION_SECONDS", "3600"),
            ("MAGIC_LINK_AUTH_OTP_RATE_LIMIT", "3"),
            ("MAGIC_LINK_AUTH_CODE_MAX_ATTEMPTS", "10"),
            ("MAGIC_LINK_AUTH_TRUSTED_PROXIES", "10.0.0.0/8, ::1"),
            ("MAGIC_LINK_AUTH_EMAIL_RATE_LIMIT", "7"),
            ("MAGIC_LINK_AUTH_CODE_DAILY_LIMIT", "4"),
            ("MAGIC_LINK_AUTH_IPV6_PREFIX", "56"),
        ]);
        let config = config.map_err(|e| e.to_string());
        let Ok(config) = config else {
            panic!("{config:?}");
        };
        assert_eq!(config.database_url.expose_secret(), "postgres://app@db/app");
        assert_eq!(config.paths.link, "/sign-in");
        assert_eq!(config.public_url, "https://app.example.com");
        assert_eq!(config.credential_lifetime, Duration::from_secs(600));
        assert_eq!(config.session_lifetime, Duration::from_secs(3600));
        assert_eq!(config.rate_limit, 3);
        assert_eq!(config.code_max_attempts, 10);
        assert_eq!(
            (
                config.email_rate_limit,
                config.code_daily_limit,
                config.ipv6_prefix
            ),
            (7, 4, 56)
        );
        let proxies = &config.trusted_proxies;
        assert!(proxies.contains(IpAddr::from([10, 1, 2, 3])));
        assert!(proxies.contains(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])));
        assert!(!proxies.contains(IpAddr::from([11, 0, 0, 1])));
    }

    #[test]
    fn unusable_values_name_the_variable_the_value_and_the_rule() {
        let cases = [
            ("MAGIC_LINK_AUTH_OTP_EXPIRATION_SECONDS", "0"),
            ("MAGIC_LINK_AUTH_OTP_EXPIRATION_SECONDS", "-5"),
            ("MAGIC_LINK_AUTH_OTP_EXPIRATION_SECONDS", "1.5"),
            ("MAGIC_LINK_AUTH_OTP_EXPIRATION_SECONDS", "99999999999999"),
            ("MAGIC_LINK_AUTH_SESSION_EXPIRATION_SECONDS", "week"),
            ("MAGIC_LINK_AUTH_OTP_RATE_LIMIT", "0"),
            ("MAGIC_LINK_AUTH_CODE_MAX_ATTEMPTS", "many"),
            ("MAGIC_LINK_AUTH_ROUTE", "magic"),
            ("MAGIC_LINK_AUTH_ROUTE", "//evil"),
            ("MAGIC_LINK_AUTH_ROUTE", "/a b"),
            ("MAGIC_LINK_AUTH_ROUTE", "/auth/link"),
            ("MAGIC_LINK_AUTH_ROUTE", "/"),
            ("MAGIC_LINK_AUTH_PUBLIC_URL", "app.example.com"),
            ("MAGIC_LINK_AUTH_PUBLIC_URL", "ftp://app.example.com"),
            ("MAGIC_LINK_AUTH_PUBLIC_URL", "https://app.example.com/base"),
            (
                "MAGIC_LINK_AUTH_PUBLIC_URL",
                "https://user:pw@app.example.com",
            ),
            ("DATABASE_URL", "mysql://db/app"),
            ("MAGIC_LINK_AUTH_TRUSTED_PROXIES", "10.0.0.0/33"),
            ("MAGIC_LINK_AUTH_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
            ("MAGIC_LINK_AUTH_IPV6_PREFIX", "16"),
            ("MAGIC_LINK_AUTH_IPV6_PREFIX", "129"),
            ("MAGIC_LINK_AUTH_EMAIL_RATE_LIMIT", "0"),
            ("MAGIC_LINK_AUTH_EMAIL_RATE_LIMIT", "5"),
            ("MAGIC_LINK_AUTH_CODE_DAILY_LIMIT", "-1"),
            ("MAGIC_LINK_MAIL_PROVIDER", "sendmail"),
            ("MAGIC_LINK_EMAIL_SUBJECT", "Hi\r\nBcc: x@example.com"),
            (
                "MAGIC_LINK_EMAIL_FROM",
                "App <a@example.com>\nBcc: x@example.com",
            ),
        ];
        for (variable, value) in cases {
            let err = config(&[(variable, value)]);
            let Err(err) = err else {
                panic!("{variable}={value:?} was accepted");
            };
            assert_eq!(err.variable, variable);
            let shown = if URL_VARIABLES.contains(&variable) {
                redact_url(value)
            } else {
                value.to_owned()
            };
            assert_eq!(err.value, shown);
            let line = err.to_string();
            assert!(
                line.starts_with(&format!("{variable}={shown:?} is not usable: ")),
                "{line}"
            );
            assert!(!line.contains('\n'));
        }
    }

    #[test]
    fn mail_settings_follow_the_provider() {
        let file = config(&[
            ("MAGIC_LINK_MAIL_PROVIDER", "file"),
            ("MAGIC_LINK_MAIL_OUTBOX", "/tmp/out"),
        ]);
        assert!(
            matches!(file.map(|c| c.mail_provider), Ok(MailProvider::File { outbox }) if outbox == std::path::Path::new("/tmp/out"))
        );
        let missing = config(&[
            ("MAGIC_LINK_MAIL_PROVIDER", "mailgun"),
            ("MAILGUN_API_KEY", "key-1"),
        ]);
        assert_eq!(
            missing.map_err(|e| e.to_string()).err(),
            Some("MAILGUN_DOMAIN_NAME=\"\" is not usable: is required when MAGIC_LINK_MAIL_PROVIDER=mailgun".to_owned())
        );
        let mailgun = config(&[
            ("MAGIC_LINK_MAIL_PROVIDER", "Mailgun"),
            ("MAILGUN_DOMAIN_NAME", "mg.example.com"),
            ("MAILGUN_API_KEY", "key-1"),
        ]);
        let Ok(mailgun) = mailgun else {
            panic!("{mailgun:?}");
        };
        assert_eq!(
            mailgun.mail.from,
            "Magic Link Auth <magic_link_auth@mg.example.com>"
        );
        let MailProvider::Mailgun {
            api_url,
            domain,
            api_key,
        } = &mailgun.mail_provider
        else {
            panic!("not Mailgun: {:?}", mailgun.mail_provider);
        };
        assert_eq!(
            (api_url.as_str(), domain.as_str(), api_key.expose_secret()),
            (DEFAULT_MAILGUN_API_URL, "mg.example.com", "key-1")
        );
        assert!(!format!("{mailgun:?}").contains("key-1"));
    }

    #[test]
    fn an_https_deployment_names_its_mail_provider() {
        let https = ("MAGIC_LINK_AUTH_PUBLIC_URL", "https://app.example.com");
        let err = config(&[https]).unwrap_err();
        assert_eq!(err.variable, "MAGIC_LINK_MAIL_PROVIDER");
        assert!(
            err.to_string()
                .contains("must be set when MAGIC_LINK_AUTH_PUBLIC_URL is https")
        );
        // Console on plain http is development, and needs no warning.
        assert!(config(&[]).unwrap().warnings().is_empty());
        let knowingly = config(&[https, ("MAGIC_LINK_MAIL_PROVIDER", "console")]).unwrap();
        assert_eq!(knowingly.warnings().len(), 1);
        let file = config(&[https, ("MAGIC_LINK_MAIL_PROVIDER", "file")]).unwrap();
        assert_eq!(file.warnings().len(), 1);
        let smtp = config(&[
            https,
            ("MAGIC_LINK_MAIL_PROVIDER", "smtp"),
            ("SMTP_HOST", "mx.example.com"),
        ])
        .unwrap();
        assert!(smtp.warnings().is_empty());
    }

    #[test]
    fn secrets_never_reach_an_error_or_a_debug_line() {
        let cases = [
            ("SMTP_PASSWORD", "hunter2-smtp", "SMTP_USERNAME"),
            (
                "MAGIC_LINK_CAPTCHA_SECRET",
                "hunter2-captcha",
                "MAGIC_LINK_CAPTCHA_VERIFY_URL",
            ),
        ];
        for (variable, secret, partner) in cases {
            let mut vars = vec![(variable, secret)];
            if variable == "SMTP_PASSWORD" {
                vars.extend([
                    ("MAGIC_LINK_MAIL_PROVIDER", "smtp"),
                    ("SMTP_HOST", "mx.example.com"),
                ]);
            }
            let err = config(&vars).unwrap_err();
            assert_eq!(err.variable, variable);
            let line = err.to_string();
            assert!(!line.contains(secret), "{line}");
            assert!(
                line.starts_with(&format!("{variable}=<hidden> is not usable")),
                "{line}"
            );
            assert!(line.contains(partner), "{line}");
        }
        let bad_url = config(&[("DATABASE_URL", "mysql://app:hunter2-db@db/app")]).unwrap_err();
        assert!(!bad_url.to_string().contains("hunter2"), "{bad_url}");
        assert!(
            bad_url.to_string().contains("mysql://app:***@db/app"),
            "{bad_url}"
        );
        let set = config(&[("DATABASE_URL", "postgres://app:hunter2-db@db/app")]).unwrap();
        assert!(!format!("{set:?}").contains("hunter2"));
        assert_eq!(
            redact_url("postgres://app:pw@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            redact_url("postgres://app@db/x?password=pw&sslmode=require"),
            "postgres://app@db/x?…"
        );
        assert_eq!(redact_url("sqlite://a.db?mode=rwc"), "sqlite://a.db?…");
        assert_eq!(redact_url("not a url but: pw@host"), "<hidden>");
        let public = config(&[(
            "MAGIC_LINK_AUTH_PUBLIC_URL",
            "https://me:hunter2@app.example.com",
        )]);
        let public = public.unwrap_err().to_string();
        assert!(!public.contains("hunter2"), "{public}");
    }
}
