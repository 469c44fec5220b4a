//! `AuthState`: what every page knows about the visitor's session, kept in context.
//!
//! One resource reads `current_session` on each navigation and again whenever something
//! signs in or out; `session_is_valid` and `auth_session` are derived from it.

use leptos::prelude::*;
use leptos_meta::Meta;
use leptos_router::hooks::use_location;

use super::{
    api::{AuthError, SessionInfo, current_session},
    paths,
    replies::Outcome,
};

/// Puts [`AuthState`] in context for everything inside it, and writes the auth pages' paths
/// into the page's `<head>` for the browser. Place it inside `<Router>` (it follows the
/// location) and around the app's `<Routes>`; the app must call
/// `leptos_meta::provide_meta_context()` and render `<MetaTags/>` in its shell, as
/// start-axum does.
#[component]
pub fn AuthProvider(children: Children) -> impl IntoView {
    AuthState::provide();
    view! {
        <Meta name=paths::META_NAME content=paths::meta_content() />
        <Meta name=PASSKEYS_META content=if passkeys_on() { "on" } else { "off" } />
        {children()}
    }
}

/// The `<meta>` that tells the browser whether this server takes passkeys: the `passkeys`
/// feature is on, and `MAGIC_LINK_AUTH_PUBLIC_URL` names a domain.
pub const PASSKEYS_META: &str = "magic-link-passkeys";

/// Whether this server takes passkeys: on the server from the service that answers this
/// request, in the browser from the page the server wrote.
pub(crate) fn passkeys_on() -> bool {
    #[cfg(all(feature = "ssr", feature = "passkeys"))]
    {
        // Outside a request (a test rendering a component alone) there is no service.
        use_context::<leptos_axum::ResponseOptions>().is_some()
            && crate::http::service().is_ok_and(|service| service.passkeys_enabled())
    }
    #[cfg(all(feature = "hydrate", feature = "passkeys"))]
    {
        paths::read_meta(PASSKEYS_META).is_some_and(|content| content == "on")
    }
    #[cfg(not(all(any(feature = "ssr", feature = "hydrate"), feature = "passkeys")))]
    {
        false
    }
}

/// What every page knows about the visitor's session. Read it with [`use_auth`].
#[derive(Clone, Copy)]
pub struct AuthState {
    /// The last answer of `current_session`; `.await` it to wait for the check in flight.
    pub session: Resource<Result<Option<SessionInfo>, AuthError>>,
    /// True while a live session is known.
    pub session_is_valid: Signal<bool>,
    /// The live session, if any.
    pub auth_session: Signal<Option<SessionInfo>>,
    version: RwSignal<u64>,
    account: RwSignal<u64>,
    /// What an action of this page did that the next page says (with JavaScript; without
    /// it, a one-time cookie carries it).
    outcome: RwSignal<Option<Outcome>>,
}

impl AuthState {
    /// Creates the state and puts it in context. Call once, inside the `<Router>`.
    pub fn provide() -> Self {
        let location = use_location();
        let version = RwSignal::new(0u64);
        // Blocking: the server waits for the check before it sends the page's head, so a
        // gate (`RequireAuth`) can still answer a real redirect to a signed-out visitor.
        let session = Resource::new_blocking(
            move || (location.pathname.get(), version.get()),
            |_| current_session(),
        );
        let auth_session = Signal::derive(move || session.get().and_then(Result::ok).flatten());
        let state = Self {
            session,
            session_is_valid: Signal::derive(move || auth_session.get().is_some()),
            auth_session,
            version,
            account: RwSignal::new(0),
            outcome: RwSignal::new(None),
        };
        provide_context(state);
        state
    }

    /// Reads the session again, for instance after a sign-in or a logout.
    pub fn refetch(&self) {
        self.version.update(|v| *v += 1);
    }

    /// Refetches whenever an action completes, given the action's `version()`.
    pub fn refetch_after(&self, action_version: RwSignal<usize>) {
        let state = *self;
        on_each_completion(action_version, move || state.refetch());
    }

    /// Tells the views of the account (such as [`Activity`](crate::Activity)) that it
    /// changed without the session changing: a passkey added, another session ended.
    pub fn account_changed(&self) {
        self.account.update(|v| *v += 1);
    }

    /// Calls [`account_changed`](Self::account_changed) whenever an action completes, given
    /// the action's `version()`.
    pub fn account_changed_after(&self, action_version: RwSignal<usize>) {
        let state = *self;
        on_each_completion(action_version, move || state.account_changed());
    }

    /// How many times the account changed on this page; tracked, so a `Resource` keyed on it
    /// loads again after each change.
    pub fn account_version(&self) -> u64 {
        self.account.get()
    }

    /// What an action just did, for the page it leads to (such as "Your account is deleted").
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        self.outcome.get()
    }

    pub(crate) fn set_outcome(&self, outcome: Option<Outcome>) {
        self.outcome.set(outcome);
    }
}

/// Runs `then` each time `action_version` moves on (not when the effect first runs).
fn on_each_completion(action_version: RwSignal<usize>, then: impl Fn() + 'static) {
    Effect::new(move |previous: Option<usize>| {
        let version = action_version.get();
        if previous.is_some_and(|previous| previous != version) {
            then();
        }
        version
    });
}

/// The `AuthState` in context.
pub fn use_auth() -> AuthState {
    expect_context::<AuthState>()
}
