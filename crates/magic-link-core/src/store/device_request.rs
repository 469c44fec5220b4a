//! Signing in a second device from a signed-in one: the new device asks and shows a short
//! code (in a URL and a QR code) and a two-digit number; a signed-in device opens the URL and
//! approves by picking that number among three; the new device, polling, then gets its session.
//!
//! A request lives [`DEVICE_REQUEST_FOR`], is approved once and used once. A wrong pick ends it,
//! so a person pushed to approve a stranger's request gets one blind guess in three, once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::Expr,
};

use super::{AuthStore, Device, IssueError, Limit, NewSession, Session, StoreError, after, before};
use crate::{
    client::ClientKey,
    entities::{credential, device_request},
    secrets::{SecretError, random_bytes, token_hash},
};
use magic_link_types::domain::Email;

/// How long a request to sign in another device lives.
pub const DEVICE_REQUEST_FOR: Duration = Duration::from_secs(120);

/// The symbols of an approval code: Crockford's base32, without the letters that read as
/// digits (I, L, O) and U.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Symbols in an approval code: 50 bits, shown as two groups of five.
const CODE_LENGTH: usize = 10;

/// Why an approval was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    /// Unknown, expired, already approved, or ended by a wrong pick.
    #[error("This sign-in request is invalid, used or expired. Start again on the new device.")]
    InvalidOrExpired,
    /// The number picked is not the one the new device shows: the request has ended.
    #[error(
        "That is not the number the other device shows, so its request has ended. If you are signing in there, start again on that device."
    )]
    WrongNumber,
    /// The approving session has ended.
    #[error("Sign in to continue.")]
    SignedOut,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for ApproveError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Store(err.into())
    }
}

/// A request just made. The secrets exist only here, on their way to the new device.
#[derive(Debug)]
pub struct StartedRequest {
    /// The approval code, for the URL the other device opens (`ABCDE-12345`).
    pub code: String,
    /// The new device's own secret, kept in its cookie, that picks up the session.
    pub poll: String,
    /// The number the new device shows.
    pub number: u8,
    pub expires_at: DateTime<Utc>,
}

/// A pending request, as the approving device sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRequest {
    /// The new device's `User-Agent`, when it sent one.
    pub user_agent: Option<String>,
    /// The new device's client address.
    pub client_ip: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Three numbers, one of them the new device's, in a fixed order.
    pub choices: [u8; 3],
}

/// What the new device's poll finds.
#[derive(Debug)]
pub enum PollOutcome {
    /// Not approved yet: still showing `number`.
    Waiting { number: u8 },
    /// Approved and used: the new device's session.
    SignedIn(NewSession),
    /// Unknown, expired, ended by a wrong pick, or already used.
    Ended,
}

/// A new approval code from the CSPRNG.
fn new_code() -> Result<String, SecretError> {
    let bytes = random_bytes::<CODE_LENGTH>()?;
    let symbols: String = bytes
        .iter()
        .map(|byte| char::from(CODE_ALPHABET[usize::from(byte & 31)]))
        .collect();
    Ok(format!("{}-{}", &symbols[..5], &symbols[5..]))
}

/// An approval code as typed or read back: upper case, the dash where it belongs, and the
/// look-alike letters read as the digits they stand for. `None` when it cannot be one.
pub fn normalize_code(input: &str) -> Option<String> {
    let symbols: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (symbols.len() == CODE_LENGTH && symbols.bytes().all(|b| CODE_ALPHABET.contains(&b)))
        .then(|| format!("{}-{}", &symbols[..5], &symbols[5..]))
}

/// A uniform number in `10..=99`.
fn two_digits() -> Result<u8, SecretError> {
    loop {
        let [byte] = random_bytes::<1>()?;
        // 180 = 2 × 90: the bytes below it map evenly onto the 90 numbers.
        if byte < 180 {
            return Ok(10 + byte % 90);
        }
    }
}

/// The right number and two others, all different, in a random order.
fn choices_with(number: u8) -> Result<[u8; 3], SecretError> {
    let mut choices = [number, 0, 0];
    for slot in 1..3 {
        choices[slot] = loop {
            let other = two_digits()?;
            if !choices[..slot].contains(&other) {
                break other;
            }
        };
    }
    let [byte] = random_bytes::<1>()?;
    choices.swap(0, usize::from(byte % 3));
    Ok(choices)
}

