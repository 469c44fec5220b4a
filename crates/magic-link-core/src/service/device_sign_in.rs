//! Signing in a second device from a signed-in one, with number matching.

use super::{AuthService, events::By};
use crate::{
    client::Client,
    clock::utc_minute,
    device::{describe_user_agent, network_of},
    entities::event::EventKind,
    hooks::SignInMethod,
    store::{
        ApproveError, Device, IssueError, PollOutcome, Session, StartedRequest, StoreError,
        normalize_code,
    },
};

/// A pending request as the approving device shows it: the new device, described from a
/// fixed list, never in its own words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// Such as "Firefox on macOS".
    pub device: String,
    /// Such as `203.0.113.0/24`.
    pub network: String,
    /// When it was asked, as `2026-11-25 12:30 UTC`.
    pub at: String,
    /// The three numbers to pick from.
    pub choices: [u8; 3],
}

impl AuthService {
    /// Starts a request to sign in the asking device from another one: the code for the
    /// approving device's URL, the new device's secret, and the number it shows. Counts
    /// against the client's limit with its sign-in links.
    pub async fn start_device_request(
        &self,
        client: &Client,
        device: &Device,
    ) -> Result<StartedRequest, IssueError> {
        let started = self
            .store
            .start_device_request(&client.key, device, self.clock.now())
            .await?;
        tracing::info!("a sign-in from another device was asked for");
        Ok(started)
    }

    /// The pending request behind `code`, for the approving device; `None` for a code that is
    /// malformed, unknown, approved, ended or expired.
    pub async fn device_request(&self, code: &str) -> Result<Option<ApprovalRequest>, StoreError> {
        let Some(code) = normalize_code(code) else {
            return Ok(None);
        };
        let pending = self
            .store
            .pending_device_request(&code, self.clock.now())
            .await?;
        Ok(pending.map(|pending| ApprovalRequest {
            device: describe_user_agent(pending.user_agent.as_deref()),
            network: network_of(pending.client_ip.as_deref()),
            at: utc_minute(pending.created_at),
            choices: pending.choices,
        }))
    }

    /// Approves the request behind `code` for `session`'s account when `number` is the new
    /// device's; a wrong number ends the request. Recorded in the account's activity either
    /// way. The HTTP layer has checked that the session is fresh.
    pub async fn approve_device_request(
        &self,
        session: &Session,
        code: &str,
        number: u8,
    ) -> Result<(), ApproveError> {
        let code = normalize_code(code).ok_or(ApproveError::InvalidOrExpired)?;
        let result = self
            .store
            .approve_device_request(&code, number, session, self.clock.now())
            .await;
        match &result {
            Ok(()) => {
                tracing::info!(
                    session = session.id,
                    "a sign-in on another device was approved"
                );
                self.record(
                    &session.email,
                    EventKind::DeviceApproved,
                    By::Session(session),
                )
                .await;
            }
            Err(ApproveError::WrongNumber) => {
                tracing::info!(
                    session = session.id,
                    "a device request ended: the wrong number was picked"
                );
                self.record(
                    &session.email,
                    EventKind::DeviceRefused,
                    By::Session(session),
                )
                .await;
            }
            Err(_) => {}
        }
        result
    }

    /// The number the new device's live request shows (`None` once it has ended); reads
    /// only.
    pub async fn device_request_number(&self, poll: &str) -> Result<Option<u8>, StoreError> {
        self.store
            .device_request_number(poll, self.clock.now())
            .await
    }

    /// The new device's poll: still waiting (with its number), its new session once approved
    /// (announced as any sign-in is), or ended.
    pub async fn poll_device_request(
        &self,
        poll: &str,
        client: &Client,
        device: &Device,
    ) -> Result<PollOutcome, StoreError> {
        let outcome = self
            .store
            .poll_device_request(poll, &client.key, device, self.clock.now())
            .await?;
        if let PollOutcome::SignedIn(new_session) = &outcome {
            self.announce_sign_in(new_session, SignInMethod::Approval)
                .await;
        }
        Ok(outcome)
    }
}
