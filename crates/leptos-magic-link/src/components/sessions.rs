use leptos::prelude::*;

use super::{ConfirmPrompt, FormError, form_error, needs_confirmation, redirected_message};
use crate::{
    api::{EndSession, LogoutAll, SessionView, list_sessions},
    state::use_auth,
};

/// The signed-in address's sessions, each with a way to end it, and a way to end them all.
/// Place it inside [`RequireAuth`](super::RequireAuth).
#[component]
pub fn Sessions() -> impl IntoView {
    let auth = use_auth();
    let end = ServerAction::<EndSession>::new();
    let end_all = ServerAction::<LogoutAll>::new();
    // Signing out everywhere signs this browser out too. (Ending this browser's own session
    // from its row sends it to the home page, and the navigation reads the session again.)
    auth.refetch_after(end_all.version());
    auth.account_changed_after(end.version());
    let sessions = Resource::new(move || end.version().get(), |_| list_sessions());
    let redirected = redirected_message("error");
    let error = move || form_error(end.value().get().or(end_all.value().get()), redirected());
    // Ending another session and signing out everywhere need a recent sign-in: when it is
    // stale, offer to confirm, then run the refused action again.
    let last_end = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(input) = end.input().get() {
            last_end.set(input.id);
        }
    });
    let stale_end = move || needs_confirmation(end.value().get(), "");
    let stale_all = move || needs_confirmation(end_all.value().get(), "");
    let stale = move || {
        stale_end() || stale_all() || needs_confirmation(None::<Result<(), _>>, &redirected())
    };
    let on_confirmed = move |()| {
        let all_refused = end_all
            .value()
            .try_get_untracked()
            .is_some_and(|reply| needs_confirmation(reply, ""));
        if all_refused {
            end_all.dispatch(LogoutAll {});
        } else if let Some(id) = last_end.try_get_untracked().flatten() {
            end.dispatch(EndSession { id: Some(id) });
        }
    };

    view! {
        <section class="card" aria-labelledby="sessions-title">
            <h1 id="sessions-title">"Your sessions"</h1>
            <p>"Every browser signed in as you. Sign out any you don't recognise."</p>
            <div aria-live="polite">
                <Show when=stale fallback=move || view! { <FormError message=Signal::derive(error) /> }>
                    <ConfirmPrompt on_confirmed=on_confirmed />
                </Show>
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    sessions
                        .get()
                        .map(|reply| match reply {
                            Ok(list) => {
                                view! {
                                    <ul class="sessions">
                                        {list
                                            .into_iter()
                                            .map(|session| view! { <SessionRow session end /> })
                                            .collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }
                            Err(err) => view! { <p class="callout-error">{err.error}</p> }.into_any(),
                        })
                }}
            </Transition>
            <ActionForm action=end_all>
                <button type="submit" class="button button-secondary">
                    "Sign out everywhere"
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionRow(session: SessionView, end: ServerAction<EndSession>) -> impl IntoView {
    let pending = end.pending();
    let label = format!("Sign out {}", session.device);
    view! {
        <li class="session" data-current=session.current.to_string()>
            <div>
                <strong>{session.device}</strong>
                {session.current.then(|| view! { <span class="badge">"This device"</span> })}
                <p class="hint">
                    {session.ip.map(|ip| format!("{ip} · "))} "Signed in " <time>{session.created}</time>
                    " · expires " <time>{session.expires}</time>
                </p>
            </div>
            <ActionForm action=end>
                <input type="hidden" name="id" value=session.id.to_string() />
                <button
                    type="submit"
                    class="button button-secondary"
                    aria-label=label
                    disabled=pending
                >
                    "Sign out"
                </button>
            </ActionForm>
        </li>
    }
}
