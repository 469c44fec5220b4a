//! Recording what happens to an address, for its recent activity. Recording never fails the
//! action it follows: a fault is logged.

use super::AuthService;
use crate::{
    device::{describe_user_agent, network_of},
    entities::event::{self, EventKind},
    store::{Device, NewEvent, Session, StoreError},
};
use magic_link_types::domain::Email;

/// Where an event came from, as far as it is known.
pub(crate) enum By<'a> {
    /// The request's browser and client.
    Device(&'a Device),
    /// The session that did it, as it signed in.
    Session(&'a Session),
    /// Not known (a notice's link, opened anywhere).
    Unknown,
}

impl AuthService {
    /// Records `kind` for `email`, from `from`, now.
    pub(crate) async fn record(&self, email: &Email, kind: EventKind, from: By<'_>) {
        let (user_agent, ip) = match from {
            By::Device(device) => (
                device.user_agent.as_deref(),
                device.client_ip.map(|ip| ip.to_string()),
            ),
            By::Session(session) => (session.user_agent.as_deref(), session.client_ip.clone()),
            By::Unknown => (None, None),
        };
        let known = !matches!(from, By::Unknown);
        let device = known.then(|| describe_user_agent(user_agent));
        let network = known.then(|| network_of(ip.as_deref()));
        let new = NewEvent {
            email,
            kind,
            device: device.as_deref(),
            network: network.as_deref(),
            at: self.clock.now(),
        };
        if let Err(err) = self.store.record_event(new).await {
            tracing::error!(error = %err, ?kind, "could not record an event");
        }
    }

    /// The newest events of `email`, newest first: its recent activity.
    pub async fn activity(&self, email: &Email) -> Result<Vec<event::Model>, StoreError> {
        self.store.recent_events(email).await
    }
}
