//! What the auth counts, through the [`metrics`] facade. Server only.
//!
//! Nothing is recorded until the app installs a recorder: the demo app serves them as
//! Prometheus text on `MAGIC_LINK_METRICS_ADDR`, and an app of its own installs whichever
//! recorder it likes. No label carries an address, a token or an IP: every label value is one
//! of a few fixed words.
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | `magic_link_links_requested_total` | counter | none |
//! | `magic_link_links_mailed_total` | counter | none |
//! | `magic_link_links_failed_total` | counter | none |
//! | `magic_link_sign_ins_total` | counter | `method`: `link`, `code`, `passkey`, `approval` |
//! | `magic_link_requests_refused_total` | counter | `reason`: `rate_limit`, `cross_site`, `captcha`, `allow_list` |
//! | `magic_link_wrong_codes_total` | counter | none |
//! | `magic_link_sessions_ended_total` | counter | none |
//! | `magic_link_mail_send_seconds` | histogram | none |
//! | `magic_link_request_seconds` | histogram | `endpoint`: the last segment of `/api/auth/…`, or `other` |

use std::time::Instant;

use crate::hooks::SignInMethod;

pub const LINKS_REQUESTED: &str = "magic_link_links_requested_total";
pub const LINKS_MAILED: &str = "magic_link_links_mailed_total";
pub const LINKS_FAILED: &str = "magic_link_links_failed_total";
pub const SIGN_INS: &str = "magic_link_sign_ins_total";
pub const REQUESTS_REFUSED: &str = "magic_link_requests_refused_total";
pub const WRONG_CODES: &str = "magic_link_wrong_codes_total";
pub const SESSIONS_ENDED: &str = "magic_link_sessions_ended_total";
pub const MAIL_SEND_SECONDS: &str = "magic_link_mail_send_seconds";
pub const REQUEST_SECONDS: &str = "magic_link_request_seconds";

/// Why a request was refused, as the `reason` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    RateLimit,
    CrossSite,
    Captcha,
    AllowList,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Self::RateLimit => "rate_limit",
            Self::CrossSite => "cross_site",
            Self::Captcha => "captcha",
            Self::AllowList => "allow_list",
        }
    }
}

/// Gives every metric its description, for the recorder to show. Call once, after installing
/// a recorder.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(LINKS_REQUESTED, "Sign-in links issued and queued for mail");
    describe_counter!(LINKS_MAILED, "Sign-in emails the provider accepted");
    describe_counter!(LINKS_FAILED, "Sign-in emails that failed every try");
    describe_counter!(SIGN_INS, "Sessions started, by how the person signed in");
    describe_counter!(REQUESTS_REFUSED, "Requests refused, by reason");
    describe_counter!(WRONG_CODES, "Wrong sign-in codes typed");
    describe_counter!(SESSIONS_ENDED, "Sessions ended before their expiry");
    describe_histogram!(
        MAIL_SEND_SECONDS,
        Unit::Seconds,
        "Time to hand one message to the mail provider, per try"
    );
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "Time to answer an auth endpoint, by endpoint"
    );
}

pub fn link_requested() {
    metrics::counter!(LINKS_REQUESTED).increment(1);
}

pub fn link_mailed(sent: bool) {
    metrics::counter!(if sent { LINKS_MAILED } else { LINKS_FAILED }).increment(1);
}

pub fn signed_in(method: SignInMethod) {
    let method = match method {
        SignInMethod::Link => "link",
        SignInMethod::Code => "code",
        SignInMethod::Passkey => "passkey",
        SignInMethod::Approval => "approval",
    };
    metrics::counter!(SIGN_INS, "method" => method).increment(1);
}

pub fn refused(why: Refusal) {
    metrics::counter!(REQUESTS_REFUSED, "reason" => why.label()).increment(1);
}

pub fn wrong_code() {
    metrics::counter!(WRONG_CODES).increment(1);
}

pub fn sessions_ended(count: u64) {
    if count > 0 {
        metrics::counter!(SESSIONS_ENDED).increment(count);
    }
}

pub fn mail_sent_in(started: Instant) {
    metrics::histogram!(MAIL_SEND_SECONDS).record(started.elapsed().as_secs_f64());
}

/// Records how long an auth endpoint took to answer, from `started`.
pub fn endpoint_answered(endpoint: &'static str, started: Instant) {
    metrics::histogram!(REQUEST_SECONDS, "endpoint" => endpoint)
        .record(started.elapsed().as_secs_f64());
}
