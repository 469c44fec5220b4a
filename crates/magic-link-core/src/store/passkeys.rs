//! Passkeys and their WebAuthn ceremonies (the `passkeys` feature).
//!
//! The same rules as the rest of the store hold here:
//! - **Single use is decided by the database.** A challenge is taken by a conditional
//!   `DELETE`; of two instances finishing the same ceremony, one gets it. Only the ceremony
//!   it was started for (sign-in, registration or confirmation), and for a registration or
//!   confirmation only the session that started it, can take it; any other attempt leaves
//!   it in place for its owner.
//! - **Caps are decided under the owner's write lock.** How many unfinished ceremonies a
//!   client or session holds, and how many passkeys an address has, are counted in the
//!   transaction that would add one, so concurrent requests cannot pass a cap together.
//! - **Counters only go up.** A use is recorded by a conditional `UPDATE` that requires a
//!   higher signature counter (or 0 on both sides, for authenticators without one), so a
//!   cloned authenticator replaying an older counter is refused even when two uses race.
//! - **Nobody acts on another address's passkeys.** Every read and write of a passkey names
//!   the address it must belong to.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TryInsertResult, sea_query::Expr,
};
pub use uuid::Uuid;

use super::{AuthStore, Device, NewSession, StoreError, after};
use crate::{
    client::ClientKey,
    entities::{
        passkey,
        passkey_challenge::{self, Purpose},
        passkey_user,
    },
    secrets::{random_bytes, random_token, token_hash},
};
use magic_link_types::domain::Email;

/// The longest passkey name kept, in characters.
pub const PASSKEY_NAME_MAX: usize = 64;

/// A passkey as its owner sees it in a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyInfo {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&passkey::Model> for PasskeyInfo {
    fn from(row: &passkey::Model) -> Self {
        Self {
            id: row.id,
            name: row.name.clone(),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// A passkey with what signing in needs: its serialised public key and counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPasskey {
    pub id: i64,
    pub email: Email,
    /// The credential id, base64url without padding.
    pub credential_id: String,
    /// The webauthn-rs `Passkey`, as JSON.
    pub passkey: String,
    pub sign_count: u32,
}

impl From<passkey::Model> for StoredPasskey {
    fn from(row: passkey::Model) -> Self {
        Self {
            id: row.id,
            email: row.email,
            credential_id: row.credential_id,
            passkey: row.passkey,
            sign_count: u32::try_from(row.sign_count).unwrap_or(u32::MAX),
        }
    }
}

/// A ceremony taken back by the handle its browser held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakenChallenge {
    /// The address it was started for (registrations and confirmations).
    pub email: Option<Email>,
    /// The webauthn-rs state, as JSON.
    pub state: String,
}

/// A signed-in session, as the owner of a registration or confirmation.
#[derive(Clone, Copy, Debug)]
pub struct SessionOwner<'a> {
    /// The session's address.
    pub email: &'a Email,
    /// The session's id.
    pub session: i64,
}

/// Whose a ceremony is, which its cap counts.
#[derive(Clone, Copy, Debug)]
pub enum ChallengeOwner<'a> {
    /// A sign-in: nobody is signed in yet, so the client that started it. Anyone holding its
    /// handle may finish it (the passkey's answer decides who signs in).
    Client(&'a ClientKey),
    /// A registration or confirmation: the session that started it, the only one that may
    /// finish it.
    Session(SessionOwner<'a>),
}

/// A passkey being added.
#[derive(Clone, Copy, Debug)]
pub struct NewPasskey<'a> {
    pub email: &'a Email,
    pub name: &'a str,
    /// The credential id, base64url without padding.
    pub credential_id: &'a str,
    /// The webauthn-rs `Passkey`, as JSON.
    pub passkey: &'a str,
}

