//! Recent activity: what happened to each address, kept for a while.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use super::{AuthStore, StoreError, cut_device_text};
use crate::{
    domain::Email,
    entities::event::{self, EventKind},
};

/// How many events the account page shows.
pub const RECENT_EVENTS: u64 = 20;

/// Link requests and wrong codes from one browser and network within this span are one event
/// with a count.
pub const MERGE_WITHIN: std::time::Duration = std::time::Duration::from_secs(3600);

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
    /// Records `new` for its address. A link request or a wrong code from the browser and
    /// network of one within [`MERGE_WITHIN`] counts on that one, which moves to `new.at`.
    pub async fn record_event(&self, new: NewEvent<'_>) -> Result<(), StoreError> {
        let device = new.device.map(cut_device_text);
        let network = new.network.map(cut_device_text);
        if new.kind.is_noisy() {
            let same = |column: event::Column, value: &Option<String>| match value {
                Some(value) => column.eq(value.as_str()),
                None => column.is_null(),
            };
            let merged = event::Entity::update_many()
                .col_expr(event::Column::Count, Expr::col(event::Column::Count).add(1))
                .col_expr(event::Column::CreatedAt, Expr::value(new.at))
                .filter(event::Column::Email.eq(new.email.as_str()))
                .filter(event::Column::Kind.eq(new.kind))
                .filter(same(event::Column::Device, &device))
                .filter(same(event::Column::Network, &network))
                .filter(event::Column::CreatedAt.gt(super::before(new.at, MERGE_WITHIN)))
                .exec(&self.db)
                .await?;
            if merged.rows_affected > 0 {
                return Ok(());
            }
        }
        event::Entity::insert(event::ActiveModel {
            id: NotSet,
            email: Set(new.email.clone()),
            kind: Set(new.kind),
            device: Set(device),
            network: Set(network),
            count: Set(1),
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
