//! Confirming a stale session before a sensitive action (see `MAGIC_LINK_AUTH_FRESH_SECONDS`).

use leptos::prelude::*;

use super::FormError;
use crate::{
    api::{AuthError, FRESH_SIGN_IN_REQUIRED},
    paths,
    state::AuthState,
};

/// Offers a stale session the two ways to confirm it is still its person: a passkey, or a
/// fresh code by email (a plain form, so it works without JavaScript). `on_confirmed` runs
/// after a passkey confirmation, to carry out the action that was refused.
#[component]
pub fn ConfirmPrompt(#[prop(into)] on_confirmed: Callback<()>) -> impl IntoView {
    // Inside an island (the passkey list) no context reaches it in the browser.
    let auth = AuthState::for_island(None);
    #[cfg(feature = "passkeys")]
    let supported = super::passkeys::webauthn_supported();
    #[cfg(not(feature = "passkeys"))]
    let supported = Signal::stored(false);
    let pending = RwSignal::new(false);
    let error = RwSignal::new(String::new());
    let email = move || {
        auth.auth_session
            .get()
            .map(|session| session.email.to_string())
            .unwrap_or_default()
    };
    let confirm = move |_: leptos::ev::MouseEvent| {
        #[cfg(feature = "passkeys")]
        {
            use crate::{
                api::{passkey_confirm_finish, passkey_confirm_start},
                webauthn,
            };
            pending.set(true);
            error.set(String::new());
            leptos::task::spawn_local(async move {
                let outcome = async {
                    let started = passkey_confirm_start().await.map_err(|err| err.error)?;
                    let credential = webauthn::get_assertion(&started.options, None).await?;
                    passkey_confirm_finish(Some(started.handle), Some(credential))
                        .await
                        .map_err(|err| err.error)
                }
                .await;
                pending.set(false);
                match outcome {
                    // The page around may have moved on meanwhile: then there is nothing to
                    // run again.
                    Ok(()) => {
                        let _ = on_confirmed.try_run(());
                    }
                    Err(message) => error.set(message),
                }
            });
        }
        #[cfg(not(feature = "passkeys"))]
        let _ = on_confirmed;
    };
    view! {
        <div class="confirm" role="group" aria-labelledby="confirm-title">
            <p id="confirm-title">
                <strong>"Confirm it's you"</strong>
                " — you signed in a while ago, and this needs a recent sign-in."
            </p>
            <Show when=move || supported.get()>
                <button
                    type="button"
                    class="button"
                    data-testid="confirm-with-passkey"
                    disabled=move || pending.get()
                    on:click=confirm
                >
                    {move || if pending.get() { "Waiting for your passkey…" } else { "Confirm with a passkey" }}
                </button>
            </Show>
            <form method="post" action="/api/auth/request">
                <input type="hidden" name="email" value=email />
                <input type="hidden" name="redir" value=paths::get().account.clone() />
                <button type="submit" class="button button-secondary">
                    "Email me a code"
                </button>
            </form>
            <div aria-live="polite">
                <FormError message=Signal::derive(move || error.get()) />
            </div>
        </div>
    }
}

/// Whether a reply, or with JavaScript off the message the server sent the browser back
/// with (see `redirected_message`), asks for a fresh sign-in.
pub fn needs_confirmation<T>(reply: Option<Result<T, AuthError>>, redirected: &str) -> bool {
    match reply {
        Some(Err(err)) => err.fresh_sign_in_required,
        Some(Ok(_)) => false,
        None => redirected == FRESH_SIGN_IN_REQUIRED,
    }
}
