use leptos::prelude::*;

use super::query_param;
use crate::{
    api::{Redeem, preview_link},
    paths,
    state::use_auth,
};

/// The page a magic link opens.
///
/// Opening it (a GET) consumes nothing: it only looks the link up. The browser that asked
/// for the link signs in on its own once the page is live; any other browser, or a mail
/// scanner, sees a button that must be pressed.
#[component]
pub fn MagicLinkPage() -> impl IntoView {
    super::keep_token_out_of_referrer();
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
            <a class="button button-secondary" href=paths::get().login.clone()>
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
                    let redirected = crate::messages::message_for(&error_param());
                    if !redirected.is_empty() {
                        return failed(redirected.to_owned());
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
