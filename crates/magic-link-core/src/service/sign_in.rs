//! Signing in with a link or a typed code, and signing out: the whole flow, from the client's
//! failure count to the app's hooks. The HTTP layer only turns the outcome into cookies,
//! statuses and redirects.

use chrono::{DateTime, Utc};

use super::AuthService;
use super::events::By;
use crate::{
    client::Client,
    entities::event::EventKind,
    hooks::{SignInMethod, SignedInEvent, SignedOutEvent},
    store::{CodeClaim, Device, NewSession, RedeemError, Session, StoreError},
};
use magic_link_types::domain::{Code, Email, LinkToken, SessionToken};

/// Why a sign-in was refused. Nothing was signed in; each maps to one status.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// This client has failed too often in the window: refused whatever it carries.
    #[error("too many failed sign-ins from this client")]
    TooManyFailures,
    /// The link token, address or code is not even well formed. Counted as a failure.
    #[error("{0}")]
    Malformed(String),
    /// The store refused the credential, or could not be reached.
    #[error(transparent)]
    Redeem(#[from] RedeemError),
}

impl From<StoreError> for SignInError {
    fn from(err: StoreError) -> Self {
        Self::Redeem(RedeemError::Store(err))
    }
}

impl AuthService {
    /// Signs in with the token of a magic link, opened by `client` on `device`.
    pub async fn sign_in_with_link(
        &self,
        token: &str,
        client: &Client,
        device: &Device,
    ) -> Result<NewSession, SignInError> {
        self.refuse_after_too_many_failures(client).await?;
        let token = match LinkToken::parse(token) {
            Ok(token) => token,
            Err(err) => {
                self.count_failure(client).await;
                return Err(SignInError::Malformed(err.to_string()));
            }
        };
        let outcome = self
            .store
            .redeem_link(&token, &client.key, device, self.clock.now())
            .await;
        self.finish_sign_in(client, outcome, SignInMethod::Link)
            .await
    }

    /// Signs in with the code typed for `email`. `pending` is the browser's pending sign-in
    /// (its cookie): the code is checked against that link, else its client's newest.
    pub async fn sign_in_with_code(
        &self,
        email: &str,
        code: &str,
        pending: Option<&str>,
        client: &Client,
        device: &Device,
    ) -> Result<NewSession, SignInError> {
        let parsed = Email::parse(email)
            .map_err(|err| err.to_string())
            .and_then(|email| {
                Code::parse(code)
                    .map(|code| (email, code))
                    .map_err(|err| err.to_string())
            });
        self.refuse_after_too_many_failures(client).await?;
        let (email, code) = match parsed {
            Ok(pair) => pair,
            Err(message) => {
                self.count_failure(client).await;
                return Err(SignInError::Malformed(message));
            }
        };
        let claim = CodeClaim {
            pending,
            client: &client.key,
        };
        let outcome = self
            .store
            .redeem_code(&email, &code, &claim, device, self.clock.now())
            .await;
        if matches!(
            outcome,
            Err(RedeemError::WrongCode { .. } | RedeemError::CodeUsedUp)
        ) {
            crate::metrics::wrong_code();
            self.record(&email, EventKind::WrongCode, By::Device(device))
                .await;
        }
        self.finish_sign_in(client, outcome, SignInMethod::Code)
            .await
    }

    /// Redeeming is limited per client too: each failure counts, and past the store's limit
    /// every try is refused for the rest of the window, whatever it carries.
    pub(super) async fn refuse_after_too_many_failures(
        &self,
        client: &Client,
    ) -> Result<(), SignInError> {
        if self
            .store
            .too_many_failures(&client.key, self.clock.now())
            .await?
        {
            tracing::info!(client = %client.key, "redemption refused: too many failures from this client");
            return Err(SignInError::TooManyFailures);
        }
        Ok(())
    }

    pub(super) async fn count_failure(&self, client: &Client) {
        if let Err(err) = self
            .store
            .record_failure(&client.key, self.clock.now())
            .await
        {
            tracing::error!(error = %err, "could not record a failed redemption");
        }
    }

    async fn finish_sign_in(
        &self,
        client: &Client,
        outcome: Result<NewSession, RedeemError>,
        method: SignInMethod,
    ) -> Result<NewSession, SignInError> {
        match outcome {
            Ok(new_session) => {
                self.announce_sign_in(&new_session, method).await;
                Ok(new_session)
            }
            // Wrong codes are counted by the store, against the client and the address.
            Err(err @ RedeemError::InvalidOrExpired) => {
                self.count_failure(client).await;
                Err(err.into())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Tells the app's hooks that a session started; a failing hook is logged, never shown.
    pub(super) async fn announce_sign_in(&self, new_session: &NewSession, method: SignInMethod) {
        tracing::info!(email = %new_session.session.email.masked(), session = new_session.session.id, ?method, "signed in");
        crate::metrics::signed_in(method);
        let event = SignedInEvent {
            email: new_session.session.email.clone(),
            persistent_id: new_session.session.persistent_id.clone(),
            session_id: new_session.session.id,
            at: new_session.session.created_at,
            method,
        };
        if let Err(err) = self.hooks.signed_in(&event).await {
            tracing::error!(error = %err, "the sign-in hook failed");
        }
        let kind = match method {
            SignInMethod::Link => EventKind::SignedInWithLink,
            SignInMethod::Code => EventKind::SignedInWithCode,
            SignInMethod::Passkey => EventKind::SignedInWithPasskey,
            SignInMethod::Approval => EventKind::SignedInByApproval,
        };
        let session = &new_session.session;
        self.record(&session.email, kind, By::Session(session))
            .await;
        self.notice_new_device(session);
    }

    /// Ends the session behind `token`, or with `everywhere` every session of its address,
    /// and tells the app's hooks. Returns the session that was live, if there was one.
    pub async fn sign_out(
        &self,
        token: &SessionToken,
        everywhere: bool,
    ) -> Result<Option<Session>, StoreError> {
        let now = self.clock.now();
        let Some(session) = self.store.session(token, now).await? else {
            return Ok(None);
        };
        let kind = if everywhere {
            let ended = self.store.logout_all(&session.email, now).await?;
            crate::metrics::sessions_ended(ended);
            EventKind::SignedOutEverywhere
        } else {
            let ended = self.store.logout(token, now).await?;
            crate::metrics::sessions_ended(u64::from(ended));
            EventKind::SignedOut
        };
        self.record(&session.email, kind, By::Session(&session))
            .await;
        self.announce_sign_out(&session, everywhere, now).await;
        Ok(Some(session))
    }

    /// Ends the session `id` of the address signed in as `current`. False when it is not a
    /// live session of that address (already ended, or someone else's).
    pub async fn end_session(&self, current: &Session, id: i64) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let ended = self.store.logout_session(&current.email, id, now).await?;
        if ended {
            crate::metrics::sessions_ended(1);
            let kind = if id == current.id {
                EventKind::SignedOut
            } else {
                EventKind::SessionEnded
            };
            self.record(&current.email, kind, By::Session(current))
                .await;
            self.announce_sign_out(current, false, now).await;
        }
        Ok(ended)
    }

    /// Tells the app's hooks that a session ended; a failing hook is logged, never shown.
    async fn announce_sign_out(&self, session: &Session, everywhere: bool, at: DateTime<Utc>) {
        let event = SignedOutEvent {
            email: session.email.clone(),
            persistent_id: session.persistent_id.clone(),
            everywhere,
            at,
        };
        if let Err(err) = self.hooks.signed_out(&event).await {
            tracing::error!(error = %err, "the sign-out hook failed");
        }
    }
}
