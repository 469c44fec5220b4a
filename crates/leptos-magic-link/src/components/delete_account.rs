use leptos::prelude::*;

use super::{ConfirmPrompt, FormError, form_error, needs_confirmation, redirected_message};
use crate::{api::DeleteAccount, messages::DELETE_ERROR_PARAM, state::use_auth};

/// "Delete your account": the address typed again, and a fresh sign-in (when the session is
/// stale it offers to confirm, then deletes). Deleting signs this browser out and lands on the
/// login page. Place it inside [`RequireAuth`](super::RequireAuth).
#[component]
pub fn DeleteAccountForm() -> impl IntoView {
    let auth = use_auth();
    let delete = ServerAction::<DeleteAccount>::new();
    // Only a deletion changes who is signed in. Reading the session again after a refusal
    // would re-render the page around this form and lose its message.
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(()))) {
            auth.set_outcome(Some(crate::replies::Outcome::AccountDeleted));
            auth.refetch();
        }
    });
    let pending = delete.pending();
    // With JavaScript off, the server sends a refusal back in `delete_error`, for this card
    // alone.
    let redirected = redirected_message(DELETE_ERROR_PARAM);
    let error = move || form_error(delete.value().get(), redirected());
    let stale = move || {
        needs_confirmation(delete.value().get(), "")
            || needs_confirmation(None::<Result<(), _>>, &redirected())
    };
    let typed = RwSignal::new(String::new());
    // Once confirmed with a passkey, delete as asked.
    let on_confirmed = move |()| {
        delete.dispatch(DeleteAccount {
            confirm: Some(typed.get_untracked()),
        });
    };
    view! {
        <section class="card" aria-labelledby="delete-title">
            <h2 id="delete-title">"Delete your account"</h2>
            <p>
                "This signs you out everywhere and removes your sessions, passkeys and sign-in history. It can't be undone: signing in again with this address starts a new, empty account."
            </p>
            <div aria-live="polite" id="delete-error">
                <Show when=stale fallback=move || view! { <FormError message=Signal::derive(error) /> }>
                    <ConfirmPrompt on_confirmed=on_confirmed />
                </Show>
            </div>
            <ActionForm action=delete>
                <div class="field">
                    <label for="delete-confirm">"Type your email address to confirm"</label>
                    <input
                        id="delete-confirm"
                        name="confirm"
                        type="text"
                        inputmode="email"
                        autocomplete="off"
                        spellcheck="false"
                        required
                        aria-describedby="delete-error"
                        bind:value=typed
                    />
                </div>
                <button type="submit" class="button button-danger" disabled=pending>
                    {move || if pending.get() { "Deleting…" } else { "Delete my account" }}
                </button>
            </ActionForm>
        </section>
    }
}
