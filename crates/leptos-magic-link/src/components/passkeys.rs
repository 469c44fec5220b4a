//! Passkeys in the UI (the `passkeys` feature): signing in with one on the login page, the
//! account page's list, and confirming a stale session before a sensitive action.
//!
//! The buttons that need WebAuthn appear only once the page has hydrated in a browser that
//! has it: without JavaScript or WebAuthn, they are absent and the email link still works.

use leptos::{prelude::*, server_fn::ServerFn, task::spawn_local};

use super::{ConfirmPrompt, FormError, form_error, form_field, needs_confirmation};
use crate::{
    api::{
        AuthError, DeletePasskey, PasskeyView, RenamePasskey, SessionInfo, SignedIn, list_passkeys,
        passkey_register_finish, passkey_register_start,
    },
    state::{AuthState, use_auth},
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
) -> Result<SignedIn, String> {
    use crate::api::{passkey_sign_in_finish, passkey_sign_in_start};
    let started = passkey_sign_in_start().await.map_err(|err| err.error)?;
    let credential = webauthn::get_assertion(&started.options, conditional.as_ref()).await?;
    passkey_sign_in_finish(Some(started.handle), Some(credential), Some(redir))
        .await
        .map_err(|err| err.error)
}

/// "Sign in with a passkey" for the login page, and passkey autofill on its email field
/// where the browser offers it. Usernameless: the passkey says whose it is. An island in
/// islands mode; `redir` is where to go after signing in (checked on the server).
#[cfg_attr(feature = "islands", island)]
#[cfg_attr(not(feature = "islands"), component)]
pub fn PasskeySignIn(
    /// Where to go after signing in, as the page's URL gave it; the default page if none.
    #[prop(optional, into)]
    redir: Option<String>,
) -> impl IntoView {
    let redir = redir.unwrap_or_default();
    // Shown only to a signed-out visitor.
    let auth = AuthState::for_island(None);
    let supported = webauthn_supported();
    let pending = RwSignal::new(false);
    let error = RwSignal::new(String::new());
    let go = super::navigator();
    // The header (and any island of the page) shows the session at once; then the browser
    // goes where the sign-in leads.
    let signed_in = move |reply: SignedIn| {
        auth.signed_in(reply.session);
        go(&reply.redirect_to);
    };
    let on_click = sign_in_handlers(supported, redir, pending, error, signed_in);
    view! {
        // Not `<Show>`: a plain closure is lighter in the login page's wasm.
        {move || {
            let on_click = on_click.clone();
            supported.get().then(|| view! {
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
            })
        }}
        <div aria-live="polite">
            <FormError message=error />
        </div>
    }
}

/// Starts passkey autofill on the email field, and returns the button's click handler, which
/// cancels the autofill request and asks on its own. In the browser only: outside an island's
/// body, so that the server and the browser see the same island.
#[cfg(feature = "hydrate")]
fn sign_in_handlers(
    supported: ReadSignal<bool>,
    redir: String,
    pending: RwSignal<bool>,
    error: RwSignal<String>,
    signed_in: impl Fn(SignedIn) + Clone + Send + Sync + 'static,
) -> impl Fn(leptos::ev::MouseEvent) + Clone + Send + Sync + 'static {
    // The autofill request waits in the background until a passkey is picked from the email
    // field's suggestions; the button cancels it before asking on its own.
    let autofill = StoredValue::new_local(None::<wasm_bindgen::JsValue>);
    {
        let signed_in = signed_in.clone();
        let redir = redir.clone();
        Effect::new(move |_| {
            if !supported.get() {
                return;
            }
            let signed_in = signed_in.clone();
            let redir = redir.clone();
            spawn_local(async move {
                if !webauthn::conditional_available().await {
                    return;
                }
                // The component may have been replaced meanwhile: then it is not this
                // request's to make.
                if autofill.try_get_value().is_none() {
                    return;
                }
                let Some(controller) = webauthn::abort_controller() else {
                    return;
                };
                let signal = webauthn::signal_of(&controller);
                autofill.set_value(Some(controller));
                match passkey_sign_in(redir, signal).await {
                    Ok(reply) => signed_in(reply),
                    // Cancelled by the button: not an error.
                    Err(message) if message.is_empty() => {}
                    Err(message) => error.set(message),
                }
            });
        });
    }
    on_cleanup(move || {
        if let Some(Some(controller)) = autofill.try_get_value() {
            webauthn::abort(&controller);
        }
    });
    move |_: leptos::ev::MouseEvent| {
        if let Some(controller) = autofill.get_value() {
            webauthn::abort(&controller);
        }
        autofill.set_value(None);
        pending.set(true);
        error.set(String::new());
        let signed_in = signed_in.clone();
        let redir = redir.clone();
        spawn_local(async move {
            let outcome = passkey_sign_in(redir, None).await;
            pending.set(false);
            match outcome {
                Ok(reply) => signed_in(reply),
                Err(message) => error.set(message),
            }
        });
    }
}

