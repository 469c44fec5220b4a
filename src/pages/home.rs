use leptos::prelude::*;

use crate::auth::{LoginForm, SessionInfo, use_auth};

/// `/`: the login form, or a welcome for a signed-in visitor (the header has Logout).
#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Transition fallback=|| view! { <section class="card"><p>"Loading…"</p></section> }>
            {move || match auth.auth_session.get() {
                Some(session) => view! { <Welcome session /> }.into_any(),
                None => view! { <LoginForm /> }.into_any(),
            }}
        </Transition>
    }
}

#[component]
fn Welcome(session: SessionInfo) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="welcome-title">
            <h1 id="welcome-title">"Welcome back!"</h1>
            <p>"You are logged in as " <strong class="address">{session.email.to_string()}</strong> "."</p>
            <p>
                <a href="/dashboard">"Your dashboard"</a>
                " · "
                <a href="/account">"Your sessions"</a>
            </p>
        </section>
    }
}
