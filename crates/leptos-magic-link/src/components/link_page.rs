use leptos::{prelude::*, server_fn::ServerFn};

use super::{form_field, query_param};
use crate::{
    api::{AuthError, LinkPreview, Redeem, preview_link},
    paths,
    state::AuthState,
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
    let error_param = super::redirected_message("error");
    let preview = Resource::new(token, |token| preview_link(Some(token)));
    view! {
        <Transition fallback=|| {
            view! {
                <section class="card" aria-live="polite">
                    <h1>"Checking your link…"</h1>
                </section>
            }
        }>
            {move || Suspend::new(async move {
                let preview = preview.await;
                view! {
                    <LinkSignIn token=token() redir=redir() preview redirected=error_param() />
                }
            })}
        </Transition>
    }
}

/// The card of [`MagicLinkPage`], given the link's `token` and `redir`, what the server found
/// of the link, and the text of the `error` code a form without JavaScript came back with.
#[cfg_attr(all(feature = "islands", not(feature = "split")), island)]
#[cfg_attr(feature = "split", island(lazy))]
#[cfg_attr(not(feature = "islands"), component)]
fn LinkSignIn(
    token: String,
    redir: String,
    preview: Result<LinkPreview, AuthError>,
    redirected: String,
) -> impl IntoView {
    let redeem = super::island_action::<Redeem>();
    AuthState::for_island(None).refetch_after(redeem.version());
    let same_browser = preview
        .as_ref()
        .is_ok_and(|p| p.same_browser && p.email.is_some());
    // Same browser: sign in without a click, once, as soon as the page is live.
    {
        let (token, redir) = (token.clone(), redir.clone());
        Effect::new(move |done: Option<bool>| {
            if done != Some(true) && same_browser {
                redeem.dispatch(Redeem {
                    token: Some(token.clone()),
                    redir: Some(redir.clone()),
                });
            }
            true
        });
    }

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
                {move || {
                    if !redirected.is_empty() {
                        return failed(redirected.clone());
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
                    match preview.clone() {
                        Err(err) => failed(err.error),
                        Ok(preview) => match preview.email {
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
                                    <form
                                        method="post"
                                        action=Redeem::url()
                                        on:submit=move |ev| {
                                            ev.prevent_default();
                                            redeem.dispatch(Redeem {
                                                token: form_field(&ev, "token"),
                                                redir: form_field(&ev, "redir"),
                                            });
                                        }
                                    >
                                        <input type="hidden" name="token" value=token.clone() />
                                        <input type="hidden" name="redir" value=redir.clone() />
                                        <button type="submit" class="button">
                                            "Sign in"
                                        </button>
                                    </form>
                                }
                                    .into_any()
                            }
                        },
                    }
                }}
        </section>
    }
}
