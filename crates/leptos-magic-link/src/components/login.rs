use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{FormError, form_error};
use crate::{
    api::{RequestLink, take_outcome},
    replies::Outcome,
    state::use_auth,
};

/// The email field's autofill: with passkeys, the browser may offer them from the field
/// itself (conditional mediation), which needs the `webauthn` token.
const AUTOCOMPLETE: &str = if cfg!(feature = "passkeys") {
    "username webauthn"
} else {
    "email"
};

#[cfg(feature = "passkeys")]
fn passkey_sign_in() -> impl IntoView {
    view! { <super::PasskeySignIn /> }
}

#[cfg(not(feature = "passkeys"))]
fn passkey_sign_in() -> impl IntoView {}

/// The login form: an email field that asks for a magic link, carrying the `redir` of the
/// page's URL. With JavaScript off it posts as a plain form; errors come back in the URL.
#[component]
pub fn LoginForm() -> impl IntoView {
    // Asking for a link changes no session, so nothing is refetched here: a refetch would
    // rebuild this card and drop the message below.
    let request = ServerAction::<RequestLink>::new();
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let pending = request.pending();
    let error = move || form_error(request.value().get(), param("error"));
    // Only a deletion just done says so, never a URL: with JavaScript the deleting page tells
    // the auth state, without it a one-time cookie from the server does.
    let auth = use_auth();
    let outcome = Resource::new_blocking(|| (), |()| take_outcome());
    let deleted = move || {
        auth.outcome() == Some(Outcome::AccountDeleted)
            || outcome.get().and_then(Result::ok).flatten() == Some(Outcome::AccountDeleted)
    };
    // Asking for a new link puts the deletion in the past.
    Effect::new(move |previous: Option<usize>| {
        let version = request.version().get();
        if previous.is_some_and(|previous| previous != version) {
            auth.set_outcome(None);
        }
        version
    });

    view! {
        <section class="card" aria-labelledby="login-title">
            <h1 id="login-title">"Enter your email to log in"</h1>
            <Transition fallback=|| ()>
                {move || {
                    deleted()
                        .then(|| {
                            view! {
                                <p class="callout" role="status">
                                    "Your account is deleted, and an email confirms it."
                                </p>
                            }
                        })
                }}
            </Transition>
            <p>"We'll email you a link that signs you in. No password needed."</p>
            <ActionForm action=request>
                <input type="hidden" name="redir" value=move || param("redir") />
                <div class="field">
                    <label for="email">"Email address"</label>
                    <input
                        id="email"
                        name="email"
                        type="text"
                        inputmode="email"
                        autocomplete=AUTOCOMPLETE
                        autocapitalize="none"
                        spellcheck="false"
                        placeholder="you@example.com"
                        aria-describedby="email-error"
                        aria-invalid=move || (!error().is_empty()).to_string()
                        value=move || param("email")
                    />
                </div>
                <div id="email-error" aria-live="polite">
                    <FormError message=Signal::derive(error) />
                </div>
                <button type="submit" class="button" disabled=pending>
                    {move || if pending.get() { "Sending…" } else { "Send Magic Link" }}
                </button>
            </ActionForm>
            {passkey_sign_in()}
        </section>
    }
}
