//! Redeeming a link or a code: single use decided by the database, wrong codes counted per
//! credential, per address and per client.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, ExprTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, OnConflict},
};

use super::{
    AuthStore, CODE_DAY, CodeClaim, Device, KNOWN_CLIENT_FOR, NewSession, RedeemError, Session,
    StoreError, USER_AGENT_MAX, after, before,
};
use crate::{
    client::{ClientKey, canonical},
    entities::{
        credential::{self},
        failure, known_client, session,
    },
    secrets::token_hash,
};
use magic_link_types::domain::{Code, Email, LinkToken};
use sea_orm::DbErr;

impl AuthStore {
    /// The email a link token would sign in, if the link is still usable. Reads only:
    /// opening a link must never use it up, or a mail scanner could burn it.
    pub async fn peek_link(
        &self,
        token: &LinkToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Email>, StoreError> {
        Ok(self
            .live_link(token, now)
            .await?
            .map(|credential| credential.email))
    }

    /// The live credential behind a link token. Wrong codes never end a link: only its own
    /// expiry, its use, or a newer link of the same requester does.
    async fn live_link(
        &self,
        token: &LinkToken,
        now: DateTime<Utc>,
    ) -> Result<Option<credential::Model>, DbErr> {
        credential::Entity::find()
            .filter(credential::Column::TokenHash.eq(token_hash(token.expose())))
            .filter(credential::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await
    }

    /// Redeems the credential behind a link token and starts a session for `client`.
    pub async fn redeem_link(
        &self,
        token: &LinkToken,
        client: &ClientKey,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        let live = self
            .live_link(token, now)
            .await?
            .ok_or(RedeemError::InvalidOrExpired)?;
        self.consume(live, client, device, now).await
    }

    /// Redeems `email`'s credential that `claim` asked for with its typed code, and starts a
    /// session.
    ///
    /// Each try spends one of the credential's attempts and one of the address's wrong codes
    /// for the day (those counted for this client, see `wrong_codes_today`) before the code
    /// is checked, so parallel guesses can never get more checks than allowed; a right code
    /// gives its day's slot back.
    pub async fn redeem_code(
        &self,
        email: &Email,
        code: &Code,
        claim: &CodeClaim<'_>,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        let max = self.max_attempts();
        let live = self
            .claimed_credential(email, claim, now)
            .await?
            .ok_or(RedeemError::InvalidOrExpired)?;

        let txn = self.begin_write(&[email.as_str()]).await?;
        let wrong_today = self
            .wrong_codes_today(&txn, email, claim.client, now)
            .await?;
        if wrong_today >= u64::from(self.policy.code_daily_limit) {
            txn.rollback().await?;
            return Err(RedeemError::CodesPaused);
        }
        // RETURNING gives the count this call reserved, exact even under parallel guesses.
        let reserved = credential::Entity::update_many()
            .col_expr(
                credential::Column::Attempts,
                Expr::col(credential::Column::Attempts).add(1),
            )
            .filter(credential::Column::Id.eq(live.id))
            .filter(credential::Column::ExpiresAt.gt(now))
            .filter(credential::Column::Attempts.lt(max))
            .exec_with_returning(&txn)
            .await?;
        let Some(used) = reserved.first().map(|row| row.attempts) else {
            txn.rollback().await?;
            return Err(RedeemError::InvalidOrExpired);
        };
        let guess = failure::Entity::insert(failure::ActiveModel {
            id: NotSet,
            client: Set(claim.client.as_str().to_owned()),
            email: Set(Some(email.clone())),
            created_at: Set(now),
        })
        .exec(&txn)
        .await?
        .last_insert_id;
        txn.commit().await?;

        let checked = self.hasher.verify(code, &live.code_hash).await;
        if !matches!(checked, Ok(false)) {
            // Right, or not checked at all: either way this was no wrong code.
            failure::Entity::delete_by_id(guess).exec(&self.db).await?;
        }
        match checked {
            Ok(true) => self.consume(live, claim.client, device, now).await,
            Ok(false) => {
                let attempts_left = u32::try_from(max.saturating_sub(used)).unwrap_or(0);
                if attempts_left == 0 {
                    Err(RedeemError::CodeUsedUp)
                } else {
                    Err(RedeemError::WrongCode { attempts_left })
                }
            }
            Err(err) => {
                // The try was never checked: give the attempt back.
                credential::Entity::update_many()
                    .col_expr(
                        credential::Column::Attempts,
                        Expr::col(credential::Column::Attempts).sub(1),
                    )
                    .filter(credential::Column::Id.eq(live.id))
                    .filter(credential::Column::Attempts.gt(0))
                    .exec(&self.db)
                    .await?;
                Err(err.into())
            }
        }
    }

    /// The wrong codes of the last [`CODE_DAY`] that count against `client`'s next try for
    /// `email`: those of every client the address has not signed in from, together, when
    /// `client` is one of them; else, for a client it has signed in from within
    /// [`KNOWN_CLIENT_FOR`], that client's own.
    ///
    /// So strangers share one day's cap per address, and however many they spend, a client
    /// the owner signs in from keeps its codes. Each known client adds one more day's cap
    /// of guesses, for whoever shares its address (a NAT, an IPv6 /64); nobody can add one
    /// without signing in.
    async fn wrong_codes_today(
        &self,
        txn: &DatabaseTransaction,
        email: &Email,
        client: &ClientKey,
        now: DateTime<Utc>,
    ) -> Result<u64, DbErr> {
        let today = failure::Entity::find()
            .filter(failure::Column::Email.eq(email.as_str()))
            .filter(failure::Column::CreatedAt.gt(before(now, CODE_DAY)));
        let counted = if self.is_known_client(txn, email, client, now).await? {
            today.filter(failure::Column::Client.eq(client.as_str()))
        } else {
            let known = known_client::Entity::find()
                .select_only()
                .column(known_client::Column::Client)
                .filter(known_client::Column::Email.eq(email.as_str()))
                .filter(known_client::Column::LastSeenAt.gt(before(now, KNOWN_CLIENT_FOR)))
                .into_query();
            today.filter(failure::Column::Client.not_in_subquery(known))
        };
        counted.count(txn).await
    }

    /// The credential whose code `claim` may try: the one its browser asked for, else the
    /// newest one its client asked for, if its code is still live.
    async fn claimed_credential(
        &self,
        email: &Email,
        claim: &CodeClaim<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<credential::Model>, DbErr> {
        let live_code = Condition::all()
            .add(credential::Column::Email.eq(email.as_str()))
            .add(credential::Column::ExpiresAt.gt(now))
            .add(credential::Column::Attempts.lt(self.max_attempts()))
            // Still being issued: its code is not hashed yet (another instance's clock may
            // run behind the one that reserved it).
            .add(credential::Column::CodeHash.ne(""));
        if let Some(pending) = claim.pending {
            let asked = credential::Entity::find()
                .filter(live_code.clone())
                .filter(credential::Column::TokenHash.eq(pending))
                .one(&self.db)
                .await?;
            if asked.is_some() {
                return Ok(asked);
            }
        }
        credential::Entity::find()
            .filter(live_code)
            .filter(credential::Column::Client.eq(claim.client.as_str()))
            .order_by_desc(credential::Column::CreatedAt)
            .order_by_desc(credential::Column::Id)
            .one(&self.db)
            .await
    }

    /// Deletes `live` if it is still there, and if this call was the one that deleted it,
    /// clears the email's other credentials, starts a session, and remembers `client` as
    /// one the address signs in from, all in one transaction.
    async fn consume(
        &self,
        live: credential::Model,
        client: &ClientKey,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, RedeemError> {
        // An address taken off the allow-list signs in no more, whatever it still holds.
        if !self.policy.allows(live.email.as_str()) {
            return Err(RedeemError::InvalidOrExpired);
        }
        let txn = self.begin_write(&[live.email.as_str()]).await?;
        let won = credential::Entity::delete_many()
            .filter(credential::Column::Id.eq(live.id))
            .filter(credential::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?;
        if won.rows_affected != 1 {
            txn.rollback().await?;
            return Err(RedeemError::InvalidOrExpired);
        }
        credential::Entity::delete_many()
            .filter(credential::Column::Email.eq(live.email.as_str()))
            .exec(&txn)
            .await?;
        let new_session = self.insert_session(&txn, &live.email, device, now).await?;
        self.remember_client(&txn, &live.email, client, now).await?;
        txn.commit().await?;
        Ok(new_session)
    }

    /// Remembers `client` as one `email` signs in from, so the per-address limit never
    /// refuses its own requests.
    pub(super) async fn remember_client(
        &self,
        txn: &DatabaseTransaction,
        email: &Email,
        client: &ClientKey,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        known_client::Entity::insert(known_client::ActiveModel {
            id: NotSet,
            email: Set(email.clone()),
            client: Set(client.as_str().to_owned()),
            last_seen_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([known_client::Column::Email, known_client::Column::Client])
                .update_column(known_client::Column::LastSeenAt)
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        Ok(())
    }

    pub(super) async fn insert_session(
        &self,
        txn: &DatabaseTransaction,
        email: &Email,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, StoreError> {
        let user_agent = device
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(USER_AGENT_MAX).collect::<String>());
        let client_ip = device.client_ip.map(|ip| canonical(ip).to_string());
        let token = crate::secrets::new_session_token()?;
        // The account's id, fixed at its first sign-in (this one, for a new address).
        let persistent_id = super::email_change::account_id(txn, email, now).await?;
        let expires_at = after(now, self.policy.session_lifetime);
        let inserted = session::Entity::insert(session::ActiveModel {
            id: NotSet,
            token_hash: Set(token_hash(token.expose())),
            email: Set(email.clone()),
            persistent_id: Set(persistent_id.clone()),
            created_at: Set(now),
            expires_at: Set(expires_at),
            user_agent: Set(user_agent.clone()),
            client_ip: Set(client_ip.clone()),
            authenticated_at: Set(Some(now)),
        })
        .exec(txn)
        .await?;
        Ok(NewSession {
            token,
            session: Session {
                id: inserted.last_insert_id,
                email: email.clone(),
                persistent_id,
                created_at: now,
                expires_at,
                user_agent,
                client_ip,
                authenticated_at: now,
            },
        })
    }

    fn max_attempts(&self) -> i32 {
        i32::try_from(self.policy.code_max_attempts).unwrap_or(i32::MAX)
    }

    /// How many failed redemptions one client may have per window before it is refused:
    /// enough for a person to fumble every code of every link they may ask for.
    pub fn failure_limit(&self) -> u64 {
        u64::from(self.policy.rate_limit) * u64::from(self.policy.code_max_attempts)
    }

    /// Whether `client` has used up its failed redemptions for the current window.
    pub async fn too_many_failures(
        &self,
        client: &ClientKey,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let failures = failure::Entity::find()
            .filter(failure::Column::Client.eq(client.as_str()))
            .filter(failure::Column::CreatedAt.gt(before(now, self.policy.credential_lifetime)))
            .count(&self.db)
            .await?;
        Ok(failures >= self.failure_limit())
    }

    /// Counts a failed redemption against `client`. (A wrong code is counted as it is tried.)
    pub async fn record_failure(
        &self,
        client: &ClientKey,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        failure::Entity::insert(failure::ActiveModel {
            id: NotSet,
            client: Set(client.as_str().to_owned()),
            email: Set(None),
            created_at: Set(now),
        })
        .exec(&self.db)
        .await?;
        Ok(())
    }
}
