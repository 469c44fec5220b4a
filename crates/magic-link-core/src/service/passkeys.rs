//! Passkeys: adding one to a signed-in address, and signing in with one (the `passkeys`
//! feature). The WebAuthn checks are webauthn-rs's; this module keeps its ceremony state in
//! the database between the two halves of each ceremony, so any instance may finish what
//! another started.

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, DiscoverableAuthentication, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::AuthService;
use crate::{
    client::Client,
    entities::passkey_challenge::Purpose,
    hooks::SignInMethod,
    store::{
        Device, NewSession, Session, StoreError,
        passkeys::{
            ChallengeOwner, NewPasskey, PasskeyError, PasskeyInfo, PasskeyUse, SessionOwner,
        },
    },
};

/// How long a browser has to answer a passkey prompt: webauthn-rs's own timeout, which the
/// browser is told too.
pub const CEREMONY_LIFETIME: Duration = webauthn_rs::DEFAULT_AUTHENTICATOR_TIMEOUT;

/// How many unfinished passkey sign-ins one client may hold. A login page starts one for
/// autofill and one per button press; a person never needs more than a few.
pub const LIVE_SIGN_INS_PER_CLIENT: u64 = 20;

/// How many unfinished registrations and confirmations one session may hold, together. Each
/// is one press of "Add a passkey" or "Confirm with a passkey"; a ceremony cancelled in the
/// browser stays unfinished until it expires ([`CEREMONY_LIFETIME`]), so a person who
/// cancels ten prompts in five minutes waits at most that long.
pub const LIVE_CEREMONIES_PER_SESSION: u64 = 10;

