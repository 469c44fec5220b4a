//! Sending the magic-link email. Server only.
//!
//! [`compose`] turns an issued credential into a [`Mail`] with a text and an HTML part, from
//! the templates in [`MailSettings`] (built in from `templates/` in this crate, or an app's
//! own; [`MailComposer`] takes over entirely). A [`Mailer`] delivers it: [`console::ConsoleMailer`]
//! logs it (development), [`file::FileMailer`] writes an `.eml` file (tests and demos), and
//! [`mailgun::MailgunMailer`] posts it to Mailgun's HTTP API and [`smtp::SmtpMailer`] hands it
//! to an SMTP server (production). The service queues each message in the database and sends it
//! off the request path (`crate::service::MailQueue`); [`queue`] holds how.

pub mod console;
pub mod file;
// The same API in every build; only a debug build serves the mailbox and fills it (see
// `MagicLinkRouter::with_magic_link`).
#[cfg(feature = "dev-mailbox")]
#[cfg_attr(not(debug_assertions), allow(dead_code))]
pub mod mailbox;
pub mod mailgun;
pub mod queue;
pub mod recording;
pub mod smtp;

use std::{future::Future, pin::Pin};

use chrono::{DateTime, Utc};

use super::clock::utc_minute;

use magic_link_types::domain::{Code, Email};

/// One message, ready to deliver. Every field is free of CR and LF except the bodies, so no
/// value can add a header wherever it is written.
///
/// Its `Debug` leaves out the bodies and the credential: a message logged by mistake gives
/// nobody a way in.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The link the message carries, for a mailer that builds its own body (and for tests,
    /// which read it here rather than from the text): the sign-in link, or a notice's
    /// "sign out everywhere" link.
    pub link: String,
    /// The code the message carries: a sign-in message has one, a notice none.
    pub code: Option<Code>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The provider refused this message for good.
    #[error("the mail provider answered {status}: {body}")]
    Rejected { status: u16, body: String },
    /// The provider answered "not now" (overloaded, failing, or asking for a pause): another
    /// try later may pass.
    #[error("the mail provider answered {status}, for now: {body}")]
    Deferred { status: u16, body: String },
    /// The provider was never reached: nothing went out.
    #[error("the mail provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider was reached but did not confirm in time: the message may have gone out,
    /// so it is not sent again.
    #[error("the mail provider did not confirm the message: {0}")]
    Unconfirmed(String),
    /// The message cannot be sent as written (an address the transport will not take).
    #[error("the message could not be sent: {0}")]
    Unsendable(String),
    #[error("the message could not be written: {0}")]
    Io(#[from] std::io::Error),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Delivers a composed message. Implement it to add a provider.
pub trait Mailer: Send + Sync + 'static {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a>;
}

/// Where the sign-in message comes from: the sender and subject (the original's variables),
/// the templates of its two parts, and the name it signs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailSettings {
    pub from: String,
    /// One line; `{app_name}`, `{magic_link}` and `{code}` are replaced.
    pub subject: String,
    /// `MAGIC_LINK_EMAIL_HTML`, the original's one-line HTML body, kept for compatibility:
    /// when set, the HTML part is this body (with `{magic_link}` and `{code}` replaced)
    /// followed by the code, the expiry and a warning, instead of `templates.sign_in_html`.
    pub html: Option<String>,
    /// The templates of the message's two parts.
    pub templates: Templates,
    /// The name the message speaks for (`{app_name}`): the display name of `from`, else the
    /// public URL's host.
    pub app_name: String,
    /// The subject of a new-sign-in notice; `{app_name}` is replaced.
    pub notice_subject: String,
}

pub const DEFAULT_SUBJECT: &str = "Magic Login Link";

/// The default subject of a new-sign-in notice.
pub const DEFAULT_NOTICE_SUBJECT: &str = "New sign-in to {app_name}";

