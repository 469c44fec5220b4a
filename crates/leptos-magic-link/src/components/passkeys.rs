//! Passkeys in the UI (the `passkeys` feature): signing in with one on the login page, the
//! account page's list, and confirming a stale session before a sensitive action.
//!
//! The buttons that need WebAuthn appear only once the page has hydrated in a browser that
//! has it: without JavaScript or WebAuthn, they are absent and the email link still works.

use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::use_navigate;

use super::{ConfirmPrompt, FormError, form_error, needs_confirmation, query_param};
use crate::{
    api::{
        AuthError, DeletePasskey, PasskeyView, RenamePasskey, list_passkeys,
        passkey_register_finish, passkey_register_start,
    },
    state::use_auth,
    webauthn,
};

/// A signal that turns true once the page runs in a browser with WebAuthn, on a server that
/// takes passkeys. Effects run only
/// in the browser, so the server's HTML and the first hydration pass agree on "no".
pub(super) fn webauthn_supported() -> ReadSignal<bool> {
    let (supported, set_supported) = signal(false);
    Effect::new(move |_| set_supported.set(crate::state::passkeys_on() && webauthn::supported()));
    supported
}

/// Signs in with a discoverable passkey; `conditional` is the abort signal of an autofill
/// request, `None` for the button's modal prompt.
#[cfg(feature = "hydrate")]
async fn passkey_sign_in(
    redir: String,
    conditional: Option<wasm_bindgen::JsValue>,
) -> Result<String, String> {
    use crate::api::{passkey_sign_in_finish, passkey_sign_in_start};
    let started = passkey_sign_in_start().await.map_err(|err| err.error)?;
    let credential = webauthn::get_assertion(&started.options, conditional.as_ref()).await?;
    passkey_sign_in_finish(Some(started.handle), Some(credential), Some(redir))
        .await
        .map(|signed_in| signed_in.redirect_to)
        .map_err(|err| err.error)
}

