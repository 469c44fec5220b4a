//! Delivery into a folder: each message becomes one RFC 5322 `.eml` file, multipart with a
//! text and an HTML part. Handy for tests, demos, and opening in a mail client.

use std::path::{Path, PathBuf};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use rand::{TryRng, rngs::SysRng};

use super::{Mail, MailError, Mailer, SendFuture};

#[derive(Clone, Debug)]
pub struct FileMailer {
    outbox: PathBuf,
}

impl FileMailer {
    pub fn new(outbox: impl Into<PathBuf>) -> Self {
        Self {
            outbox: outbox.into(),
        }
    }

    pub fn outbox(&self) -> &Path {
        &self.outbox
    }
}

impl Mailer for FileMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        Box::pin(async move {
            let id = unique_id()?;
            let message = render_eml(mail, &id);
            tokio::fs::create_dir_all(&self.outbox).await?;
            // Written under a temporary name, then renamed: a reader never sees half a message.
            let name = format!("{}-{id}", Utc::now().format("%Y%m%dT%H%M%S%.6fZ"));
            let partial = self.outbox.join(format!(".{name}.partial"));
            let done = self.outbox.join(format!("{name}.eml"));
            tokio::fs::write(&partial, message).await?;
            tokio::fs::rename(&partial, &done).await?;
            tracing::info!(to = %mail.to.masked(), path = %done.display(), "magic-link email written");
            Ok(())
        })
    }
}

pub(super) fn unique_id() -> Result<String, MailError> {
    let mut bytes = [0u8; 12];
    SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|err| MailError::Io(std::io::Error::other(err.to_string())))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The message as RFC 5322 text with CRLF line ends. Header values come from [`Mail`], whose
/// fields hold no line breaks; a subject that is not ASCII is RFC 2047 encoded.
pub fn render_eml(mail: &Mail, id: &str) -> String {
    let boundary = format!("=_magic_link_{id}");
    let domain = mail
        .from
        .rsplit_once('@')
        .map_or("localhost", |(_, rest)| rest.trim_end_matches('>'));
    let subject = if mail.subject.is_ascii() {
        mail.subject.clone()
    } else {
        format!("=?utf-8?B?{}?=", STANDARD.encode(mail.subject.as_bytes()))
    };
    let lines = [
        format!("From: {}", mail.from),
        format!("To: {}", mail.to),
        format!("Subject: {subject}"),
        format!("Date: {}", Utc::now().to_rfc2822()),
        format!("Message-ID: <{id}@{domain}>"),
        "MIME-Version: 1.0".to_owned(),
        format!("Content-Type: multipart/alternative; boundary=\"{boundary}\""),
        String::new(),
        format!("--{boundary}"),
        "Content-Type: text/plain; charset=utf-8".to_owned(),
        "Content-Transfer-Encoding: base64".to_owned(),
        String::new(),
        wrap_base64(&mail.text),
        format!("--{boundary}"),
        "Content-Type: text/html; charset=utf-8".to_owned(),
        "Content-Transfer-Encoding: base64".to_owned(),
        String::new(),
        wrap_base64(&mail.html),
        format!("--{boundary}--"),
        String::new(),
    ];
    lines.join("\r\n")
}

/// Base64 in 76-character lines, as MIME asks: safe for any content and any line length.
fn wrap_base64(body: &str) -> String {
    let encoded = STANDARD.encode(body.as_bytes());
    encoded
        .as_bytes()
        .chunks(76)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}