/// Why a passkey could not be added or used.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// This authenticator's credential is registered already (to this or another address).
    #[error("This passkey is already registered.")]
    AlreadyRegistered,
    /// No such passkey, or not this address's.
    #[error("This passkey is not registered.")]
    NotFound,
    /// The address is not on the allow-list (any more).
    #[error("This address may not sign in.")]
    NotAllowed,
    /// The session adding it has ended meanwhile (signed out, or the account deleted).
    #[error("You are signed out. Sign in again to add a passkey.")]
    SignedOut,
    /// The signature counter did not go up: the authenticator may have been cloned.
    #[error("This passkey's signature counter went backwards, so it was refused.")]
    CounterWentBack,
    /// The address has as many passkeys as it may (`MAGIC_LINK_AUTH_PASSKEYS_PER_ADDRESS`).
    #[error(
        "You have {have} passkeys, and an account may have at most {limit}: delete one to add another."
    )]
    TooMany { have: u64, limit: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for PasskeyError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Store(err.into())
    }
}

/// A passkey name as stored: trimmed, control characters dropped, at most
/// [`PASSKEY_NAME_MAX`] characters, and "Passkey" when nothing is left.
pub fn clean_passkey_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(PASSKEY_NAME_MAX)
        .collect();
    let cleaned = cleaned.trim_end().to_owned();
    if cleaned.is_empty() {
        "Passkey".to_owned()
    } else {
        cleaned
    }
}

