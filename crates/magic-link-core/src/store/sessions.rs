//! Reading, listing and ending sessions.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, IntoCondition},
};

use super::{AuthStore, Session, StoreError};
use crate::{entities::session, secrets::token_hash};
use magic_link_types::domain::{Email, SessionToken};

impl AuthStore {
    /// The live session behind `token`, if any, of an address the allow-list still allows.
    pub async fn session(
        &self,
        token: &SessionToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let live = session::Entity::find()
            .filter(session::Column::TokenHash.eq(token_hash(token.expose())))
            .filter(session::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?;
        // An address taken off the allow-list is signed out at its next request, whatever
        // sessions it still holds: the list is checked where a session is read, not only
        // where one starts.
        Ok(live
            .filter(|live| {
                let allowed = self.policy.allows(live.email.as_str());
                if !allowed {
                    tracing::info!(
                        session = live.id,
                        "session refused: its address is no longer allowed"
                    );
                }
                allowed
            })
            .map(Session::from))
    }

    /// Ends the session behind `token`. Returns whether there was a live one.
    pub async fn logout(
        &self,
        token: &SessionToken,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let which = session::Column::TokenHash.eq(token_hash(token.expose()));
        Ok(self.end_live_sessions(which, now).await? > 0)
    }

    /// Ends session `id` if it is a live session of `email`. Returns whether one ended.
    pub async fn logout_session(
        &self,
        email: &Email,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let which = Condition::all()
            .add(session::Column::Id.eq(id))
            .add(session::Column::Email.eq(email.as_str()));
        Ok(self.end_live_sessions(which, now).await? > 0)
    }

    /// Marks live session `id` of `email` as having proved who it is at `now`. Returns
    /// whether there was one.
    pub async fn confirm_session(
        &self,
        email: &Email,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let confirmed = session::Entity::update_many()
            .col_expr(session::Column::AuthenticatedAt, Expr::value(Some(now)))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::Email.eq(email.as_str()))
            .filter(session::Column::ExpiresAt.gt(now))
            .exec(&self.db)
            .await?;
        Ok(confirmed.rows_affected == 1)
    }

    /// Ends every live session of `email`. Returns how many there were.
    pub async fn logout_all(&self, email: &Email, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let which = session::Column::Email.eq(email.as_str());
        self.end_live_sessions(which, now).await
    }

    /// Ends the live sessions that `which` picks by expiring them now. Returns how many.
    async fn end_live_sessions(
        &self,
        which: impl IntoCondition,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        end_live_sessions(&self.db, which, now).await
    }

    /// The live sessions of `email`, newest first.
    pub async fn list_sessions(
        &self,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::Email.eq(email.as_str()))
            .filter(session::Column::ExpiresAt.gt(now))
            .order_by_desc(session::Column::CreatedAt)
            .order_by_desc(session::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Session::from)
            .collect())
    }
}

/// Ends the live sessions that `which` picks, on `conn` (a transaction, or the pool), by
/// expiring them now. Returns how many.
pub(super) async fn end_live_sessions(
    conn: &impl ConnectionTrait,
    which: impl IntoCondition,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let ended = session::Entity::update_many()
        .col_expr(session::Column::ExpiresAt, Expr::value(now))
        .filter(which)
        .filter(session::Column::ExpiresAt.gt(now))
        .exec(conn)
        .await?;
    Ok(ended.rows_affected)
}

/// Whether session `id` is a live session of `email`, read on `conn`: inside the address's
/// write transaction, nothing can end it before the caller commits.
pub(super) async fn is_live_session(
    conn: &impl ConnectionTrait,
    email: &Email,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let live = session::Entity::find()
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::Email.eq(email.as_str()))
        .filter(session::Column::ExpiresAt.gt(now))
        .count(conn)
        .await?;
    Ok(live > 0)
}
