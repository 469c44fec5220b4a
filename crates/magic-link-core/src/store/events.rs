//! Recent activity: what happened to each address, kept for a while.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, EntityTrait, Iterable, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use super::{AuthStore, StoreError, cut_device_text};
use crate::entities::event::{self, EventKind};
use magic_link_types::domain::Email;

/// How many of the address's own events (sign-ins, sign-outs, passkey changes, …) the
/// account page shows, newest first.
pub const RECENT_EVENTS: u64 = 20;

/// How many lines of the events anyone can cause (link requests, wrong codes) it shows besides
/// them, newest first. Those lines never take the place of the address's own events.
pub const RECENT_NOISY_EVENTS: u64 = 4;

/// Link requests (or wrong codes) within this span are one event with a count, whoever sent
/// them.
pub const MERGE_WITHIN: std::time::Duration = std::time::Duration::from_secs(3600);

/// What a merged line names as its browser, or network, when its requests came from more than
/// one.
pub const SEVERAL: &str = "several";

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
    /// Records `new` for its address. A link request or a wrong code within [`MERGE_WITHIN`]
    /// of the last one of its kind counts on that one, which moves to `new.at`: the browser
    /// and network are the strangers' words (a `User-Agent` is whatever the sender writes), so
    /// they do not decide how many lines there are. A line whose requests came from more than
    /// one browser (or network) names [`SEVERAL`].
    pub async fn record_event(&self, new: NewEvent<'_>) -> Result<(), StoreError> {
        let device = new.device.map(cut_device_text);
        let network = new.network.map(cut_device_text);
        if new.kind.is_noisy() {
            let last = event::Entity::find()
                .filter(event::Column::Email.eq(new.email.as_str()))
                .filter(event::Column::Kind.eq(new.kind))
                .filter(event::Column::CreatedAt.gt(super::before(new.at, MERGE_WITHIN)))
                .order_by_desc(event::Column::CreatedAt)
                .order_by_desc(event::Column::Id)
                .one(&self.db)
                .await?;
            if let Some(last) = last {
                let joined = |was: Option<String>, now: &Option<String>| {
                    if was == *now {
                        was
                    } else {
                        Some(SEVERAL.to_owned())
                    }
                };
                // One statement: a concurrent merge into the same line adds its own count.
                event::Entity::update_many()
                    .col_expr(event::Column::Count, Expr::col(event::Column::Count).add(1))
                    .col_expr(
                        event::Column::CreatedAt,
                        Expr::value(std::cmp::Ord::max(new.at, last.created_at)),
                    )
                    .col_expr(
                        event::Column::Device,
                        Expr::value(joined(last.device, &device)),
                    )
                    .col_expr(
                        event::Column::Network,
                        Expr::value(joined(last.network, &network)),
                    )
                    .filter(event::Column::Id.eq(last.id))
                    .exec(&self.db)
                    .await?;
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

    /// The recent activity of `email`, newest first, and only its own: its newest
    /// [`RECENT_EVENTS`] own events, and besides them the newest [`RECENT_NOISY_EVENTS`]
    /// lines of link requests and wrong codes. However many strangers ask or guess, the owner's
    /// own events stay in view.
    pub async fn recent_events(&self, email: &Email) -> Result<Vec<event::Model>, StoreError> {
        let noisy: Vec<EventKind> = EventKind::iter().filter(|kind| kind.is_noisy()).collect();
        let newest = |own: bool, limit: u64| {
            let kinds = event::Column::Kind.is_in(noisy.clone());
            event::Entity::find()
                .filter(event::Column::Email.eq(email.as_str()))
                .filter(if own { kinds.not() } else { kinds })
                .order_by_desc(event::Column::CreatedAt)
                .order_by_desc(event::Column::Id)
                .limit(limit)
                .all(&self.db)
        };
        let mut events = newest(true, RECENT_EVENTS).await?;
        events.extend(newest(false, RECENT_NOISY_EVENTS).await?);
        events.sort_by_key(|event| std::cmp::Reverse((event.created_at, event.id)));
        Ok(events)
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
