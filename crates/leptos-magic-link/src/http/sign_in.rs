//! Asking for a link, signing in with it or with the code, and looking a link up.

use crate::replies::ADDRESS_RATE_LIMITED;
use axum::http::StatusCode;
use leptos_axum::redirect;

use super::{
    RATE_LIMITED, busy, client, device, fail, home_with_error, parts, paths, redeem_refused,
    service, start_session, target, unavailable,
};
use crate::{
    captcha::CaptchaError,
    cookies::{pending_cookie, read_cookie, set_cookie},
    domain::{LinkToken, RedirectTarget, encode_query_value as enc},
    replies::{AuthError, LinkPreview, LinkRequested, SignedIn},
    secrets::{constant_time_eq, token_hash},
    service::{AuthService, RequestLinkError, SignInError},
    store::{IssueError, Limit, NewSession},
};

pub async fn request_link(
    email: String,
    redir: Option<String>,
    captcha: Option<String>,
) -> Result<LinkRequested, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let client = client(&service, &parts);
    let redir = target(redir.as_deref());
    let back = |error: &str| {
        format!(
            "{}?error={error}&email={}&redir={}",
            paths().login,
            enc(&email),
            enc(redir.as_str())
        )
    };
    let pending = read_cookie(&parts, pending_cookie(&service));
    match service
        .request_link(
            &email,
            &redir,
            &client,
            &device(&parts, &client),
            captcha.as_deref(),
            pending.as_deref(),
        )
        .await
    {
        Ok(sent) => {
            let lifetime = service.config().credential_lifetime.as_secs();
            set_cookie(&service, pending_cookie(&service), &sent.pending, lifetime);
            redirect(&format!(
                "{}?email={}&redir={}",
                paths().check_email,
                enc(sent.email.as_str()),
                enc(redir.as_str())
            ));
            Ok(LinkRequested {
                message: "Check your email for a magic link!".to_owned(),
            })
        }
        Err(RequestLinkError::InvalidEmail(err)) => Err(fail(
            &parts,
            StatusCode::BAD_REQUEST,
            &err.to_string(),
            back,
        )),
        Err(RequestLinkError::Issue(IssueError::RateLimited(limit))) => {
            tracing::info!(?limit, "link request refused by the rate limit");
            crate::metrics::refused(crate::metrics::Refusal::RateLimit);
            let message = match limit {
                Limit::Client => RATE_LIMITED,
                Limit::Email => ADDRESS_RATE_LIMITED,
            };
            Err(fail(&parts, StatusCode::TOO_MANY_REQUESTS, message, back))
        }
        Err(RequestLinkError::Issue(IssueError::Busy)) => {
            tracing::warn!("link request refused: the server is busy");
            Err(busy(&parts, back))
        }
        Err(RequestLinkError::Issue(IssueError::Store(err))) => {
            Err(unavailable(&parts, &err, "issue a credential", back).await)
        }
        Err(RequestLinkError::Captcha(err @ CaptchaError::Refused)) => {
            tracing::info!("link request refused by the CAPTCHA check");
            crate::metrics::refused(crate::metrics::Refusal::Captcha);
            Err(fail(
                &parts,
                StatusCode::BAD_REQUEST,
                &err.to_string(),
                back,
            ))
        }
        Err(RequestLinkError::Captcha(err @ CaptchaError::Unavailable(_))) => {
            Err(unavailable(&parts, &err, "check the CAPTCHA", back).await)
        }
    }
}

pub async fn redeem(token: String, redir: Option<String>) -> Result<SignedIn, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let redir = target(redir.as_deref());
    let back = |error: &str| format!("{}?error={error}", paths().link);
    let client = client(&service, &parts);
    let outcome = service
        .sign_in_with_link(&token, &client, &device(&parts, &client))
        .await;
    finish_sign_in(&service, &parts, outcome, &redir, back).await
}

pub async fn verify_code(
    email: String,
    code: String,
    redir: Option<String>,
) -> Result<SignedIn, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let redir = target(redir.as_deref());
    let back = |error: &str| {
        format!(
            "{}?error={error}&email={}&redir={}",
            paths().check_email,
            enc(&email),
            enc(redir.as_str())
        )
    };
    let client = client(&service, &parts);
    let pending = read_cookie(&parts, pending_cookie(&service));
    let outcome = service
        .sign_in_with_code(
            &email,
            &code,
            pending.as_deref(),
            &client,
            &device(&parts, &client),
        )
        .await;
    finish_sign_in(&service, &parts, outcome, &redir, back).await
}

/// On success the session cookie, the pending one cleared, and the redirect; else the
/// status and message for the refusal.
async fn finish_sign_in(
    service: &AuthService,
    parts: &axum::http::request::Parts,
    outcome: Result<NewSession, SignInError>,
    redir: &RedirectTarget,
    back: impl Fn(&str) -> String,
) -> Result<SignedIn, AuthError> {
    match outcome {
        Ok(new_session) => {
            start_session(service, &new_session);
            redirect(redir.as_str());
            Ok(SignedIn {
                redirect_to: redir.as_str().to_owned(),
                session: super::session_info(&new_session.session),
            })
        }
        // Logged by the service, with the client.
        Err(SignInError::TooManyFailures) => {
            crate::metrics::refused(crate::metrics::Refusal::RateLimit);
            Err(fail(
                parts,
                StatusCode::TOO_MANY_REQUESTS,
                RATE_LIMITED,
                back,
            ))
        }
        Err(SignInError::Malformed(message)) => {
            Err(fail(parts, StatusCode::BAD_REQUEST, &message, back))
        }
        Err(SignInError::Redeem(err)) => Err(redeem_refused(parts, err, back).await),
    }
}

pub async fn preview_link(token: String) -> Result<LinkPreview, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let Ok(token) = LinkToken::parse(&token) else {
        return Ok(LinkPreview {
            email: None,
            same_browser: false,
        });
    };
    let email = match service
        .store()
        .peek_link(&token, service.clock().now())
        .await
    {
        Ok(email) => email,
        Err(err) => return Err(unavailable(&parts, &err, "look up a link", home_with_error).await),
    };
    let same_browser = email.is_some()
        && read_cookie(&parts, pending_cookie(&service)).is_some_and(|pending| {
            constant_time_eq(pending.as_bytes(), token_hash(token.expose()).as_bytes())
        });
    Ok(LinkPreview {
        email,
        same_browser,
    })
}
