//! Turning one variable's text into a value, or an error that names the variable, the
//! value (never a secret's) and the rule.

use std::time::Duration;

use super::{
    ConfigError, SmtpSettings, SmtpTls, redact_url,
    variables::{Shown, variable},
};
use crate::client::TrustedProxies;
use magic_link_types::{
    domain::{AllowList, AllowListError},
    paths::is_valid_path,
};

pub(super) fn required(
    variable: &'static str,
    value: Option<String>,
) -> Result<String, ConfigError> {
    required_for(variable, value, "mailgun")
}

pub(super) fn required_for(
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
pub(super) struct Setting {
    pub(super) variable: &'static str,
    pub(super) value: String,
}

/// The longest lifetime accepted: ten years, far past any sane setting, and small enough
/// that adding it to the current time can never overflow.
const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

impl Setting {
    pub(super) fn reject<T>(&self, rule: &'static str) -> Result<T, ConfigError> {
        let shown = variable(self.variable).map_or(Shown::Secret, |row| row.shown);
        let secret = shown == Shown::Secret;
        let value = match shown {
            Shown::Secret => String::new(),
            Shown::Url => redact_url(&self.value),
            Shown::Plain => self.value.clone(),
        };
        Err(ConfigError {
            variable: self.variable,
            value,
            rule,
            secret,
        })
    }

    pub(super) fn seconds(&self) -> Result<Duration, ConfigError> {
        match self.value.parse::<u64>() {
            Ok(secs) if (1..=MAX_SECONDS).contains(&secs) => Ok(Duration::from_secs(secs)),
            _ => self.reject("must be a whole number of seconds from 1 to 315360000"),
        }
    }

    pub(super) fn timeout_seconds(&self) -> Result<Duration, ConfigError> {
        match self.value.parse::<u64>() {
            Ok(secs) if (1..=300).contains(&secs) => Ok(Duration::from_secs(secs)),
            _ => self.reject("must be a whole number of seconds from 1 to 300"),
        }
    }

    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`), in any case.
    pub(super) fn boolean(&self) -> Result<bool, ConfigError> {
        match self.value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => self.reject("must be true or false"),
        }
    }

    pub(super) fn count(&self) -> Result<u32, ConfigError> {
        match self.value.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => self.reject("must be a whole number, 1 or more"),
        }
    }

    pub(super) fn passkeys_per_address(&self) -> Result<u32, ConfigError> {
        match self.value.parse::<u32>() {
            Ok(n) if (1..=super::MAX_PASSKEYS_PER_ADDRESS).contains(&n) => Ok(n),
            _ => self.reject("must be a whole number from 1 to 100"),
        }
    }

    pub(super) fn absolute_path(&self) -> Result<String, ConfigError> {
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

    pub(super) fn origin(&self) -> Result<String, ConfigError> {
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

    pub(super) fn http_url(&self) -> Result<String, ConfigError> {
        match url::Url::parse(&self.value) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Ok(self.value.trim_end_matches('/').to_owned())
            }
            _ => self.reject("must be an http:// or https:// URL"),
        }
    }

    /// A value that goes into a mail header: one line, no control characters.
    pub(super) fn header_value(&self) -> Result<String, ConfigError> {
        if self.value.chars().any(char::is_control) {
            self.reject("must be one line with no control characters")
        } else {
            Ok(self.value.clone())
        }
    }

    pub(super) fn templates(&self) -> Result<crate::mail::Templates, ConfigError> {
        crate::mail::Templates::from_dir(std::path::Path::new(&self.value)).or_else(|_| {
            self.reject("must be a readable folder; its sign-in, new-sign-in, account-deleted, email-change and email-changed .html and .txt files, where present, replace the built-in templates")
        })
    }

    pub(super) fn allow_list(&self) -> Result<AllowList, ConfigError> {
        AllowList::parse(&self.value).or_else(|_| self.reject(AllowListError::RULE))
    }

    pub(super) fn trusted_proxies(&self) -> Result<TrustedProxies, ConfigError> {
        TrustedProxies::parse_list(&self.value).or_else(|_| {
            self.reject("must be a comma-separated list of IP addresses or CIDR blocks, such as 10.0.0.0/8, ::1")
        })
    }

    pub(super) fn ipv6_prefix(&self) -> Result<u8, ConfigError> {
        match self.value.parse::<u8>() {
            Ok(bits) if (32..=128).contains(&bits) => Ok(bits),
            _ => self.reject("must be a prefix length from 32 to 128, such as 64"),
        }
    }
}

pub(super) fn smtp_settings(
    read: &impl Fn(&'static str) -> Option<Setting>,
) -> Result<SmtpSettings, ConfigError> {
    let host = required_for(
        "MAGIC_LINK_SMTP_HOST",
        read("MAGIC_LINK_SMTP_HOST").map(|s| s.value),
        "smtp",
    )?;
    let tls = match read("MAGIC_LINK_SMTP_TLS") {
        None => SmtpTls::StartTls,
        Some(s) => match s.value.to_ascii_lowercase().as_str() {
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Implicit,
            "none" => SmtpTls::None,
            _ => return s.reject("must be starttls, tls or none"),
        },
    };
    let port = match read("MAGIC_LINK_SMTP_PORT") {
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
    let credentials = match (
        read("MAGIC_LINK_SMTP_USERNAME"),
        read("MAGIC_LINK_SMTP_PASSWORD"),
    ) {
        (Some(user), Some(password)) => Some((user.value, password.value.into())),
        (None, None) => None,
        (Some(user), None) => return user.reject("needs MAGIC_LINK_SMTP_PASSWORD set as well"),
        (None, Some(password)) => {
            return password.reject("needs MAGIC_LINK_SMTP_USERNAME set as well");
        }
    };
    Ok(SmtpSettings {
        host,
        port,
        tls,
        credentials,
    })
}