/// Why a passkey could not be added or used. [`is_bad_input`](Self::is_bad_input) tells the
/// HTTP layer whether it is the request's fault (4xx) or the service's.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyFlowError {
    /// `MAGIC_LINK_AUTH_PUBLIC_URL` has no domain name (browsers refuse an IP address as
    /// the relying party), so passkeys are off.
    #[error("Passkeys are not available on this site.")]
    Unavailable,
    /// The ceremony is unknown, used, expired, someone else's, or another kind.
    #[error("This passkey request has expired or was already used. Please try again.")]
    ChallengeExpired,
    /// The browser's answer is not JSON of the expected shape.
    #[error("The passkey response could not be read.")]
    Malformed(#[source] serde_json::Error),
    /// The answer failed a WebAuthn check: wrong origin or relying party, bad signature,
    /// no user verification, another ceremony's challenge.
    #[error("The passkey could not be verified.")]
    Rejected(#[source] WebauthnError),
    /// This client has failed too often in the window, or this client or session holds as
    /// many unfinished ceremonies as it may.
    #[error("Too many attempts. Please try again later.")]
    TooManyFailures,
    /// A confirmation was asked for by an address that has no passkey.
    #[error("You have no passkey yet: use \"Email me a code\" instead.")]
    NoPasskeys,
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    /// Ceremony state that could not be written or read back: a fault of this service.
    #[error("passkey ceremony state: {0}")]
    State(#[source] serde_json::Error),
    /// webauthn-rs refused a request this service built: a fault of this service.
    #[error("passkey ceremony: {0}")]
    Internal(#[source] WebauthnError),
}

impl From<StoreError> for PasskeyFlowError {
    fn from(err: StoreError) -> Self {
        Self::Passkey(PasskeyError::Store(err))
    }
}

impl PasskeyFlowError {
    /// Whether the request was at fault (a 4xx), rather than this service (a 5xx).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::Unavailable
            | Self::ChallengeExpired
            | Self::Malformed(_)
            | Self::Rejected(_)
            | Self::TooManyFailures
            | Self::NoPasskeys => true,
            Self::Passkey(PasskeyError::Store(_)) | Self::State(_) | Self::Internal(_) => false,
            Self::Passkey(_) => true,
        }
    }
}

/// A ceremony started: the options for `navigator.credentials`, and the handle that
/// finishes it.
#[derive(Debug)]
pub struct Started<T> {
    /// The handle the browser sends back with its answer; only its hash is stored.
    pub handle: String,
    pub options: T,
}

/// The relying party for `public_url`, or `None` when its host is not a domain name. Its
/// name, which authenticators show beside the account, is the domain.
pub fn relying_party(public_url: &str) -> Option<Arc<Webauthn>> {
    let origin = Url::parse(public_url).ok()?;
    let Some(url::Host::Domain(rp_id)) = origin.host() else {
        tracing::warn!(
            public_url,
            "passkeys are off: MAGIC_LINK_AUTH_PUBLIC_URL must name a domain (such as localhost), not an IP address"
        );
        return None;
    };
    let rp_id = rp_id.to_owned();
    match WebauthnBuilder::new(&rp_id, &origin).and_then(|b| b.rp_name(&rp_id).build()) {
        Ok(webauthn) => Some(Arc::new(webauthn)),
        Err(err) => {
            tracing::warn!(error = %err, public_url, "passkeys are off: no relying party for this address");
            None
        }
    }
}

/// The stored form of `passkey` after the use `result` describes: its counter and backup
/// flags brought up to date.
fn after_use(
    mut passkey: Passkey,
    result: &AuthenticationResult,
) -> Result<String, PasskeyFlowError> {
    passkey.update_credential(result);
    serde_json::to_string(&passkey).map_err(PasskeyFlowError::State)
}

/// The stored form of a credential id.
fn credential_id(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `session` as the owner of the ceremonies it starts.
fn owner(session: &Session) -> SessionOwner<'_> {
    SessionOwner {
        email: &session.email,
        session: session.id,
    }
}

impl AuthService {
    /// Deletes `email`'s passkey `id` for `session`, and records it in the address's
    /// activity; `false` when the address has no such passkey.
    pub async fn delete_passkey(
        &self,
        session: &crate::store::Session,
        id: i64,
    ) -> Result<bool, crate::store::passkeys::PasskeyError> {
        let deleted = self.store.delete_passkey(&session.email, id).await?;
        if deleted {
            self.record(
                &session.email,
                crate::entities::event::EventKind::PasskeyRemoved,
                super::events::By::Session(session),
            )
            .await;
        }
        Ok(deleted)
    }

    fn webauthn(&self) -> Result<&Webauthn, PasskeyFlowError> {
        self.passkeys
            .as_deref()
            .ok_or(PasskeyFlowError::Unavailable)
    }

    /// Whether passkeys can be used on this site.
    pub fn passkeys_enabled(&self) -> bool {
        self.passkeys.is_some()
    }

    /// Starts adding a passkey to `session`'s address. Its existing passkeys are excluded,
    /// so one authenticator is not registered twice.
    ///
    /// Refused at once when the address has `passkeys_per_address` passkeys already (the
    /// finish checks again, under the address's lock), and when `session` holds
    /// [`LIVE_CEREMONIES_PER_SESSION`] unfinished ceremonies.
    pub async fn start_passkey_registration(
        &self,
        session: &Session,
    ) -> Result<Started<CreationChallengeResponse>, PasskeyFlowError> {
        let webauthn = self.webauthn()?;
        let now = self.clock.now();
        let limit = self.config.passkeys_per_address;
        let have = self.store.count_passkeys(&session.email).await?;
        if have >= u64::from(limit) {
            return Err(PasskeyError::TooMany { have, limit }.into());
        }
        let user_handle = self.store.passkey_user_handle(&session.email, now).await?;
        let mut exclude = Vec::new();
        for stored in self.store.passkeys_of(&session.email, limit).await? {
            if let Ok(bytes) = URL_SAFE_NO_PAD.decode(&stored.credential_id) {
                exclude.push(bytes);
            }
        }
        let email = session.email.as_str();
        let (mut options, state) = webauthn
            .start_passkey_registration(user_handle, email, email, Some(exclude))
            .map_err(PasskeyFlowError::Internal)?;
        // Signing in without typing an address needs a discoverable credential, which
        // webauthn-rs's passkey registration only prefers: require it.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        let state = serde_json::to_string(&state).map_err(PasskeyFlowError::State)?;
        let handle = self
            .save_session_ceremony(Purpose::Register, session, state, now)
            .await?;
        Ok(Started { handle, options })
    }

    /// Keeps the state of a registration or confirmation `session` started, unless it holds
    /// [`LIVE_CEREMONIES_PER_SESSION`] unfinished ones already.
    async fn save_session_ceremony(
        &self,
        purpose: Purpose,
        session: &Session,
        state: String,
        now: DateTime<Utc>,
    ) -> Result<String, PasskeyFlowError> {
        self.store
            .save_challenge(
                purpose,
                ChallengeOwner::Session(owner(session)),
                state,
                now,
                CEREMONY_LIFETIME,
                LIVE_CEREMONIES_PER_SESSION,
            )
            .await?
            .ok_or_else(|| {
                tracing::info!(
                    session = session.id,
                    "passkey ceremony refused: too many unfinished ceremonies in this session"
                );
                PasskeyFlowError::TooManyFailures
            })
    }

    /// Finishes adding a passkey, named `name`, to `session`'s address with the browser's
    /// `credential` (JSON of a `RegisterPublicKeyCredential`).
    pub async fn finish_passkey_registration(
        &self,
        session: &Session,
        handle: &str,
        name: &str,
        credential: &str,
    ) -> Result<PasskeyInfo, PasskeyFlowError> {
        let webauthn = self.webauthn()?;
        let now = self.clock.now();
        let (credential, state): (RegisterPublicKeyCredential, PasskeyRegistration) = self
            .take_ceremony(
                Purpose::Register,
                handle,
                Some(owner(session)),
                credential,
                now,
            )
            .await?;
        let passkey = webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(PasskeyFlowError::Rejected)?;
        let serialised = serde_json::to_string(&passkey).map_err(PasskeyFlowError::State)?;
        let info = self
            .store
            .add_passkey_in_session(
                NewPasskey {
                    email: &session.email,
                    name,
                    credential_id: &credential_id(passkey.cred_id()),
                    passkey: &serialised,
                },
                session.id,
                self.config.passkeys_per_address,
                now,
            )
            .await?;
        tracing::info!(email = %session.email.masked(), session = session.id, passkey = info.id, "passkey added");
        self.record(
            &session.email,
            crate::entities::event::EventKind::PasskeyAdded,
            super::events::By::Session(session),
        )
        .await;
        Ok(info)
    }

    /// Starts a sign-in with a discoverable passkey, for `client`: no address is asked for.
    ///
    /// Anyone may start one, so each client may hold at most [`LIVE_SIGN_INS_PER_CLIENT`]
    /// unfinished ceremonies: past that it is refused until some expire, and nobody else is.
    pub async fn start_passkey_sign_in(
        &self,
        client: &Client,
    ) -> Result<Started<RequestChallengeResponse>, PasskeyFlowError> {
        let webauthn = self.webauthn()?;
        let now = self.clock.now();
        let (mut options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(PasskeyFlowError::Internal)?;
        // The browser decides between the button (a modal prompt) and autofill.
        options.mediation = None;
        let state = serde_json::to_string(&state).map_err(PasskeyFlowError::State)?;
        let Some(handle) = self
            .store
            .save_challenge(
                Purpose::SignIn,
                ChallengeOwner::Client(&client.key),
                state,
                now,
                CEREMONY_LIFETIME,
                LIVE_SIGN_INS_PER_CLIENT,
            )
            .await?
        else {
            tracing::info!(client = %client.key, "passkey sign-in refused: too many unfinished ceremonies");
            return Err(PasskeyFlowError::TooManyFailures);
        };
        Ok(Started { handle, options })
    }

    /// Finishes a passkey sign-in with the browser's `credential` (JSON of a
    /// `PublicKeyCredential`), opened by `client` on `device`, and starts a session.
    ///
    /// Each refusal counts against `client`, as a wrong link does: past the limit, its
    /// tries are refused whatever they carry. Nobody else's sign-in is affected.
    pub async fn finish_passkey_sign_in(
        &self,
        handle: &str,
        credential: &str,
        client: &Client,
        device: &Device,
    ) -> Result<NewSession, PasskeyFlowError> {
        let webauthn = self.webauthn()?;
        if self.refuse_after_too_many_failures(client).await.is_err() {
            return Err(PasskeyFlowError::TooManyFailures);
        }
        let outcome = self
            .passkey_sign_in(webauthn, handle, credential, client, device)
            .await;
        match outcome {
            Ok(new_session) => {
                self.announce_sign_in(&new_session, SignInMethod::Passkey)
                    .await;
                Ok(new_session)
            }
            Err(err) => {
                if err.is_bad_input() {
                    self.count_failure(client).await;
                }
                Err(err)
            }
        }
    }

    /// Takes the ceremony behind `handle`, once, if it was started for `purpose` by `by`
    /// (the session, for a registration or confirmation; nobody, for a sign-in), and reads
    /// the browser's answer `credential` and the ceremony's stored state. A handle of
    /// another ceremony or session is refused as an expired one, and left for its owner.
    async fn take_ceremony<C, S>(
        &self,
        purpose: Purpose,
        handle: &str,
        by: Option<SessionOwner<'_>>,
        credential: &str,
        now: DateTime<Utc>,
    ) -> Result<(C, S), PasskeyFlowError>
    where
        C: serde::de::DeserializeOwned,
        S: serde::de::DeserializeOwned,
    {
        let taken = self
            .store
            .take_challenge(purpose, by, handle, now)
            .await?
            .ok_or(PasskeyFlowError::ChallengeExpired)?;
        let credential = serde_json::from_str(credential).map_err(PasskeyFlowError::Malformed)?;
        let state = serde_json::from_str(&taken.state).map_err(PasskeyFlowError::State)?;
        Ok((credential, state))
    }

    async fn passkey_sign_in(
        &self,
        webauthn: &Webauthn,
        handle: &str,
        credential: &str,
        client: &Client,
        device: &Device,
    ) -> Result<NewSession, PasskeyFlowError> {
        let now = self.clock.now();
        let (credential, state): (PublicKeyCredential, DiscoverableAuthentication) = self
            .take_ceremony(Purpose::SignIn, handle, None, credential, now)
            .await?;
        let (user_handle, credential_bytes) = webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(PasskeyFlowError::Rejected)?;
        // The passkey must exist, and belong to the address its user handle names.
        let owner = self.store.email_of_user_handle(&user_handle).await?;
        let stored = self
            .store
            .passkey_by_credential(&credential_id(credential_bytes))
            .await?
            .filter(|stored| Some(&stored.email) == owner.as_ref())
            .ok_or(PasskeyError::NotFound)?;
        let passkey: Passkey =
            serde_json::from_str(&stored.passkey).map_err(PasskeyFlowError::State)?;
        let result = webauthn
            .finish_discoverable_authentication_v2(&credential, state, &passkey)
            .map_err(PasskeyFlowError::Rejected)?;
        let serialised = after_use(passkey, &result)?;
        let used = PasskeyUse {
            email: &stored.email,
            id: stored.id,
            counter: result.counter(),
            passkey: &serialised,
        };
        Ok(self
            .store
            .sign_in_with_passkey(used, &client.key, device, now)
            .await?)
    }

    /// Starts confirming that `session`'s person is still there, with one of its address's
    /// passkeys, before a sensitive action. Only that address's passkeys are offered, at most
    /// `passkeys_per_address` of them (the oldest), and only `session` can finish it.
    pub async fn start_passkey_confirmation(
        &self,
        session: &Session,
    ) -> Result<Started<RequestChallengeResponse>, PasskeyFlowError> {
        let webauthn = self.webauthn()?;
        let mut passkeys = Vec::new();
        let limit = self.config.passkeys_per_address;
        for stored in self.store.passkeys_of(&session.email, limit).await? {
            let passkey: Passkey =
                serde_json::from_str(&stored.passkey).map_err(PasskeyFlowError::State)?;
            passkeys.push(passkey);
        }
        if passkeys.is_empty() {
            return Err(PasskeyFlowError::NoPasskeys);
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(PasskeyFlowError::Internal)?;
        let state = serde_json::to_string(&state).map_err(PasskeyFlowError::State)?;
        let handle = self
            .save_session_ceremony(Purpose::Confirm, session, state, self.clock.now())
            .await?;
        Ok(Started { handle, options })
    }

    /// Finishes a confirmation started by [`Self::start_passkey_confirmation`]: `session`
    /// counts as freshly signed in. A refusal counts against `client`.
    pub async fn finish_passkey_confirmation(
        &self,
        session: &Session,
        handle: &str,
        credential: &str,
        client: &Client,
    ) -> Result<(), PasskeyFlowError> {
        let webauthn = self.webauthn()?;
        if self.refuse_after_too_many_failures(client).await.is_err() {
            return Err(PasskeyFlowError::TooManyFailures);
        }
        let outcome = self
            .passkey_confirmation(webauthn, session, handle, credential)
            .await;
        if let Err(err) = &outcome
            && err.is_bad_input()
        {
            self.count_failure(client).await;
        }
        outcome
    }

    async fn passkey_confirmation(
        &self,
        webauthn: &Webauthn,
        session: &Session,
        handle: &str,
        credential: &str,
    ) -> Result<(), PasskeyFlowError> {
        let now = self.clock.now();
        let (credential, state): (PublicKeyCredential, PasskeyAuthentication) = self
            .take_ceremony(
                Purpose::Confirm,
                handle,
                Some(owner(session)),
                credential,
                now,
            )
            .await?;
        let result = webauthn
            .finish_passkey_authentication(&credential, &state)
            .map_err(PasskeyFlowError::Rejected)?;
        let stored = self
            .store
            .passkey_by_credential(&credential_id(result.cred_id()))
            .await?
            .filter(|stored| stored.email == session.email)
            .ok_or(PasskeyError::NotFound)?;
        let passkey: Passkey =
            serde_json::from_str(&stored.passkey).map_err(PasskeyFlowError::State)?;
        let serialised = after_use(passkey, &result)?;
        self.store
            .record_passkey_use(
                &session.email,
                stored.id,
                result.counter(),
                &serialised,
                now,
            )
            .await?;
        if !self
            .store
            .confirm_session(&session.email, session.id, now)
            .await?
        {
            return Err(PasskeyFlowError::ChallengeExpired);
        }
        tracing::info!(session = session.id, "session confirmed with a passkey");
        Ok(())
    }
}