/// On the server nothing runs: the button appears only in a browser with WebAuthn.
#[cfg(not(feature = "hydrate"))]
fn sign_in_handlers(
    _supported: ReadSignal<bool>,
    _redir: String,
    _pending: RwSignal<bool>,
    _error: RwSignal<String>,
    _signed_in: impl Fn(SignedIn) + Clone + 'static,
) -> impl Fn(leptos::ev::MouseEvent) + Clone + Send + Sync + 'static {
    |_: leptos::ev::MouseEvent| {}
}

/// The signed-in address's passkeys: add one (named), rename, delete. Adding and deleting
/// need a recent sign-in; when it is stale, [`ConfirmPrompt`] appears, and the refused
/// action runs again once confirmed. Place it inside [`RequireAuth`](super::RequireAuth).
///
/// It reads the session and the page's URL, and renders the list (an island in islands mode)
/// with them.
#[component]
pub fn Passkeys() -> impl IntoView {
    let auth = use_auth();
    // With JavaScript off, a refused rename or delete comes back in `passkey_error`, for this
    // card alone.
    let query_error = super::redirected_message(crate::messages::PASSKEY_ERROR_PARAM);
    // Read once: the list keeps its own state while the page lives.
    let session = auth.auth_session.get_untracked();
    let error = untrack(query_error);
    let passkeys = Resource::new(|| (), |()| list_passkeys());
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let (session, error) = (session.clone(), error.clone());
                Suspend::new(async move {
                    let passkeys = passkeys.await;
                    view! { <PasskeyList session error passkeys /> }
                })
            }}
        </Transition>
    }
}

/// The list and the forms of [`Passkeys`], given the session, the URL's error code and the
/// passkeys as the server read them.
#[cfg_attr(all(feature = "islands", not(feature = "split")), island)]
#[cfg_attr(feature = "split", island(lazy))]
#[cfg_attr(not(feature = "islands"), component)]
fn PasskeyList(
    /// The signed-in session, as the server read it.
    session: Option<SessionInfo>,
    /// The text of the `passkey_error` code of the page's URL.
    error: String,
    /// The address's passkeys, as the server read them.
    passkeys: Result<Vec<PasskeyView>, AuthError>,
) -> impl IntoView {
    let supported = webauthn_supported();
    let auth = AuthState::for_island(session);
    let query_error = StoredValue::new(error);
    let query_error = move || query_error.get_value();
    let rename = super::island_action::<RenamePasskey>();
    let delete = super::island_action::<DeletePasskey>();
    // Only a passkey deleted changes the account: a refusal (a stale session, say) keeps the
    // page, and its prompt, where it is.
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(()))) {
            auth.account_changed();
        }
    });
    let added = RwSignal::new(0u32);
    // The list the server read, read again after each change made here.
    let passkeys = RwSignal::new(passkeys);
    Effect::new(move |previous: Option<(usize, usize, u32)>| {
        let now = (rename.version().get(), delete.version().get(), added.get());
        if previous.is_some_and(|previous| previous != now) {
            spawn_local(async move {
                let fresh = list_passkeys().await;
                passkeys.try_set(fresh);
            });
        }
        now
    });
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
            {move || match passkeys.get() {
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
            }}
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
    rename: super::IslandAction<RenamePasskey>,
    delete: super::IslandAction<DeletePasskey>,
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
            <form
                method="post"
                action=RenamePasskey::url()
                class="rename-passkey"
                on:submit=move |ev| {
                    ev.prevent_default();
                    rename.dispatch(RenamePasskey {
                        id: form_field(&ev, "id"),
                        name: form_field(&ev, "name"),
                    });
                }
            >
                <input type="hidden" name="id" value=rename_id />
                <label for=field.clone() class="visually-hidden">"New name"</label>
                <input id=field name="name" type="text" maxlength="64" value=passkey.name />
                <button type="submit" class="button button-secondary">"Rename"</button>
            </form>
            <form
                method="post"
                action=DeletePasskey::url()
                on:submit=move |ev| {
                    ev.prevent_default();
                    delete.dispatch(DeletePasskey { id: form_field(&ev, "id") });
                }
            >
                <input type="hidden" name="id" value=delete_id />
                <button type="submit" class="button button-secondary" aria-label=delete_label>
                    "Delete"
                </button>
            </form>
        </li>
    }
}
