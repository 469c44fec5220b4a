//! Two instances of the app on different ports, each with its own connection pool, sharing
//! one PostgreSQL database: what one does, the other sees.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crate::support::{
    TestDb,
    app::{TestApp, cookie_pair, link_and_code, spawn_app_on, token_of},
};
use app::server::connect_and_migrate;
use chrono::Utc;
use magic_link_core::{
    domain::{Email, PersistentId},
    entities::{credential, session},
};
use reqwest::StatusCode;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};

/// One instance on `db_url`, cleaning up every second.
async fn instance(db_url: &str, outbox: &tempfile::TempDir) -> TestApp {
    let db = connect_and_migrate(db_url).await.unwrap();
    spawn_app_on(db, outbox.path().to_owned(), |config| {
        config.cleanup_interval = Duration::from_secs(1);
    })
    .await
}

async fn session_email(app: &TestApp, cookie: &str) -> String {
    let reply = app.post("/api/auth/session", &[], Some(cookie)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgresql_share_links_limits_sessions_and_cleanup() {
    let Some(database) = TestDb::postgres().await else {
        return;
    };
    let (outbox_a, outbox_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = instance(&database.url, &outbox_a).await;
    let b = instance(&database.url, &outbox_b).await;
    assert_ne!(a.base, b.base);

    // A link requested on A is redeemed on B, and the session is good on both.
    let sent = a
        .post(
            "/api/auth/request",
            &[("email", "shared@example.com")],
            None,
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    // Either instance may send it: they share the outbox.
    let mut mails = a.mails().await;
    mails.extend(b.mails().await);
    assert_eq!(mails.len(), 1, "one message, sent once");
    let (link, _) = link_and_code(&mails[0]);
    let redeemed = b
        .post("/api/auth/redeem", &[("token", &token_of(&link))], None)
        .await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.body);
    let cookie = cookie_pair(&redeemed.cookie("session").unwrap());
    assert!(
        session_email(&a, &cookie)
            .await
            .contains("shared@example.com")
    );
    assert!(
        session_email(&b, &cookie)
            .await
            .contains("shared@example.com")
    );

    // The per-client limit counts requests on both: five in all, wherever they land.
    let mut statuses = Vec::new();
    for app in [&a, &b, &a, &b, &a, &b] {
        let reply = app
            .post(
                "/api/auth/request",
                &[("email", "limited@example.com")],
                None,
            )
            .await;
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::OK; 5].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS]
        ]
        .concat()
    );
    assert_eq!(a.mails().await.len() + b.mails().await.len(), 1 + 5);

    // Logout on A ends the session on B.
    let out = a.post("/api/auth/logout", &[], Some(&cookie)).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert_eq!(session_email(&b, &cookie).await, "null");

    // A session that ran out an hour ago is deleted by the instances' periodic cleanup,
    // which both run every second; the live rows stay.
    let hour_ago = Utc::now() - chrono::Duration::hours(1);
    let gone = Email::parse("gone@example.com").unwrap();
    session::Entity::insert(session::ActiveModel {
        id: NotSet,
        token_hash: Set("0".repeat(64)),
        email: Set(gone.clone()),
        persistent_id: Set(PersistentId::for_email(&gone)),
        created_at: Set(hour_ago - chrono::Duration::hours(1)),
        expires_at: Set(hour_ago),
        user_agent: Set(None),
        client_ip: Set(None),
        authenticated_at: Set(None),
    })
    .exec(&database.db)
    .await
    .unwrap();
    let start = Instant::now();
    let live_sessions = loop {
        let expired = session::Entity::find()
            .filter(session::Column::Email.eq("gone@example.com"))
            .count(&database.db)
            .await
            .unwrap();
        if expired == 0 {
            break session::Entity::find().count(&database.db).await.unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the expired session is still there"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The logged-out session was expired, not deleted at once: it goes too. The five
    // recent requests stay, as they still count against the limit.
    assert_eq!(live_sessions, 0);
    assert_eq!(
        credential::Entity::find()
            .count(&database.db)
            .await
            .unwrap(),
        5
    );
    database.finish().await;
}