/// "Sign in with a passkey" for the login page, and passkey autofill on its email field
/// where the browser offers it. Usernameless: the passkey says whose it is.
#[component]
// On the server the click handler captures nothing and is `Copy`; in the browser it is only
// `Clone`, and the view takes a copy each time it renders the button.
#[cfg_attr(not(feature = "hydrate"), allow(clippy::clone_on_copy))]
pub fn PasskeySignIn() -> impl IntoView {
    let auth = use_auth();
    let supported = webauthn_supported();
    let redir = query_param("redir");
    let pending = RwSignal::new(false);
    let error = RwSignal::new(String::new());
    let navigate = use_navigate();
    let signed_in = move |target: String| {
        auth.refetch();
        navigate(&target, Default::default());
    };
    // The autofill request waits in the background until a passkey is picked from the email
    // field's suggestions; the button cancels it before asking on its own.
    #[cfg(feature = "hydrate")]
    let autofill = StoredValue::new_local(None::<wasm_bindgen::JsValue>);
    #[cfg(feature = "hydrate")]
    {
        let signed_in = signed_in.clone();
        Effect::new(move |_| {
            if !supported.get() {
                return;
            }
            let signed_in = signed_in.clone();
            // Read now: this task outlives the component when the page moves on, and a
            // reactive value read after that would be gone.
            let redir = untrack(redir);
            spawn_local(async move {
                if !webauthn::conditional_available().await {
                    return;
                }
                // The component may have been replaced meanwhile (the login form re-renders
                // when the session check answers): then it is not this request's to make.
                if autofill.try_get_value().is_none() {
                    return;
                }
                let Some(controller) = webauthn::abort_controller() else {
                    return;
                };
                let signal = webauthn::signal_of(&controller);
                autofill.set_value(Some(controller));
                match passkey_sign_in(redir, signal).await {
                    Ok(target) => signed_in(target),
                    // Cancelled by the button: not an error.
                    Err(message) if message.is_empty() => {}
                    Err(message) => error.set(message),
                }
            });
        });
        on_cleanup(move || {
            if let Some(Some(controller)) = autofill.try_get_value() {
                webauthn::abort(&controller);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (signed_in, redir, error);
    let on_click = move |_: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(controller) = autofill.get_value() {
                webauthn::abort(&controller);
            }
            autofill.set_value(None);
            pending.set(true);
            error.set(String::new());
            let signed_in = signed_in.clone();
            spawn_local(async move {
                let outcome = passkey_sign_in(redir(), None).await;
                pending.set(false);
                match outcome {
                    Ok(target) => signed_in(target),
                    Err(message) => error.set(message),
                }
            });
        }
    };
    view! {
        <Show when=move || supported.get()>
            <div class="passkey-sign-in">
                <p class="hint">"Or, if you added a passkey:"</p>
                <button
                    type="button"
                    class="button button-secondary"
                    data-testid="passkey-sign-in"
                    disabled=move || pending.get()
                    on:click=on_click.clone()
                >
                    {move || {
                        if pending.get() { "Waiting for your passkey…" } else { "Sign in with a passkey" }
                    }}
                </button>
            </div>
        </Show>
        <div aria-live="polite">
            <FormError message=Signal::derive(move || error.get()) />
        </div>
    }
}

/// The signed-in address's passkeys: add one (named), rename, delete. Adding and deleting
/// need a recent sign-in; when it is stale, [`ConfirmPrompt`] appears, and the refused
/// action runs again once confirmed. Place it inside [`RequireAuth`](super::RequireAuth).
#[component]
pub fn Passkeys() -> impl IntoView {
    let supported = webauthn_supported();
    let auth = use_auth();
    let rename = ServerAction::<RenamePasskey>::new();
    let delete = ServerAction::<DeletePasskey>::new();
    auth.account_changed_after(delete.version());
    let added = RwSignal::new(0u32);
    let passkeys = Resource::new(
        move || (rename.version().get(), delete.version().get(), added.get()),
        |_| list_passkeys(),
    );
    // With JavaScript off, a refused rename or delete comes back in `passkey_error`, for this
    // card alone.
    let query_error = query_param(crate::messages::PASSKEY_ERROR_PARAM);
    let name = RwSignal::new(String::new());
    let adding = RwSignal::new(false);
    let add_error = RwSignal::new(None::<AuthError>);
    // The refused action, run again once the session is confirmed.
    let last_delete = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(input) = delete.input().get() {
            last_delete.set(input.id);
        }
    });
    let retry_add = RwSignal::new(false);
    let add = move || {
        adding.set(true);
        add_error.set(None);
        // Only `set` and `update` after an await: they do nothing once the component is gone,
        // where a read would panic.
        let chosen = name.get_untracked();
        spawn_local(async move {
            let outcome = async {
                let started = passkey_register_start().await?;
                let credential = webauthn::create(&started.options)
                    .await
                    .map_err(AuthError::new)?;
                passkey_register_finish(Some(started.handle), Some(chosen), Some(credential)).await
            }
            .await;
            adding.set(false);
            match outcome {
                Ok(_) => {
                    name.set(String::new());
                    added.update(|n| *n += 1);
                    auth.account_changed();
                }
                Err(err) => {
                    retry_add.set(err.fresh_sign_in_required);
                    add_error.set(Some(err));
                }
            }
        });
    };
    let error = move || {
        let from_add = add_error.get().map(|err| err.error).unwrap_or_default();
        let from_forms = form_error(rename.value().get().or(delete.value().get()), query_error());
        if from_add.is_empty() {
            from_forms
        } else {
            from_add
        }
    };
    let stale = move || {
        add_error
            .get()
            .is_some_and(|err| err.fresh_sign_in_required)
            || needs_confirmation(delete.value().get(), &query_error())
    };
    let on_confirmed = move |()| {
        if retry_add.try_get_untracked() == Some(true) {
            retry_add.set(false);
            add();
        } else if let Some(id) = last_delete.try_get_untracked().flatten() {
            delete.dispatch(DeletePasskey { id: Some(id) });
        }
    };

    view! {
        <section class="card" aria-labelledby="passkeys-title">
            <h2 id="passkeys-title">"Passkeys"</h2>
            <p>
                "A passkey signs you in with your fingerprint, face or screen lock, without an email. The email link always works too."
            </p>
            <div aria-live="polite">
                <Show when=stale>
                    <ConfirmPrompt on_confirmed=on_confirmed />
                </Show>
                <Show when=move || !stale()>
                    <FormError message=Signal::derive(error) />
                </Show>
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    passkeys
                        .get()
                        .map(|reply| match reply {
                            Ok(list) if list.is_empty() => {
                                view! { <p class="hint">"No passkeys yet."</p> }.into_any()
                            }
                            Ok(list) => {
                                view! {
                                    <ul class="passkeys">
                                        {list
                                            .into_iter()
                                            .map(|passkey| view! { <PasskeyRow passkey rename delete /> })
                                            .collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }
                            Err(err) => view! { <p class="callout-error">{err.error}</p> }.into_any(),
                        })
                }}
            </Transition>
            <Show when=move || supported.get()>
                <form
                    class="add-passkey"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        add();
                    }
                >
                    <div class="field">
                        <label for="passkey-name">"Name for the new passkey"</label>
                        <input
                            id="passkey-name"
                            type="text"
                            maxlength="64"
                            placeholder="e.g. Work laptop"
                            prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev))
                        />
                    </div>
                    <button type="submit" class="button" disabled=move || adding.get()>
                        {move || if adding.get() { "Waiting for your device…" } else { "Add a passkey" }}
                    </button>
                </form>
            </Show>
        </section>
    }
}

#[component]
fn PasskeyRow(
    passkey: PasskeyView,
    rename: ServerAction<RenamePasskey>,
    delete: ServerAction<DeletePasskey>,
) -> impl IntoView {
    let rename_id = passkey.id.to_string();
    let delete_id = passkey.id.to_string();
    let field = format!("passkey-name-{}", passkey.id);
    let delete_label = format!("Delete {}", passkey.name);
    let used = passkey
        .last_used
        .map_or_else(|| "never used".to_owned(), |at| format!("last used {at}"));
    view! {
        <li class="passkey" data-testid="passkey">
            <div>
                <strong class="passkey-name">{passkey.name.clone()}</strong>
                <p class="hint">"Added " <time>{passkey.created}</time> " · " {used}</p>
            </div>
            <ActionForm action=rename attr:class="rename-passkey">
                <input type="hidden" name="id" value=rename_id />
                <label for=field.clone() class="visually-hidden">"New name"</label>
                <input id=field name="name" type="text" maxlength="64" value=passkey.name />
                <button type="submit" class="button button-secondary">"Rename"</button>
            </ActionForm>
            <ActionForm action=delete>
                <input type="hidden" name="id" value=delete_id />
                <button type="submit" class="button button-secondary" aria-label=delete_label>
                    "Delete"
                </button>
            </ActionForm>
        </li>
    }
}
