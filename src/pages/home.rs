use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::auth::{
    api::{RequestLink, SessionInfo},
    components::{FormError, LogoutButton, form_error},
    state::use_auth,
};

/// `/`: the login form, or a welcome for a signed-in visitor.
#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Transition fallback=|| view! { <section class="card"><p>"Loading…"</p></section> }>
            {move || match auth.auth_session.get() {
                Some(session) => view! { <Welcome session /> }.into_any(),
                None => view! { <LoginCard /> }.into_any(),
            }}
        </Transition>
    }
}

#[component]
fn Welcome(session: SessionInfo) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="welcome-title">
            <h1 id="welcome-title">"Welcome back!"</h1>
            <p>"You are logged in as " <strong>{session.email}</strong> "."</p>
            <p>
                <a href="/account">"Your sessions"</a>
            </p>
            <LogoutButton />
        </section>
    }
}

#[component]
fn LoginCard() -> impl IntoView {
    // Asking for a link changes no session, so nothing is refetched here: a refetch would
    // rebuild this card and drop the message below.
    let request = ServerAction::<RequestLink>::new();
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let pending = request.pending();
    let error = move || form_error(request.value().get(), param("error"));

    view! {
        <section class="card" aria-labelledby="login-title">
            <h1 id="login-title">"Enter your email to log in"</h1>
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
                        autocomplete="email"
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
        </section>
    }
}
