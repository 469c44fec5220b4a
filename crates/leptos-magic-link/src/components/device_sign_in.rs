use std::time::Duration;

use leptos::{prelude::*, server_fn::ServerFn};

use super::{ConfirmPrompt, FormError, needs_confirmation, query_param, redirected_message};
use crate::{
    api::{
        ApproveDevice, PollDeviceSignIn, StartDeviceSignIn, poll_device_sign_in,
        preview_device_request, read_device_sign_in, take_outcome,
    },
    paths,
    replies::{DeviceSignInState, Outcome},
};

/// How often the new device asks whether its request was approved.
const POLL_EVERY: Duration = Duration::from_millis(1000);

/// The page that signs this device in from another one where the person is signed in
/// (`paths.device_sign_in`; the login form links to it). Its button starts a request; the
/// page then shows a QR code and a short URL for the other device, and a two-digit number to
/// pick there. It moves on by itself within about a second of the approval; without
/// JavaScript, its "Continue" button asks.
#[component]
pub fn DeviceSignInPage() -> impl IntoView {
    let error = redirected_message("error");
    let request = Resource::new_blocking(|| (), |()| read_device_sign_in());
    view! {
        <section class="card" aria-labelledby="device-title">
            <h1 id="device-title">"Sign in with another device"</h1>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let request = request.await;
                    let error = error();
                    match request {
                        Err(err) => view! { <p class="callout-error" role="alert">{err.error}</p> }.into_any(),
                        Ok(request) if request.state == DeviceSignInState::Waiting => {
                            let url = request.url.unwrap_or_default();
                            let number = request.number.map(|n| n.to_string()).unwrap_or_default();
                            view! {
                                <p>
                                    "On a phone or computer where you are signed in, scan this code or open the address below. Then pick the number shown here."
                                </p>
                                <div
                                    class="device-qr"
                                    role="img"
                                    aria-label="QR code of the address below"
                                    inner_html=request.qr_svg.unwrap_or_default()
                                ></div>
                                <p class="device-url">
                                    <code>{url}</code>
                                </p>
                                <p class="device-number-label">"Your number"</p>
                                <p class="device-number">{number}</p>
                                <WaitForApproval error />
                                <p class="hint">
                                    "The request works once, for 2 minutes. "
                                    <a href=paths::get().login.clone()>"Sign in with email instead"</a>
                                </p>
                            }
                            .into_any()
                        }
                        Ok(request) => {
                            let ended = request.state == DeviceSignInState::Ended;
                            view! {
                                <p>
                                    "Signed in on another device? Approve this one from there, without email: this page shows a code to scan and a number to pick."
                                </p>
                                <div aria-live="polite">
                                    {ended.then(|| view! {
                                        <p class="callout-error" role="alert">
                                            "That request has ended: it expired, or the wrong number was picked. Start a new one."
                                        </p>
                                    })}
                                    <FormError message=Signal::stored(error) />
                                </div>
                                <form method="post" action=StartDeviceSignIn::url()>
                                    <button type="submit" class="button">"Show a code to scan"</button>
                                </form>
                                <p class="hint">
                                    <a href=paths::get().login.clone()>"Sign in with email instead"</a>
                                </p>
                            }
                            .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// The waiting part of [`DeviceSignInPage`]: polls until the request is approved (then goes
/// where the sign-in lands) or ends (then shows the page again). `error` is the text of the
/// code a form without JavaScript came back with.
#[cfg_attr(all(feature = "islands", not(feature = "split")), island)]
#[cfg_attr(feature = "split", island(lazy))]
#[cfg_attr(not(feature = "islands"), component)]
fn WaitForApproval(error: String) -> impl IntoView {
    let go = super::navigator();
    Effect::new(move |_| {
        let go = go.clone();
        let poll = move || {
            let go = go.clone();
            leptos::task::spawn_local(async move {
                match poll_device_sign_in().await {
                    Ok(reply) if reply.state == DeviceSignInState::SignedIn => {
                        go(reply.redirect_to.as_deref().unwrap_or("/"));
                    }
                    Ok(reply) if reply.state != DeviceSignInState::Waiting => {
                        go(&paths::get().device_sign_in);
                    }
                    _ => {}
                }
            });
        };
        if let Ok(handle) = set_interval_with_handle(poll, POLL_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <div aria-live="polite">
            <p role="status">"Waiting for approval…"</p>
            <FormError message=Signal::stored(error) />
        </div>
        <form method="post" action=PollDeviceSignIn::url()>
            <button type="submit" class="button button-secondary">"Continue"</button>
        </form>
    }
}

/// The page the other device's QR code or URL opens (`paths.approve_device`), for a signed-in
/// visitor (place it inside [`RequireAuth`](super::RequireAuth)): names the device asking, and
/// offers three numbers; picking the one that device shows signs it in. A wrong pick ends the
/// request. Approving needs a fresh sign-in (a stale session is offered to confirm first).
#[component]
pub fn ApproveDevicePage() -> impl IntoView {
    super::keep_token_out_of_referrer();
    let code = query_param("code");
    let error_param = redirected_message("error");
    let outcome = Resource::new_blocking(|| (), |()| take_outcome());
    let request = Resource::new(code, |code| preview_device_request(Some(code)));
    let approve = ServerAction::<ApproveDevice>::new();
    let last_pick = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(input) = approve.input().get() {
            last_pick.set(input.number);
        }
    });
    let on_confirmed = move |()| {
        approve.dispatch(ApproveDevice {
            code: Some(code()),
            number: last_pick.get_untracked(),
        });
    };
    let stale = move || {
        needs_confirmation(approve.value().get(), "")
            || needs_confirmation(None::<Result<(), _>>, &error_param())
    };
    let approved = || {
        view! {
            <h1>"Approved"</h1>
            <p role="status">"The other device is signing in now. You can close this page."</p>
            <a class="button button-secondary" href=paths::get().account.clone()>
                "Go to your account"
            </a>
        }
        .into_any()
    };
    let failed = |message: String| super::refused_card("Sign in another device", message);
    view! {
        <section
            class="card"
            aria-labelledby="approve-title"
            aria-busy=move || approve.pending().get().to_string()
        >
            <Transition fallback=|| view! { <h1 id="approve-title">"Checking the request…"</h1> }>
                {move || {
                    match approve.value().get() {
                        Some(Ok(())) => return approved(),
                        Some(Err(err)) if !err.fresh_sign_in_required => return failed(err.error),
                        _ => {}
                    }
                    if let Some(Ok(Some(Outcome::DeviceApproved))) = outcome.get() {
                        return approved();
                    }
                    let redirected = error_param();
                    if !redirected.is_empty() && !stale() {
                        return failed(redirected);
                    }
                    match request.get() {
                        None => view! { <h1 id="approve-title">"Checking the request…"</h1> }.into_any(),
                        Some(Err(err)) => failed(err.error),
                        Some(Ok(None)) => failed(crate::replies::DEVICE_REQUEST_INVALID.to_owned()),
                        Some(Ok(Some(request))) => {
                            let picks = request
                                .choices
                                .iter()
                                .map(|number| {
                                    let number = number.to_string();
                                    view! {
                                        <li>
                                            <ActionForm action=approve>
                                                <input type="hidden" name="code" value=code />
                                                <input type="hidden" name="number" value=number.clone() />
                                                <button
                                                    type="submit"
                                                    class="button device-pick"
                                                    disabled=move || approve.pending().get()
                                                >
                                                    {number.clone()}
                                                </button>
                                            </ActionForm>
                                        </li>
                                    }
                                })
                                .collect_view();
                            view! {
                                <h1 id="approve-title">"Sign in another device?"</h1>
                                <p>"A device is asking to sign in as you:"</p>
                                <dl class="device-asking">
                                    <dt>"Device"</dt>
                                    <dd>{request.device}</dd>
                                    <dt>"Network"</dt>
                                    <dd>{request.network}</dd>
                                    <dt>"Asked"</dt>
                                    <dd>{request.at}</dd>
                                </dl>
                                <div aria-live="polite">
                                    <Show when=stale>
                                        <ConfirmPrompt on_confirmed=on_confirmed />
                                    </Show>
                                </div>
                                <p id="pick-label">
                                    "If it is yours, pick the number it shows. If you didn't start this, close this page: a wrong number ends the request."
                                </p>
                                <ul class="device-picks" aria-labelledby="pick-label">
                                    {picks}
                                </ul>
                            }
                            .into_any()
                        }
                    }
                }}
            </Transition>
        </section>
    }
}
