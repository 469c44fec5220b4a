use leptos::prelude::*;

use super::query_param;
use crate::{
    api::{SignOutEverywhere, preview_sign_out_link, take_outcome},
    paths,
    replies::Outcome,
    state::use_auth,
};

/// The page a new-sign-in notice's "Wasn't you? Sign out everywhere" link opens.
///
/// Opening it (a GET) changes nothing, so a mail scanner that fetches the link ends no
/// session: the page names the address and asks for a press of its button, which ends every
/// session of the address, this browser's included, voids its unused sign-in links and codes,
/// and removes the passkeys added since the sign-in the notice warned of. The link works once.
#[component]
pub fn SignOutEverywherePage() -> impl IntoView {
    super::keep_token_out_of_referrer();
    let token = query_param("token");
    let error_param = super::redirected_message("error");
    // Where a form sent without JavaScript lands: the outcome comes in a one-time cookie this
    // server set, never in the URL.
    let outcome = Resource::new_blocking(|| (), |()| take_outcome());
    let preview = Resource::new(token, |token| preview_sign_out_link(Some(token)));
    let action = ServerAction::<SignOutEverywhere>::new();
    use_auth().refetch_after(action.version());

    let sign_in_again = || {
        view! {
            <a class="button button-secondary" href=paths::get().login.clone()>
                "Sign in again"
            </a>
        }
    };
    let done = move |ended: Option<u64>, passkeys: Option<u64>| {
        let ended = match ended {
            Some(1) => " (1 session)".to_owned(),
            Some(n) => format!(" ({n} sessions)"),
            None => String::new(),
        };
        let passkeys = match passkeys {
            Some(0) | None => String::new(),
            Some(1) => " The passkey added since that sign-in is removed.".to_owned(),
            Some(n) => format!(" The {n} passkeys added since that sign-in are removed."),
        };
        view! {
            <h1>"Signed out everywhere"</h1>
            <p role="status">
                {format!(
                    "Every session has ended{ended}, and unused sign-in links no longer work.{passkeys}",
                )}
            </p>
            <p class="hint">
                "They signed in with a link sent to your email: change your email password too."
            </p>
            {sign_in_again()}
        }
        .into_any()
    };
    let failed = |message: String| super::refused_card("Sign out everywhere", message);

    view! {
        <section
            class="card"
            aria-live="polite"
            aria-busy=move || action.pending().get().to_string()
        >
            <Transition fallback=|| view! { <h1>"Checking your link…"</h1> }>
                {move || {
                    match action.value().get() {
                        Some(Ok(signed_out)) => {
                            return done(
                                Some(signed_out.ended),
                                Some(signed_out.passkeys_removed),
                            );
                        }
                        Some(Err(err)) => return failed(err.error),
                        None => {}
                    }
                    if let Some(Ok(Some(Outcome::SignedOutEverywhere { ended, passkeys_removed }))) =
                        outcome.get()
                    {
                        return done(Some(ended), Some(passkeys_removed));
                    }
                    let redirected = error_param();
                    if !redirected.is_empty() {
                        return failed(redirected);
                    }
                    match preview.get() {
                        None => view! { <h1>"Checking your link…"</h1> }.into_any(),
                        Some(Err(err)) => failed(err.error),
                        Some(Ok(preview)) => match preview.email {
                            None => failed(crate::replies::SIGN_OUT_LINK_INVALID.to_owned()),
                            Some(email) => {
                                view! {
                                    <h1>"Sign out everywhere?"</h1>
                                    <p>
                                        {format!(
                                            "This ends every session of {email}, on every device, this one included.",
                                        )}
                                    </p>
                                    <ActionForm action=action>
                                        <input type="hidden" name="token" value=token />
                                        <button
                                            type="submit"
                                            class="button button-danger"
                                            disabled=move || action.pending().get()
                                        >
                                            {move || {
                                                if action.pending().get() {
                                                    "Signing out…"
                                                } else {
                                                    "Sign out everywhere"
                                                }
                                            }}
                                        </button>
                                    </ActionForm>
                                    <p class="hint">"If the sign-in was you, close this page."</p>
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
