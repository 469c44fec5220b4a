//! Development delivery: the message goes to the log, so the link is one click from the terminal.

use super::{Mail, Mailer, SendFuture};

#[derive(Clone, Copy, Debug, Default)]
pub struct ConsoleMailer;

impl Mailer for ConsoleMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        Box::pin(async move {
            tracing::info!(
                to = %mail.to,
                subject = %mail.subject,
                "magic-link email (console delivery; set MAGIC_LINK_MAIL_PROVIDER to send it for real):\n{}",
                mail.text
            );
            Ok(())
        })
    }
}
