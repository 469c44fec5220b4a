//! The configuration page's table of variables and `.env.example` agree with the library's
//! table of variables (`config::variables::VARIABLES`), which is what the parser reads, plus
//! the few variables the app reads itself.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;

use app::server::DEFAULT_DATABASE_URL;
use magic_link_core::config::{
    AuthConfig, DEFAULT_MAILGUN_API_URL, DEFAULT_OUTBOX,
    variables::{VARIABLES, variable},
};

const CONFIGURATION: &str = include_str!("../../docs/configuration.md");
const ENV_EXAMPLE: &str = include_str!("../../.env.example");

/// Variables read by the app and the libraries underneath rather than by `AuthConfig`, as
/// the configuration page's table shows them after the library's own.
const APP_VARIABLES: [(&str, &str, &str); 6] = [
    (
        "DATABASE_URL",
        "`sqlite://magic_link_auth.db?mode=rwc` (a file in the working folder, created if missing)",
        "starts with `sqlite:`, `postgres://` or `postgresql://`; PostgreSQL lets several instances share one database",
    ),
    (
        "RUST_LOG",
        "`info,sqlx=warn`",
        "the log filter, as in `tracing-subscriber`'s `EnvFilter` (for example `debug,sqlx=warn`)",
    ),
    (
        "MAGIC_LINK_LOG_FORMAT",
        "`text`",
        "`text` (coloured only when stdout is a terminal) or `json`: one JSON object per line (`timestamp`, `level`, `target`, `fields`), for a log shipper",
    ),
    (
        "MAGIC_LINK_METRICS_ADDR",
        "unset: no metrics",
        "an address and port, such as `127.0.0.1:9090`: Prometheus text at `/metrics` there, a listener of its own (the app's address never serves it); see \"Metrics\"",
    ),
    (
        "LEPTOS_SITE_ADDR",
        "`127.0.0.1:3000`",
        "where the server listens",
    ),
    (
        "LEPTOS_ENV",
        "`PROD` in a release binary, `DEV` otherwise",
        "`DEV` adds the live-reload socket of `cargo leptos watch` to the pages and their Content-Security-Policy",
    ),
];

/// The configuration page's table: name, default and rule, row by row.
fn page_rows() -> Vec<(String, String, String)> {
    CONFIGURATION
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let is_name = name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            is_name.then(|| {
                (
                    name.to_owned(),
                    cells.get(2).copied().unwrap_or("").to_owned(),
                    cells.get(3).copied().unwrap_or("").to_owned(),
                )
            })
        })
        .collect()
}

/// The rows the configuration page must hold: the library's table, then the app's own.
fn expected_rows() -> Vec<(String, String, String)> {
    VARIABLES
        .iter()
        .map(|row| (row.name, row.default, row.rule))
        .chain(APP_VARIABLES)
        .map(|(name, default, rule)| (name.to_owned(), default.to_owned(), rule.to_owned()))
        .collect()
}

#[test]
fn the_configuration_table_is_the_variables_table() {
    let expected = expected_rows();
    let markdown: String = expected
        .iter()
        .map(|(name, default, rule)| format!("| `{name}` | {default} | {rule} |\n"))
        .collect();
    assert_eq!(
        page_rows(),
        expected,
        "docs/configuration.md's table should read:\n{markdown}"
    );
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
    let expected: BTreeSet<String> = expected_rows().into_iter().map(|(name, ..)| name).collect();
    assert_eq!(listed, expected);
}

#[test]
fn the_documented_defaults_are_the_codes_defaults() {
    let defaults = AuthConfig::default();
    let expected = [
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
        (
            "MAGIC_LINK_MAILGUN_API_URL",
            DEFAULT_MAILGUN_API_URL.to_owned(),
        ),
        ("MAGIC_LINK_EMAIL_SUBJECT", defaults.mail.subject),
    ];
    let (name, database, _) = APP_VARIABLES[0];
    assert_eq!(name, "DATABASE_URL");
    assert!(database.starts_with(&format!("`{DEFAULT_DATABASE_URL}`")));
    for (name, value) in expected {
        let cell = variable(name).expect("in the table").default;
        assert!(
            cell.starts_with(&format!("`{value}`")),
            "{name}: the table says {cell:?}, the code's default is {value:?}"
        );
    }
}