/// The messages' templates. Each `{name}` of [`PLACEHOLDERS`] (the sign-in message) or
/// [`NOTICE_PLACEHOLDERS`] (the new-sign-in notice) is replaced, escaped in the HTML parts;
/// anything else is left as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Templates {
    /// The sign-in message's plain-text part (`sign-in.txt`).
    pub sign_in_text: String,
    /// The sign-in message's HTML part (`sign-in.html`): inline CSS only, no remote images.
    pub sign_in_html: String,
    /// The new-sign-in notice's plain-text part (`new-sign-in.txt`).
    pub new_sign_in_text: String,
    /// The new-sign-in notice's HTML part (`new-sign-in.html`).
    pub new_sign_in_html: String,
    /// The account-deleted message's plain-text part (`account-deleted.txt`).
    pub account_deleted_text: String,
    /// The account-deleted message's HTML part (`account-deleted.html`).
    pub account_deleted_html: String,
    /// The message to a new address that confirms a change of address (`email-change.txt`).
    pub email_change_text: String,
    /// Its HTML part (`email-change.html`).
    pub email_change_html: String,
    /// The message to the old address once an account has moved, with its undo link
    /// (`email-changed.txt`).
    pub email_changed_text: String,
    /// Its HTML part (`email-changed.html`).
    pub email_changed_html: String,
}

/// The built-in templates, `templates/` in this crate, embedded at build time.
pub const SIGN_IN_TEXT: &str = include_str!("../../templates/sign-in.txt");
pub const SIGN_IN_HTML: &str = include_str!("../../templates/sign-in.html");
pub const NEW_SIGN_IN_TEXT: &str = include_str!("../../templates/new-sign-in.txt");
pub const NEW_SIGN_IN_HTML: &str = include_str!("../../templates/new-sign-in.html");
pub const ACCOUNT_DELETED_TEXT: &str = include_str!("../../templates/account-deleted.txt");
pub const ACCOUNT_DELETED_HTML: &str = include_str!("../../templates/account-deleted.html");
pub const EMAIL_CHANGE_TEXT: &str = include_str!("../../templates/email-change.txt");
pub const EMAIL_CHANGE_HTML: &str = include_str!("../../templates/email-change.html");
pub const EMAIL_CHANGED_TEXT: &str = include_str!("../../templates/email-changed.txt");
pub const EMAIL_CHANGED_HTML: &str = include_str!("../../templates/email-changed.html");

/// What the change-of-address message to the new address can name (`email` is the new
/// address).
pub const EMAIL_CHANGE_PLACEHOLDERS: [&str; 5] = [
    "app_name",
    "email",
    "old_email",
    "confirm_link",
    "expires_at",
];

/// The subject of the change-of-address message to the new address.
pub const EMAIL_CHANGE_SUBJECT: &str = "Confirm your new email address for {app_name}";

/// What the message to the old address after a change can name (`email` is the old
/// address).
pub const EMAIL_CHANGED_PLACEHOLDERS: [&str; 5] =
    ["app_name", "email", "new_email", "changed_at", "undo_link"];

/// The subject of the message to the old address after a change.
pub const EMAIL_CHANGED_SUBJECT: &str = "Your {app_name} account moved to another email address";

/// What the account-deleted message's templates can name.
pub const DELETED_PLACEHOLDERS: [&str; 3] = ["app_name", "email", "deleted_at"];

/// The subject of the account-deleted message; `{app_name}` is replaced.
pub const DELETED_SUBJECT: &str = "Your {app_name} account is deleted";

/// What the new-sign-in notice's templates can name.
pub const NOTICE_PLACEHOLDERS: [&str; 6] = [
    "app_name",
    "email",
    "device",
    "network",
    "signed_in_at",
    "sign_out_link",
];

/// What a template can name.
pub const PLACEHOLDERS: [&str; 8] = [
    "app_name",
    "email",
    "magic_link",
    "code",
    "expires_at",
    "expires_in",
    "device",
    "requested_at",
];

