//! The auth store against real databases: SQLite always, PostgreSQL when configured.

use std::{net::IpAddr, sync::Arc, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use magic_link_core::{
    client::ClientKey,
    clock::{Clock, ManualClock},
    domain::{Code, Email, LinkToken},
    entities::{
        credential::{self, Delivery},
        failure, session,
    },
    secrets::{CodeHasher, token_hash},
    store::{
        AuthStore, CODE_DAY, CodeClaim, CredentialRef, Device, IssueError, Issued, Limit,
        NewSession, Policy, RESERVATION_GRACE, RedeemError, SESSION_REUSE_FOR,
    },
};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use magic_link_core::testing::email;

const LIFETIME: Duration = Duration::from_secs(1800);
const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
const MAIL_DEADLINE: Duration = Duration::from_secs(90);

fn policy() -> Policy {
    Policy {
        credential_lifetime: LIFETIME,
        session_lifetime: SESSION_LIFETIME,
        rate_limit: 3,
        email_rate_limit: 5,
        code_max_attempts: 5,
        code_daily_limit: 10,
        mail_deadline: MAIL_DEADLINE,
        allowed_emails: None,
        activity_retention: Duration::from_secs(90 * 24 * 3600),
    }
}

fn store(db: &DatabaseConnection) -> AuthStore {
    AuthStore::new(
        db.clone(),
        CodeHasher::new(4, 64).expect("hasher"),
        policy(),
    )
}

fn clock() -> ManualClock {
    ManualClock::starting_at(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap())
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([203, 0, 113, last])
}

/// Client `n`, as the limits key it.
fn client(n: u8) -> ClientKey {
    ClientKey::of(ip(n), 64)
}

/// Issues a credential to `address` for client `n`, and records its mail as sent, as the
/// mail queue does once the provider takes it.
async fn issue(
    store: &AuthStore,
    address: &str,
    n: u8,
    now: DateTime<Utc>,
) -> Result<Issued, IssueError> {
    let issued = issue_unsent(store, address, n, now).await?;
    settle(store, &issued, None, Delivery::Sent, now).await;
    Ok(issued)
}

/// Issues a credential whose mail has not gone out yet.
async fn issue_unsent(
    store: &AuthStore,
    address: &str,
    n: u8,
    now: DateTime<Utc>,
) -> Result<Issued, IssueError> {
    store.issue(&email(address), &client(n), now).await
}

/// Records what became of `issued`'s email, asked for by a browser that was waiting for
/// `replaces` (its pending sign-in cookie), if any.
async fn settle(
    store: &AuthStore,
    issued: &Issued,
    replaces: Option<&Issued>,
    delivery: Delivery,
    now: DateTime<Utc>,
) {
    let waiting_for = replaces.map(|older| token_hash(older.token.expose()));
    let credential = CredentialRef {
        id: issued.id,
        email: &issued.email,
        supersedes: waiting_for.as_deref(),
    };
    store.settle(&credential, delivery, now).await.unwrap();
}

/// Opens `issued`'s link from client `n`.
async fn open_link(
    store: &AuthStore,
    issued: &Issued,
    n: u8,
    now: DateTime<Utc>,
) -> Result<NewSession, RedeemError> {
    store
        .redeem_link(&issued.token, &client(n), &Device::default(), now)
        .await
}

/// Types `code` for `address` from client `n`, with no pending sign-in cookie.
async fn type_code(
    store: &AuthStore,
    address: &str,
    code: &Code,
    n: u8,
    now: DateTime<Utc>,
) -> Result<NewSession, RedeemError> {
    let client = client(n);
    let claim = CodeClaim {
        pending: None,
        client: &client,
    };
    store
        .redeem_code(&email(address), code, &claim, &Device::default(), now)
        .await
}

async fn counts(db: &DatabaseConnection) -> (u64, u64) {
    (
        credential::Entity::find().count(db).await.unwrap(),
        session::Entity::find().count(db).await.unwrap(),
    )
}

on_both_databases!(
    a_link_signs_in_once_and_no_secret_is_stored,
    a_newer_request_from_the_same_browser_supersedes_its_older_one,
    a_failed_send_loses_no_link_and_still_counts,
    a_stranger_never_ends_a_link_its_owner_holds,
    credentials_and_sessions_expire_with_the_clock,
    the_client_limit_is_checked_first,
    the_address_limit_counts_strangers_but_not_clients_it_signed_in_from,
    a_code_signs_in_and_clears_the_email,
    a_code_is_tried_against_the_credential_its_browser_asked_for,
    wrong_codes_end_the_code_but_never_the_link,
    wrong_codes_are_capped_per_address_per_day,
    a_client_the_address_signed_in_from_keeps_its_codes_under_its_own_cap,
    parallel_guesses_get_no_more_than_the_allowed_checks,
    parallel_guesses_across_clients_stop_at_the_daily_cap,
    fifty_parallel_redemptions_make_exactly_one_session,
    sessions_can_be_listed_and_ended,
    a_session_read_again_after_a_change_shows_it,
    an_unfinished_reservation_stops_counting_after_its_grace,
    migrations_roll_back_and_apply_again,
    cleanup_deletes_only_what_no_longer_counts_and_is_safe_in_parallel,
    an_address_off_the_allow_list_never_signs_in,
);

async fn an_address_off_the_allow_list_never_signs_in(db: &DatabaseConnection) {
    let allowed = magic_link_core::config::AuthConfig::from_lookup(|name| {
        (name == "MAGIC_LINK_AUTH_ALLOWED_EMAILS").then(|| "*@corp.example".to_owned())
    })
    .unwrap()
    .allowed_emails;
    let store = AuthStore::new(
        db.clone(),
        CodeHasher::new(4, 64).expect("hasher"),
        Policy {
            allowed_emails: allowed,
            ..policy()
        },
    );
    let clock = clock();
    let outsider = issue(&store, "eve@example.com", 1, clock.now())
        .await
        .unwrap();
    assert!(matches!(
        open_link(&store, &outsider, 1, clock.now()).await,
        Err(RedeemError::InvalidOrExpired)
    ));
    let again = issue(&store, "eve@example.com", 1, clock.now())
        .await
        .unwrap();
    assert!(matches!(
        type_code(&store, "eve@example.com", &again.code, 1, clock.now()).await,
        Err(RedeemError::InvalidOrExpired)
    ));
    let insider = issue(&store, "ada@corp.example", 2, clock.now())
        .await
        .unwrap();
    open_link(&store, &insider, 2, clock.now()).await.unwrap();
    assert_eq!(counts(db).await.1, 1, "one session, the insider's");
}

async fn cleanup_deletes_only_what_no_longer_counts_and_is_safe_in_parallel(
    db: &DatabaseConnection,
) {
    let store = store(db);
    let clock = clock();
    // An old sign-in whose session has run out, an old failed attempt, an old wrong code.
    let old = issue(&store, "old@example.com", 1, clock.now())
        .await
        .unwrap();
    let old_session = open_link(&store, &old, 1, clock.now()).await.unwrap();
    store.record_failure(&client(1), clock.now()).await.unwrap();
    let stale = issue(&store, "stale@example.com", 2, clock.now())
        .await
        .unwrap();
    let miss = type_code(
        &store,
        "stale@example.com",
        &wrong(&stale.code),
        2,
        clock.now(),
    )
    .await;
    assert!(
        matches!(miss, Err(RedeemError::WrongCode { .. })),
        "{miss:?}"
    );
    clock.advance(SESSION_LIFETIME);

    // Now: a live session, then two requests in the window, the first already superseded,
    // a failure in the window, and a wrong code older than the window but within the day.
    let newest = issue(&store, "busy@example.com", 3, clock.now())
        .await
        .unwrap();
    let live = open_link(&store, &newest, 3, clock.now()).await.unwrap();
    let recent = issue(&store, "recent@example.com", 5, clock.now())
        .await
        .unwrap();
    let miss = type_code(
        &store,
        "recent@example.com",
        &wrong(&recent.code),
        5,
        clock.now(),
    )
    .await;
    assert!(
        matches!(miss, Err(RedeemError::WrongCode { .. })),
        "{miss:?}"
    );
    clock.advance(LIFETIME + Duration::from_secs(1));
    for _ in 0..2 {
        issue(&store, "busy@example.com", 3, clock.now())
            .await
            .unwrap();
    }
    store.record_failure(&client(3), clock.now()).await.unwrap();

    // Two instances purging at the same moment.
    let (first, second) = tokio::join!(
        store.purge_expired(clock.now()),
        store.purge_expired(clock.now())
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        first.credentials + second.credentials,
        2,
        "the stale credential and the recent one past its window"
    );
    assert_eq!(first.sessions + second.sessions, 1, "the run-out session");
    assert_eq!(
        first.failures + second.failures,
        2,
        "the old failure and the old wrong code, not the wrong code of the day"
    );
    assert_eq!(first.known_clients + second.known_clients, 0);

    assert_eq!(
        store
            .session(&old_session.token, clock.now())
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .session(&live.token, clock.now())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(counts(db).await, (2, 1));
    assert_eq!(failure::Entity::find().count(db).await.unwrap(), 2);
    // Both recent requests still count against their client: one more is allowed.
    issue(&store, "other@example.com", 3, clock.now())
        .await
        .unwrap();
    assert!(matches!(
        issue(&store, "other@example.com", 3, clock.now()).await,
        Err(IssueError::RateLimited(Limit::Client))
    ));
    assert!(
        !store
            .too_many_failures(&client(3), clock.now())
            .await
            .unwrap()
    );
    assert_eq!(
        store.purge_expired(clock.now()).await.unwrap(),
        Default::default()
    );
    // An address forgets a client it has not signed in from for 90 days.
    clock.advance(Duration::from_secs(90 * 24 * 3600));
    assert_eq!(
        store
            .purge_expired(clock.now())
            .await
            .unwrap()
            .known_clients,
        2
    );
}

async fn migrations_roll_back_and_apply_again(db: &DatabaseConnection) {
    use magic_link_core::migrations::Migrator;
    use sea_orm_migration::MigratorTrait;
    Migrator::down(db, None).await.unwrap();
    assert!(
        credential::Entity::find().count(db).await.is_err(),
        "tables remain after down"
    );
    Migrator::up(db, None).await.unwrap();
    assert_eq!(counts(db).await, (0, 0));
    let store = store(db);
    let issued = issue(&store, "quentin@example.com", 1, clock().now())
        .await
        .unwrap();
    assert!(open_link(&store, &issued, 1, clock().now()).await.is_ok());
}

async fn a_link_signs_in_once_and_no_secret_is_stored(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let issued = issue(&store, " Alice@Example.com ", 1, clock.now())
        .await
        .unwrap();
    assert_eq!(issued.email.as_str(), "alice@example.com");
    assert_eq!(
        issued.expires_at,
        clock.now() + chrono::Duration::seconds(1800)
    );
    // Another outstanding credential stays in the table for the scan below.
    let other = issue(&store, "bob@example.com", 2, clock.now())
        .await
        .unwrap();

    let signed_in = open_link(&store, &issued, 1, clock.now()).await.unwrap();
    assert_eq!(signed_in.session.email.as_str(), "alice@example.com");
    assert_eq!(
        signed_in.session.persistent_id.as_str(),
        "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976"
    );
    assert_eq!(
        signed_in.session.expires_at,
        clock.now() + chrono::Duration::days(7)
    );
    let found = store.session(&signed_in.token, clock.now()).await.unwrap();
    assert_eq!(found, Some(signed_in.session.clone()));

    let again = open_link(&store, &issued, 1, clock.now()).await;
    assert!(
        matches!(again, Err(RedeemError::InvalidOrExpired)),
        "{again:?}"
    );

    let credentials = credential::Entity::find().all(db).await.unwrap();
    let sessions = session::Entity::find().all(db).await.unwrap();
    assert_eq!((credentials.len(), sessions.len()), (1, 1));
    let every_row = format!("{credentials:?}{sessions:?}");
    for secret in [
        issued.token.expose(),
        issued.code.expose(),
        other.token.expose(),
        other.code.expose(),
        signed_in.token.expose(),
    ] {
        assert!(
            !every_row.contains(secret),
            "a secret is stored in plain text: {every_row}"
        );
    }
    assert!(credentials[0].code_hash.starts_with("$argon2id$"));
    assert_eq!(credentials[0].token_hash.len(), 64);
    assert_eq!(sessions[0].token_hash.len(), 64);
}

async fn a_newer_request_from_the_same_browser_supersedes_its_older_one(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let first = issue(&store, "carol@example.com", 1, clock.now())
        .await
        .unwrap();
    // Another browser behind the same client asks too, without the first one's cookie: it
    // ends nothing.
    let neighbour = issue(&store, "carol@example.com", 1, clock.now())
        .await
        .unwrap();
    clock.advance(Duration::from_secs(1));
    let second = issue_unsent(&store, "carol@example.com", 1, clock.now())
        .await
        .unwrap();
    // Until the newer email is out, the older link still works: nothing is lost to a send
    // that may yet fail.
    let peek = store.peek_link(&first.token, clock.now()).await.unwrap();
    assert_eq!(peek.as_ref().map(Email::as_str), Some("carol@example.com"));
    settle(&store, &second, Some(&first), Delivery::Sent, clock.now()).await;

    let stale = open_link(&store, &first, 1, clock.now()).await;
    assert!(
        matches!(stale, Err(RedeemError::InvalidOrExpired)),
        "{stale:?}"
    );
    let kept = store
        .peek_link(&neighbour.token, clock.now())
        .await
        .unwrap();
    assert_eq!(
        kept.as_ref().map(Email::as_str),
        Some("carol@example.com"),
        "a request without the browser's cookie ended another browser's link"
    );
    // A browser's cookie for another address ends nothing of this one.
    let elsewhere = issue_unsent(&store, "dora@example.com", 2, clock.now())
        .await
        .unwrap();
    settle(
        &store,
        &elsewhere,
        Some(&neighbour),
        Delivery::Sent,
        clock.now(),
    )
    .await;
    assert!(
        store
            .peek_link(&neighbour.token, clock.now())
            .await
            .unwrap()
            .is_some()
    );
    assert!(open_link(&store, &second, 1, clock.now()).await.is_ok());
}

async fn a_failed_send_loses_no_link_and_still_counts(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let held = issue(&store, "fay@example.com", 1, clock.now())
        .await
        .unwrap();
    let failed = issue_unsent(&store, "fay@example.com", 1, clock.now())
        .await
        .unwrap();
    settle(&store, &failed, Some(&held), Delivery::Failed, clock.now()).await;
    let told = |issued: &Issued| {
        let (store, hash, now) = (&store, token_hash(issued.token.expose()), clock.now());
        async move { store.delivery_failed(&hash, now).await.unwrap() }
    };
    assert!(told(&failed).await);
    assert!(!told(&held).await);
    assert!(matches!(
        open_link(&store, &failed, 1, clock.now()).await,
        Err(RedeemError::InvalidOrExpired)
    ));
    // A failed send counts against the limits all the same: the provider may have taken it,
    // and it cost a hash. The client's limit is 3.
    issue(&store, "gus@example.com", 1, clock.now())
        .await
        .unwrap();
    assert!(matches!(
        issue(&store, "hal@example.com", 1, clock.now()).await,
        Err(IssueError::RateLimited(Limit::Client))
    ));
    // An email still pending past the deadline was lost (its instance stopped): told as
    // failed too.
    let pending = issue_unsent(&store, "ida@example.com", 2, clock.now())
        .await
        .unwrap();
    assert!(!told(&pending).await);
    clock.advance(MAIL_DEADLINE + Duration::from_secs(1));
    assert!(told(&pending).await);
    assert!(open_link(&store, &held, 1, clock.now()).await.is_ok());
}

async fn a_stranger_never_ends_a_link_its_owner_holds(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let owner = issue(&store, "olga@example.com", 1, clock.now())
        .await
        .unwrap();
    // A stranger asks for as many links as its limit allows, and spends each one's wrong
    // codes, until the address's codes are paused for the day.
    let mut refused = 0;
    for _ in 0..3 {
        let stranger = issue(&store, "olga@example.com", 2, clock.now())
            .await
            .unwrap();
        for _ in 0..5 {
            match type_code(
                &store,
                "olga@example.com",
                &wrong(&stranger.code),
                2,
                clock.now(),
            )
            .await
            {
                Err(
                    RedeemError::WrongCode { .. }
                    | RedeemError::CodeUsedUp
                    | RedeemError::InvalidOrExpired,
                ) => {}
                Err(RedeemError::CodesPaused) => refused += 1,
                other => panic!("{other:?}"),
            }
        }
    }
    assert!(refused > 0, "the daily cap was never reached");
    assert!(matches!(
        issue(&store, "olga@example.com", 2, clock.now()).await,
        Err(IssueError::RateLimited(Limit::Client))
    ));
    // The link the owner held still works, and the owner's own next request goes through.
    let held = store.peek_link(&owner.token, clock.now()).await.unwrap();
    assert_eq!(held.as_ref().map(Email::as_str), Some("olga@example.com"));
    let next = issue(&store, "olga@example.com", 1, clock.now())
        .await
        .unwrap();
    let signed_in = open_link(&store, &next, 1, clock.now()).await;
    assert!(signed_in.is_ok(), "{signed_in:?}");
}

async fn credentials_and_sessions_expire_with_the_clock(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let issued = issue(&store, "dave@example.com", 1, clock.now())
        .await
        .unwrap();
    clock.advance(LIFETIME);
    let late = open_link(&store, &issued, 1, clock.now()).await;
    assert!(
        matches!(late, Err(RedeemError::InvalidOrExpired)),
        "{late:?}"
    );
    let late_code = type_code(&store, "dave@example.com", &issued.code, 1, clock.now()).await;
    assert!(
        matches!(late_code, Err(RedeemError::InvalidOrExpired)),
        "{late_code:?}"
    );

    let fresh = issue(&store, "dave@example.com", 1, clock.now())
        .await
        .unwrap();
    let signed_in = open_link(&store, &fresh, 1, clock.now()).await.unwrap();
    clock.advance(SESSION_LIFETIME - Duration::from_secs(1));
    assert!(
        store
            .session(&signed_in.token, clock.now())
            .await
            .unwrap()
            .is_some()
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        store.session(&signed_in.token, clock.now()).await.unwrap(),
        None
    );
}

async fn the_client_limit_is_checked_first(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    for _ in 0..3 {
        issue(&store, "erin@example.com", 9, clock.now())
            .await
            .unwrap();
        clock.advance(Duration::from_secs(60));
    }
    let refused = issue(&store, "erin@example.com", 9, clock.now()).await;
    assert!(
        matches!(refused, Err(IssueError::RateLimited(Limit::Client))),
        "{refused:?}"
    );
    let other_email = issue(&store, "frank@example.com", 9, clock.now()).await;
    assert!(
        matches!(other_email, Err(IssueError::RateLimited(Limit::Client))),
        "{other_email:?}"
    );
    assert_eq!(counts(db).await.0, 3);

    // The window slides: once the first request is older than the lifetime, one more fits.
    clock.advance(LIFETIME - Duration::from_secs(180) + Duration::from_secs(1));
    assert!(
        issue(&store, "frank@example.com", 9, clock.now())
            .await
            .is_ok()
    );
    let refused = issue(&store, "frank@example.com", 9, clock.now()).await;
    assert!(
        matches!(refused, Err(IssueError::RateLimited(Limit::Client))),
        "{refused:?}"
    );

    // An IPv6 client is its /64: another address in it is the same client.
    let v6 = |s: &str| ClientKey::of(s.parse().unwrap(), 64);
    for host in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"] {
        store
            .issue(&email("ivy@example.com"), &v6(host), clock.now())
            .await
            .unwrap();
    }
    let same_network = store
        .issue(
            &email("ivy@example.com"),
            &v6("2001:db8:1:2::99"),
            clock.now(),
        )
        .await;
    assert!(
        matches!(same_network, Err(IssueError::RateLimited(Limit::Client))),
        "{same_network:?}"
    );
    assert!(
        store
            .issue(
                &email("ivy@example.com"),
                &v6("2001:db8:1:3::1"),
                clock.now()
            )
            .await
            .is_ok()
    );
}

async fn the_address_limit_counts_strangers_but_not_clients_it_signed_in_from(
    db: &DatabaseConnection,
) {
    let store = store(db);
    let clock = clock();
    // Grace has signed in from client 60 before.
    let earlier = issue(&store, "grace@example.com", 60, clock.now())
        .await
        .unwrap();
    open_link(&store, &earlier, 60, clock.now()).await.unwrap();
    for n in 0..5 {
        issue(&store, "grace@example.com", n, clock.now())
            .await
            .unwrap();
    }
    let refused = issue(&store, "Grace@Example.com", 50, clock.now()).await;
    assert!(
        matches!(refused, Err(IssueError::RateLimited(Limit::Email))),
        "{refused:?}"
    );
    assert!(
        issue(&store, "heidi@example.com", 50, clock.now())
            .await
            .is_ok()
    );
    // Her own client passes the address's limit; its own limit still holds.
    for _ in 0..3 {
        let own = issue(&store, "grace@example.com", 60, clock.now()).await;
        assert!(own.is_ok(), "{own:?}");
    }
    assert!(matches!(
        issue(&store, "grace@example.com", 60, clock.now()).await,
        Err(IssueError::RateLimited(Limit::Client))
    ));
}

async fn a_code_signs_in_and_clears_the_email(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let issued = issue(&store, "ivan@example.com", 1, clock.now())
        .await
        .unwrap();
    let signed_in = type_code(&store, "IVAN@example.com", &issued.code, 1, clock.now())
        .await
        .unwrap();
    assert_eq!(signed_in.session.email.as_str(), "ivan@example.com");
    assert_eq!(counts(db).await, (0, 1));
    assert_eq!(
        failure::Entity::find().count(db).await.unwrap(),
        0,
        "a right code is no failure"
    );
    let link_after = open_link(&store, &issued, 1, clock.now()).await;
    assert!(
        matches!(link_after, Err(RedeemError::InvalidOrExpired)),
        "{link_after:?}"
    );
}

async fn a_code_is_tried_against_the_credential_its_browser_asked_for(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let owners = issue(&store, "kim@example.com", 1, clock.now())
        .await
        .unwrap();
    let strangers = issue(&store, "kim@example.com", 2, clock.now())
        .await
        .unwrap();
    // From client 2, the owner's code is checked against the stranger's own credential.
    if owners.code != strangers.code {
        let guess = type_code(&store, "kim@example.com", &owners.code, 2, clock.now()).await;
        assert!(
            matches!(guess, Err(RedeemError::WrongCode { .. })),
            "{guess:?}"
        );
    }
    // A client with no credential of its own has nothing to guess against.
    let nothing = type_code(&store, "kim@example.com", &owners.code, 3, clock.now()).await;
    assert!(
        matches!(nothing, Err(RedeemError::InvalidOrExpired)),
        "{nothing:?}"
    );
    // The browser that asked names its credential by its pending sign-in, from any client.
    let pending = token_hash(owners.token.expose());
    let roaming = client(4);
    let claim = CodeClaim {
        pending: Some(&pending),
        client: &roaming,
    };
    let signed_in = store
        .redeem_code(
            &email("kim@example.com"),
            &owners.code,
            &claim,
            &Device::default(),
            clock.now(),
        )
        .await;
    assert!(signed_in.is_ok(), "{signed_in:?}");
}

fn wrong(code: &Code) -> Code {
    let next = (code.expose().parse::<u32>().unwrap() + 1) % 1_000_000;
    Code::parse(&format!("{next:06}")).unwrap()
}

async fn wrong_codes_end_the_code_but_never_the_link(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let issued = issue(&store, "judy@example.com", 1, clock.now())
        .await
        .unwrap();
    let bad = wrong(&issued.code);
    for left in (1..=4).rev() {
        let result = type_code(&store, "judy@example.com", &bad, 1, clock.now()).await;
        assert!(
            matches!(result, Err(RedeemError::WrongCode { attempts_left }) if attempts_left == left),
            "{result:?}"
        );
    }
    let fifth = type_code(&store, "judy@example.com", &bad, 1, clock.now()).await;
    assert!(matches!(fifth, Err(RedeemError::CodeUsedUp)), "{fifth:?}");
    // The code is dead: the right one no longer works. The link lives on.
    let right = type_code(&store, "judy@example.com", &issued.code, 1, clock.now()).await;
    assert!(
        matches!(right, Err(RedeemError::InvalidOrExpired)),
        "{right:?}"
    );
    let peek = store.peek_link(&issued.token, clock.now()).await.unwrap();
    assert_eq!(peek.as_ref().map(Email::as_str), Some("judy@example.com"));
    let link = open_link(&store, &issued, 1, clock.now()).await;
    assert!(link.is_ok(), "{link:?}");
    assert_eq!(counts(db).await.1, 1);
}

async fn wrong_codes_are_capped_per_address_per_day(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    // Ten wrong codes over two credentials from two clients reach the day's cap.
    for n in [1, 2] {
        let issued = issue(&store, "lee@example.com", n, clock.now())
            .await
            .unwrap();
        for _ in 0..5 {
            let miss = type_code(
                &store,
                "lee@example.com",
                &wrong(&issued.code),
                n,
                clock.now(),
            )
            .await;
            assert!(
                matches!(
                    miss,
                    Err(RedeemError::WrongCode { .. }
                        | RedeemError::CodeUsedUp
                        | RedeemError::InvalidOrExpired)
                ),
                "{miss:?}"
            );
        }
    }
    // Now even the right code of a fresh credential is refused, with its reason; its link works.
    let fresh = issue(&store, "lee@example.com", 3, clock.now())
        .await
        .unwrap();
    let paused = type_code(&store, "lee@example.com", &fresh.code, 3, clock.now()).await;
    assert!(
        matches!(paused, Err(RedeemError::CodesPaused)),
        "{paused:?}"
    );
    let attempts = credential::Entity::find_by_id(fresh.id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .attempts;
    assert_eq!(attempts, 0, "a refused try spends nothing");
    // Another address is not affected.
    let other = issue(&store, "max@example.com", 3, clock.now())
        .await
        .unwrap();
    assert!(
        type_code(&store, "max@example.com", &other.code, 3, clock.now())
            .await
            .is_ok()
    );
    // A day later, codes work again.
    clock.advance(CODE_DAY);
    let later = issue(&store, "lee@example.com", 3, clock.now())
        .await
        .unwrap();
    let signed_in = type_code(&store, "lee@example.com", &later.code, 3, clock.now()).await;
    assert!(signed_in.is_ok(), "{signed_in:?}");
}

/// Spends all five tries of a fresh credential's code for `address` from client `n`.
async fn spend_a_code(store: &AuthStore, address: &str, n: u8, now: DateTime<Utc>) {
    let issued = issue(store, address, n, now).await.unwrap();
    for _ in 0..5 {
        let miss = type_code(store, address, &wrong(&issued.code), n, now).await;
        assert!(
            matches!(
                miss,
                Err(RedeemError::WrongCode { .. } | RedeemError::CodeUsedUp)
            ),
            "{miss:?}"
        );
    }
}

async fn a_client_the_address_signed_in_from_keeps_its_codes_under_its_own_cap(
    db: &DatabaseConnection,
) {
    let store = store(db);
    let clock = clock();
    let address = "nina@example.com";
    // Nina has signed in from client 1.
    let earlier = issue(&store, address, 1, clock.now()).await.unwrap();
    open_link(&store, &earlier, 1, clock.now()).await.unwrap();
    clock.advance(LIFETIME);

    // Her own client fumbles ten codes: its own day's cap, not the strangers'.
    for _ in 0..2 {
        spend_a_code(&store, address, 1, clock.now()).await;
    }
    let fumbled = issue(&store, address, 1, clock.now()).await.unwrap();
    let paused = type_code(&store, address, &fumbled.code, 1, clock.now()).await;
    assert!(
        matches!(paused, Err(RedeemError::CodesPaused)),
        "{paused:?}"
    );
    let new_client = issue(&store, address, 2, clock.now()).await.unwrap();
    let signed_in = type_code(&store, address, &new_client.code, 2, clock.now()).await;
    assert!(signed_in.is_ok(), "{signed_in:?}");

    // Strangers spend the day's wrong codes of the clients she has not signed in from...
    for n in [3, 4] {
        spend_a_code(&store, address, n, clock.now()).await;
    }
    let stranger = issue(&store, address, 5, clock.now()).await.unwrap();
    let paused = type_code(&store, address, &stranger.code, 5, clock.now()).await;
    assert!(
        matches!(paused, Err(RedeemError::CodesPaused)),
        "{paused:?}"
    );
    // ...and a client she has signed in from keeps its codes.
    let known = issue(&store, address, 2, clock.now()).await.unwrap();
    let signed_in = type_code(&store, address, &known.code, 2, clock.now()).await;
    assert!(signed_in.is_ok(), "{signed_in:?}");
}

async fn parallel_guesses_get_no_more_than_the_allowed_checks(db: &DatabaseConnection) {
    let store = Arc::new(store(db));
    let clock = clock();
    let issued = issue(&store, "mallory@example.com", 1, clock.now())
        .await
        .unwrap();
    let bad = wrong(&issued.code);
    let now = clock.now();
    let guesses: Vec<_> = (0..20)
        .map(|_| {
            let (store, bad) = (store.clone(), bad.clone());
            tokio::spawn(
                async move { type_code(&store, "mallory@example.com", &bad, 1, now).await },
            )
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            Err(RedeemError::WrongCode { .. } | RedeemError::CodeUsedUp) => checked += 1,
            Err(RedeemError::InvalidOrExpired) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
    // Five checks, the fifth ending the code; the rest find no code to try.
    assert_eq!(checked, 5);
    let row = credential::Entity::find().one(db).await.unwrap().unwrap();
    assert_eq!(row.attempts, 5);
    assert_eq!(failure::Entity::find().count(db).await.unwrap(), 5);
}

async fn parallel_guesses_across_clients_stop_at_the_daily_cap(db: &DatabaseConnection) {
    let store = Arc::new(store(db));
    let clock = clock();
    let now = clock.now();
    let mut guesses = Vec::new();
    for n in 1..=4 {
        let issued = issue(&store, "nia@example.com", n, now).await.unwrap();
        for _ in 0..5 {
            let (store, bad) = (store.clone(), wrong(&issued.code));
            guesses.push(tokio::spawn(async move {
                type_code(&store, "nia@example.com", &bad, n, now).await
            }));
        }
    }
    let mut paused = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            Err(
                RedeemError::WrongCode { .. }
                | RedeemError::CodeUsedUp
                | RedeemError::InvalidOrExpired,
            ) => {}
            Err(RedeemError::CodesPaused) => paused += 1,
            other => panic!("unexpected: {other:?}"),
        }
    }
    // Twenty guesses, ten checked: exactly the day's cap, whatever the interleaving.
    assert_eq!(paused, 10);
    assert_eq!(failure::Entity::find().count(db).await.unwrap(), 10);
}

async fn fifty_parallel_redemptions_make_exactly_one_session(db: &DatabaseConnection) {
    let store = Arc::new(store(db));
    let clock = clock();
    let issued = issue(&store, "niaj@example.com", 1, clock.now())
        .await
        .unwrap();
    let token = LinkToken::parse(issued.token.expose()).unwrap();
    let now = clock.now();
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let (store, token) = (store.clone(), token.clone());
            tokio::spawn(async move {
                store
                    .redeem_link(&token, &client(1), &Device::default(), now)
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => wins += 1,
            Err(RedeemError::InvalidOrExpired) => {}
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(counts(db).await, (0, 1));
}

async fn sessions_can_be_listed_and_ended(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let olivia = email("olivia@example.com");
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let issued = issue(&store, olivia.as_str(), 1, clock.now())
            .await
            .unwrap();
        tokens.push(open_link(&store, &issued, 1, clock.now()).await.unwrap());
        clock.advance(Duration::from_secs(10));
    }
    let other = issue(&store, "peggy@example.com", 2, clock.now())
        .await
        .unwrap();
    // Where a sign-in came from is kept with its session: the user agent cut short, and
    // an IPv4 address seen through IPv6 written the IPv4 way.
    let phone = Device {
        user_agent: Some(format!("Phone/1.0 {}", "x".repeat(400))),
        client_ip: Some("::ffff:198.51.100.7".parse().unwrap()),
    };
    let peggy = store
        .redeem_link(&other.token, &client(2), &phone, clock.now())
        .await
        .unwrap();
    let peggys = store
        .session(&peggy.token, clock.now())
        .await
        .unwrap()
        .unwrap();
    let agent = peggys.user_agent.unwrap();
    assert!(agent.starts_with("Phone/1.0 xxx"), "{agent}");
    assert_eq!(agent.chars().count(), 256);
    assert_eq!(peggys.client_ip.as_deref(), Some("198.51.100.7"));

    let listed = store.list_sessions(&olivia, clock.now()).await.unwrap();
    let ids: Vec<i64> = listed.iter().map(|s| s.id).collect();
    let newest_first: Vec<i64> = tokens.iter().rev().map(|t| t.session.id).collect();
    assert_eq!(ids, newest_first);
    assert_eq!(
        (
            listed[0].user_agent.as_deref(),
            listed[0].client_ip.as_deref()
        ),
        (None, None)
    );

    // One session ends by its id, and only for its own address.
    let newest = tokens.pop().unwrap();
    assert!(
        !store
            .logout_session(&olivia, peggy.session.id, clock.now())
            .await
            .unwrap()
    );
    assert!(
        store
            .logout_session(&olivia, newest.session.id, clock.now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .logout_session(&olivia, newest.session.id, clock.now())
            .await
            .unwrap()
    );
    assert_eq!(
        store.session(&newest.token, clock.now()).await.unwrap(),
        None
    );
    assert!(
        store
            .session(&peggy.token, clock.now())
            .await
            .unwrap()
            .is_some()
    );

    assert!(store.logout(&tokens[0].token, clock.now()).await.unwrap());
    assert!(!store.logout(&tokens[0].token, clock.now()).await.unwrap());
    assert_eq!(
        store.session(&tokens[0].token, clock.now()).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .list_sessions(&olivia, clock.now())
            .await
            .unwrap()
            .len(),
        1
    );

    assert_eq!(store.logout_all(&olivia, clock.now()).await.unwrap(), 1);
    assert!(
        store
            .list_sessions(&olivia, clock.now())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .session(&peggy.token, clock.now())
            .await
            .unwrap()
            .is_some()
    );
}

async fn signed_in(store: &AuthStore, address: &str, n: u8, now: DateTime<Utc>) -> NewSession {
    let issued = issue(store, address, n, now).await.unwrap();
    open_link(store, &issued, n, now).await.unwrap()
}

/// On SQLite a session row is reused for a moment (`SESSION_REUSE_FOR`): every change made
/// through the store shows at the next read all the same, and a store of another process
/// sees it once the moment has passed. PostgreSQL reads every time.
async fn a_session_read_again_after_a_change_shows_it(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let read = async |token| store.session(token, clock.now()).await.unwrap();
    // A confirmation shows at once, after the row was read (and so reused) twice.
    let olivia = signed_in(&store, "olivia@example.com", 1, clock.now()).await;
    let first = read(&olivia.token).await.unwrap();
    assert_eq!(read(&olivia.token).await.as_ref(), Some(&first));
    clock.advance(Duration::from_secs(600));
    assert!(
        store
            .confirm_session(&first.email, first.id, clock.now())
            .await
            .unwrap()
    );
    assert_eq!(
        read(&olivia.token).await.unwrap().authenticated_at,
        clock.now()
    );

    // So do a logout, the end of every session of an address, and a deletion.
    assert!(store.logout(&olivia.token, clock.now()).await.unwrap());
    assert_eq!(read(&olivia.token).await, None);
    let peggy = signed_in(&store, "peggy@example.com", 2, clock.now()).await;
    let peggys = read(&peggy.token).await.unwrap();
    assert_eq!(
        store.logout_all(&peggys.email, clock.now()).await.unwrap(),
        1
    );
    assert_eq!(read(&peggy.token).await, None);
    let trent = signed_in(&store, "trent@example.com", 3, clock.now()).await;
    let trents = read(&trent.token).await.unwrap();
    assert!(
        store
            .delete_account(&trents.email, trents.id, clock.now())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(read(&trent.token).await, None);

    // A session that runs out is not reused past its end.
    let victor = signed_in(&store, "victor@example.com", 4, clock.now()).await;
    assert!(read(&victor.token).await.is_some());
    clock.advance(SESSION_LIFETIME);
    assert_eq!(read(&victor.token).await, None);

    // Another process's store (its own reuse) sees a logout made here within the moment.
    let walter = signed_in(&store, "walter@example.com", 5, clock.now()).await;
    let elsewhere = self::store(db);
    assert!(
        elsewhere
            .session(&walter.token, clock.now())
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.logout(&walter.token, clock.now()).await.unwrap());
    let seen_elsewhere = elsewhere.session(&walter.token, clock.now()).await.unwrap();
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => {
            assert!(seen_elsewhere.is_some(), "reused within the moment");
            tokio::time::sleep(SESSION_REUSE_FOR + Duration::from_millis(100)).await;
            assert_eq!(
                elsewhere.session(&walter.token, clock.now()).await.unwrap(),
                None
            );
        }
        _ => assert_eq!(seen_elsewhere, None),
    }
}

/// A reservation whose request failed before its code was hashed, and could not hand its slot
/// back, counts against the client and the address only while a request could still be
/// finishing it (`RESERVATION_GRACE`): a fault never locks anyone out for a whole window.
async fn an_unfinished_reservation_stops_counting_after_its_grace(db: &DatabaseConnection) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let store = store(db);
    let clock = clock();
    let left_behind = |n: i64| credential::ActiveModel {
        email: Set(email("grace@example.com")),
        token_hash: Set(format!("{n:064x}")),
        code_hash: Set(String::new()),
        client: Set(client(7).as_str().to_owned()),
        attempts: Set(0),
        created_at: Set(clock.now()),
        expires_at: Set(clock.now()),
        delivery: Set(Delivery::Pending),
        ..Default::default()
    };
    // As many as the client's limit, left behind by failed requests just now: they count.
    for n in 0..3 {
        left_behind(n).insert(db).await.unwrap();
    }
    let refused = issue(&store, "grace@example.com", 7, clock.now()).await;
    assert!(
        matches!(refused, Err(IssueError::RateLimited(Limit::Client))),
        "{refused:?}"
    );
    // Past the grace (well inside the limits' window), they no longer do.
    clock.advance(RESERVATION_GRACE + Duration::from_secs(1));
    assert!(RESERVATION_GRACE + Duration::from_secs(1) < LIFETIME);
    let issued = issue(&store, "grace@example.com", 7, clock.now()).await;
    assert!(issued.is_ok(), "{issued:?}");
}
