use std::time::Duration;

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_query_map;

use super::{FormError, form_error, form_field};
use crate::{
    api::{MAIL_FAILED, VerifyCode, delivery},
    paths,
    state::AuthState,
};

/// How often the waiting page asks whether the link was opened in another tab.
const POLL_EVERY: Duration = Duration::from_millis(1000);

/// The page after a link request: waits for the link to be opened in this browser, takes the
/// code typed from another device, and says so when the email could not be sent. Reads
/// `email` and `redir` from the URL, as the login form leaves them, and renders the waiting
/// card (an island in islands mode) with them.
#[component]
pub fn CheckEmail() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let error = super::redirected_message("error");
    // Only an address reaches the page from its URL: anything else is a stranger's words.
    let email = move || {
        crate::domain::Email::parse(&param("email"))
            .map(|email| email.as_str().to_owned())
            .unwrap_or_default()
    };
    // Whether the email already failed, for the first render (and for a browser without
    // JavaScript, which sees it on reloading); the waiting card asks again as it polls.
    let delivery = Resource::new(|| (), |()| delivery());
    view! {
        <section class="card" aria-labelledby="check-title">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let failed = delivery.await.is_ok_and(|delivery| delivery.failed);
                    view! {
                        <WaitForLink
                            email=email()
                            redir=param("redir")
                            error=error()
                            failed
                        />
                    }
                })}
            </Transition>
            // A debug build with the `dev-mailbox` feature keeps every message it sends there.
            {cfg!(all(feature = "dev-mailbox", debug_assertions))
                .then(|| {
                    view! {
                        <p class="hint dev-mailbox">
                            <a href=paths::DEV_MAILBOX rel="external" target="_blank">
                                "Open the dev mailbox"
                            </a>
                            " (debug builds only)"
                        </p>
                    }
                })}
        </section>
    }
}

/// The waiting card of [`CheckEmail`]: `email` is the address asked for (checked), `redir`
/// where to go, `error` the text of the code a form without JavaScript came back with, `failed` whether
/// the email is known to have failed.
#[cfg_attr(all(feature = "islands", not(feature = "split")), island)]
#[cfg_attr(feature = "split", island(lazy))]
#[cfg_attr(not(feature = "islands"), component)]
fn WaitForLink(email: String, redir: String, error: String, failed: bool) -> impl IntoView {
    // Shown only while signed out; the poll below notices the sign-in.
    let auth = AuthState::for_island(None);
    let verify = super::island_action::<VerifyCode>();
    auth.refetch_after(verify.version());
    let pending = verify.pending();
    // The email goes out after the reply that brought us here: if it never does, say so.
    let failed = RwSignal::new(failed);
    let mail_failed = move || failed.get();

    // The link opened in another tab of this browser sets the session cookie there; this tab
    // notices on its next poll and moves on. Until the email is known to have failed, the
    // same poll asks after it.
    Effect::new(move |_| {
        let poll = move || {
            auth.refetch();
            if !failed.get_untracked() {
                leptos::task::spawn_local(async move {
                    if let Ok(report) = delivery().await {
                        failed.try_set(report.failed);
                    }
                });
            }
        };
        if let Ok(handle) = set_interval_with_handle(poll, POLL_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
    let go = super::navigator();
    let target = paths::sign_in_target(Some(&redir));
    Effect::new(move |_| {
        if auth.session_is_valid.get() {
            go(target.as_str());
        }
    });

    let redirected = StoredValue::new(error);
    let error = move || form_error(verify.value().get(), redirected.get_value());
    let shown = if email.is_empty() {
        "your address".to_owned()
    } else {
        email.clone()
    };

    view! {
        <h1 id="check-title">"Check your email for a magic link!"</h1>
        <p>
            "We sent a sign-in link to " <strong>{shown}</strong>
            ". Open it on this device and this page moves on by itself."
        </p>
        <div aria-live="polite">
            <Show when=mail_failed>
                <p class="callout-error" role="alert">
                    {MAIL_FAILED} " " <a href=paths::get().login.clone()>"Try again"</a>
                </p>
            </Show>
        </div>
        <form
            method="post"
            action=VerifyCode::url()
            on:submit=move |ev| {
                ev.prevent_default();
                verify.dispatch(VerifyCode {
                    email: form_field(&ev, "email"),
                    code: form_field(&ev, "code"),
                    redir: form_field(&ev, "redir"),
                });
            }
        >
            <input type="hidden" name="email" value=email />
            <input type="hidden" name="redir" value=redir />
            <div class="field">
                <label for="code">"Reading the email on another device? Enter its 6-digit code"</label>
                <input
                    id="code"
                    name="code"
                    type="text"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    pattern="[0-9 ]*"
                    maxlength="7"
                    placeholder="123456"
                    class="code-input"
                    aria-describedby="code-error"
                    aria-invalid=move || (!error().is_empty()).to_string()
                />
            </div>
            <div id="code-error" aria-live="polite">
                <FormError message=Signal::derive(error) />
            </div>
            <button type="submit" class="button" disabled=pending>
                {move || if pending.get() { "Checking…" } else { "Sign in with code" }}
            </button>
        </form>
        <p class="hint">
            "No email? Check your spam folder, or " <a href=paths::get().login.clone()>"try again"</a> "."
        </p>
    }
}
