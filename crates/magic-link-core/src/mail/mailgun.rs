//! Production delivery through Mailgun's HTTP API, as the original does it: a form-encoded
//! POST to `{api_url}/v3/{domain}/messages` with basic auth `api:{key}`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::{Mail, MailError, Mailer, SendFuture};

/// Makes rustls' ring provider the process default, for every HTTPS client in the process.
///
/// reqwest is built without a bundled crypto provider: ring is the one already compiled in
/// for the database driver. A second call is a no-op.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[derive(Clone)]
pub struct MailgunMailer {
    client: reqwest::Client,
    endpoint: String,
    api_key: SecretString,
}

impl MailgunMailer {
    /// A mailer whose sends fail once `timeout` passes, connecting included.
    pub fn new(
        api_url: &str,
        domain: &str,
        api_key: SecretString,
        timeout: Duration,
    ) -> Result<Self, MailError> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|err| MailError::Unreachable(err.to_string()))?;
        Ok(Self {
            client,
            endpoint: format!("{}/v3/{domain}/messages", api_url.trim_end_matches('/')),
            api_key,
        })
    }
}

impl Mailer for MailgunMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        Box::pin(async move {
            let form = [
                ("from", mail.from.as_str()),
                ("to", mail.to.as_str()),
                ("subject", mail.subject.as_str()),
                ("html", mail.html.as_str()),
                ("text", mail.text.as_str()),
            ];
            let response = self
                .client
                .post(&self.endpoint)
                .basic_auth("api", Some(self.api_key.expose_secret()))
                .form(&form)
                .send()
                .await
                .map_err(|err| {
                    // A connection never made sent nothing; anything later may have.
                    if err.is_connect() {
                        MailError::Unreachable(describe(&err))
                    } else {
                        MailError::Unconfirmed(describe(&err))
                    }
                })?;
            let status = response.status();
            if status.is_success() {
                tracing::info!(to = %mail.to.masked(), "magic-link email accepted by Mailgun");
                Ok(())
            } else {
                let mut body = response.text().await.unwrap_or_default();
                body.truncate(500);
                let status = status.as_u16();
                // Overloaded, failing, or asking for a pause: worth another try later.
                if status >= 500 || matches!(status, 408 | 429) {
                    Err(MailError::Deferred { status, body })
                } else {
                    Err(MailError::Rejected { status, body })
                }
            }
        })
    }
}

fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    format!("{kind}: {err}")
}
