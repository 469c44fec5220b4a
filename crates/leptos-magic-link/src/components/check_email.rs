use std::time::Duration;

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::{FormError, form_error};
use crate::{
    api::{MAIL_FAILED, VerifyCode, delivery},
    paths,
    state::use_auth,
};

/// How often the waiting page asks whether the link was opened in another tab.
const POLL_EVERY: Duration = Duration::from_millis(1000);

/// The page after a link request: waits for the link to be opened in this browser, takes the
/// code typed from another device, and says so when the email could not be sent. Reads
/// `email` and `redir` from the URL, as the login form leaves them.
#[component]
pub fn CheckEmail() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let verify = ServerAction::<VerifyCode>::new();
    auth.refetch_after(verify.version());
    let pending = verify.pending();
    // The email goes out after the reply that brought us here: if it never does, say so.
    let delivery = Resource::new(|| (), |()| delivery());
    let mail_failed = move || {
        delivery
            .get()
            .and_then(Result::ok)
            .is_some_and(|delivery| delivery.failed)
    };

    // The link opened in another tab of this browser sets the session cookie there; this tab
    // notices on its next poll and moves on. Until the email is known to have failed, the
    // same poll asks after it.
    Effect::new(move |_| {
        let poll = move || {
            auth.refetch();
            if !mail_failed() {
                delivery.refetch();
            }
        };
        if let Ok(handle) = set_interval_with_handle(poll, POLL_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if auth.session_is_valid.get() {
            let target = paths::sign_in_target(Some(&param("redir")));
            navigate(target.as_str(), Default::default());
        }
    });

    let error = move || form_error(verify.value().get(), param("error"));
    // Only an address reaches the page from its URL: anything else is a stranger's words.
    let email = move || {
        crate::domain::Email::parse(&param("email"))
            .map(|email| email.as_str().to_owned())
            .unwrap_or_default()
    };

    view! {
        <section class="card" aria-labelledby="check-title">
            <h1 id="check-title">"Check your email for a magic link!"</h1>
            <p>
                "We sent a sign-in link to "
                <strong>{move || if email().is_empty() { "your address".to_owned() } else { email() }}</strong>
                ". Open it on this device and this page moves on by itself."
            </p>
            <div aria-live="polite">
                <Transition fallback=|| ()>
                    {move || {
                        mail_failed()
                            .then(|| {
                                view! {
                                    <p class="callout-error" role="alert">
                                        {MAIL_FAILED} " " <a href=paths::get().login.clone()>"Try again"</a>
                                    </p>
                                }
                            })
                    }}
                </Transition>
            </div>
            <ActionForm action=verify>
                <input type="hidden" name="email" value=email />
                <input type="hidden" name="redir" value=move || param("redir") />
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
            </ActionForm>
            <p class="hint">
                "No email? Check your spam folder, or " <a href=paths::get().login.clone()>"try again"</a> "."
            </p>
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