impl Default for Templates {
    fn default() -> Self {
        Self {
            sign_in_text: SIGN_IN_TEXT.to_owned(),
            sign_in_html: SIGN_IN_HTML.to_owned(),
            new_sign_in_text: NEW_SIGN_IN_TEXT.to_owned(),
            new_sign_in_html: NEW_SIGN_IN_HTML.to_owned(),
            account_deleted_text: ACCOUNT_DELETED_TEXT.to_owned(),
            account_deleted_html: ACCOUNT_DELETED_HTML.to_owned(),
            email_change_text: EMAIL_CHANGE_TEXT.to_owned(),
            email_change_html: EMAIL_CHANGE_HTML.to_owned(),
            email_changed_text: EMAIL_CHANGED_TEXT.to_owned(),
            email_changed_html: EMAIL_CHANGED_HTML.to_owned(),
        }
    }
}

impl Templates {
    /// The built-in templates, with each of `sign-in.*`, `new-sign-in.*`, `account-deleted.*`,
    /// `email-change.*` and `email-changed.*` (`.txt` and `.html`) from `dir` in place of its
    /// built-in twin where `dir` has it.
    pub fn from_dir(dir: &std::path::Path) -> std::io::Result<Self> {
        if !dir.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not a folder",
            ));
        }
        let read = |name: &str, built_in: &str| -> std::io::Result<String> {
            match std::fs::read_to_string(dir.join(name)) {
                Ok(text) => Ok(text),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(built_in.to_owned()),
                Err(err) => Err(err),
            }
        };
        Ok(Self {
            sign_in_text: read("sign-in.txt", SIGN_IN_TEXT)?,
            sign_in_html: read("sign-in.html", SIGN_IN_HTML)?,
            new_sign_in_text: read("new-sign-in.txt", NEW_SIGN_IN_TEXT)?,
            new_sign_in_html: read("new-sign-in.html", NEW_SIGN_IN_HTML)?,
            account_deleted_text: read("account-deleted.txt", ACCOUNT_DELETED_TEXT)?,
            account_deleted_html: read("account-deleted.html", ACCOUNT_DELETED_HTML)?,
            email_change_text: read("email-change.txt", EMAIL_CHANGE_TEXT)?,
            email_change_html: read("email-change.html", EMAIL_CHANGE_HTML)?,
            email_changed_text: read("email-changed.txt", EMAIL_CHANGED_TEXT)?,
            email_changed_html: read("email-changed.html", EMAIL_CHANGED_HTML)?,
        })
    }
}

/// What one sign-in message says, beyond its settings.
#[derive(Clone, Copy, Debug)]
pub struct SignIn<'a> {
    pub to: &'a Email,
    pub link: &'a str,
    pub code: &'a Code,
    pub expires_at: DateTime<Utc>,
    /// When it was asked for.
    pub now: DateTime<Utc>,
    /// The browser that asked, as its `User-Agent` says.
    pub user_agent: Option<&'a str>,
}

/// What a new-sign-in notice says.
#[derive(Clone, Copy, Debug)]
pub struct NewSignIn<'a> {
    pub to: &'a Email,
    /// The browser, such as "Firefox on macOS".
    pub device: &'a str,
    /// The approximate network: an IPv4 /24 or an IPv6 /48, such as `203.0.113.0/24`.
    pub network: &'a str,
    /// When the session started.
    pub at: DateTime<Utc>,
    /// The single-use "sign out everywhere" link.
    pub sign_out_link: &'a str,
}

/// What the message to a new address that confirms a change of address says.
#[derive(Clone, Copy, Debug)]
pub struct EmailChange<'a> {
    /// The new address.
    pub to: &'a Email,
    /// The account's address now.
    pub old: &'a Email,
    /// The single-use link that opens the confirmation page.
    pub confirm_link: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// What the message to the old address says once the account has moved.
#[derive(Clone, Copy, Debug)]
pub struct EmailChanged<'a> {
    /// The old address.
    pub to: &'a Email,
    /// The address the account moved to.
    pub new: &'a Email,
    pub at: DateTime<Utc>,
    /// The single-use link that moves the account back and signs it out everywhere.
    pub undo_link: &'a str,
}

