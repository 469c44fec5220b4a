//! The auth UI, as components an app places on its own pages.
//!
//! | component | what it is | its classes |
//! | --- | --- | --- |
//! | [`AuthProvider`](crate::AuthProvider) | puts [`AuthState`](crate::AuthState) in context; wrap the app's routes in it, inside `<Router>` | none |
//! | [`LoginForm`] | the email form that asks for a link (and, after a deletion, says the account is deleted) | `card`, `field`, `button`, `callout`, `callout-error` |
//! | [`CheckEmail`] | waits for the link to be opened, takes the typed code, says when the email failed | `card`, `field`, `code-input`, `button`, `hint`, `callout-error` |
//! | [`MagicLinkPage`] | the page a link opens: signs the asking browser in, asks any other to confirm | `card`, `button`, `button-secondary`, `callout-error` |
//! | [`SignOutEverywherePage`] | the page a new-sign-in notice's "sign out everywhere" link opens: asks for a press, then ends every session of the address | `card`, `button`, `button-danger`, `button-secondary`, `hint`, `callout-error` |
//! | [`RequireAuth`] | shows its children to a signed-in visitor, sends anyone else to the login page | `callout-error` |
//! | [`LogoutButton`] | ends this browser's session | `button`, `button-secondary` |
//! | [`Sessions`] | every session of the address, each with a way to end it, and "sign out everywhere" | `card`, `sessions`, `session`, `badge`, `hint`, `button-secondary`, `callout-error` |
//! | [`Activity`] | the address's recent activity: its last 20 events, each with when, the browser and the network | `card`, `activity`, `event`, `hint`, `callout-error` |
//! | [`ChangeEmailForm`] | "Change your email address": a new address and a fresh sign-in; a link goes to the new address | `card`, `field`, `button`, `callout`, `callout-error` |
//! | [`ChangeEmailPage`] | the page a change of address's links open: asks for a press, then moves the account to the new address, or (the old address's link) back, signing it out everywhere | `card`, `button`, `button-danger`, `button-secondary`, `hint`, `callout-error` |
//! | [`DeviceSignInPage`] | "Sign in with another device": starts a request, then shows a QR code, a short URL and a two-digit number, and moves on by itself once a signed-in device approves | `card`, `device-qr`, `device-url`, `device-number`, `button`, `button-secondary`, `hint`, `callout-error` |
//! | [`ApproveDevicePage`] | the page the QR code opens on a signed-in device: names the device asking and offers three numbers; the right pick signs it in, a wrong one ends the request | `card`, `device-asking`, `device-picks`, `device-pick`, `button`, `button-secondary`, `callout-error` |
//! | [`DeleteAccountForm`] | "Delete your account": the address typed again and a fresh sign-in, then everything of the address goes and this browser lands on the login page | `card`, `field`, `button`, `button-danger`, `callout-error` |
//! | [`ConfirmPrompt`] | asks a stale session to confirm (passkey, or a fresh code by email) before a sensitive action | `confirm`, `button`, `button-secondary`, `callout-error` |
//! | `PasskeySignIn` (`passkeys`) | "Sign in with a passkey" and passkey autofill; [`LoginForm`] includes it | `passkey-sign-in`, `hint`, `button-secondary`, `callout-error` |
//! | `Passkeys` (`passkeys`) | the address's passkeys: add (named), rename, delete | `card`, `passkeys`, `passkey`, `passkey-name`, `add-passkey`, `rename-passkey`, `field`, `hint`, `visually-hidden`, `button`, `button-secondary`, `callout-error` |
//!
//! Every form works without JavaScript too. The default stylesheet for these classes is
//! [`STYLESHEET`](crate::STYLESHEET) (`style/magic-link.css` in this crate).

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_query_map;

use crate::api::AuthError;

mod activity;
mod change_email;
mod check_email;
mod confirm;
mod delete_account;
mod device_sign_in;
mod gate;
mod link_page;
mod login;
#[cfg(feature = "passkeys")]
mod passkeys;
mod sessions;
mod sign_out_page;

