//! A CAPTCHA check before a link is issued. Server only.
//!
//! [`CaptchaVerifier`] is the hook: [`NoCaptcha`] (the default) lets every request through,
//! and [`SiteVerify`] speaks the siteverify protocol that Cloudflare Turnstile, hCaptcha and
//! reCAPTCHA share: a form POST of `secret`, `response` and `remoteip`, answered with JSON
//! `{"success": true|false, ...}`. The check runs before anything is written, so a request
//! that fails it uses up no rate limit.

use std::{future::Future, net::IpAddr, pin::Pin, time::Duration};

use secrecy::{ExposeSecret, SecretString};

pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), CaptchaError>> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    /// The request carried no token, or the provider refused it: the person can try again.
    #[error("Please complete the CAPTCHA check and try again.")]
    Refused,
    /// The provider could not be asked.
    #[error("the CAPTCHA provider could not be reached: {0}")]
    Unavailable(String),
}

/// Decides whether a link request came from a person.
pub trait CaptchaVerifier: Send + Sync {
    /// Checks `response`, the token the page's CAPTCHA widget produced, for `client_ip`.
    fn verify<'a>(&'a self, response: Option<&'a str>, client_ip: IpAddr) -> VerifyFuture<'a>;
}

/// No CAPTCHA: every request passes.
pub struct NoCaptcha;

impl CaptchaVerifier for NoCaptcha {
    fn verify<'a>(&'a self, _response: Option<&'a str>, _client_ip: IpAddr) -> VerifyFuture<'a> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A siteverify endpoint (Turnstile, hCaptcha, reCAPTCHA) at `url`, with the site's `secret`.
pub struct SiteVerify {
    client: reqwest::Client,
    url: String,
    secret: SecretString,
}

impl SiteVerify {
    pub fn new(url: &str, secret: SecretString, timeout: Duration) -> Result<Self, CaptchaError> {
        super::mail::mailgun::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|err| CaptchaError::Unavailable(err.to_string()))?;
        Ok(Self {
            client,
            url: url.to_owned(),
            secret,
        })
    }
}

#[derive(serde::Deserialize)]
struct Verdict {
    success: bool,
}

impl CaptchaVerifier for SiteVerify {
    fn verify<'a>(&'a self, response: Option<&'a str>, client_ip: IpAddr) -> VerifyFuture<'a> {
        Box::pin(async move {
            let Some(response) = response.filter(|r| !r.is_empty()) else {
                return Err(CaptchaError::Refused);
            };
            let ip = client_ip.to_string();
            let form = [
                ("secret", self.secret.expose_secret()),
                ("response", response),
                ("remoteip", ip.as_str()),
            ];
            let reply = self
                .client
                .post(&self.url)
                .form(&form)
                .send()
                .await
                .map_err(|err| CaptchaError::Unavailable(err.to_string()))?;
            if !reply.status().is_success() {
                return Err(CaptchaError::Unavailable(format!(
                    "siteverify answered {}",
                    reply.status()
                )));
            }
            let body = reply
                .bytes()
                .await
                .map_err(|err| CaptchaError::Unavailable(err.to_string()))?;
            let verdict: Verdict = serde_json::from_slice(&body)
                .map_err(|err| CaptchaError::Unavailable(format!("unreadable verdict: {err}")))?;
            if verdict.success {
                Ok(())
            } else {
                Err(CaptchaError::Refused)
            }
        })
    }
}