/// Writes the messages. Implement it to take over a message entirely, and hand it to
/// `AuthBuilder::composer`; [`Compose`] uses [`MailSettings`] and the templates.
pub trait MailComposer: Send + Sync + 'static {
    /// The sign-in message: the link and the code.
    fn sign_in(&self, settings: &MailSettings, message: &SignIn<'_>) -> Mail;

    /// The notice of a sign-in from a new device. By default, [`compose_notice`].
    fn new_sign_in(&self, settings: &MailSettings, message: &NewSignIn<'_>) -> Mail {
        compose_notice(settings, message)
    }

    /// The word that an account was deleted. By default, [`compose_account_deleted`].
    fn account_deleted(&self, settings: &MailSettings, to: &Email, at: DateTime<Utc>) -> Mail {
        compose_account_deleted(settings, to, at)
    }

    /// The message to a new address that confirms a change of address. By default,
    /// [`compose_email_change`].
    fn email_change(&self, settings: &MailSettings, message: &EmailChange<'_>) -> Mail {
        compose_email_change(settings, message)
    }

    /// The message to the old address once the account has moved. By default,
    /// [`compose_email_changed`].
    fn email_changed(&self, settings: &MailSettings, message: &EmailChanged<'_>) -> Mail {
        compose_email_changed(settings, message)
    }
}

/// The composer built in: [`compose`].
pub struct Compose;

impl MailComposer for Compose {
    fn sign_in(&self, settings: &MailSettings, message: &SignIn<'_>) -> Mail {
        compose(settings, message)
    }
}

/// What the original's HTML body gets after it: the code, the expiry and a warning.
const WARNING: &str = "If you didn't ask for this, ignore this email; never share the code.";

/// Builds the sign-in message from `settings`.
pub fn compose(settings: &MailSettings, message: &SignIn<'_>) -> Mail {
    let minutes = (message.expires_at - message.now).num_minutes().max(1);
    let expires_in = format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" });
    let expires_at = utc_minute(message.expires_at);
    let requested_at = utc_minute(message.now);
    let device = crate::device::describe_user_agent(message.user_agent);
    let code = message.code.expose();
    let values: [(&str, &str); 8] = [
        ("app_name", &settings.app_name),
        ("email", message.to.as_str()),
        ("magic_link", message.link),
        ("code", code),
        ("expires_at", &expires_at),
        ("expires_in", &expires_in),
        ("device", &device),
        ("requested_at", &requested_at),
    ];
    let html = match &settings.html {
        Some(legacy) => {
            let body = render(
                legacy,
                &[("magic_link", message.link), ("code", code)],
                escape_html,
            );
            format!(
                "<!DOCTYPE html>\n<html><body>\n<p>{body}</p>\n\
                 <p>Or enter this code on the sign-in page: <strong>{code}</strong></p>\n\
                 <p>The link and the code expire at {expires_at} (in {expires_in}).</p>\n<p>{warning}</p>\n</body></html>\n",
                expires_at = escape_html(&expires_at),
                warning = escape_html(WARNING),
            )
        }
        None => render(&settings.templates.sign_in_html, &values, escape_html),
    };
    // Plain text needs no escaping, but a value never brings a control character into it.
    let text = render(&settings.templates.sign_in_text, &values, single_line);
    let subject_values = [
        ("app_name", settings.app_name.as_str()),
        ("magic_link", message.link),
        ("code", code),
    ];
    Mail {
        from: settings.from.clone(),
        to: message.to.clone(),
        subject: single_line(&render(&settings.subject, &subject_values, str::to_owned)),
        text,
        html,
        link: message.link.to_owned(),
        code: Some(message.code.clone()),
    }
}

/// Builds the new-sign-in notice from `settings`.
pub fn compose_notice(settings: &MailSettings, message: &NewSignIn<'_>) -> Mail {
    let at = utc_minute(message.at);
    let values = [
        ("app_name", settings.app_name.as_str()),
        ("email", message.to.as_str()),
        ("device", message.device),
        ("network", message.network),
        ("signed_in_at", &at),
        ("sign_out_link", message.sign_out_link),
    ];
    let parts = [
        &settings.templates.new_sign_in_text,
        &settings.templates.new_sign_in_html,
    ];
    let mut mail = from_templates(
        settings,
        message.to,
        &settings.notice_subject,
        parts,
        &values,
    );
    mail.link = message.sign_out_link.to_owned();
    mail
}

