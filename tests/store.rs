//! The auth store against real databases: SQLite always, PostgreSQL when configured.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::{net::IpAddr, sync::Arc, time::Duration};

use chrono::{TimeZone, Utc};
use magic_link_auth::auth::{
    Code, Email, LinkToken,
    clock::{Clock, ManualClock},
    entities::{credential, session},
    secrets::CodeHasher,
    store::{AuthStore, Device, IssueError, Limit, Policy, RedeemError},
};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

const LIFETIME: Duration = Duration::from_secs(1800);
const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

fn store(db: &DatabaseConnection) -> AuthStore {
    AuthStore::new(
        db.clone(),
        CodeHasher::new(4).expect("hasher"),
        Policy {
            credential_lifetime: LIFETIME,
            session_lifetime: SESSION_LIFETIME,
            rate_limit: 3,
            code_max_attempts: 5,
            allowed_emails: None,
        },
    )
}

fn clock() -> ManualClock {
    ManualClock::starting_at(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap())
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([203, 0, 113, last])
}

fn email(s: &str) -> Email {
    Email::parse(s).expect("valid email")
}

async fn counts(db: &DatabaseConnection) -> (u64, u64) {
    (
        credential::Entity::find().count(db).await.unwrap(),
        session::Entity::find().count(db).await.unwrap(),
    )
}

on_both_databases!(
    a_link_signs_in_once_and_no_secret_is_stored,
    only_the_newest_credential_is_live,
    credentials_and_sessions_expire_with_the_clock,
    the_ip_limit_is_checked_before_the_email_limit,
    the_email_limit_counts_across_ips,
    a_refused_email_writes_nothing,
    a_code_signs_in_and_clears_the_email,
    wrong_codes_use_up_the_credential,
    parallel_guesses_get_no_more_than_the_allowed_checks,
    fifty_parallel_redemptions_make_exactly_one_session,
    sessions_can_be_listed_and_ended,
    migrations_roll_back_and_apply_again,
    cleanup_deletes_only_what_no_longer_counts_and_is_safe_in_parallel,
    an_address_off_the_allow_list_never_signs_in,
);

async fn an_address_off_the_allow_list_never_signs_in(db: &DatabaseConnection) {
    let allowed = magic_link_auth::auth::config::AuthConfig::from_lookup(|name| {
        (name == "MAGIC_LINK_AUTH_ALLOWED_EMAILS").then(|| "*@corp.example".to_owned())
    })
    .unwrap()
    .allowed_emails;
    let store = AuthStore::new(
        db.clone(),
        CodeHasher::new(4).expect("hasher"),
        Policy {
            allowed_emails: allowed,
            ..store(db).policy().clone()
        },
    );
    let clock = clock();
    let outsider = store
        .issue("eve@example.com", ip(1), clock.now())
        .await
        .unwrap();
    assert!(matches!(
        store
            .redeem_link(&outsider.token, &Device::default(), clock.now())
            .await,
        Err(RedeemError::InvalidOrExpired)
    ));
    let again = store
        .issue("eve@example.com", ip(1), clock.now())
        .await
        .unwrap();
    assert!(matches!(
        store
            .redeem_code(&again.email, &again.code, &Device::default(), clock.now())
            .await,
        Err(RedeemError::InvalidOrExpired)
    ));
    let insider = store
        .issue("ada@corp.example", ip(2), clock.now())
        .await
        .unwrap();
    store
        .redeem_link(&insider.token, &Device::default(), clock.now())
        .await
        .unwrap();
    assert_eq!(counts(db).await.1, 1, "one session, the insider's");
}

