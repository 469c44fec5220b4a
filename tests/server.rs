//! The real server on a random port, with a fresh SQLite file, driven over HTTP.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use leptos::prelude::LeptosOptions;
use magic_link_auth::server::{AppState, connect_and_migrate, serve};
use reqwest::StatusCode;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

struct TestApp {
    base: String,
    db: DatabaseConnection,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    let db = connect_and_migrate(&url).await.expect("database ready");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let leptos_options = LeptosOptions::builder()
        .output_name("magic-link-auth")
        .site_root("target/site")
        .site_addr(addr)
        .build();
    let state = AppState {
        leptos_options,
        db: db.clone(),
    };
    tokio::spawn(serve(listener, state, std::future::pending()));
    TestApp {
        base: format!("http://{addr}"),
        db,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestApp {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.text().await.expect("body"))
    }
}

#[tokio::test]
async fn health_check_is_ready_while_the_database_answers() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await, (StatusCode::OK, "ok".to_owned()));

    app.db.close_by_ref().await.expect("close pool");
    assert_eq!(
        app.get("/healthz").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unavailable".to_owned()
        )
    );
}

#[tokio::test]
async fn home_page_is_rendered_on_the_server() {
    let app = spawn_app().await;
    let (status, html) = app.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<title>Magic Link Auth</title>"), "{html}");
    assert!(html.contains(">Magic Link Auth</h1>"), "{html}");
    assert!(html.contains("Check the server"), "{html}");
    assert!(
        html.contains("/pkg/magic-link-auth.js"),
        "hydration script missing: {html}"
    );
    // Only the browser marks the page hydrated.
    assert!(!html.contains("data-hydrated"), "{html}");
}

#[tokio::test]
async fn unknown_path_is_a_404_page() {
    let app = spawn_app().await;
    let (status, html) = app.get("/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"), "{html}");
}

#[tokio::test]
async fn status_endpoint_reports_version_and_database() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(format!("{}/api/status", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.expect("body");
    assert_eq!(
        body,
        format!(
            r#"{{"version":"{}","database_reachable":true}}"#,
            env!("CARGO_PKG_VERSION")
        )
    );
}
