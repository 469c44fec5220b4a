use leptos::prelude::*;

use crate::{api::activity, state::use_auth};

/// "Recent activity": the signed-in address's last 20 events, newest first, each with when,
/// the browser and the network. Place it inside [`RequireAuth`](super::RequireAuth). It loads
/// again after [`AuthState::account_changed`](crate::AuthState::account_changed), which
/// [`Sessions`](super::Sessions) and the passkeys list call after their actions.
#[component]
pub fn Activity() -> impl IntoView {
    let auth = use_auth();
    let events = Resource::new(move || auth.account_version(), |_| activity());
    view! {
        <section class="card" aria-labelledby="activity-title">
            <h2 id="activity-title">"Recent activity"</h2>
            <p class="hint">"What happened to your account lately. Anything you don't recognise? Sign out everywhere."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    events
                        .get()
                        .map(|reply| match reply {
                            Ok(list) if list.is_empty() => {
                                view! { <p>"Nothing yet."</p> }.into_any()
                            }
                            Ok(list) => {
                                view! {
                                    <ol class="activity">
                                        {list
                                            .into_iter()
                                            .map(|event| {
                                                let from = [event.device, event.network]
                                                    .into_iter()
                                                    .flatten()
                                                    .collect::<Vec<_>>()
                                                    .join(" · ");
                                                view! {
                                                    <li class="event">
                                                        <strong>{event.what}</strong>
                                                        <p class="hint">
                                                            <time>{event.at}</time>
                                                            {(!from.is_empty()).then(|| format!(" · {from}"))}
                                                        </p>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ol>
                                }
                                    .into_any()
                            }
                            Err(err) => view! { <p class="callout-error">{err.error}</p> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}