async fn cleanup_deletes_only_what_no_longer_counts_and_is_safe_in_parallel(
    db: &DatabaseConnection,
) {
    let store = store(db);
    let clock = clock();
    // An old sign-in whose session has run out, and an old failed attempt.
    let old = store
        .issue("old@example.com", ip(1), clock.now())
        .await
        .unwrap();
    let old_session = store
        .redeem_link(&old.token, &Device::default(), clock.now())
        .await
        .unwrap();
    store.record_failure(ip(1), clock.now()).await.unwrap();
    store
        .issue("stale@example.com", ip(2), clock.now())
        .await
        .unwrap();
    clock.advance(SESSION_LIFETIME);

    // Now: a live session, then two requests in the window, the first already superseded.
    let newest = store
        .issue("busy@example.com", ip(3), clock.now())
        .await
        .unwrap();
    let live = store
        .redeem_link(&newest.token, &Device::default(), clock.now())
        .await
        .unwrap();
    for _ in 0..2 {
        store
            .issue("busy@example.com", ip(3), clock.now())
            .await
            .unwrap();
    }
    store.record_failure(ip(3), clock.now()).await.unwrap();

    // Two instances purging at the same moment.
    let (first, second) = tokio::join!(
        store.purge_expired(clock.now()),
        store.purge_expired(clock.now())
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        first.credentials + second.credentials,
        1,
        "the stale credential"
    );
    assert_eq!(first.sessions + second.sessions, 1, "the run-out session");
    assert_eq!(first.failures + second.failures, 1, "the old failure");

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
    // Both recent requests still count: one more is allowed, the next is refused.
    store
        .issue("busy@example.com", ip(4), clock.now())
        .await
        .unwrap();
    assert!(matches!(
        store.issue("busy@example.com", ip(4), clock.now()).await,
        Err(IssueError::RateLimited(Limit::Email))
    ));
    assert!(!store.too_many_failures(ip(3), clock.now()).await.unwrap());
    assert_eq!(
        store.purge_expired(clock.now()).await.unwrap(),
        Default::default()
    );
}

async fn migrations_roll_back_and_apply_again(db: &DatabaseConnection) {
    use migration::{Migrator, MigratorTrait};
    Migrator::down(db, None).await.unwrap();
    assert!(
        credential::Entity::find().count(db).await.is_err(),
        "tables remain after down"
    );
    Migrator::up(db, None).await.unwrap();
    assert_eq!(counts(db).await, (0, 0));
    let store = store(db);
    let issued = store
        .issue("quentin@example.com", ip(1), clock().now())
        .await
        .unwrap();
    assert!(
        store
            .redeem_link(&issued.token, &Device::default(), clock().now())
            .await
            .is_ok()
    );
}

