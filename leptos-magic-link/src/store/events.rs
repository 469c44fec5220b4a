//! Recent activity: what happened to each address, kept for a while.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{AuthStore, StoreError};
use crate::{
    domain::Email,
    entities::event::{self, EventKind},
};

/// How many events the account page shows.
pub const RECENT_EVENTS: u64 = 20;

/// The longest device or network text kept.
const TEXT_MAX: usize = 120;

/// One event to record.
#[derive(Clone, Copy, Debug)]
pub struct NewEvent<'a> {
    pub email: &'a Email,
    pub kind: EventKind,
    /// The browser and system, such as "Firefox on macOS".
    pub device: Option<&'a str>,
    /// The network around the client address.
    pub network: Option<&'a str>,
    pub at: DateTime<Utc>,
}

impl AuthStore {
    /// Records `new` for its address.
    pub async fn record_event(&self, new: NewEvent<'_>) -> Result<(), StoreError> {
        let cut = |text: &str| text.chars().take(TEXT_MAX).collect::<String>();
        event::Entity::insert(event::ActiveModel {
            id: NotSet,
            email: Set(new.email.clone()),
            kind: Set(new.kind),
            device: Set(new.device.map(cut)),
            network: Set(new.network.map(cut)),
            created_at: Set(new.at),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    /// The newest [`RECENT_EVENTS`] events of `email`, newest first. Only its own.
    pub async fn recent_events(&self, email: &Email) -> Result<Vec<event::Model>, StoreError> {
        Ok(event::Entity::find()
            .filter(event::Column::Email.eq(email.as_str()))
            .order_by_desc(event::Column::CreatedAt)
            .order_by_desc(event::Column::Id)
            .limit(RECENT_EVENTS)
            .all(&self.db)
            .await?)
    }

    /// Deletes every event recorded at or before `cutoff`. One conditional `DELETE`: several
    /// instances may run it at once.
    pub async fn purge_events(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(event::Entity::delete_many()
            .filter(event::Column::CreatedAt.lte(cutoff))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}
