//! Reading, listing and ending sessions.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

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
    ///
    /// On SQLite, a row read here is reused by this process for up to [`SESSION_REUSE_FOR`];
    /// every change to sessions made through this store drops all reused rows at once, so a
    /// logout or a confirmation shows at the next request.
    pub async fn session(
        &self,
        token: &SessionToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let hash = token_hash(token.expose());
        let cache = self.sessions.as_deref();
        let live = match cache.and_then(|cache| cache.get(&hash)) {
            Some(row) => Some(row),
            None => {
                // Read before the query: a change that commits meanwhile outdates the row.
                let epoch = cache.map(SessionCache::epoch);
                let row = session::Entity::find()
                    .filter(session::Column::TokenHash.eq(hash.as_str()))
                    .filter(session::Column::ExpiresAt.gt(now))
                    .one(&self.db)
                    .await?;
                if let (Some(cache), Some(epoch), Some(row)) = (cache, epoch, &row) {
                    cache.put(hash, row.clone(), epoch);
                }
                row
            }
        };
        // An address taken off the allow-list is signed out at its next request, whatever
        // sessions it still holds: the list is checked where a session is read, not only
        // where one starts.
        Ok(live
            .filter(|live| live.expires_at > now)
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
        let _changing = self.sessions_changing();
        let confirmed = session::Entity::update_many()
            .col_expr(session::Column::AuthenticatedAt, Expr::value(Some(now)))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::Email.eq(email.as_str()))
            .filter(session::Column::ExpiresAt.gt(now))
            .exec(&self.db)
            .await?;
        Ok(confirmed.rows_affected == 1)
    }

    /// Ends every live session of `email`, and the sign-ins on other devices it approved that
    /// are not picked up yet. Returns how many sessions there were.
    pub async fn logout_all(&self, email: &Email, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let _changing = self.sessions_changing();
        // Under the address's lock, as an approval takes it: none lands in between.
        let txn = self.begin_write(&[email.as_str()]).await?;
        crate::entities::device_request::Entity::delete_many()
            .filter(crate::entities::device_request::Column::Email.eq(email.as_str()))
            .exec(&txn)
            .await?;
        let ended = end_live_sessions(&txn, session::Column::Email.eq(email.as_str()), now).await?;
        txn.commit().await?;
        Ok(ended)
    }

    /// Ends the live sessions that `which` picks by expiring them now. Returns how many.
    async fn end_live_sessions(
        &self,
        which: impl IntoCondition,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let _changing = self.sessions_changing();
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

/// How long this process reuses a session row it read from SQLite.
///
/// Every change made through the store drops the reused rows at once; the limit only bounds
/// what another process writing to the same file (an instance being replaced during a
/// deploy) could leave unseen.
pub const SESSION_REUSE_FOR: Duration = Duration::from_secs(1);

/// The most rows kept; past it, the whole cache is dropped and filled again.
const MAX_ROWS: usize = 10_000;

/// Session rows this process read from SQLite lately, by token hash.
///
/// A session check is one indexed `SELECT`, but sqlx runs each SQLite connection on a thread
/// of its own, and handing a query there and back costs more than the rest of the check. A
/// signed-in page and the server functions it calls read the same session within
/// milliseconds, so the row is reused briefly.
///
/// Not a general-purpose cache (moka and the like): correctness rests on an epoch that every
/// session change bumps before it starts and again once it has committed (see
/// [`SessionsChanging`]), and a row is reused only while the epoch read before its query is
/// still current. A read racing a change therefore never outlives it. PostgreSQL, with
/// several instances on one database, reads every time: a logout on one instance must hold
/// on the others at once.
#[derive(Default)]
pub(crate) struct SessionCache {
    epoch: AtomicU64,
    rows: Mutex<HashMap<String, Reused>>,
}

struct Reused {
    row: session::Model,
    epoch: u64,
    read_at: Instant,
}

impl SessionCache {
    pub(crate) fn new() -> Arc<Self> {
        Arc::default()
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn get(&self, hash: &str) -> Option<session::Model> {
        let epoch = self.epoch();
        let rows = self.rows.lock().ok()?;
        rows.get(hash)
            .filter(|reused| reused.epoch == epoch && reused.read_at.elapsed() < SESSION_REUSE_FOR)
            .map(|reused| reused.row.clone())
    }

    fn put(&self, hash: String, row: session::Model, epoch: u64) {
        // A poisoned lock only means no reuse: every read goes to the database.
        let Ok(mut rows) = self.rows.lock() else {
            return;
        };
        if rows.len() >= MAX_ROWS {
            rows.clear();
        }
        let read_at = Instant::now();
        rows.insert(
            hash,
            Reused {
                row,
                epoch,
                read_at,
            },
        );
    }

    fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut rows) = self.rows.lock() {
            rows.clear();
        }
    }
}

/// Held by every write to the sessions table: it outdates every reused row when it starts
/// and again when it ends (after the commit, or on any error), so no read that overlapped
/// the write is reused after it.
pub(super) struct SessionsChanging<'a>(Option<&'a SessionCache>);

impl Drop for SessionsChanging<'_> {
    fn drop(&mut self) {
        if let Some(cache) = self.0 {
            cache.bump();
        }
    }
}

impl AuthStore {
    /// Marks a change to sessions: hold the value until the change has committed.
    pub(super) fn sessions_changing(&self) -> SessionsChanging<'_> {
        let cache = self.sessions.as_deref();
        if let Some(cache) = cache {
            cache.bump();
        }
        SessionsChanging(cache)
    }
}

#[cfg(feature = "testing")]
impl AuthStore {
    /// Test support: makes every session of `email` look as if it last proved who it is at
    /// `at`, as a change through the store (so no reused row hides it).
    pub async fn set_authenticated_at(
        &self,
        email: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let _changing = self.sessions_changing();
        let updated = session::Entity::update_many()
            .col_expr(session::Column::AuthenticatedAt, Expr::value(Some(at)))
            .filter(session::Column::Email.eq(email))
            .exec(&self.db)
            .await?;
        Ok(updated.rows_affected)
    }
}
