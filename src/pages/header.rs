use leptos::{either::Either, prelude::*};

use crate::{
    app::SITE_NAME,
    auth::{AuthState, LogoutButton, SessionInfo, paths, use_auth},
};

/// The site header on every page: the site name, and either "Sign in" or the signed-in
/// address with the gated pages and Logout.
///
/// The server reads the session and hands it to [`AccountNav`], an island: a sign-in or a
/// logout in another island of the page shows there without a reload.
#[component]
pub fn SiteHeader() -> impl IntoView {
    let auth = use_auth();
    let paths = paths::get();
    let (login, account) = (paths.login.clone(), paths.account.clone());
    view! {
        <header class="site-header">
            <a class="site-name" href="/">
                {SITE_NAME}
            </a>
            <Transition fallback=|| ()>
                {move || {
                    view! {
                        <AccountNav
                            session=auth.auth_session.get()
                            login=login.clone()
                            account=account.clone()
                        />
                    }
                }}
            </Transition>
        </header>
    }
}

/// The header's account links, given the session the server read and the login and account
/// pages' paths (props, so the browser reads no paths from the page for them).
#[island]
fn AccountNav(session: Option<SessionInfo>, login: String, account: String) -> impl IntoView {
    let auth = AuthState::for_island(session);
    view! {
        <nav aria-label="Account">
            {move || match auth.auth_session.get() {
                Some(session) => {
                    Either::Left(
                        view! {
                            <span class="address" data-testid="signed-in-as">
                                {session.email.to_string()}
                            </span>
                            <a href="/dashboard">"Dashboard"</a>
                            <a href=account.clone()>"Account"</a>
                            <LogoutButton />
                        },
                    )
                }
                None => Either::Right(view! { <a href=login.clone()>"Sign in"</a> }),
            }}
        </nav>
    }
}
