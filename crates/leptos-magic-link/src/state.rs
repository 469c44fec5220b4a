//! `AuthState`: what every page knows about the visitor's session, kept in context.
//!
//! In a fully hydrated app, one resource reads `current_session` on each navigation and again
//! whenever something signs in or out; `session_is_valid` and `auth_session` are derived from
//! it. In islands mode (the `islands` feature), the server reads the session once per page and
//! passes it to each island; in the browser, every island of the page shares one signal,
//! seeded from that value (see [`AuthState::for_island`]).

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

/// What every page knows about the visitor's session. Read it with [`use_auth`], or in an
/// island with [`AuthState::for_island`].
#[derive(Clone, Copy)]
pub struct AuthState {
    /// True while a live session is known.
    pub session_is_valid: Signal<bool>,
    /// The live session, if any.
    pub auth_session: Signal<Option<SessionInfo>>,
    /// Where the session comes from: the resource that reads it on each navigation, or the
    /// page's shared signal in an island.
    source: Source,
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
            session_is_valid: Signal::derive(move || auth_session.get().is_some()),
            auth_session,
            source: Source::Checked(session),
            version,
            account: RwSignal::new(0),
            outcome: RwSignal::new(None),
        };
        provide_context(state);
        state
    }

    /// The state for an island, given the session the server read for this page.
    ///
    /// Context from the page does not reach an island in the browser, so an island takes the
    /// session as a prop and calls this. In islands mode, in the browser, every island of the
    /// page gets the same signal (the first one's `session` seeds it), so a sign-in in one
    /// island shows in the others without a reload. Without the `islands` feature, it is the
    /// [`AuthState`] in context, as [`use_auth`] gives it, when there is one (and on the
    /// server, where an island renders inside the page).
    pub fn for_island(session: Option<SessionInfo>) -> Self {
        // In the browser in islands mode, no context reaches an island.
        if !cfg!(all(feature = "islands", feature = "hydrate"))
            && let Some(state) = use_context::<AuthState>()
        {
            return state;
        }
        let shared = RwSignal::from(shared_session(session));
        let auth_session = shared.read_only().into();
        Self {
            session_is_valid: Signal::derive(move || shared.with(Option::is_some)),
            auth_session,
            source: Source::Shared(shared),
            version: RwSignal::new(0),
            account: RwSignal::new(0),
            outcome: RwSignal::new(None),
        }
    }

    /// The session once the check in flight has answered (right after a sign-in, the last
    /// answer may still say "signed out").
    pub(crate) async fn checked(self) -> Result<Option<SessionInfo>, AuthError> {
        match self.source {
            Source::Checked(session) => session.await,
            Source::Shared(shared) => Ok(shared.get_untracked()),
        }
    }

    /// Shows `session` as the page's session, just started by an action of this page.
    #[cfg(feature = "passkeys")]
    pub(crate) fn signed_in(&self, session: SessionInfo) {
        self.show(Some(session));
    }

    /// Shows the page as signed out, after an action of this page ended the session. (In
    /// islands mode, logging out loads the login page instead.)
    #[cfg(not(feature = "islands"))]
    pub(crate) fn signed_out(&self) {
        self.show(None);
    }

    fn show(&self, session: Option<SessionInfo>) {
        match self.source {
            Source::Shared(shared) => shared.set(session),
            // In the browser in islands mode every state is shared: leaving the resource's
            // reading out keeps the session check's client out of the login page's wasm.
            #[cfg(not(all(feature = "islands", feature = "hydrate")))]
            Source::Checked(_) => self.refetch(),
            #[cfg(all(feature = "islands", feature = "hydrate"))]
            Source::Checked(_) => {}
        }
    }

    /// Reads the session again, for instance after a sign-in or a logout.
    pub fn refetch(&self) {
        self.version.update(|v| *v += 1);
        if let Source::Shared(shared) = self.source {
            leptos::task::spawn_local(async move {
                if let Ok(session) = current_session().await {
                    shared.try_set(session);
                }
            });
        }
    }

    /// Refetches whenever an action completes, given the action's `version()`.
    pub fn refetch_after(&self, action_version: RwSignal<usize>) {
        let state = *self;
        on_each_completion(action_version, move || state.refetch());
    }

    /// Tells the views of the account (such as [`Activity`](crate::Activity)) that it
    /// changed without the session changing: a passkey added, another session ended.
    ///
    /// In an island in islands mode, the other views of the account rendered on the server,
    /// so the page loads again to show the change.
    pub fn account_changed(&self) {
        self.account.update(|v| *v += 1);
        if matches!(self.source, Source::Shared(_)) {
            let _ = window().location().reload();
        }
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

#[derive(Clone, Copy)]
enum Source {
    Checked(Resource<Result<Option<SessionInfo>, AuthError>>),
    Shared(RwSignal<Option<SessionInfo>>),
}

/// The page's one session signal, in the browser in islands mode: made by the first island
/// that asks, with what the server read. It lives as long as the page, outside every island's
/// owner, so an island that goes away takes nothing from the others.
#[cfg(all(feature = "islands", feature = "hydrate"))]
fn shared_session(session: Option<SessionInfo>) -> ArcRwSignal<Option<SessionInfo>> {
    thread_local! {
        static PAGE_SESSION: std::cell::OnceCell<ArcRwSignal<Option<SessionInfo>>> =
            const { std::cell::OnceCell::new() };
    }
    PAGE_SESSION.with(|cell| {
        cell.get_or_init(|| {
            // No router runs in the browser in islands mode: a server function's redirect
            // (after a sign-in, say) loads the page it names.
            let _ = leptos::server_fn::redirect::set_redirect_hook(|location: &str| {
                let _ = window().location().assign(location);
            });
            ArcRwSignal::new(session)
        })
        .clone()
    })
}

/// On the server, and in a fully hydrated app outside [`AuthProvider`], each island has its
/// own signal: the server renders each page once.
#[cfg(not(all(feature = "islands", feature = "hydrate")))]
fn shared_session(session: Option<SessionInfo>) -> ArcRwSignal<Option<SessionInfo>> {
    ArcRwSignal::new(session)
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
