//! `RedirectTarget::parse` on arbitrary input: it never panics, and whatever it accepts stays
//! on this site when a browser resolves it, as given and after each further round of
//! percent-decoding that anything between here and the browser might apply.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/magic-link-types/src/domain/mod.rs"]
mod domain;

use domain::RedirectTarget;
use libfuzzer_sys::fuzz_target;
use url::Url;

fn percent_decoded(input: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", input.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fuzz_target!(|input: &str| {
    let Ok(target) = RedirectTarget::parse(input) else {
        return;
    };
    let base = Url::parse("https://app.example/some/page").unwrap_or_else(|_| unreachable!());
    let mut current = target.as_str().to_owned();
    for _ in 0..4 {
        // The WHATWG URL parser, as browsers resolve a Location header.
        if let Ok(resolved) = base.join(&current) {
            assert_eq!(
                resolved.origin(),
                base.origin(),
                "{input:?} leaves the site as {current:?} -> {resolved}"
            );
        }
        current = percent_decoded(&current);
    }
    assert_eq!(RedirectTarget::parse(target.as_str()).as_ref(), Ok(&target));
});
