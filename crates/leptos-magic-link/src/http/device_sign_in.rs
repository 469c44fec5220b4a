//! Signing in a second device from a signed-in one. The new device starts a request and
//! shows its code (a URL and a QR code) and a number; a signed-in device approves by picking
//! that number; the new device's next poll signs it in. The new device holds its request in
//! a short-lived cookie: its secret, which picks up the session, and the code it shows.

use axum::http::{StatusCode, request::Parts};
use leptos_axum::redirect;

use super::{
    RATE_LIMITED, busy, client, device, fail, parts, paths, service,
    sessions::{require_fresh_or, session_or_refuse},
    start_session, target, unavailable,
};
use crate::{
    cookies::{device_request_cookie, read_cookie, set_cookie},
    domain::encode_query_value as enc,
    replies::{
        AuthError, DeviceApproval, DeviceSignIn, DeviceSignInState, Outcome, SIGN_IN_REQUIRED,
    },
    service::AuthService,
    store::{ApproveError, DEVICE_REQUEST_FOR, IssueError, PollOutcome, normalize_code},
};

/// The new device's page, with `query` after its path.
fn device_page(query: &str) -> String {
    format!("{}?{query}", paths().device_sign_in)
}

/// The approving device's page, with `query` after its path.
fn approve_page(query: &str) -> String {
    format!("{}?{query}", paths().approve_device)
}

/// The URL the approving device opens for approval code `code`.
fn approval_url(service: &AuthService, code: &str) -> String {
    format!(
        "{}{}?code={code}",
        service.config().public_url,
        paths().approve_device
    )
}

/// The QR code of `url`, as an SVG element: drawn on the server, so it shows without
/// JavaScript. Black modules on white, with the quiet zone the standard asks for.
fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(192, 192)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    // The element alone: an XML declaration has no place inside an HTML page.
    svg.find("<svg").map(|start| svg[start..].to_owned())
}

/// The request this browser holds: its secret and its code, from the cookie.
fn held_request(service: &AuthService, parts: &Parts) -> Option<(String, String)> {
    let value = read_cookie(parts, device_request_cookie(service))?;
    let (poll, code) = value.split_once('.')?;
    Some((poll.to_owned(), normalize_code(code)?))
}

/// What the new device's page shows for a live request.
fn waiting(service: &AuthService, code: &str, number: u8) -> DeviceSignIn {
    let url = approval_url(service, code);
    DeviceSignIn {
        state: DeviceSignInState::Waiting,
        qr_svg: qr_svg(&url),
        url: Some(url),
        code: Some(code.to_owned()),
        number: Some(number),
        redirect_to: None,
    }
}

fn without_request(state: DeviceSignInState) -> DeviceSignIn {
    DeviceSignIn {
        state,
        url: None,
        code: None,
        number: None,
        qr_svg: None,
        redirect_to: None,
    }
}

pub async fn start() -> Result<DeviceSignIn, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let client = client(&service, &parts);
    let back = |error: &str| device_page(&format!("error={error}"));
    match service
        .start_device_request(&client, &device(&parts, &client))
        .await
    {
        Ok(started) => {
            set_cookie(
                &service,
                device_request_cookie(&service),
                &format!("{}.{}", started.poll, started.code),
                DEVICE_REQUEST_FOR.as_secs(),
            );
            redirect(&paths().device_sign_in);
            Ok(waiting(&service, &started.code, started.number))
        }
        Err(IssueError::RateLimited(limit)) => {
            tracing::info!(?limit, "device sign-in refused by the rate limit");
            crate::metrics::refused(crate::metrics::Refusal::RateLimit);
            Err(fail(
                &parts,
                StatusCode::TOO_MANY_REQUESTS,
                RATE_LIMITED,
                back,
            ))
        }
        Err(IssueError::Busy) => Err(busy(&parts, back)),
        Err(IssueError::Store(err)) => {
            Err(unavailable(&parts, &err, "start a device sign-in", back).await)
        }
    }
}

