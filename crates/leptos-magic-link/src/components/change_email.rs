use leptos::prelude::*;

use super::{
    ConfirmPrompt, FormError, form_error, needs_confirmation, query_param, redirected_message,
};
use crate::{
    api::{
        ChangeEmail, ConfirmEmailChange, EmailChangeDone, UndoEmailChange, preview_email_change,
        take_outcome,
    },
    messages::CHANGE_ERROR_PARAM,
    paths,
    replies::Outcome,
    state::use_auth,
};

/// "Change your email address": a new address and a fresh sign-in (a stale session is offered
/// to confirm first). A single-use link goes to the new address; the account moves once it is
/// opened there and confirmed, and the old address is then mailed a link that moves it back.
/// Place it inside [`RequireAuth`](super::RequireAuth).
#[component]
pub fn ChangeEmailForm() -> impl IntoView {
    let auth = use_auth();
    let change = ServerAction::<ChangeEmail>::new();
    // Where a form sent without JavaScript lands: the outcome comes in a one-time cookie.
    let outcome = Resource::new_blocking(|| (), |()| take_outcome());
    let redirected = redirected_message(CHANGE_ERROR_PARAM);
    let error = move || form_error(change.value().get(), redirected());
    let stale = move || {
        needs_confirmation(change.value().get(), "")
            || needs_confirmation(None::<Result<(), _>>, &redirected())
    };
    let typed = RwSignal::new(String::new());
    let on_confirmed = move |()| {
        change.dispatch(ChangeEmail {
            email: Some(typed.get_untracked()),
        });
    };
    let pending = change.pending();
    let current = move || {
        auth.auth_session
            .get()
            .map(|session| session.email.to_string())
            .unwrap_or_default()
    };
    let sent = move || match change.value().get() {
        Some(Ok(sent)) => Some(format!(
            "We sent a link to {}. Open it there to move your account; it works until {}.",
            sent.to, sent.expires_at
        )),
        _ => matches!(outcome.get(), Some(Ok(Some(Outcome::EmailChangeSent)))).then(|| {
            "We sent a link to your new address. Open it there to move your account.".to_owned()
        }),
    };
    view! {
        <section class="card" aria-labelledby="change-email-title">
            <h2 id="change-email-title">"Change your email address"</h2>
            <p>
                "Your sessions, passkeys and sign-in history move to the new address once you open the link we send there. From then on, signing in with "
                <strong>{current}</strong>
                " starts a new, empty account."
            </p>
            <div aria-live="polite" id="change-email-status">
                <Transition fallback=|| ()>
                    {move || sent().map(|text| view! { <p class="callout" role="status">{text}</p> })}
                </Transition>
                <Show when=stale fallback=move || view! { <FormError message=Signal::derive(error) /> }>
                    <ConfirmPrompt on_confirmed=on_confirmed />
                </Show>
            </div>
            <ActionForm action=change>
                <div class="field">
                    <label for="change-email-address">"New email address"</label>
                    <input
                        id="change-email-address"
                        name="email"
                        type="email"
                        inputmode="email"
                        autocomplete="email"
                        spellcheck="false"
                        required
                        aria-describedby="change-email-status"
                        bind:value=typed
                    />
                </div>
                <button type="submit" class="button" disabled=pending>
                    {move || if pending.get() { "Sending…" } else { "Send a confirmation link" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// The page a change of address's links open: the one sent to the new address ("Use this
/// address") and the one sent to the old address afterwards ("Move my account back").
///
/// Opening it (a GET) changes nothing, so a mail scanner that fetches a link moves no
/// account: the page says what the link will do and asks for a press of its button. Each link
/// works once.
#[component]
pub fn ChangeEmailPage() -> impl IntoView {
    super::keep_token_out_of_referrer();
    let token = query_param("token");
    let error_param = super::redirected_message("error");
    let outcome = Resource::new_blocking(|| (), |()| take_outcome());
    let preview = Resource::new(token, |token| preview_email_change(Some(token)));
    let confirm = ServerAction::<ConfirmEmailChange>::new();
    let undo = ServerAction::<UndoEmailChange>::new();
    let auth = use_auth();
    auth.refetch_after(confirm.version());
    auth.refetch_after(undo.version());
    let pending = move || confirm.pending().get() || undo.pending().get();

    let done = move |undone: bool, ended: u64, passkeys_removed: u64, to: Option<String>| {
        if undone {
            let ended = match ended {
                1 => " (1 session)".to_owned(),
                n => format!(" ({n} sessions)"),
            };
            let passkeys = match passkeys_removed {
                0 => String::new(),
                1 => " The passkey added since the change was asked for is removed.".to_owned(),
                n => format!(" The {n} passkeys added since the change was asked for are removed."),
            };
            view! {
                <h1>"Your account is back"</h1>
                <p role="status">
                    {format!(
                        "Your account signs in with this address again, and every session of it has ended{ended}.{passkeys}",
                    )}
                </p>
                <p class="hint">
                    "Whoever changed it was signed in as you: secure your email account too."
                </p>
                <a class="button" href=paths::get().login.clone()>"Sign in again"</a>
            }
            .into_any()
        } else {
            let now = match to {
                Some(to) => format!("Your account now signs in with {to}."),
                None => "Your account now signs in with its new address.".to_owned(),
            };
            view! {
                <h1>"Your email address is changed"</h1>
                <p role="status">
                    {format!("{now} Its sessions, passkeys and sign-in history moved with it.")}
                </p>
                <a class="button" href=paths::get().account.clone()>"Go to your account"</a>
            }
            .into_any()
        }
    };
    let failed = |message: String| super::refused_card("Change of email address", message);
    let replied = move |reply: Option<Result<EmailChangeDone, crate::api::AuthError>>| match reply {
        Some(Ok(changed)) => Some(done(
            changed.undone,
            changed.ended,
            changed.passkeys_removed,
            Some(changed.to.to_string()),
        )),
        Some(Err(err)) => Some(failed(err.error)),
        None => None,
    };

    view! {
        <section class="card" aria-live="polite" aria-busy=move || pending().to_string()>
            <Transition fallback=|| view! { <h1>"Checking your link…"</h1> }>
                {move || {
                    if let Some(view) = replied(confirm.value().get()) {
                        return view;
                    }
                    if let Some(view) = replied(undo.value().get()) {
                        return view;
                    }
                    if let Some(Ok(Some(Outcome::EmailChanged { undone, ended, passkeys_removed }))) =
                        outcome.get()
                    {
                        return done(undone, ended, passkeys_removed, None);
                    }
                    let redirected = error_param();
                    if !redirected.is_empty() {
                        return failed(redirected);
                    }
                    match preview.get() {
                        None => view! { <h1>"Checking your link…"</h1> }.into_any(),
                        Some(Err(err)) => failed(err.error),
                        Some(Ok(preview)) => match preview.link {
                            None => failed(crate::replies::CHANGE_LINK_INVALID.to_owned()),
                            Some(link) if link.undo => {
                                view! {
                                    <h1>{format!("Move your account back to {}?", link.to)}</h1>
                                    <p>
                                        {format!(
                                            "Your account was moved to {}. This moves it back to {} and ends every session of it, on every device, this one included. Passkeys added since the change was asked for are removed.",
                                            link.from,
                                            link.to,
                                        )}
                                    </p>
                                    <ActionForm action=undo>
                                        <input type="hidden" name="token" value=token />
                                        <button
                                            type="submit"
                                            class="button button-danger"
                                            disabled=pending
                                        >
                                            {move || {
                                                if pending() {
                                                    "Moving it back…"
                                                } else {
                                                    "Move it back and sign out everywhere"
                                                }
                                            }}
                                        </button>
                                    </ActionForm>
                                    <p class="hint">"If you changed it yourself, close this page."</p>
                                }
                                    .into_any()
                            }
                            Some(link) => {
                                view! {
                                    <h1>{format!("Use {} for your account?", link.to)}</h1>
                                    <p>
                                        {format!(
                                            "This moves the account of {} to {}, with its sessions, passkeys and sign-in history. From then on you sign in with {}; signing in with {} would start a new, empty account.",
                                            link.from,
                                            link.to,
                                            link.to,
                                            link.from,
                                        )}
                                    </p>
                                    <ActionForm action=confirm>
                                        <input type="hidden" name="token" value=token />
                                        <button type="submit" class="button" disabled=pending>
                                            {move || {
                                                if pending() { "Moving…" } else { "Use this address" }
                                            }}
                                        </button>
                                    </ActionForm>
                                    <p class="hint">
                                        {format!(
                                            "This works in a browser where you are signed in as {}. If you didn't ask for this, close this page: nothing changes.",
                                            link.from,
                                        )}
                                    </p>
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
