use leptos::prelude::*;

use crate::{
    app::SITE_NAME,
    auth::{LogoutButton, paths, use_auth},
};

/// The site header on every page: the site name, and either "Sign in" or the signed-in
/// address with the gated pages and Logout.
#[component]
pub fn SiteHeader() -> impl IntoView {
    let auth = use_auth();
    let paths = paths::get();
    view! {
        <header class="site-header">
            <a class="site-name" href="/">
                {SITE_NAME}
            </a>
            <nav aria-label="Account">
                <Transition fallback=|| ()>
                    {move || match auth.auth_session.get() {
                        Some(session) => {
                            view! {
                                <span class="address" data-testid="signed-in-as">
                                    {session.email.to_string()}
                                </span>
                                <a href="/dashboard">"Dashboard"</a>
                                <a href=paths.account.clone()>"Account"</a>
                                <LogoutButton />
                            }
                                .into_any()
                        }
                        None => view! { <a href=paths.login.clone()>"Sign in"</a> }.into_any(),
                    }}
                </Transition>
            </nav>
        </header>
    }
}