async fn a_link_signs_in_once_and_no_secret_is_stored(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let issued = store
        .issue(" Alice@Example.com ", ip(1), clock.now())
        .await
        .unwrap();
    assert_eq!(issued.email.as_str(), "alice@example.com");
    assert_eq!(
        issued.expires_at,
        clock.now() + chrono::Duration::seconds(1800)
    );
    // Another outstanding credential stays in the table for the scan below.
    let other = store
        .issue("bob@example.com", ip(2), clock.now())
        .await
        .unwrap();

    let signed_in = store
        .redeem_link(&issued.token, &Device::default(), clock.now())
        .await
        .unwrap();
    assert_eq!(signed_in.session.email, "alice@example.com");
    assert_eq!(
        signed_in.session.persistent_id,
        "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976"
    );
    assert_eq!(
        signed_in.session.expires_at,
        clock.now() + chrono::Duration::days(7)
    );
    let found = store.session(&signed_in.token, clock.now()).await.unwrap();
    assert_eq!(found, Some(signed_in.session.clone()));

    let again = store
        .redeem_link(&issued.token, &Device::default(), clock.now())
        .await;
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

async fn only_the_newest_credential_is_live(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let first = store
        .issue("carol@example.com", ip(1), clock.now())
        .await
        .unwrap();
    clock.advance(Duration::from_secs(1));
    let second = store
        .issue("carol@example.com", ip(1), clock.now())
        .await
        .unwrap();

    let stale = store
        .redeem_link(&first.token, &Device::default(), clock.now())
        .await;
    assert!(
        matches!(stale, Err(RedeemError::InvalidOrExpired)),
        "{stale:?}"
    );
    let stale_code = store
        .redeem_code(&first.email, &first.code, &Device::default(), clock.now())
        .await;
    if first.code != second.code {
        assert!(stale_code.is_err(), "the old code still works");
    }
    assert!(
        store
            .redeem_link(&second.token, &Device::default(), clock.now())
            .await
            .is_ok()
    );
}

async fn credentials_and_sessions_expire_with_the_clock(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let issued = store
        .issue("dave@example.com", ip(1), clock.now())
        .await
        .unwrap();
    clock.advance(LIFETIME);
    let late = store
        .redeem_link(&issued.token, &Device::default(), clock.now())
        .await;
    assert!(
        matches!(late, Err(RedeemError::InvalidOrExpired)),
        "{late:?}"
    );
    let late_code = store
        .redeem_code(&issued.email, &issued.code, &Device::default(), clock.now())
        .await;
    assert!(
        matches!(late_code, Err(RedeemError::InvalidOrExpired)),
        "{late_code:?}"
    );

    let fresh = store
        .issue("dave@example.com", ip(1), clock.now())
        .await
        .unwrap();
    let signed_in = store
        .redeem_link(&fresh.token, &Device::default(), clock.now())
        .await
        .unwrap();
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

async fn the_ip_limit_is_checked_before_the_email_limit(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    for _ in 0..3 {
        store
            .issue("erin@example.com", ip(9), clock.now())
            .await
            .unwrap();
        clock.advance(Duration::from_secs(60));
    }
    // Both limits are reached now; the IP limit is the one reported.
    let refused = store.issue("erin@example.com", ip(9), clock.now()).await;
    assert!(
        matches!(refused, Err(IssueError::RateLimited(Limit::ClientIp))),
        "{refused:?}"
    );
    let other_email = store.issue("frank@example.com", ip(9), clock.now()).await;
    assert!(
        matches!(other_email, Err(IssueError::RateLimited(Limit::ClientIp))),
        "{other_email:?}"
    );
    assert_eq!(counts(db).await.0, 3);

    // The window slides: once the first request is older than the lifetime, one more fits.
    clock.advance(LIFETIME - Duration::from_secs(180) + Duration::from_secs(1));
    assert!(
        store
            .issue("frank@example.com", ip(9), clock.now())
            .await
            .is_ok()
    );
    let refused = store.issue("frank@example.com", ip(9), clock.now()).await;
    assert!(
        matches!(refused, Err(IssueError::RateLimited(Limit::ClientIp))),
        "{refused:?}"
    );
}

async fn the_email_limit_counts_across_ips(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    for n in 0..3 {
        store
            .issue("grace@example.com", ip(n), clock.now())
            .await
            .unwrap();
    }
    let refused = store.issue("Grace@Example.com", ip(50), clock.now()).await;
    assert!(
        matches!(refused, Err(IssueError::RateLimited(Limit::Email))),
        "{refused:?}"
    );
    assert!(
        store
            .issue("heidi@example.com", ip(50), clock.now())
            .await
            .is_ok()
    );
}

async fn a_refused_email_writes_nothing(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    for bad in [
        "",
        "not-an-email",
        "a@b",
        "x@example.com\r\nBcc: y@example.com",
    ] {
        let refused = store.issue(bad, ip(1), clock.now()).await;
        assert!(
            matches!(refused, Err(IssueError::InvalidEmail(_))),
            "{bad:?}: {refused:?}"
        );
    }
    assert_eq!(counts(db).await, (0, 0));
}

async fn a_code_signs_in_and_clears_the_email(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let issued = store
        .issue("ivan@example.com", ip(1), clock.now())
        .await
        .unwrap();
    let signed_in = store
        .redeem_code(
            &email("IVAN@example.com"),
            &issued.code,
            &Device::default(),
            clock.now(),
        )
        .await
        .unwrap();
    assert_eq!(signed_in.session.email, "ivan@example.com");
    assert_eq!(counts(db).await, (0, 1));
    let link_after = store
        .redeem_link(&issued.token, &Device::default(), clock.now())
        .await;
    assert!(
        matches!(link_after, Err(RedeemError::InvalidOrExpired)),
        "{link_after:?}"
    );
}

fn wrong(code: &Code) -> Code {
    let next = (code.expose().parse::<u32>().unwrap() + 1) % 1_000_000;
    Code::parse(&format!("{next:06}")).unwrap()
}

async fn wrong_codes_use_up_the_credential(db: &DatabaseConnection) {
    let store = store(db);
    let clock = clock();
    let issued = store
        .issue("judy@example.com", ip(1), clock.now())
        .await
        .unwrap();
    let bad = wrong(&issued.code);
    for left in (1..=4).rev() {
        let result = store
            .redeem_code(&issued.email, &bad, &Device::default(), clock.now())
            .await;
        assert!(
            matches!(result, Err(RedeemError::WrongCode { attempts_left }) if attempts_left == left),
            "{result:?}"
        );
    }
    let fifth = store
        .redeem_code(&issued.email, &bad, &Device::default(), clock.now())
        .await;
    assert!(
        matches!(fifth, Err(RedeemError::InvalidOrExpired)),
        "{fifth:?}"
    );
    // Dead: neither the right code nor the link works now.
    let right = store
        .redeem_code(&issued.email, &issued.code, &Device::default(), clock.now())
        .await;
    assert!(
        matches!(right, Err(RedeemError::InvalidOrExpired)),
        "{right:?}"
    );
    let link = store
        .redeem_link(&issued.token, &Device::default(), clock.now())
        .await;
    assert!(
        matches!(link, Err(RedeemError::InvalidOrExpired)),
        "{link:?}"
    );
    assert_eq!(counts(db).await.1, 0);
}

async fn parallel_guesses_get_no_more_than_the_allowed_checks(db: &DatabaseConnection) {
    let store = Arc::new(store(db));
    let clock = clock();
    let issued = store
        .issue("mallory@example.com", ip(1), clock.now())
        .await
        .unwrap();
    let bad = wrong(&issued.code);
    let now = clock.now();
    let guesses: Vec<_> = (0..20)
        .map(|_| {
            let (store, email, bad) = (store.clone(), issued.email.clone(), bad.clone());
            tokio::spawn(async move {
                store
                    .redeem_code(&email, &bad, &Device::default(), now)
                    .await
            })
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            Err(RedeemError::WrongCode { .. }) => checked += 1,
            Err(RedeemError::InvalidOrExpired) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
    // Four wrong answers are reported; the fifth attempt ends the credential.
    assert_eq!(checked, 4);
    let row = credential::Entity::find().one(db).await.unwrap().unwrap();
    assert_eq!(row.attempts, 5);
}

async fn fifty_parallel_redemptions_make_exactly_one_session(db: &DatabaseConnection) {
    let store = Arc::new(store(db));
    let clock = clock();
    let issued = store
        .issue("niaj@example.com", ip(1), clock.now())
        .await
        .unwrap();
    let token = LinkToken::parse(issued.token.expose()).unwrap();
    let now = clock.now();
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let (store, token) = (store.clone(), token.clone());
            tokio::spawn(async move { store.redeem_link(&token, &Device::default(), now).await })
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
        let issued = store
            .issue(olivia.as_str(), ip(1), clock.now())
            .await
            .unwrap();
        tokens.push(
            store
                .redeem_link(&issued.token, &Device::default(), clock.now())
                .await
                .unwrap(),
        );
        clock.advance(Duration::from_secs(10));
    }
    let other = store
        .issue("peggy@example.com", ip(2), clock.now())
        .await
        .unwrap();
    // Where a sign-in came from is kept with its session: the user agent cut short, and
    // an IPv4 address seen through IPv6 written the IPv4 way.
    let phone = Device {
        user_agent: Some(format!("Phone/1.0 {}", "x".repeat(400))),
        client_ip: Some("::ffff:198.51.100.7".parse().unwrap()),
    };
    let peggy = store
        .redeem_link(&other.token, &phone, clock.now())
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
