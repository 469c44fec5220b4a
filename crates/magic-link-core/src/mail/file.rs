//! Delivery into a folder: each message becomes one RFC 5322 `.eml` file, multipart with a
//! text and an HTML part, built by lettre as the SMTP provider sends it. Handy for tests,
//! demos, and opening in a mail client.

use std::path::{Path, PathBuf};

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
            let message = render_eml(mail, &id)?;
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

/// The message as RFC 5322 text, as lettre builds it for SMTP too: multipart/alternative
/// with a text and an HTML part, each base64; header values encoded (RFC 2047) and folded
/// where the RFC asks. `id` makes its `Message-ID`.
pub fn render_eml(mail: &Mail, id: &str) -> Result<Vec<u8>, MailError> {
    Ok(message(mail, id)?.formatted())
}

/// The message as lettre's `Message`, for the folder and for SMTP alike.
pub(super) fn message(mail: &Mail, id: &str) -> Result<lettre::Message, MailError> {
    use lettre::message::{
        Mailbox, MultiPart, SinglePart,
        header::{ContentTransferEncoding, ContentType},
    };
    let from: Mailbox = mail.from.parse().map_err(|err| {
        MailError::Unsendable(format!("the sender {:?} is not usable: {err}", mail.from))
    })?;
    let to: Mailbox = mail
        .to
        .as_str()
        .parse()
        .map_err(|err| MailError::Unsendable(format!("the recipient is not usable: {err}")))?;
    let message_id = format!("<{id}@{}>", from.email.domain());
    // Base64 keeps any line length and any character safe in transit.
    let part = |kind: ContentType, body: &str| {
        SinglePart::builder()
            .header(kind)
            .header(ContentTransferEncoding::Base64)
            .body(body.to_owned())
    };
    lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.as_str())
        .message_id(Some(message_id))
        .multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, &mail.text))
                .singlepart(part(ContentType::TEXT_HTML, &mail.html)),
        )
        .map_err(|err| MailError::Unsendable(err.to_string()))
}
