//! Delivery to an SMTP server, through lettre: STARTTLS, implicit TLS, or plain for a local
//! relay. The message is the one the file provider writes (`file::message`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};

use super::{
    Mail, MailError, Mailer, SendFuture,
    file::{message, unique_id},
};

/// How the connection to the SMTP server is secured (`MAGIC_LINK_SMTP_TLS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No encryption: only for a relay on the same host or private network (port 25).
    None,
}

/// An SMTP server to hand mail to (`MAGIC_LINK_MAIL_PROVIDER=smtp`).
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, SecretString)>,
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    /// A mailer for the server in `settings`, whose sends fail once `timeout` passes.
    pub fn new(settings: &SmtpSettings, timeout: Duration) -> Result<Self, MailError> {
        super::mailgun::install_crypto_provider();
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls | SmtpTls::Implicit => {
                let parameters = TlsParameters::new(settings.host.clone())
                    .map_err(|err| MailError::Unreachable(format!("TLS setup: {err}")))?;
                if settings.tls == SmtpTls::StartTls {
                    Tls::Required(parameters)
                } else {
                    Tls::Wrapper(parameters)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(timeout));
        if let Some((username, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(
                username.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
        })
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        Box::pin(async move {
            let message = message(mail, &unique_id()?)?;
            match self.transport.send(message).await {
                Ok(_) => {
                    tracing::info!(to = %mail.to.masked(), "magic-link email accepted by the SMTP server");
                    Ok(())
                }
                // A reply code means the server answered and refused; anything else means it
                // could not be reached or the conversation broke off.
                Err(err) => match err.status() {
                    // 4xx is SMTP's "try again later"; 5xx refuses for good.
                    Some(code) if err.is_transient() => Err(MailError::Deferred {
                        status: code.to_string().parse().unwrap_or_default(),
                        body: err.to_string(),
                    }),
                    Some(code) => Err(MailError::Rejected {
                        status: code.to_string().parse().unwrap_or_default(),
                        body: err.to_string(),
                    }),
                    // A timeout may fall after the message was handed over.
                    None if err.is_timeout() => Err(MailError::Unconfirmed(err.to_string())),
                    None => Err(MailError::Unreachable(err.to_string())),
                },
            }
        })
    }
}
