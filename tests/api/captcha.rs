//! The CAPTCHA hook over HTTP, with a real HTTP server in the siteverify provider's place:
//! the check comes before anything is written, so a refused request uses up nothing.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use crate::support::app::{TestApp, spawn_app_with};
use axum::{Form, Json, Router, extract::State, routing::post};
use magic_link_core::{config::CaptchaSettings, entities::credential};
use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};

type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A siteverify endpoint that passes the token `good`, and records every form it gets.
async fn fake_siteverify() -> (String, Seen) {
    async fn verify(
        State(seen): State<Seen>,
        Form(form): Form<Vec<(String, String)>>,
    ) -> Json<serde_json::Value> {
        let success = form.iter().any(|(k, v)| k == "response" && v == "good");
        seen.lock().unwrap().push(form);
        Json(serde_json::json!({ "success": success, "error-codes": [] }))
    }
    let seen = Seen::default();
    let app = Router::new()
        .route("/siteverify", post(verify))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/siteverify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn credentials(app: &TestApp) -> u64 {
    credential::Entity::find().count(&app.db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_captcha_writes_nothing_and_uses_up_no_limit() {
    let (verify_url, seen) = fake_siteverify().await;
    let app = spawn_app_with(move |config| {
        config.captcha = Some(CaptchaSettings {
            verify_url,
            secret: "site-secret".to_owned().into(),
        });
    })
    .await;

    // Missing or wrong tokens, more of them than the rate limit allows requests.
    for captcha in [
        None,
        Some("bad"),
        Some("bad"),
        Some("bad"),
        Some("bad"),
        Some(""),
    ] {
        let mut form = vec![("email", "human@example.com")];
        form.extend(captcha.map(|c| ("captcha", c)));
        let reply = app.post("/api/auth/request", &form, None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{captcha:?}");
        assert_eq!(
            reply.body,
            r#"{"error":"Please complete the CAPTCHA check and try again."}"#
        );
    }
    assert_eq!(credentials(&app).await, 0);
    assert!(app.mails().await.is_empty());
    // Only the non-empty tokens were worth asking about.
    assert_eq!(seen.lock().unwrap().len(), 4);

    // An invalid address is refused before the provider is asked.
    let invalid = app
        .post(
            "/api/auth/request",
            &[("email", "nope"), ("captcha", "good")],
            None,
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(seen.lock().unwrap().len(), 4);

    // The limit is whole: a person who passes gets their link.
    let passed = app
        .post(
            "/api/auth/request",
            &[("email", "human@example.com"), ("captcha", "good")],
            None,
        )
        .await;
    assert_eq!(passed.status, StatusCode::OK, "{}", passed.body);
    assert_eq!(app.recipients().await, ["human@example.com"]);
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        last,
        [
            ("secret".to_owned(), "site-secret".to_owned()),
            ("response".to_owned(), "good".to_owned()),
            ("remoteip".to_owned(), "127.0.0.1".to_owned()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_captcha_provider_is_a_503_and_writes_nothing() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let verify_url = format!("http://{}/siteverify", closed.local_addr().unwrap());
    drop(closed);
    let app = spawn_app_with(move |config| {
        config.captcha = Some(CaptchaSettings {
            verify_url,
            secret: "site-secret".to_owned().into(),
        });
    })
    .await;
    let reply = app
        .post(
            "/api/auth/request",
            &[("email", "human@example.com"), ("captcha", "good")],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(credentials(&app).await, 0);
}
