//! The auth component's UI: the page a magic link opens, a logout button, and
//! `<RequireAuth>` to gate a part of the app.

use leptos::prelude::*;
use leptos_router::{
    components::Redirect,
    hooks::{use_location, use_query_map},
};

use super::{
    api::{AuthError, Logout, Redeem, preview_link},
    domain::{RedirectTarget, encode_query_value as encode},
    state::use_auth,
};

/// The message to show under a form: its action's last error, or, with JavaScript off, the
/// `error` parameter the server sent the browser back with.
pub fn form_error<T>(last_reply: Option<Result<T, AuthError>>, redirected: String) -> String {
    match last_reply {
        Some(Err(err)) => err.error,
        Some(Ok(_)) => String::new(),
        None => redirected,
    }
}

/// The error callout under a form. Put it inside an `aria-live` region that is always in
/// the page, so screen readers announce the message when it appears.
#[component]
pub fn FormError(#[prop(into)] message: Signal<String>) -> impl IntoView {
    move || {
        let message = message.get();
        (!message.is_empty()).then(|| view! { <p class="callout-error">{message}</p> })
    }
}

/// A query parameter of the current URL, or empty.
fn query_param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.read().get(name).unwrap_or_default()
}

/// The page a magic link opens.
///
/// Opening it (a GET) consumes nothing: it only looks the link up. The browser that asked
/// for the link signs in on its own once the page is live; any other browser, or a mail
/// scanner, sees a button that must be pressed.
#[component]
pub fn MagicLinkPage() -> impl IntoView {
    // The address bar holds the token: no request from this page may carry it onward, so a
    // `Referer` from here names the origin only. Not `no-referrer`: under it the browser sends
    // `Origin: null` with this page's own form post, which the cross-site check must refuse.
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::header::REFERRER_POLICY,
            axum::http::HeaderValue::from_static("strict-origin"),
        );
    }
    let token = query_param("token");
    let redir = query_param("redir");
    let error_param = query_param("error");
    let preview = Resource::new(token, |token| preview_link(Some(token)));
    let redeem = ServerAction::<Redeem>::new();
    use_auth().refetch_after(redeem.version());

    // Same browser: sign in without a click, once, as soon as the page is live.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        let same_browser = preview
            .get()
            .and_then(Result::ok)
            .is_some_and(|p| p.same_browser && p.email.is_some());
        if same_browser {
            redeem.dispatch(Redeem {
                token: Some(token()),
                redir: Some(redir()),
            });
        }
        same_browser
    });

    let start_over = || {
        view! {
            <a class="button button-secondary" href="/">
                "Start over"
            </a>
        }
    };
    let failed = move |message: String| {
        view! {
            <h1>"Sign-in failed"</h1>
            <p class="callout-error" role="alert">{message}</p>
            {start_over()}
        }
        .into_any()
    };

    view! {
        <section class="card" aria-live="polite" aria-busy=move || redeem.pending().get().to_string()>
            <Transition fallback=|| view! { <h1>"Checking your link…"</h1> }>
                {move || {
                    if !error_param().is_empty() {
                        return failed(error_param());
                    }
                    if redeem.pending().get() {
                        return view! {
                            <h1>"Signing you in…"</h1>
                            <p>"One moment."</p>
                        }
                            .into_any();
                    }
                    match redeem.value().get() {
                        Some(Ok(_)) => {
                            return view! {
                                <h1>"You're signed in"</h1>
                                <p>"Taking you there…"</p>
                            }
                                .into_any();
                        }
                        Some(Err(err)) => return failed(err.error),
                        None => {}
                    }
                    match preview.get() {
                        None => view! { <h1>"Checking your link…"</h1> }.into_any(),
                        Some(Err(err)) => failed(err.error),
                        Some(Ok(preview)) => match preview.email {
                            None => {
                                failed(
                                    "This sign-in link is invalid, used or expired. Request a new one."
                                        .to_owned(),
                                )
                            }
                            Some(email) => {
                                view! {
                                    <h1>{format!("Sign in as {email}?")}</h1>
                                    <p>"Confirm to finish signing in on this device."</p>
                                    <ActionForm action=redeem>
                                        <input type="hidden" name="token" value=token />
                                        <input type="hidden" name="redir" value=redir />
                                        <button type="submit" class="button">
                                            "Sign in"
                                        </button>
                                    </ActionForm>
                                }
                                    .into_any()
                            }
                        },
                    }
                }}
            </Transition>
        </section>
    }
}

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
                        let path = format!("/?redir={}", encode(back.as_str()));
                        view! { <Redirect path /> }.into_any()
                    }
                    Err(err) => view! { <p class="callout-error" role="alert">{err.error}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
