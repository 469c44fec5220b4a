//! The settings' rules, value by value.
#![allow(clippy::unwrap_used)]

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
    let host = ("MAGIC_LINK_SMTP_HOST", "smtp.example.com");
    let settings = |vars: &[(&str, &str)]| match config(vars).unwrap().mail_provider {
        MailProvider::Smtp(settings) => settings,
        other => panic!("not SMTP: {other:?}"),
    };
    let default = settings(&[smtp, host]);
    assert_eq!((default.tls, default.port), (SmtpTls::StartTls, 587));
    assert!(default.credentials.is_none());
    assert_eq!(
        settings(&[smtp, host, ("MAGIC_LINK_SMTP_TLS", "tls")]).port,
        465
    );
    let relay = settings(&[
        smtp,
        host,
        ("MAGIC_LINK_SMTP_TLS", "none"),
        ("MAGIC_LINK_SMTP_PORT", "2525"),
    ]);
    assert_eq!((relay.tls, relay.port), (SmtpTls::None, 2525));
    let with_login = config(&[
        smtp,
        host,
        ("MAGIC_LINK_SMTP_USERNAME", "mailer"),
        ("MAGIC_LINK_SMTP_PASSWORD", "hunter2"),
    ])
    .unwrap();
    assert!(
        !format!("{with_login:?}").contains("hunter2"),
        "the password stays out of logs"
    );

    assert_eq!(
        config(&[smtp]).unwrap_err().variable,
        "MAGIC_LINK_SMTP_HOST"
    );
    for (variable, value) in [
        ("MAGIC_LINK_SMTP_TLS", "ssl"),
        ("MAGIC_LINK_SMTP_PORT", "0"),
        ("MAGIC_LINK_SMTP_USERNAME", "u"),
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
        ("MAGIC_LINK_AUTH_PASSKEYS_PER_ADDRESS", "5"),
    ]);
    let config = config.map_err(|e| e.to_string());
    let Ok(config) = config else {
        panic!("{config:?}");
    };
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
    assert_eq!(config.passkeys_per_address, 5);
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
        ("MAGIC_LINK_AUTH_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("MAGIC_LINK_AUTH_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
        ("MAGIC_LINK_AUTH_IPV6_PREFIX", "16"),
        ("MAGIC_LINK_AUTH_IPV6_PREFIX", "129"),
        ("MAGIC_LINK_AUTH_PASSKEYS_PER_ADDRESS", "0"),
        ("MAGIC_LINK_AUTH_PASSKEYS_PER_ADDRESS", "101"),
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
        let url =
            variables::variable(variable).is_some_and(|row| row.shown == variables::Shown::Url);
        let shown = if url {
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
        ("MAGIC_LINK_MAILGUN_API_KEY", "key-1"),
    ]);
    assert_eq!(
        missing.map_err(|e| e.to_string()).err(),
        Some("MAGIC_LINK_MAILGUN_DOMAIN_NAME=\"\" is not usable: is required when MAGIC_LINK_MAIL_PROVIDER=mailgun".to_owned())
    );
    let mailgun = config(&[
        ("MAGIC_LINK_MAIL_PROVIDER", "Mailgun"),
        ("MAGIC_LINK_MAILGUN_DOMAIN_NAME", "mg.example.com"),
        ("MAGIC_LINK_MAILGUN_API_KEY", "key-1"),
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
        ("MAGIC_LINK_SMTP_HOST", "mx.example.com"),
    ])
    .unwrap();
    assert!(smtp.warnings().is_empty());
}

