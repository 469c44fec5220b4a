//! Sending the magic-link email. Server only.
//!
//! [`compose`] turns an issued credential into a [`Mail`] with a text and an HTML part, from
//! the templates in [`MailSettings`]. A [`Mailer`] delivers it: [`console::ConsoleMailer`]
//! logs it (development), [`file::FileMailer`] writes an `.eml` file (tests and demos), and
//! [`mailgun::MailgunMailer`] posts it to Mailgun's HTTP API and [`smtp::SmtpMailer`] hands it
//! to an SMTP server (production). [`queue::MailQueue`] sends it off the request path.

pub mod console;
pub mod file;
pub mod mailgun;
pub mod queue;
pub mod recording;
pub mod smtp;

use std::{future::Future, pin::Pin};

use chrono::{DateTime, Utc};

use super::domain::{Code, Email};

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
    /// which read it here rather than from the text).
    pub link: String,
    /// The code the message carries.
    pub code: Code,
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

/// The templates, from the original's variables. `{magic_link}` and `{code}` are replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailSettings {
    pub from: String,
    pub subject: String,
    pub html: String,
}

pub const DEFAULT_SUBJECT: &str = "Magic Login Link";
pub const DEFAULT_HTML: &str = "Click this link to log in: <a href='{magic_link}'>{magic_link}</a>";

/// What every message says after the template: how else to sign in, when it stops working,
/// and what to do if it was not expected.
const WARNING: &str = "If you didn't ask for this, ignore this email; never share the code.";

/// Builds the message for one issued credential.
pub fn compose(
    settings: &MailSettings,
    to: &Email,
    link: &str,
    code: &Code,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Mail {
    let minutes = (expires_at - now).num_minutes().max(1);
    let expiry = format!(
        "{} UTC (in {minutes} minute{})",
        expires_at.format("%Y-%m-%d %H:%M"),
        if minutes == 1 { "" } else { "s" }
    );
    let credential = code.clone();
    let code = code.expose();
    let fill = |template: &str, link: &str| {
        template
            .replace("{magic_link}", link)
            .replace("{code}", code)
    };

    let html = format!(
        "<!DOCTYPE html>\n<html><body>\n<p>{body}</p>\n\
         <p>Or enter this code on the sign-in page: <strong>{code}</strong></p>\n\
         <p>The link and the code expire at {expiry}.</p>\n<p>{warning}</p>\n</body></html>\n",
        body = fill(&settings.html, &escape_html(link)),
        warning = escape_html(WARNING),
    );
    let text = format!(
        "Open this link to sign in:\n{link}\n\nOr enter this code on the sign-in page: {code}\n\n\
         The link and the code expire at {expiry}.\n\n{WARNING}\n"
    );
    Mail {
        from: settings.from.clone(),
        to: to.clone(),
        subject: single_line(&fill(&settings.subject, link)),
        text,
        html,
        link: link.to_owned(),
        code: credential,
    }
}

fn escape_html(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
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

    fn sample() -> Mail {
        let settings = MailSettings {
            from: "Magic Link Auth <magic_link_auth@example.com>".to_owned(),
            subject: "Your code: {code}\r\nBcc: x@example.com".to_owned(),
            html: DEFAULT_HTML.to_owned(),
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        compose(
            &settings,
            &Email::parse("alice@example.com").unwrap(),
            "https://app.example.com/magic-link-auth?token=abc&redir=%2F'x",
            &Code::parse("042042").unwrap(),
            now + chrono::Duration::minutes(30),
            now,
        )
    }

    #[test]
    fn both_parts_carry_the_link_the_code_the_expiry_and_the_warning() {
        let mail = sample();
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("042042"), "{part}");
            assert!(
                part.contains("2026-11-25 12:30 UTC (in 30 minutes)"),
                "{part}"
            );
            assert!(part.contains("never share the code"), "{part}");
        }
        assert!(
            mail.text
                .contains("https://app.example.com/magic-link-auth?token=abc&redir=%2F'x")
        );
        assert!(mail.html.contains(
            "<a href='https://app.example.com/magic-link-auth?token=abc&amp;redir=%2F&#39;x'>"
        ));
    }

    #[test]
    fn the_subject_stays_on_one_line() {
        assert_eq!(sample().subject, "Your code: 042042  Bcc: x@example.com");
    }
}