impl AuthStore {
    /// The user handle `email` shows to authenticators, made on first use.
    ///
    /// It is a random UUID from the CSPRNG, never derived from the address, so an
    /// authenticator's list of accounts reveals nothing about who they belong to. Two
    /// instances making one at the same moment agree: the insert that loses the race is
    /// ignored, and both read back the one that won.
    pub async fn passkey_user_handle(
        &self,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<Uuid, StoreError> {
        if let Some(handle) = self.user_handle_of(email).await? {
            return Ok(handle);
        }
        let fresh = uuid::Builder::from_random_bytes(random_bytes::<16>()?).into_uuid();
        let row = passkey_user::ActiveModel {
            email: Set(email.clone()),
            user_handle: Set(fresh.to_string()),
            created_at: Set(now),
            ..Default::default()
        };
        passkey_user::Entity::insert(row)
            .on_conflict_do_nothing_on([passkey_user::Column::Email])
            .exec_without_returning(&self.db)
            .await?;
        self.user_handle_of(email).await?.ok_or_else(|| {
            StoreError::Database(sea_orm::DbErr::RecordNotFound(
                "auth_passkey_user row just written".to_owned(),
            ))
        })
    }

    async fn user_handle_of(&self, email: &Email) -> Result<Option<Uuid>, StoreError> {
        let row = passkey_user::Entity::find()
            .filter(passkey_user::Column::Email.eq(email.as_str()))
            .one(&self.db)
            .await?;
        // A handle that does not parse was not written by this store: treat it as absent.
        Ok(row.and_then(|row| Uuid::parse_str(&row.user_handle).ok()))
    }

    /// The address whose user handle is `handle`, if any.
    pub async fn email_of_user_handle(&self, handle: &Uuid) -> Result<Option<Email>, StoreError> {
        Ok(passkey_user::Entity::find()
            .filter(passkey_user::Column::UserHandle.eq(handle.to_string()))
            .one(&self.db)
            .await?
            .map(|row| row.email))
    }

    /// Keeps a ceremony's state for `lifetime`, and returns the handle its browser sends
    /// back to finish it. Only the handle's SHA-256 is stored.
    ///
    /// `None`, having written nothing, when `owner` already holds `cap` ceremonies that are
    /// live at `now`. The count and the insert happen under the owner's write lock (its
    /// client, or its session's address), so concurrent starts cannot pass the cap together.
    pub async fn save_challenge(
        &self,
        purpose: Purpose,
        owner: ChallengeOwner<'_>,
        state: String,
        now: DateTime<Utc>,
        lifetime: std::time::Duration,
        cap: u64,
    ) -> Result<Option<String>, StoreError> {
        let (lock, email, client, session, held_by) = match owner {
            ChallengeOwner::Client(client) => (
                client.as_str(),
                None,
                Some(client.as_str().to_owned()),
                None,
                passkey_challenge::Column::Client.eq(client.as_str()),
            ),
            ChallengeOwner::Session(owner) => (
                owner.email.as_str(),
                Some(owner.email.clone()),
                None,
                Some(owner.session),
                passkey_challenge::Column::Session.eq(owner.session),
            ),
        };
        let txn = self.begin_write(&[lock]).await?;
        let live = passkey_challenge::Entity::find()
            .filter(held_by)
            .filter(passkey_challenge::Column::ExpiresAt.gt(now))
            .count(&txn)
            .await?;
        if live >= cap {
            txn.rollback().await?;
            return Ok(None);
        }
        let handle = random_token()?;
        let row = passkey_challenge::ActiveModel {
            handle_hash: Set(token_hash(&handle)),
            purpose: Set(purpose),
            email: Set(email),
            client: Set(client),
            session: Set(session),
            state: Set(state),
            created_at: Set(now),
            expires_at: Set(after(now, lifetime)),
            ..Default::default()
        };
        passkey_challenge::Entity::insert(row)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(Some(handle))
    }

    /// Takes the ceremony behind `handle`: once, before it expires, only for `purpose`, and
    /// for a registration or confirmation only by the session (`by`) that started it; a
    /// sign-in, which has no session, is taken with `by` empty.
    ///
    /// Taken, the row is deleted whether or not what follows succeeds, so a failed answer
    /// cannot be retried with the same challenge. A handle presented for another ceremony,
    /// or by another session, is not taken: the row stays for its owner to finish, so
    /// whoever learns a handle cannot spend it. `None` when it is unknown, used, expired,
    /// for another purpose or another owner's.
    pub async fn take_challenge(
        &self,
        purpose: Purpose,
        by: Option<SessionOwner<'_>>,
        handle: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TakenChallenge>, StoreError> {
        let hash = token_hash(handle);
        let Some(row) = passkey_challenge::Entity::find()
            .filter(passkey_challenge::Column::HandleHash.eq(hash.as_str()))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let owned = match by {
            None => row.email.is_none() && row.session.is_none(),
            Some(by) => row.email.as_ref() == Some(by.email) && row.session == Some(by.session),
        };
        if row.purpose != purpose || !owned {
            return Ok(None);
        }
        // The delete decides who takes it: of two concurrent takers, one deletes the row.
        // An expired row is deleted too, as nobody can use it.
        let taken = passkey_challenge::Entity::delete_many()
            .filter(passkey_challenge::Column::Id.eq(row.id))
            .exec(&self.db)
            .await?
            .rows_affected
            == 1;
        if !taken || row.expires_at <= now {
            return Ok(None);
        }
        Ok(Some(TakenChallenge {
            email: row.email,
            state: row.state,
        }))
    }

    /// Deletes ceremonies that expired before `now`. Returns how many.
    pub async fn purge_expired_challenges(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(passkey_challenge::Entity::delete_many()
            .filter(passkey_challenge::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    /// Adds a passkey to `new.email`, named as [`clean_passkey_name`] makes it.
    pub async fn add_passkey(
        &self,
        new: NewPasskey<'_>,
        now: DateTime<Utc>,
    ) -> Result<PasskeyInfo, PasskeyError> {
        insert_passkey(&self.db, new, now).await
    }

    /// As [`add_passkey`](Self::add_passkey), only while `session` is a live session of
    /// `new.email` and the address has fewer than `limit` passkeys, both decided under the
    /// address's write lock: an account deleted, or a session ended, while the ceremony ran
    /// gets no passkey ([`PasskeyError::SignedOut`]), and of ceremonies finishing together
    /// only as many as fit under the limit add one ([`PasskeyError::TooMany`]).
    pub async fn add_passkey_in_session(
        &self,
        new: NewPasskey<'_>,
        session: i64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<PasskeyInfo, PasskeyError> {
        let txn = self.begin_write(&[new.email.as_str()]).await?;
        if !super::sessions::is_live_session(&txn, new.email, session, now).await? {
            txn.rollback().await?;
            return Err(PasskeyError::SignedOut);
        }
        let have = count_passkeys(&txn, new.email).await?;
        if have >= u64::from(limit) {
            txn.rollback().await?;
            return Err(PasskeyError::TooMany { have, limit });
        }
        let info = insert_passkey(&txn, new, now).await?;
        txn.commit().await?;
        Ok(info)
    }

    /// How many passkeys `email` has.
    pub async fn count_passkeys(&self, email: &Email) -> Result<u64, StoreError> {
        count_passkeys(&self.db, email).await
    }
}

async fn count_passkeys(conn: &impl ConnectionTrait, email: &Email) -> Result<u64, StoreError> {
    Ok(passkey::Entity::find()
        .filter(passkey::Column::Email.eq(email.as_str()))
        .count(conn)
        .await?)
}

/// Inserts a passkey on `conn`.
async fn insert_passkey(
    conn: &impl ConnectionTrait,
    new: NewPasskey<'_>,
    now: DateTime<Utc>,
) -> Result<PasskeyInfo, PasskeyError> {
    let row = passkey::ActiveModel {
        email: Set(new.email.clone()),
        credential_id: Set(new.credential_id.to_owned()),
        name: Set(clean_passkey_name(new.name)),
        passkey: Set(new.passkey.to_owned()),
        sign_count: Set(0),
        created_at: Set(now),
        last_used_at: Set(None),
        ..Default::default()
    };
    // A unique index on the credential id decides duplicates, also between instances.
    let inserted = passkey::Entity::insert(row)
        .on_conflict_do_nothing_on([passkey::Column::CredentialId])
        .exec_without_returning(conn)
        .await?;
    if !matches!(inserted, TryInsertResult::Inserted(1)) {
        return Err(PasskeyError::AlreadyRegistered);
    }
    let row = passkey::Entity::find()
        .filter(passkey::Column::CredentialId.eq(new.credential_id))
        .one(conn)
        .await?
        .ok_or(PasskeyError::NotFound)?;
    Ok(PasskeyInfo::from(&row))
}

impl AuthStore {
    /// The passkeys of `email`, oldest first.
    pub async fn list_passkeys(&self, email: &Email) -> Result<Vec<PasskeyInfo>, StoreError> {
        Ok(passkey::Entity::find()
            .filter(passkey::Column::Email.eq(email.as_str()))
            .order_by_asc(passkey::Column::CreatedAt)
            .order_by_asc(passkey::Column::Id)
            .all(&self.db)
            .await?
            .iter()
            .map(PasskeyInfo::from)
            .collect())
    }

    /// `email`'s passkeys with what signing in needs, oldest first and at most `limit` of
    /// them: to exclude them from a new registration, and to offer them for a confirmation.
    /// The limit bounds the ceremony state that lists them, even for an address that has
    /// more (added before the per-address limit was lowered).
    pub async fn passkeys_of(
        &self,
        email: &Email,
        limit: u32,
    ) -> Result<Vec<StoredPasskey>, StoreError> {
        Ok(passkey::Entity::find()
            .filter(passkey::Column::Email.eq(email.as_str()))
            .order_by_asc(passkey::Column::Id)
            .limit(u64::from(limit))
            .all(&self.db)
            .await?
            .into_iter()
            .map(StoredPasskey::from)
            .collect())
    }

    /// The passkey with `credential_id`, whoever it belongs to.
    pub async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<StoredPasskey>, StoreError> {
        Ok(passkey::Entity::find()
            .filter(passkey::Column::CredentialId.eq(credential_id))
            .one(&self.db)
            .await?
            .map(StoredPasskey::from))
    }

    /// Renames passkey `id` if it is `email`'s. Returns whether it was.
    pub async fn rename_passkey(
        &self,
        email: &Email,
        id: i64,
        name: &str,
    ) -> Result<bool, StoreError> {
        let renamed = passkey::Entity::update_many()
            .col_expr(passkey::Column::Name, Expr::value(clean_passkey_name(name)))
            .filter(passkey::Column::Id.eq(id))
            .filter(passkey::Column::Email.eq(email.as_str()))
            .exec(&self.db)
            .await?;
        Ok(renamed.rows_affected == 1)
    }

    /// Deletes passkey `id` if it is `email`'s. Returns whether it was. A deleted passkey
    /// signs nobody in, even mid-ceremony: sign-in reads the passkey after the browser
    /// answers.
    pub async fn delete_passkey(&self, email: &Email, id: i64) -> Result<bool, StoreError> {
        let deleted = passkey::Entity::delete_many()
            .filter(passkey::Column::Id.eq(id))
            .filter(passkey::Column::Email.eq(email.as_str()))
            .exec(&self.db)
            .await?;
        Ok(deleted.rows_affected == 1)
    }

    /// Records a use of passkey `id` (of `email`) that the authenticator signed with
    /// `counter`, and its updated serialised form.
    ///
    /// Refused with [`PasskeyError::CounterWentBack`] unless the counter went up, or is 0 and
    /// was 0 (WebAuthn §6.1.1: an authenticator without a counter always sends 0). The
    /// condition is part of the `UPDATE`, so of two uses with the same counter only one is
    /// recorded.
    pub async fn record_passkey_use(
        &self,
        email: &Email,
        id: i64,
        counter: u32,
        passkey_json: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PasskeyError> {
        record_use(&self.db, email, id, counter, passkey_json, now).await
    }

    /// Signs in with passkey `id` of `email`, which the authenticator just signed with
    /// `counter`: records the use as [`Self::record_passkey_use`] does, starts a session and
    /// remembers `client`, all in one transaction. An address taken off the allow-list signs
    /// in no more, whatever passkeys it still has.
    pub async fn sign_in_with_passkey(
        &self,
        used: PasskeyUse<'_>,
        client: &ClientKey,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<NewSession, PasskeyError> {
        if !self.policy.allows(used.email.as_str()) {
            return Err(PasskeyError::NotAllowed);
        }
        let txn = self.begin_write(&[used.email.as_str()]).await?;
        if let Err(err) =
            record_use(&txn, used.email, used.id, used.counter, used.passkey, now).await
        {
            txn.rollback().await?;
            return Err(err);
        }
        let new_session = self.insert_session(&txn, used.email, device, now).await?;
        self.remember_client(&txn, used.email, client, now).await?;
        txn.commit().await?;
        Ok(new_session)
    }
}

/// A passkey an authenticator has just signed with.
#[derive(Clone, Copy, Debug)]
pub struct PasskeyUse<'a> {
    pub email: &'a Email,
    pub id: i64,
    /// The signature counter the authenticator sent.
    pub counter: u32,
    /// The passkey as it is to be stored after this use (webauthn-rs JSON).
    pub passkey: &'a str,
}

async fn record_use(
    conn: &impl ConnectionTrait,
    email: &Email,
    id: i64,
    counter: u32,
    passkey_json: &str,
    now: DateTime<Utc>,
) -> Result<(), PasskeyError> {
    let counter = i64::from(counter);
    let counter_rule = if counter == 0 {
        passkey::Column::SignCount.eq(0)
    } else {
        passkey::Column::SignCount.lt(counter)
    };
    let updated = passkey::Entity::update_many()
        .col_expr(passkey::Column::SignCount, Expr::value(counter))
        .col_expr(passkey::Column::Passkey, Expr::value(passkey_json))
        .col_expr(passkey::Column::LastUsedAt, Expr::value(Some(now)))
        .filter(passkey::Column::Id.eq(id))
        .filter(passkey::Column::Email.eq(email.as_str()))
        .filter(counter_rule)
        .exec(conn)
        .await?;
    if updated.rows_affected == 1 {
        return Ok(());
    }
    let exists = passkey::Entity::find_by_id(id)
        .filter(passkey::Column::Email.eq(email.as_str()))
        .one(conn)
        .await?
        .is_some();
    Err(if exists {
        PasskeyError::CounterWentBack
    } else {
        PasskeyError::NotFound
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_cut_and_never_empty() {
        assert_eq!(clean_passkey_name("  Laptop \n"), "Laptop");
        assert_eq!(clean_passkey_name("a\u{0007}b"), "ab");
        assert_eq!(clean_passkey_name("   "), "Passkey");
        assert_eq!(
            clean_passkey_name(&"x".repeat(100)).chars().count(),
            PASSKEY_NAME_MAX
        );
    }
}
