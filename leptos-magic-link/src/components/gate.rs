use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};

use crate::{
    api::Logout,
    domain::{RedirectTarget, encode_query_value as encode},
    paths,
    state::use_auth,
};

/// A button that ends this browser's session; works without JavaScript too.
#[component]
pub fn LogoutButton() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    use_auth().refetch_after(logout.version());
    let pending = logout.pending();
    view! {
        <ActionForm action=logout>
            <button type="submit" class="button button-secondary" disabled=pending>
                {move || if pending.get() { "Logging out…" } else { "Logout" }}
            </button>
        </ActionForm>
    }
}

/// Shows `children` only to a signed-in visitor; anyone else is sent to the login page,
/// with a `redir` back here.
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
                match auth.session.await {
                    Ok(Some(_)) => children.read_value()().into_any(),
                    Ok(None) => {
                        let here = format!(
                            "{}{}",
                            location.pathname.get_untracked(),
                            location.search.get_untracked(),
                        );
                        let back = RedirectTarget::parse(&here).unwrap_or_default();
                        let path = format!("{}?redir={}", paths::get().login, encode(back.as_str()));
                        view! { <Redirect path /> }.into_any()
                    }
                    Err(err) => view! { <p class="callout-error" role="alert">{err.error}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
