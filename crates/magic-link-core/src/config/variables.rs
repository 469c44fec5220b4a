//! Every environment variable the auth reads, in one table: the parser reads only names
//! listed here and takes from it how to show a refused value (a secret never, a URL
//! without its password); the README's Configuration table and `.env.example` are checked
//! against it by the app's tests.

/// How a refused value may appear in an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// As it was set.
    Plain,
    /// Through [`redact_url`](super::redact_url): no password, no query.
    Url,
    /// Never: `<hidden>`.
    Secret,
}

/// One variable: its name, its default and its rule as a person reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variable {
    /// The environment variable.
    pub name: &'static str,
    /// The default, as the README shows it.
    pub default: &'static str,
    /// What a value must be, and what it does.
    pub rule: &'static str,
    /// How a refused value is shown.
    pub shown: Shown,
}

/// Every variable, in the README's order.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "MAGIC_LINK_AUTH_PUBLIC_URL",
        default: "`http://localhost:3000`",
        rule: "the `http(s)://host[:port]` origin that links are built from, with no path; never taken from a request's Host header. A page asked for by another host is redirected here first (see \"One address for the site\")",
        shown: Shown::Url,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_ROUTE",
        default: "`/magic-link-auth`",
        rule: "a one-segment absolute path of letters, digits and `- _ . ~`",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_OTP_EXPIRATION_SECONDS",
        default: "`1800`",
        rule: "whole seconds, 1 to 315360000; how long a link and its code last, **and** the window the rate limits count over",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_SESSION_EXPIRATION_SECONDS",
        default: "`604800` (7 days)",
        rule: "whole seconds, 1 to 315360000",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_FRESH_SECONDS",
        default: "`600` (10 minutes)",
        rule: "whole seconds, 1 to 315360000: how recently a session must have signed in (or confirmed with a passkey or a fresh code) to add or delete a passkey, sign out everywhere, end another session or delete the account",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_OTP_RATE_LIMIT",
        default: "`5`",
        rule: "a whole number, 1 or more: links one client may ask for per window, whatever the addresses",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_EMAIL_RATE_LIMIT",
        default: "`10` (twice `MAGIC_LINK_AUTH_OTP_RATE_LIMIT`)",
        rule: "a whole number above `MAGIC_LINK_AUTH_OTP_RATE_LIMIT`: links one address may get per window from clients it has not signed in from (see \"Security model\")",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_CODE_MAX_ATTEMPTS",
        default: "`5`",
        rule: "a whole number, 1 or more: wrong codes a code survives before it is dead (its link lives on). One client may also fail `redeem` and `verify-code` at most `OTP_RATE_LIMIT × CODE_MAX_ATTEMPTS` times per window (25 by default); after that both answer `429` until the window moves on",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_CODE_DAILY_LIMIT",
        default: "`10`",
        rule: "a whole number, 1 or more: wrong codes one address takes in 24 hours from the clients it has not signed in from, all together, and again from each client it has signed in from in the last 90 days, on its own; past it, codes for that address answer `429` to those clients for the rest of the 24 hours (links still work)",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_TRUSTED_PROXIES",
        default: "none",
        rule: "comma-separated IP addresses or CIDR blocks whose `X-Forwarded-For` is believed; an IPv4-mapped block such as `::ffff:10.0.0.0/104` means the IPv4 block it maps",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_IPV6_PREFIX",
        default: "`64`",
        rule: "32 to 128: the IPv6 network size that counts as one client for the per-client limits (one customer is given a /64 or more)",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_ALLOWED_EMAILS",
        default: "none: anyone may sign in",
        rule: "comma-separated exact addresses and `*@domain` patterns, such as `ada@example.com, *@example.org`: sign-in-only mode. Any other address gets the very same reply, but no mail is sent, a link, code or passkey it still holds no longer signs in, and a session it still holds ends at its next request. (The reply may come sooner by the time a real send would take.)",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_CAPTCHA_VERIFY_URL",
        default: "none: no CAPTCHA",
        rule: "an `http(s)://` siteverify URL, such as `https://challenges.cloudflare.com/turnstile/v0/siteverify` (Turnstile), `https://api.hcaptcha.com/siteverify` or `https://www.google.com/recaptcha/api/siteverify`; set together with the secret",
        shown: Shown::Url,
    },
    Variable {
        name: "MAGIC_LINK_CAPTCHA_SECRET",
        default: "none",
        rule: "the site's secret key for that provider; set together with the URL",
        shown: Shown::Secret,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_CLEANUP_INTERVAL_SECONDS",
        default: "`600`",
        rule: "whole seconds, 1 to 315360000: how often each instance deletes sessions past their expiry, and credentials and failed attempts older than the rate-limit window (younger ones still count). Safe with several instances at once",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_MAIL_PROVIDER",
        default: "`console`, but required when the public URL is https",
        rule: "`console` (the link and code go to the log: development only; set on an https URL it logs a warning at start), `file` (one `.eml` per message), `smtp` or `mailgun`",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_MAIL_OUTBOX",
        default: "`./outbox`",
        rule: "the folder `file` writes into",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_MAIL_TIMEOUT_SECONDS",
        default: "`10`",
        rule: "1 to 300: how long one try at handing a message to the provider may take, connecting included. Mail goes out after the reply, from the outbox table, with up to seven tries (1, 2, 4, 8, 16 and 32 s apart) when the provider could not be reached or answered that it is failing, but none after a timeout, when the message may already have gone; when it fails, the check-your-email page says so",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_SMTP_HOST",
        default: "none",
        rule: "required for `smtp`: the server's host name (also the name its TLS certificate must carry)",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_SMTP_TLS",
        default: "`starttls`",
        rule: "`starttls` (upgrade a plain connection; the upgrade must succeed), `tls` (TLS from the start) or `none` (plain: only for a relay on the same host or a private network)",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_SMTP_PORT",
        default: "`587`, or `465` with `tls`, `25` with `none`",
        rule: "1 to 65535",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_SMTP_USERNAME",
        default: "none",
        rule: "set together with `MAGIC_LINK_SMTP_PASSWORD` when the server wants a login",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_SMTP_PASSWORD",
        default: "none",
        rule: "set together with `MAGIC_LINK_SMTP_USERNAME`",
        shown: Shown::Secret,
    },
    Variable {
        name: "MAGIC_LINK_MAILGUN_API_URL",
        default: "`https://api.mailgun.net`",
        rule: "an `http(s)://` URL; messages go to `{url}/v3/{domain}/messages`",
        shown: Shown::Url,
    },
    Variable {
        name: "MAGIC_LINK_MAILGUN_DOMAIN_NAME",
        default: "none",
        rule: "required for `mailgun`",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_MAILGUN_API_KEY",
        default: "none",
        rule: "required for `mailgun`; sent as basic auth `api:{key}`",
        shown: Shown::Secret,
    },
    Variable {
        name: "MAGIC_LINK_EMAIL_FROM",
        default: "`Magic Link Auth <magic_link_auth@{domain}>`, the domain being `MAGIC_LINK_MAILGUN_DOMAIN_NAME` or the public URL's host",
        rule: "one line",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_EMAIL_SUBJECT",
        default: "`Magic Login Link`",
        rule: "one line; `{app_name}`, `{magic_link}` and `{code}` are replaced",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_EMAIL_TEMPLATES",
        default: "unset: the built-in `templates/`",
        rule: "a folder, read at start; its `sign-in.*`, `new-sign-in.*`, `account-deleted.*`, `email-change.*` and `email-changed.*` (`.html` and `.txt`), where present, replace the built-in ones (see \"The sign-in email\")",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_NOTIFY_NEW_DEVICE",
        default: "`true`",
        rule: "`true` or `false`: whether an address is emailed when it signs in from a device (browser, system and network) it has not used in 90 days, never on its first sign-in (see \"New-sign-in notices\")",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_ACTIVITY_RETENTION_SECONDS",
        default: "`7776000` (90 days)",
        rule: "whole seconds, 1 to 315360000: how long each address's recent activity (the events on the account page) is kept; the periodic cleanup deletes older events",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_AUTH_PASSKEYS_PER_ADDRESS",
        default: "`20`",
        rule: "1 to 100: how many passkeys one address may have; adding one more answers `409` until one is deleted. Each registration and confirmation keeps a list of the address's passkeys (about 600 bytes each) until it finishes, so this also bounds what one ceremony stores",
        shown: Shown::Plain,
    },
    Variable {
        name: "MAGIC_LINK_EMAIL_HTML",
        default: "unset",
        rule: "the original's one-line HTML body, kept for compatibility: `{magic_link}` and `{code}` are replaced, and the code, the expiry and a warning follow; when set, it is the HTML part instead of the template",
        shown: Shown::Plain,
    },
];

/// The row for `name`.
pub fn variable(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|variable| variable.name == name)
}
