//! `Email::parse` on arbitrary input: it never panics, and whatever it accepts is safe to put
//! in a mail header and parses again to itself.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/magic-link-types/src/domain/mod.rs"]
mod domain;

use domain::Email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let Ok(email) = Email::parse(input) else {
        return;
    };
    let text = email.as_str();
    assert!(!text.is_empty() && text.len() <= 254, "length out of bounds: {text:?}");
    assert_eq!(text.matches('@').count(), 1, "not exactly one @: {text:?}");
    assert!(
        !text.chars().any(|c| c.is_control() || c.is_whitespace()),
        "control or whitespace character accepted: {text:?}"
    );
    assert!(
        !text.contains(['<', '>', ',', ';', ':', '"', '\\']),
        "header-significant character accepted: {text:?}"
    );
    let (local, domain) = text.split_once('@').unwrap_or_default();
    assert!(!local.is_empty() && domain.contains('.'), "malformed parts: {text:?}");
    assert_eq!(Email::parse(text).as_ref(), Ok(&email), "not idempotent: {text:?}");
});
