//! Parallel load on the real server over HTTP, on SQLite and on PostgreSQL.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use crate::support::app::{TestApp, spawn_app_on, token_of};
use magic_link_core::{client::TrustedProxies, entities::session};
use reqwest::{StatusCode, header};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

/// The app on `db`, trusting the loopback proxy so each request can name its own client.
async fn app_on(db: &DatabaseConnection, outbox: &tempfile::TempDir) -> Arc<TestApp> {
    Arc::new(
        spawn_app_on(db.clone(), outbox.path().to_owned(), |config| {
            config.trusted_proxies = TrustedProxies::parse_list("127.0.0.1").unwrap();
        })
        .await,
    )
}

async fn post_as(app: &TestApp, client: &str, path: &str, body: String) -> StatusCode {
    app.http
        .post(format!("{}{path}", app.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header("x-forwarded-for", client)
        .body(body)
        .send()
        .await
        .expect("answered")
        .status()
}

on_both_databases!(
    fifty_parallel_redemptions_make_one_session,
    two_hundred_concurrent_requests_each_get_one_answer_and_one_mail,
);

async fn fifty_parallel_redemptions_make_one_session(db: &DatabaseConnection) {
    let outbox = tempfile::tempdir().unwrap();
    let app = app_on(db, &outbox).await;
    let status = post_as(
        &app,
        "198.51.100.1",
        "/api/auth/request",
        "email=race%40example.com".into(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (link, _) = app.last_link_and_code().await;
    let body = format!("token={}", token_of(&link));

    let tries: Vec<_> = (0..50)
        .map(|n| {
            let (app, body) = (app.clone(), body.clone());
            tokio::spawn(async move {
                post_as(
                    &app,
                    &format!("198.51.100.{}", 10 + n),
                    "/api/auth/redeem",
                    body,
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in tries {
        statuses.push(attempt.await.unwrap());
    }
    let wins = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(wins, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
    assert_eq!(session::Entity::find().count(db).await.unwrap(), 1);
}

async fn two_hundred_concurrent_requests_each_get_one_answer_and_one_mail(db: &DatabaseConnection) {
    let outbox = tempfile::tempdir().unwrap();
    let app = app_on(db, &outbox).await;
    let requests: Vec<_> = (0..200)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                let client = format!("10.{}.{}.1", n / 200, n % 200);
                let status = post_as(
                    &app,
                    &client,
                    "/api/auth/request",
                    format!("email=load{n}%40example.com"),
                )
                .await;
                (n, status)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    for request in requests {
        let (n, status) = request.await.unwrap();
        // 503 is an answer too: on a loaded machine a request may wait past the pool's
        // acquire timeout, and is then refused at once, and sent nothing. What must never
        // happen is a 500, a hang, or a message for a request that was refused.
        assert!(
            status == StatusCode::OK
                || status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::SERVICE_UNAVAILABLE,
            "request {n}: {status}"
        );
        if status == StatusCode::OK {
            accepted.push(n);
        }
    }
    // Every accepted request produced exactly one message, to its own address, and no
    // refused one produced any.
    let mut recipients = app.recipients().await;
    recipients.sort();
    let mut expected: Vec<String> = accepted
        .iter()
        .map(|n| format!("load{n}@example.com"))
        .collect();
    expected.sort();
    assert_eq!(recipients, expected);
    assert!(!accepted.is_empty());
}
