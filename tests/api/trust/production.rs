//! Production defaults over HTTP: HSTS over https, and no cache keeps personal data.

use reqwest::{StatusCode, header};

use crate::support::app::{TestApp, spawn_app, spawn_app_with};

async fn get_with(app: &TestApp, path: &str, cookie: &str) -> crate::support::app::Reply {
    app.send(
        app.http
            .get(format!("{}{path}", app.base))
            .header(header::COOKIE, cookie),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_every_response_carries_strict_transport_security() {
    let app = spawn_app_with(|config| {
        config.public_url = "https://app.example.com".to_owned();
    })
    .await;
    for reply in [
        app.get("/").await,
        app.get("/healthz").await,
        app.get("/favicon.svg").await,
        app.get("/no-such-page").await,
        app.post("/api/auth/session", &[], None).await,
        app.post("/api/auth/request", &[("email", "bad")], None)
            .await,
    ] {
        assert_eq!(
            reply.headers[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000"
        );
    }
    let plain = spawn_app().await;
    assert!(
        plain
            .get("/")
            .await
            .headers
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none(),
        "no HSTS over plain http: it would pin a development host to https"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cache_keeps_a_page_or_reply_that_carries_personal_data() {
    let app = spawn_app().await;
    let cookie = app.sign_in("private@example.com").await;
    let pages = [
        "/",
        "/account",
        "/check-your-email?email=private%40example.com",
    ];
    for path in pages {
        let reply = get_with(&app, path, &cookie).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store", "{path}");
    }
    assert!(
        get_with(&app, "/account", &cookie)
            .await
            .body
            .contains("private@example.com")
    );
    for path in [
        "/api/auth/session",
        "/api/auth/sessions",
        "/api/auth/delivery",
    ] {
        let reply = app.post(path, &[], Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store", "{path}");
    }
    let refused = app.post("/api/auth/sessions", &[], None).await;
    assert_eq!(refused.headers[header::CACHE_CONTROL], "no-store");
}