/// Builds the account-deleted message from `settings`: to `to`, deleted at `at`.
pub fn compose_account_deleted(settings: &MailSettings, to: &Email, at: DateTime<Utc>) -> Mail {
    let at = utc_minute(at);
    let values = [
        ("app_name", settings.app_name.as_str()),
        ("email", to.as_str()),
        ("deleted_at", &at),
    ];
    let parts = [
        &settings.templates.account_deleted_text,
        &settings.templates.account_deleted_html,
    ];
    from_templates(settings, to, DELETED_SUBJECT, parts, &values)
}

/// Builds the message to a new address that confirms a change of address.
pub fn compose_email_change(settings: &MailSettings, message: &EmailChange<'_>) -> Mail {
    let expires_at = utc_minute(message.expires_at);
    let values = [
        ("app_name", settings.app_name.as_str()),
        ("email", message.to.as_str()),
        ("old_email", message.old.as_str()),
        ("confirm_link", message.confirm_link),
        ("expires_at", &expires_at),
    ];
    let parts = [
        &settings.templates.email_change_text,
        &settings.templates.email_change_html,
    ];
    let mut mail = from_templates(settings, message.to, EMAIL_CHANGE_SUBJECT, parts, &values);
    mail.link = message.confirm_link.to_owned();
    mail
}

/// Builds the message to the old address once the account has moved.
pub fn compose_email_changed(settings: &MailSettings, message: &EmailChanged<'_>) -> Mail {
    let at = utc_minute(message.at);
    let values = [
        ("app_name", settings.app_name.as_str()),
        ("email", message.to.as_str()),
        ("new_email", message.new.as_str()),
        ("changed_at", &at),
        ("undo_link", message.undo_link),
    ];
    let parts = [
        &settings.templates.email_changed_text,
        &settings.templates.email_changed_html,
    ];
    let mut mail = from_templates(settings, message.to, EMAIL_CHANGED_SUBJECT, parts, &values);
    mail.link = message.undo_link.to_owned();
    mail
}

/// A message with no credential from `settings`' sender to `to`: `subject` with its
/// `{app_name}`, and the text and HTML templates of `parts` with `values` (escaped for HTML
/// in the HTML part, kept to one line each in the text).
fn from_templates(
    settings: &MailSettings,
    to: &Email,
    subject: &str,
    [text, html]: [&String; 2],
    values: &[(&str, &str)],
) -> Mail {
    let subject_values = [("app_name", settings.app_name.as_str())];
    Mail {
        from: settings.from.clone(),
        to: to.clone(),
        subject: single_line(&render(subject, &subject_values, str::to_owned)),
        text: render(text, values, single_line),
        html: render(html, values, escape_html),
        link: String::new(),
        code: None,
    }
}