/// The new device's request as its page shows it; reads only.
pub async fn view() -> Result<DeviceSignIn, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let Some((poll, code)) = held_request(&service, &parts) else {
        return Ok(without_request(DeviceSignInState::None));
    };
    match service.device_request_number(&poll).await {
        Ok(Some(number)) => Ok(waiting(&service, &code, number)),
        Ok(None) => Ok(without_request(DeviceSignInState::Ended)),
        Err(err) => Err(unavailable(&parts, &err, "read a device sign-in", |error| {
            device_page(&format!("error={error}"))
        })
        .await),
    }
}

/// The new device's poll: waiting, signed in (the session cookie is set), or ended.
pub async fn poll() -> Result<DeviceSignIn, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let Some((poll, code)) = held_request(&service, &parts) else {
        redirect(&paths().device_sign_in);
        return Ok(without_request(DeviceSignInState::None));
    };
    let client = client(&service, &parts);
    let device = device(&parts, &client);
    match service.poll_device_request(&poll, &client, &device).await {
        Ok(PollOutcome::Waiting { number }) => {
            redirect(&paths().device_sign_in);
            Ok(waiting(&service, &code, number))
        }
        Ok(PollOutcome::SignedIn(new_session)) => {
            start_session(&service, &new_session);
            set_cookie(&service, device_request_cookie(&service), "", 0);
            let to = target(None);
            redirect(to.as_str());
            Ok(DeviceSignIn {
                redirect_to: Some(to.as_str().to_owned()),
                ..without_request(DeviceSignInState::SignedIn)
            })
        }
        // The cookie stays until it expires, so the page can say the request ended.
        Ok(PollOutcome::Ended) => {
            redirect(&paths().device_sign_in);
            Ok(without_request(DeviceSignInState::Ended))
        }
        Err(err) => Err(unavailable(&parts, &err, "poll a device sign-in", |error| {
            device_page(&format!("error={error}"))
        })
        .await),
    }
}

/// The request behind `code`, for the signed-in device that is to approve it; reads only.
pub async fn approval(code: String) -> Result<Option<DeviceApproval>, AuthError> {
    let (service, parts) = (service()?, parts()?);
    session_or_refuse(&service, &parts, SIGN_IN_REQUIRED).await?;
    match service.device_request(&code).await {
        Ok(request) => Ok(request.map(|request| DeviceApproval {
            device: request.device,
            network: request.network,
            at: request.at,
            choices: request.choices.to_vec(),
        })),
        Err(err) => Err(unavailable(&parts, &err, "read a device sign-in", |error| {
            approve_page(&format!("error={error}"))
        })
        .await),
    }
}

pub async fn approve(code: String, number: String) -> Result<(), AuthError> {
    let (service, parts) = (service()?, parts()?);
    let back = |error: &str| approve_page(&format!("error={error}&code={}", enc(&code)));
    let session = session_or_refuse(&service, &parts, SIGN_IN_REQUIRED).await?;
    require_fresh_or(&service, &parts, &session, back)?;
    let Ok(number) = number.trim().parse::<u8>() else {
        return Err(fail(
            &parts,
            StatusCode::BAD_REQUEST,
            crate::replies::PICK_A_NUMBER,
            back,
        ));
    };
    match service
        .approve_device_request(&session, &code, number)
        .await
    {
        Ok(()) => {
            super::outcome::set(&service, &parts, Outcome::DeviceApproved);
            redirect(&paths().approve_device);
            Ok(())
        }
        Err(ApproveError::Store(err)) => {
            Err(unavailable(&parts, &err, "approve a device sign-in", back).await)
        }
        Err(err @ ApproveError::SignedOut) => Err(fail(
            &parts,
            StatusCode::UNAUTHORIZED,
            &err.to_string(),
            super::home_with_error,
        )),
        Err(err) => Err(fail(
            &parts,
            StatusCode::BAD_REQUEST,
            &err.to_string(),
            back,
        )),
    }
}