fn encode_choices(choices: [u8; 3]) -> String {
    choices.map(|n| n.to_string()).join(",")
}

fn decode_choices(text: &str) -> Option<[u8; 3]> {
    let mut parts = text.split(',').map(|n| n.parse::<u8>().ok());
    let choices = [parts.next()??, parts.next()??, parts.next()??];
    parts.next().is_none().then_some(choices)
}

impl AuthStore {
    /// Starts a request to sign in the device `device` (asking from `client`), counted
    /// against the client's limit together with its sign-in links.
    pub async fn start_device_request(
        &self,
        client: &ClientKey,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<StartedRequest, IssueError> {
        let code = new_code().map_err(StoreError::from)?;
        let poll = crate::secrets::random_token().map_err(StoreError::from)?;
        let number = two_digits().map_err(StoreError::from)?;
        let choices = choices_with(number).map_err(StoreError::from)?;
        let txn = self.begin_write(&[client.as_str()]).await?;
        let window = before(now, self.policy.credential_lifetime);
        let links = credential::Entity::find()
            .filter(credential::Column::Client.eq(client.as_str()))
            .filter(credential::Column::CreatedAt.gt(window))
            .count(&txn)
            .await?;
        let requests = device_request::Entity::find()
            .filter(device_request::Column::Client.eq(client.as_str()))
            .filter(device_request::Column::CreatedAt.gt(window))
            .count(&txn)
            .await?;
        if links + requests >= u64::from(self.policy.rate_limit) {
            txn.rollback().await?;
            return Err(IssueError::RateLimited(Limit::Client));
        }
        let expires_at = after(now, DEVICE_REQUEST_FOR);
        device_request::Entity::insert(device_request::ActiveModel {
            id: NotSet,
            code_hash: Set(token_hash(&code)),
            poll_hash: Set(token_hash(&poll)),
            number: Set(i32::from(number)),
            choices: Set(encode_choices(choices)),
            client: Set(client.as_str().to_owned()),
            user_agent: Set(device
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(super::USER_AGENT_MAX).collect())),
            client_ip: Set(device
                .client_ip
                .map(|ip| crate::client::canonical(ip).to_string())),
            email: Set(None),
            approved_at: Set(None),
            created_at: Set(now),
            expires_at: Set(expires_at),
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(StartedRequest {
            code,
            poll,
            number,
            expires_at,
        })
    }

    /// The live, unapproved request behind approval code `code`, as the approving device
    /// shows it.
    pub async fn pending_device_request(
        &self,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingRequest>, StoreError> {
        let row = device_request::Entity::find()
            .filter(device_request::Column::CodeHash.eq(token_hash(code)))
            .filter(device_request::Column::ExpiresAt.gt(now))
            .filter(device_request::Column::Email.is_null())
            .one(&self.db)
            .await?;
        Ok(row.and_then(|row| {
            Some(PendingRequest {
                choices: decode_choices(&row.choices)?,
                user_agent: row.user_agent,
                client_ip: row.client_ip,
                created_at: row.created_at,
            })
        }))
    }

    /// Approves the request behind `code` for `session`'s account, if `number` is the one the
    /// new device shows; a wrong number ends the request. Of two approvals at once, one wins.
    pub async fn approve_device_request(
        &self,
        code: &str,
        number: u8,
        session: &Session,
        now: DateTime<Utc>,
    ) -> Result<(), ApproveError> {
        let hash = token_hash(code);
        let txn = self.begin_write(&[session.email.as_str()]).await?;
        let Some(row) = device_request::Entity::find()
            .filter(device_request::Column::CodeHash.eq(hash.as_str()))
            .filter(device_request::Column::ExpiresAt.gt(now))
            .filter(device_request::Column::Email.is_null())
            .one(&txn)
            .await?
        else {
            txn.rollback().await?;
            return Err(ApproveError::InvalidOrExpired);
        };
        if !super::sessions::is_live_session(&txn, &session.email, session.id, now).await? {
            txn.rollback().await?;
            return Err(ApproveError::SignedOut);
        }
        // Compared in constant time, as every secret here is, though the number is shown on
        // a screen: a guess costs the request either way.
        if !crate::secrets::constant_time_eq(
            row.number.to_string().as_bytes(),
            number.to_string().as_bytes(),
        ) {
            // Unless another approval got there first.
            device_request::Entity::delete_many()
                .filter(device_request::Column::Id.eq(row.id))
                .filter(device_request::Column::Email.is_null())
                .exec(&txn)
                .await?;
            txn.commit().await?;
            return Err(ApproveError::WrongNumber);
        }
        let approved = device_request::Entity::update_many()
            .col_expr(
                device_request::Column::Email,
                Expr::value(Some(session.email.as_str().to_owned())),
            )
            .col_expr(device_request::Column::ApprovedAt, Expr::value(Some(now)))
            .filter(device_request::Column::Id.eq(row.id))
            .filter(device_request::Column::Email.is_null())
            .exec(&txn)
            .await?;
        if approved.rows_affected != 1 {
            txn.rollback().await?;
            return Err(ApproveError::InvalidOrExpired);
        }
        txn.commit().await?;
        Ok(())
    }

    /// The new device's poll with its secret `poll`: waiting, or, once approved, its session
    /// (the request is used up in the same transaction), or ended.
    pub async fn poll_device_request(
        &self,
        poll: &str,
        client: &ClientKey,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<PollOutcome, StoreError> {
        let hash = token_hash(poll);
        let Some(row) = device_request::Entity::find()
            .filter(device_request::Column::PollHash.eq(hash.as_str()))
            .filter(device_request::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
        else {
            return Ok(PollOutcome::Ended);
        };
        let Some(email) = row
            .email
            .as_deref()
            .and_then(|email| Email::parse(email).ok())
        else {
            return Ok(PollOutcome::Waiting {
                number: u8::try_from(row.number).unwrap_or_default(),
            });
        };
        // An address taken off the allow-list signs in no more.
        if !self.policy.allows(email.as_str()) {
            return Ok(PollOutcome::Ended);
        }
        let txn = self.begin_write(&[email.as_str()]).await?;
        // Still approved for this address: a change of address since carries the approval
        // to the new one, which the next poll picks up.
        let used = device_request::Entity::delete_many()
            .filter(device_request::Column::Id.eq(row.id))
            .filter(device_request::Column::Email.eq(email.as_str()))
            .exec(&txn)
            .await?;
        if used.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(PollOutcome::Ended);
        }
        let new_session = self.insert_session(&txn, &email, device, now).await?;
        self.remember_client(&txn, &email, client, now).await?;
        txn.commit().await?;
        Ok(PollOutcome::SignedIn(new_session))
    }

    /// The number the live request behind the new device's secret `poll` shows, approved or
    /// not; reads only.
    pub async fn device_request_number(
        &self,
        poll: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<u8>, StoreError> {
        Ok(device_request::Entity::find()
            .filter(device_request::Column::PollHash.eq(token_hash(poll)))
            .filter(device_request::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .and_then(|row| u8::try_from(row.number).ok()))
    }

    /// Deletes requests past their life; returns how many went.
    pub(super) async fn purge_device_requests(
        &self,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        // Kept as long as the limit's window, since they count against their client.
        Ok(device_request::Entity::delete_many()
            .filter(device_request::Column::ExpiresAt.lte(now))
            .filter(
                device_request::Column::CreatedAt.lte(before(now, self.policy.credential_lifetime)),
            )
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_numbers_have_their_shape() {
        for _ in 0..200 {
            let code = new_code().unwrap();
            assert_eq!(normalize_code(&code.to_lowercase()), Some(code.clone()));
            let number = two_digits().unwrap();
            assert!((10..=99).contains(&number));
            let choices = choices_with(number).unwrap();
            assert!(choices.contains(&number));
            assert!(
                choices[0] != choices[1] && choices[1] != choices[2] && choices[0] != choices[2]
            );
            assert_eq!(decode_choices(&encode_choices(choices)), Some(choices));
        }
        assert_eq!(
            normalize_code("abcde o1il5"),
            Some("ABCDE-01115".to_owned())
        );
        assert_eq!(normalize_code("ABCDE-1234"), None);
        assert_eq!(normalize_code("ABCDE-1234U"), None);
        assert_eq!(decode_choices("1,2"), None);
    }
}
