use leptos::{prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_query_map;

use super::{FormError, form_error, form_field};
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
fn passkey_sign_in(redir: String) -> impl IntoView {
    crate::state::passkeys_on().then(|| view! { <super::PasskeySignIn redir /> })
}

#[cfg(not(feature = "passkeys"))]
fn passkey_sign_in(_redir: String) -> impl IntoView {}

/// The login form: an email field that asks for a magic link, carrying the `redir` of the
/// page's URL. With JavaScript off it posts as a plain form; errors come back in the URL.
///
/// It reads the page's URL and renders the form itself (an island in islands mode) with what it
/// found, and, with passkeys, [`PasskeySignIn`](crate::PasskeySignIn) below.
#[component]
pub fn LoginForm() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let error = super::redirected_message("error");
    // Only a deletion just done says so, never a URL: with JavaScript the deleting page tells
    // the auth state, without it a one-time cookie from the server does.
    let auth = use_auth();
    let outcome = Resource::new_blocking(|| (), |()| take_outcome());
    view! {
        <section class="card" aria-labelledby="login-title">
            <h1 id="login-title">"Enter your email to log in"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let deleted = auth.outcome() == Some(Outcome::AccountDeleted)
                        || outcome.await.ok().flatten() == Some(Outcome::AccountDeleted);
                    view! {
                        <EmailForm redir=param("redir") email=param("email") error=error() deleted />
                        {passkey_sign_in(param("redir"))}
                        <p class="hint">
                            <a href=crate::paths::get().device_sign_in.clone()>
                                "Sign in with another device"
                            </a>
                        </p>
                    }
                })}
            </Transition>
        </section>
    }
}

/// The email form itself, with what [`LoginForm`] read from the page: the `redir` to carry,
/// the address to fill in, the text of the `error` code the server sent a form without
/// JavaScript back with, and whether an account deletion just happened. Submitting it with JavaScript
/// dispatches `request_link` from the form's fields (no `ActionForm`, whose form-data decoder
/// would double the wasm this page needs); without JavaScript it posts as it is.
#[cfg_attr(feature = "islands", island)]
#[cfg_attr(not(feature = "islands"), component)]
pub(crate) fn EmailForm(
    /// Where to go after signing in, as the page's URL gave it (checked on the server).
    redir: String,
    /// The address to fill the field with.
    email: String,
    /// The text of the `error` code of the page's URL.
    error: String,
    /// Whether to say the account was just deleted.
    deleted: bool,
) -> impl IntoView {
    // Asking for a link changes no session, so nothing is refetched here.
    let request = super::island_action::<RequestLink>();
    let pending = request.pending();
    let error = StoredValue::new(error);
    let shown_error = move || form_error(request.value().get(), error.get_value());
    let deleted = RwSignal::new(deleted);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // Asking for a new link puts the deletion in the past.
        deleted.set(false);
        request.dispatch(RequestLink {
            email: form_field(&ev, "email"),
            redir: form_field(&ev, "redir"),
            captcha: form_field(&ev, "captcha"),
        });
    };
    view! {
        {move || {
            deleted
                .get()
                .then(|| {
                    view! {
                        <p class="callout" role="status">
                            "Your account is deleted, and an email confirms it."
                        </p>
                    }
                })
        }}
        <p>"We'll email you a link that signs you in. No password needed."</p>
        <form method="post" action=RequestLink::url() on:submit=on_submit>
            <input type="hidden" name="redir" value=redir />
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
                    aria-invalid=move || (!shown_error().is_empty()).to_string()
                    value=email
                />
            </div>
            <div id="email-error" aria-live="polite">
                <FormError message=Signal::derive(shown_error) />
            </div>
            <button type="submit" class="button" disabled=pending>
                {move || if pending.get() { "Sending…" } else { "Send Magic Link" }}
            </button>
        </form>
    }
}
