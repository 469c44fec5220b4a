//! The mail outbox against real databases: SQLite always, PostgreSQL when configured.

use std::time::Duration;

use chrono::{DateTime, Utc};
use magic_link_core::{
    client::ClientKey,
    entities::{
        credential::{self, Delivery},
        outbox,
    },
    secrets::token_hash,
    store::{AuthStore, Claimed, Message, SignInMail},
};
use sea_orm::{DatabaseConnection, EntityTrait};

use magic_link_core::testing::{email, noon, small_store as store};

const LEASE: Duration = Duration::from_secs(30);

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn client(n: u8) -> ClientKey {
    ClientKey::of(std::net::IpAddr::from([198, 51, 100, n]), 64)
}

/// Issues a credential for `address` with its sign-in message queued, at `now`.
async fn issue_queued(store: &AuthStore, address: &str, n: u8, now: DateTime<Utc>) -> i64 {
    let mail = SignInMail {
        redir: "/dashboard",
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        supersedes: None,
    };
    store
        .issue_and_queue(&email(address), &client(n), now, Some(mail))
        .await
        .unwrap()
        .id
}

async fn claim(store: &AuthStore, now: DateTime<Utc>, limit: u64) -> Vec<Claimed> {
    store.claim_mail(now, LEASE, limit).await.unwrap()
}

on_both_databases!(
    a_queued_message_is_claimed_once_per_lease_and_gone_once_sent,
    a_message_put_back_waits_for_its_pause,
    two_stores_claiming_at_once_never_take_the_same_message,
);

/// The message is written with its credential, carries the link token and code the
/// credential's hashes were made from, is claimed by one claim at a time until its lease runs
/// out (then again, as a second try), and once finished is gone, secrets and all, with its
/// credential settled.
async fn a_queued_message_is_claimed_once_per_lease_and_gone_once_sent(db: &DatabaseConnection) {
    let store = store(db);
    let now = noon();
    let id = issue_queued(&store, "queued@example.com", 1, now).await;
    assert_eq!(store.mail_waiting().await.unwrap(), 1);

    let claimed = claim(&store, now, 10).await;
    assert_eq!(claimed.len(), 1);
    let message = &claimed[0];
    assert_eq!(message.credential, Some(id));
    assert_eq!(message.attempts, 1);
    assert_eq!(message.to, email("queued@example.com"));
    assert!(matches!(
        &message.message,
        Some(Message::SignIn { redir, .. }) if redir == "/dashboard"
    ));
    let row = credential::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let token = message.token.as_ref().expect("the link token");
    assert_eq!(row.token_hash, token_hash(token.expose()));
    assert!(message.code.is_some());
    // Nobody else gets it while the lease runs, however many ask.
    assert!(claim(&store, now + secs(29), 10).await.is_empty());
    assert_eq!(store.mail_due(now + secs(29)).await.unwrap(), 0);
    // After it, another claim takes it over: a second try.
    let again = claim(&store, now + secs(31), 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);

    // The first claim, its lease run out and taken over, records nothing and puts nothing
    // back: the newer claim's outcome stands.
    store.retry_mail(message, now + secs(40)).await.unwrap();
    assert!(
        !store
            .finish_mail(message, Delivery::Failed, now + secs(32))
            .await
            .unwrap()
    );
    assert_eq!(store.mail_waiting().await.unwrap(), 1);
    assert!(
        store
            .finish_mail(&again[0], Delivery::Sent, now + secs(32))
            .await
            .unwrap()
    );
    assert_eq!(store.mail_waiting().await.unwrap(), 0);
    assert!(outbox::Entity::find().all(db).await.unwrap().is_empty());
    let row = credential::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.delivery, Delivery::Sent);
    assert!(claim(&store, now + secs(120), 10).await.is_empty());

    // A credential handed back (its request failed late) takes its message with it.
    let released = issue_queued(&store, "released@example.com", 2, now).await;
    assert_eq!(store.mail_waiting().await.unwrap(), 1);
    store.release(released).await.unwrap();
    assert_eq!(store.mail_waiting().await.unwrap(), 0);
}

/// A message put back after a failed try is not claimed before its pause ends; a message for
/// an address off the allow-list carries no secret.
async fn a_message_put_back_waits_for_its_pause(db: &DatabaseConnection) {
    let store = store(db);
    let now = noon();
    issue_queued(&store, "paused@example.com", 1, now).await;
    let claimed = claim(&store, now, 10).await;
    store.retry_mail(&claimed[0], now + secs(4)).await.unwrap();
    assert!(claim(&store, now + secs(3), 10).await.is_empty());
    assert_eq!(store.mail_due(now + secs(4)).await.unwrap(), 1);
    let retried = claim(&store, now + secs(4), 10).await;
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 2);
    assert!(
        store
            .finish_mail(&retried[0], Delivery::Failed, now + secs(5))
            .await
            .unwrap()
    );
    let row = credential::Entity::find_by_id(retried[0].credential.unwrap())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.delivery, Delivery::Failed);
    assert!(
        row.expires_at <= now + secs(5),
        "a failed send ends its link"
    );
}

/// Two stores (two instances' pools) claiming the same outbox at the same moment share its
/// messages: each message is claimed by exactly one of them.
async fn two_stores_claiming_at_once_never_take_the_same_message(db: &DatabaseConnection) {
    let (a, b) = (store(db), store(db));
    let now = noon();
    for n in 0..20u8 {
        issue_queued(&a, &format!("user{n}@example.com"), n, now).await;
    }
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (left, right) = tokio::join!(claim(&a, now, 3), claim(&b, now, 3));
        seen.extend(left.into_iter().chain(right).map(|claimed| claimed.id));
    }
    let claimed = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), claimed, "a message was claimed twice");
    assert_eq!(claimed, 20, "every message was claimed");
}
