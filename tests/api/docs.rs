//! The README's table of environment variables, `.env.example` and the code agree: every
//! variable the code reads is documented with the default the code uses, and nothing else is.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use app::auth::config::{
    AuthConfig, DEFAULT_DATABASE_URL, DEFAULT_MAILGUN_API_URL, DEFAULT_OUTBOX,
};

const README: &str = include_str!("../../README.md");
const ENV_EXAMPLE: &str = include_str!("../../.env.example");
const CONFIG_SOURCE: &str = include_str!("../../leptos-magic-link/src/config.rs");

/// Variables read by the libraries underneath rather than by `AuthConfig`.
const READ_ELSEWHERE: [&str; 3] = ["LEPTOS_SITE_ADDR", "LEPTOS_ENV", "RUST_LOG"];

/// The README's Configuration table: variable name to the text of its default column.
fn readme_table() -> BTreeMap<String, String> {
    let section = README
        .split("## Configuration")
        .nth(1)
        .expect("a Configuration section")
        .split("\n## ")
        .next()
        .unwrap();
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            name.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                .then(|| {
                    (
                        name.to_owned(),
                        cells.get(2).copied().unwrap_or("").to_owned(),
                    )
                })
        })
        .collect()
}

/// Every name the configuration code reads, found in its source.
fn names_in_code() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = READ_ELSEWHERE.iter().map(|s| (*s).to_owned()).collect();
    for piece in CONFIG_SOURCE.split('"').skip(1).step_by(2) {
        let is_name = piece.len() > 3
            && piece.contains('_')
            && piece
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if is_name {
            names.insert(piece.to_owned());
        }
    }
    names
}

#[test]
fn the_readme_documents_every_variable_the_code_reads_and_no_other() {
    let documented: BTreeSet<String> = readme_table().into_keys().collect();
    assert_eq!(documented, names_in_code());
}

#[test]
fn dotenv_example_lists_every_variable() {
    let listed: BTreeSet<String> = ENV_EXAMPLE
        .lines()
        .filter_map(|line| line.trim_start_matches("# ").split_once('='))
        .map(|(name, _)| name.trim().to_owned())
        .filter(|name| {
            name.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    assert_eq!(listed, names_in_code());
}

#[test]
fn the_readme_defaults_are_the_codes_defaults() {
    let table = readme_table();
    let defaults = AuthConfig::default();
    let expected = [
        ("DATABASE_URL", DEFAULT_DATABASE_URL.to_owned()),
        ("MAGIC_LINK_AUTH_PUBLIC_URL", defaults.public_url),
        ("MAGIC_LINK_AUTH_ROUTE", defaults.paths.link),
        (
            "MAGIC_LINK_AUTH_OTP_EXPIRATION_SECONDS",
            defaults.credential_lifetime.as_secs().to_string(),
        ),
        (
            "MAGIC_LINK_AUTH_SESSION_EXPIRATION_SECONDS",
            defaults.session_lifetime.as_secs().to_string(),
        ),
        (
            "MAGIC_LINK_AUTH_OTP_RATE_LIMIT",
            defaults.rate_limit.to_string(),
        ),
        (
            "MAGIC_LINK_AUTH_EMAIL_RATE_LIMIT",
            defaults.email_rate_limit.to_string(),
        ),
        (
            "MAGIC_LINK_AUTH_CODE_MAX_ATTEMPTS",
            defaults.code_max_attempts.to_string(),
        ),
        (
            "MAGIC_LINK_AUTH_CODE_DAILY_LIMIT",
            defaults.code_daily_limit.to_string(),
        ),
        (
            "MAGIC_LINK_AUTH_IPV6_PREFIX",
            defaults.ipv6_prefix.to_string(),
        ),
        (
            "MAGIC_LINK_AUTH_CLEANUP_INTERVAL_SECONDS",
            defaults.cleanup_interval.as_secs().to_string(),
        ),
        ("MAGIC_LINK_MAIL_PROVIDER", "console".to_owned()),
        ("MAGIC_LINK_MAIL_OUTBOX", DEFAULT_OUTBOX.to_owned()),
        (
            "MAGIC_LINK_MAIL_TIMEOUT_SECONDS",
            defaults.mail_timeout.as_secs().to_string(),
        ),
        ("MAILGUN_API_URL", DEFAULT_MAILGUN_API_URL.to_owned()),
        ("MAGIC_LINK_EMAIL_SUBJECT", defaults.mail.subject),
    ];
    for (name, value) in expected {
        let cell = &table[name];
        assert!(
            cell.starts_with(&format!("`{value}`")),
            "{name}: the README says {cell:?}, the code's default is {value:?}"
        );
    }
}