/// Replaces each `{name}` of `values` in `template` with its value passed through `encode`,
/// in one pass: a value is never searched again, so one that contains `{code}` stays as it
/// is. A `{` that starts no known name is kept.
fn render(template: &str, values: &[(&str, &str)], encode: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let known = values.iter().find(|(name, _)| {
            after
                .strip_prefix(name)
                .is_some_and(|tail| tail.starts_with('}'))
        });
        match known {
            Some((name, value)) => {
                out.push_str(&encode(value));
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes a value for HTML text and quoted attributes (`& < > " '`), with the html-escape
/// crate that Leptos itself uses.
fn escape_html(input: &str) -> String {
    html_escape::encode_quoted_attribute(input).into_owned()
}

/// Control characters become spaces: a header value stays one line whatever the template says.
fn single_line(input: &str) -> String {
    input
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn settings() -> MailSettings {
        MailSettings {
            from: "Magic Link Auth <magic_link_auth@example.com>".to_owned(),
            subject: "Your code: {code}\r\nBcc: x@example.com".to_owned(),
            html: None,
            templates: Templates::default(),
            app_name: "Magic Link Auth".to_owned(),
            notice_subject: DEFAULT_NOTICE_SUBJECT.to_owned(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn sample_with(settings: &MailSettings, user_agent: Option<&str>, link: &str) -> Mail {
        compose(
            settings,
            &SignIn {
                to: &Email::parse("alice@example.com").unwrap(),
                link,
                code: &Code::parse("042042").unwrap(),
                expires_at: now() + chrono::Duration::minutes(30),
                now: now(),
                user_agent,
            },
        )
    }

    const FIREFOX: &str =
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0";
    const LINK: &str = "https://app.example.com/magic-link-auth?token=abc&redir=%2F'x";

    fn sample() -> Mail {
        sample_with(&settings(), Some(FIREFOX), LINK)
    }

    #[test]
    fn both_parts_carry_the_link_the_code_the_expiry_and_the_device() {
        let mail = sample();
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("042042"), "{part}");
            assert!(part.contains("2026-11-25 12:30 UTC (30 minutes"), "{part}");
            assert!(part.contains("Firefox on macOS"), "{part}");
            assert!(part.contains("2026-11-25 12:00 UTC"), "{part}");
            assert!(part.contains("Sign in to Magic Link Auth"), "{part}");
            assert!(part.contains("You can ignore this email"), "{part}");
        }
        assert!(mail.text.lines().any(|line| line == LINK), "{}", mail.text);
        assert!(mail.text.contains("code on the sign-in page: 042042"));
        // In the HTML the link is escaped, as a button and as text.
        let escaped = "https://app.example.com/magic-link-auth?token=abc&amp;redir=%2F&#x27;x";
        assert_eq!(mail.html.matches(escaped).count(), 3, "{}", mail.html);
        assert!(!mail.html.contains(LINK));
    }

    #[test]
    fn every_value_is_escaped_in_the_html_and_one_line_in_the_text() {
        let mut settings = settings();
        settings.app_name = "<b>Acme</b> & \"Co\"".to_owned();
        let mail = sample_with(
            &settings,
            Some("<script>alert(1)</script>\r\nBcc: x@example.com"),
            "https://app.example.com/l?token=<t>&x=\"y\"",
        );
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(!mail.html.contains("<b>Acme"), "{}", mail.html);
        assert!(
            mail.html
                .contains("&lt;b&gt;Acme&lt;/b&gt; &amp; &quot;Co&quot;"),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("token=<t>"));
        assert!(!mail.text.contains("\r\nBcc"), "{}", mail.text);
        assert!(!mail.subject.contains('\n') && !mail.subject.contains('\r'));
        assert_eq!(mail.subject, "Your code: 042042  Bcc: x@example.com");
    }

    #[test]
    fn templates_can_be_replaced_and_values_are_never_read_as_placeholders() {
        let mut settings = settings();
        settings.templates = Templates {
            sign_in_text: "{app_name}: {code} for {email} via {magic_link} {unknown} {".to_owned(),
            sign_in_html: "<p>{device}</p>".to_owned(),
            ..Templates::default()
        };
        settings.app_name = "{code}".to_owned();
        let mail = sample_with(&settings, None, "https://a.example/l?t=1");
        assert_eq!(
            mail.text,
            "{code}: 042042 for alice@example.com via https://a.example/l?t=1 {unknown} {"
        );
        assert_eq!(mail.html, "<p>an unknown browser</p>");
    }

    #[test]
    fn the_original_html_variable_still_writes_the_html_part() {
        let mut settings = settings();
        settings.html = Some("Click: <a href='{magic_link}'>{magic_link}</a>".to_owned());
        let mail = sample();
        let legacy = sample_with(&settings, Some(FIREFOX), LINK);
        assert_ne!(mail.html, legacy.html);
        assert!(legacy.html.contains("Click: <a href='https://app.example.com/magic-link-auth?token=abc&amp;redir=%2F&#x27;x'>"), "{}", legacy.html);
        assert!(legacy.html.contains("<strong>042042</strong>"));
        assert!(legacy.html.contains("never share the code"));
        assert_eq!(legacy.text, mail.text);
    }

    #[test]
    fn a_template_folder_replaces_only_the_files_it_has() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sign-in.txt"), "custom {code}").unwrap();
        let templates = Templates::from_dir(dir.path()).unwrap();
        assert_eq!(templates.sign_in_text, "custom {code}");
        assert_eq!(templates.sign_in_html, SIGN_IN_HTML);
        assert!(Templates::from_dir(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn the_built_in_templates_name_only_known_placeholders() {
        let sets: [(&str, &[&str]); 6] = [
            (SIGN_IN_TEXT, &PLACEHOLDERS),
            (SIGN_IN_HTML, &PLACEHOLDERS),
            (NEW_SIGN_IN_TEXT, &NOTICE_PLACEHOLDERS),
            (NEW_SIGN_IN_HTML, &NOTICE_PLACEHOLDERS),
            (ACCOUNT_DELETED_TEXT, &DELETED_PLACEHOLDERS),
            (ACCOUNT_DELETED_HTML, &DELETED_PLACEHOLDERS),
        ];
        for (template, known) in sets {
            let mut named = 0;
            for piece in template.split('{').skip(1) {
                let name = piece.split('}').next().unwrap();
                // CSS in the HTML has braces too: only identifier-like names are placeholders.
                if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !name.is_empty() {
                    assert!(known.contains(&name), "unknown placeholder {{{name}}}");
                    named += 1;
                }
            }
            assert!(named >= 3, "{template}");
        }
    }

    #[test]
    fn the_account_deleted_message_names_the_address_and_the_time_escaped() {
        let mut settings = settings();
        settings.app_name = "<Acme>".to_owned();
        let mail = compose_account_deleted(
            &settings,
            &Email::parse("o'brien@example.com").unwrap(),
            now(),
        );
        assert_eq!(mail.subject, "Your <Acme> account is deleted");
        assert_eq!(mail.code, None);
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("2026-11-25 12:00 UTC"), "{part}");
            assert!(part.contains("sign in again"), "{part}");
        }
        assert!(mail.text.contains("o'brien@example.com"));
        assert!(
            mail.html.contains("o&#x27;brien@example.com"),
            "{}",
            mail.html
        );
        assert!(mail.html.contains("&lt;Acme&gt;") && !mail.html.contains("<Acme>"));
    }

    #[test]
    fn the_notice_names_the_device_the_network_and_the_time_escaped() {
        let mut settings = settings();
        settings.app_name = "<Acme>".to_owned();
        let mail = compose_notice(
            &settings,
            &NewSignIn {
                to: &Email::parse("alice@example.com").unwrap(),
                device: "Firefox on <macOS>",
                network: "203.0.113.0/24",
                at: now(),
                sign_out_link: "https://app.example.com/sign-out-everywhere?token=a&b",
            },
        );
        assert_eq!(mail.subject, "New sign-in to <Acme>");
        assert_eq!(mail.code, None);
        assert_eq!(
            mail.link,
            "https://app.example.com/sign-out-everywhere?token=a&b"
        );
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("203.0.113.0/24"), "{part}");
            assert!(part.contains("2026-11-25 12:00 UTC"), "{part}");
            assert!(part.contains("alice@example.com"), "{part}");
            assert!(part.contains("Wasn't you?"), "{part}");
        }
        assert!(mail.text.contains("Firefox on <macOS>"));
        assert!(
            mail.text
                .lines()
                .any(|l| l == "https://app.example.com/sign-out-everywhere?token=a&b")
        );
        assert!(
            mail.html.contains("Firefox on &lt;macOS&gt;"),
            "{}",
            mail.html
        );
        assert!(mail.html.contains("&lt;Acme&gt;"));
        assert!(!mail.html.contains("<Acme>") && !mail.html.contains("<macOS>"));
        assert_eq!(
            mail.html
                .matches("sign-out-everywhere?token=a&amp;b")
                .count(),
            3,
            "the button, and the link as a link and as text"
        );
    }
}
