use leptos::{prelude::*, server_fn::ServerFn};
#[cfg(not(feature = "ssr"))]
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use crate::{
    api::Logout,
    domain::{RedirectTarget, encode_query_value as encode},
    paths,
    state::use_auth,
};

/// A button that ends this browser's session; works without JavaScript too.
///
/// In islands mode it is a plain form, and no wasm: the post ends the session and the
/// server's redirect loads the login page, which a page without a router in the browser would
/// do after the action anyway. Otherwise, with JavaScript, it signs out without a reload and
/// tells the page's [`AuthState`](crate::AuthState).
#[component]
pub fn LogoutButton() -> impl IntoView {
    logout_form()
}

#[cfg(feature = "islands")]
fn logout_form() -> impl IntoView {
    view! {
        <form method="post" action=Logout::url()>
            <button type="submit" class="button button-secondary">"Logout"</button>
        </form>
    }
}

#[cfg(not(feature = "islands"))]
fn logout_form() -> impl IntoView {
    let logout = super::island_action::<Logout>();
    // Shown only while signed in; the server's redirect takes the browser to the login page.
    let auth = crate::state::AuthState::for_island(None);
    Effect::new(move |_| {
        if matches!(logout.value().get(), Some(Ok(()))) {
            auth.signed_out();
        }
    });
    let pending = logout.pending();
    view! {
        <form
            method="post"
            action=Logout::url()
            on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                logout.dispatch(Logout {});
            }
        >
            <button type="submit" class="button button-secondary" disabled=pending>
                {move || if pending.get() { "Logging out…" } else { "Logout" }}
            </button>
        </form>
    }
}

/// Shows `children` only to a signed-in visitor; anyone else is sent to the login page,
/// with a `redir` back here (path and query). Rendered on the server, the page answers
/// `303 See Other` to the login page, so the gate works without JavaScript too.
///
/// It waits for the session check in flight, not the last answer: right after a sign-in, the
/// last answer still says "signed out", and acting on it would send the visitor away.
#[component]
pub fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let location = use_location();
    let children = StoredValue::new(children);
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.checked().await {
                    Ok(Some(_)) => children.read_value()().into_any(),
                    Ok(None) => turn_away(login_with_redir(
                        &location.pathname.get_untracked(),
                        &location.search.get_untracked(),
                    )),
                    Err(err) => view! { <p class="callout-error" role="alert">{err.error}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The login page's address with a `redir` back to `pathname` and its query (`search`, as the
/// router gives it: without the `?`).
fn login_with_redir(pathname: &str, search: &str) -> String {
    let here = if search.is_empty() {
        pathname.to_owned()
    } else {
        format!("{pathname}?{search}")
    };
    let back = RedirectTarget::parse(&here).unwrap_or_default();
    format!("{}?redir={}", paths::get().login, encode(back.as_str()))
}

/// Sends a signed-out visitor to `path`. On the server, the page answers `303 See Other`,
/// whatever the request's `Accept` (leptos_axum's own redirect sets a status only for HTML
/// requests), so the gate works without JavaScript; in the browser, the router navigates.
#[cfg(feature = "ssr")]
fn turn_away(path: String) -> AnyView {
    use axum::http::{HeaderValue, StatusCode, header::LOCATION};
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        match HeaderValue::from_str(&path) {
            Ok(location) => {
                response.set_status(StatusCode::SEE_OTHER);
                response.insert_header(LOCATION, location);
            }
            Err(err) => tracing::error!(error = %err, "the login address is not a header value"),
        }
    }
    ().into_any()
}

#[cfg(not(feature = "ssr"))]
fn turn_away(path: String) -> AnyView {
    view! { <Redirect path /> }.into_any()
}

#[cfg(test)]
mod tests {
    use super::login_with_redir;

    #[test]
    fn the_way_back_keeps_the_path_and_the_query() {
        assert_eq!(
            login_with_redir("/dashboard", "tab=2"),
            "/?redir=%2Fdashboard%3Ftab%3D2"
        );
        assert_eq!(login_with_redir("/account", ""), "/?redir=%2Faccount");
    }
}