#[test]
fn secrets_never_reach_an_error_or_a_debug_line() {
    let cases = [
        (
            "MAGIC_LINK_SMTP_PASSWORD",
            "hunter2-smtp",
            "MAGIC_LINK_SMTP_USERNAME",
        ),
        (
            "MAGIC_LINK_CAPTCHA_SECRET",
            "hunter2-captcha",
            "MAGIC_LINK_CAPTCHA_VERIFY_URL",
        ),
    ];
    for (variable, secret, partner) in cases {
        let mut vars = vec![(variable, secret)];
        if variable == "MAGIC_LINK_SMTP_PASSWORD" {
            vars.extend([
                ("MAGIC_LINK_MAIL_PROVIDER", "smtp"),
                ("MAGIC_LINK_SMTP_HOST", "mx.example.com"),
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
    let bad_url = config(&[
        (
            "MAGIC_LINK_CAPTCHA_VERIFY_URL",
            "ftp://app:hunter2-url@db/app",
        ),
        ("MAGIC_LINK_CAPTCHA_SECRET", "secret"),
    ])
    .unwrap_err();
    assert!(!bad_url.to_string().contains("hunter2"), "{bad_url}");
    assert!(
        bad_url.to_string().contains("ftp://app:***@db/app"),
        "{bad_url}"
    );
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

#[test]
fn the_parser_reads_exactly_the_variables_of_its_table() {
    let asked = std::sync::Mutex::new(std::collections::BTreeSet::new());
    // One run per mail provider, with a CAPTCHA: between them every branch reads its own.
    for provider in ["console", "file", "smtp", "mailgun"] {
        let _ = AuthConfig::from_lookup(|name| {
            asked.lock().unwrap().insert(name.to_owned());
            match name {
                "MAGIC_LINK_MAIL_PROVIDER" => Some(provider.to_owned()),
                "MAGIC_LINK_SMTP_HOST" | "MAGIC_LINK_MAILGUN_DOMAIN_NAME" => {
                    Some("mail.example.com".to_owned())
                }
                "MAGIC_LINK_SMTP_USERNAME"
                | "MAGIC_LINK_SMTP_PASSWORD"
                | "MAGIC_LINK_MAILGUN_API_KEY" => Some("x".to_owned()),
                "MAGIC_LINK_CAPTCHA_VERIFY_URL" => Some("https://captcha.example.com".to_owned()),
                "MAGIC_LINK_CAPTCHA_SECRET" => Some("x".to_owned()),
                _ => None,
            }
        });
    }
    let table: std::collections::BTreeSet<String> = variables::VARIABLES
        .iter()
        .map(|row| row.name.to_owned())
        .collect();
    assert_eq!(*asked.lock().unwrap(), table);
}

#[test]
fn secrets_are_marked_as_such_in_the_table() {
    for name in [
        "MAGIC_LINK_SMTP_PASSWORD",
        "MAGIC_LINK_MAILGUN_API_KEY",
        "MAGIC_LINK_CAPTCHA_SECRET",
    ] {
        assert_eq!(
            variables::variable(name).map(|row| row.shown),
            Some(variables::Shown::Secret),
            "{name}"
        );
    }
}

#[test]
fn the_email_names_its_app_and_reads_a_template_folder() {
    let defaults = config(&[]).unwrap().mail;
    assert_eq!(defaults.app_name, "Magic Link Auth");
    assert_eq!(defaults.templates, crate::mail::Templates::default());
    assert_eq!(defaults.html, None);
    let acme = config(&[(
        "MAGIC_LINK_EMAIL_FROM",
        "\"Acme Login\" <login@acme.example>",
    )])
    .unwrap();
    assert_eq!(acme.mail.app_name, "Acme Login");
    let bare = config(&[
        ("MAGIC_LINK_EMAIL_FROM", "login@acme.example"),
        ("MAGIC_LINK_AUTH_PUBLIC_URL", "https://app.acme.example"),
        ("MAGIC_LINK_MAIL_PROVIDER", "file"),
    ])
    .unwrap();
    assert_eq!(bare.mail.app_name, "app.acme.example");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sign-in.html"), "<p>{code}</p>").unwrap();
    let folder = dir.path().to_str().unwrap();
    let custom = config(&[("MAGIC_LINK_EMAIL_TEMPLATES", folder)]).unwrap();
    assert_eq!(custom.mail.templates.sign_in_html, "<p>{code}</p>");
    assert_eq!(
        custom.mail.templates.sign_in_text,
        crate::mail::SIGN_IN_TEXT
    );
    let missing = format!("{folder}/nowhere");
    let err = config(&[("MAGIC_LINK_EMAIL_TEMPLATES", &missing)]).unwrap_err();
    assert_eq!(err.variable, "MAGIC_LINK_EMAIL_TEMPLATES");
    let legacy = config(&[(
        "MAGIC_LINK_EMAIL_HTML",
        "Click <a href='{magic_link}'>here</a>",
    )])
    .unwrap();
    assert_eq!(
        legacy.mail.html.as_deref(),
        Some("Click <a href='{magic_link}'>here</a>")
    );
}

#[test]
fn only_the_library_s_own_prefixed_names_are_taken() {
    let names = |list: &[&str]| {
        list.iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        unknown_variable(
            names(&[
                "PATH",
                "SMTP_HOST",
                "MAGIC_LINK_AUTH_OTP_RATE_LIMIT",
                "MAGIC_LINK_LOG_FORMAT"
            ]),
            &["MAGIC_LINK_LOG_FORMAT"],
        ),
        None
    );
    assert_eq!(
        unknown_variable(
            names(&["MAGIC_LINK_AUTH_OTP_RATE_LIMT", "MAGIC_LINK_SMTP_HOST"]),
            &[]
        ),
        Some("MAGIC_LINK_AUTH_OTP_RATE_LIMT".to_owned())
    );
    assert_eq!(
        unknown_variable(names(&["MAGIC_LINK_LOG_FORMAT"]), &[]),
        Some("MAGIC_LINK_LOG_FORMAT".to_owned())
    );
}