pub use activity::Activity;
pub use change_email::{ChangeEmailForm, ChangeEmailPage};
pub use check_email::CheckEmail;
pub use confirm::{ConfirmPrompt, needs_confirmation};
pub use delete_account::DeleteAccountForm;
pub use device_sign_in::{ApproveDevicePage, DeviceSignInPage};
pub use gate::{LogoutButton, RequireAuth};
pub use link_page::MagicLinkPage;
pub use login::LoginForm;
#[cfg(feature = "passkeys")]
pub use passkeys::{PasskeySignIn, Passkeys};
pub use sessions::Sessions;
pub use sign_out_page::SignOutEverywherePage;

/// What a page opened from a link shows when the link is refused: its `title`, the
/// `message`, and the way to the account page.
pub(crate) fn refused_card(title: &'static str, message: String) -> AnyView {
    view! {
        <h1>{title}</h1>
        <p class="callout-error" role="alert">{message}</p>
        <a class="button button-secondary" href=crate::paths::get().account.clone()>
            "Go to your account"
        </a>
    }
    .into_any()
}

/// The message to show under a form: its action's last error, or, with JavaScript off,
/// `redirected`, the text of the code the server sent the browser back with (see
/// [`redirected_message`]).
pub fn form_error<T>(last_reply: Option<Result<T, AuthError>>, redirected: String) -> String {
    match last_reply {
        Some(Err(err)) => err.error,
        Some(Ok(_)) => String::new(),
        None => redirected,
    }
}

/// The text of the code in the URL's parameter `name` (such as `error`): the server's own
/// words for it, or nothing for a code that is not one of the server's, so a URL never puts
/// its own words on a page. Read where the page renders, so an island gets the text as a prop
/// and the browser needs no table of codes.
pub(crate) fn redirected_message(
    name: &'static str,
) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let code = query_param(name);
    move || crate::messages::message_for(&code()).to_owned()
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

/// The action an island dispatches to call server function `S`.
pub(crate) type IslandAction<S> =
    Action<S, Result<<S as ServerFn>::Output, <S as ServerFn>::Error>>;

/// An action that calls server function `S` from the browser: what `ServerAction::new` makes,
/// less its reading of an error that a plain form's post put in the URL (`__err`, which the
/// auth's endpoints never send: they redirect with their own `error` codes). That reader
/// decodes base64 and the error type, 3 KB of the login page's wasm before compression.
pub(crate) fn island_action<S>() -> IslandAction<S>
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    Action::new(|input: &S| S::run_on_client(input.clone()))
}

/// Goes to a page after an action; made while the component is set up. In a fully hydrated
/// app, the router navigates; in islands mode, where no router runs in the browser, the
/// browser loads the page.
pub(crate) fn navigator() -> impl Fn(&str) + Clone + Send + Sync + 'static {
    #[cfg(not(feature = "islands"))]
    {
        let navigate = leptos_router::hooks::use_navigate();
        move |to: &str| navigate(to, Default::default())
    }
    #[cfg(feature = "islands")]
    {
        |to: &str| {
            let _ = window().location().assign(to);
        }
    }
}

/// The value of the field `name` of the form `ev` submits, if it has one.
///
/// The interactive forms dispatch their server action from `on:submit` with the fields read
/// here, instead of through `ActionForm`: its generic form-data decoder is a third of the
/// login page's wasm. Without JavaScript the same `<form>` posts as it is.
pub(crate) fn form_field(ev: &leptos::ev::SubmitEvent, name: &str) -> Option<String> {
    use leptos::wasm_bindgen::JsCast;
    let form = ev
        .target()?
        .dyn_into::<leptos::web_sys::HtmlFormElement>()
        .ok()?;
    leptos::web_sys::FormData::new_with_form(&form)
        .ok()?
        .get(name)
        .as_string()
}

/// For a page whose address holds a token: no request from it may carry the token onward,
/// so a `Referer` from it names the origin only. Not `no-referrer`: under it the browser sends
/// `Origin: null` with the page's own form post, which the cross-site check must refuse.
pub(crate) fn keep_token_out_of_referrer() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::header::REFERRER_POLICY,
            axum::http::HeaderValue::from_static("strict-origin"),
        );
    }
}

/// A query parameter of the current URL, or empty.
pub(crate) fn query_param(
    name: &'static str,
) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.read().get(name).unwrap_or_default()
}
