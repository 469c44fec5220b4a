//! The example app (`examples/minimal`) signs in over HTTP: a private page sends a visitor
//! to the login page, the emailed link signs them in, and the private page then shows their
//! address. Its server is built here, with this workspace's dependencies.

use std::{sync::Arc, time::Duration};

use leptos::prelude::LeptosOptions;
use leptos_magic_link::{
    AuthConfig, AuthService, Email, database, mail::recording::RecordingMailer,
};
use reqwest::{StatusCode, header, redirect::Policy};

use crate::support::app::{cookie_pair, set_cookie_named};

#[tokio::test]
async fn a_visitor_signs_in_with_the_emailed_link() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    let config = AuthConfig::builder().public_url(&base).build().unwrap();
    let db = database::open(&database).await.unwrap();
    let mailer = RecordingMailer::default();
    let auth = AuthService::builder(db, config)
        .mailer(Arc::new(mailer.clone()))
        .build()
        .unwrap();
    let app = crate::minimal_app::server::router(
        LeptosOptions::builder().output_name("minimal-app").build(),
        auth,
    );
    // Served as its main.rs serves it, with a shutdown that never comes.
    tokio::spawn(leptos_magic_link::serve_with(
        listener,
        app,
        leptos_magic_link::ClientLimits::default(),
        std::future::pending(),
    ));
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();

    // Signed out, the private page sends the visitor to the login page, and back after.
    let private = http.get(format!("{base}/private")).send().await.unwrap();
    assert_eq!(private.status(), StatusCode::SEE_OTHER);
    let location = private
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        location.as_deref(),
        Some("/?redir=%2Fprivate"),
        "{:?}",
        private.status()
    );

    // The security model's response rules came with the library: the auth pages and
    // endpoints are never cached or sniffed, and an oversized body is refused unread.
    for path in ["/", "/check-your-email", "/magic-link-auth"] {
        let page = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store", "{path}");
        assert_eq!(
            page.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff",
            "{path}"
        );
        // The link page sets a stricter one of its own, which stands.
        let referrer = page.headers()[header::REFERRER_POLICY].to_str().unwrap();
        assert!(
            ["same-origin", "strict-origin"].contains(&referrer),
            "{path}: {referrer}"
        );
    }
    let session = http
        .post(format!("{base}/api/auth/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(session.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(session.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let padding = "x".repeat(leptos_magic_link::MAX_BODY_BYTES);
    let oversized = http
        .post(format!("{base}/api/auth/request"))
        .form(&[("email", "ada@example.com"), ("padding", padding.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(mailer.messages().is_empty());

    // The login form's endpoint mails a link.
    let asked = http
        .post(format!("{base}/api/auth/request"))
        .form(&[("email", "Ada@Example.com"), ("redir", "/private")])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::OK);
    let email = Email::parse("ada@example.com").unwrap();
    let mail = mailer
        .last_to(&email, Duration::from_secs(10))
        .await
        .expect("a sign-in email");
    assert!(
        mail.link
            .starts_with(&format!("{base}/magic-link-auth?token=")),
        "{}",
        mail.link
    );

    // The link page asks to confirm; confirming sets the session cookie.
    let page = http
        .get(&mail.link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign in as ada@example.com?"), "{page}");
    let token = mail
        .link
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let signed_in = http
        .post(format!("{base}/api/auth/redeem"))
        .form(&[("token", token), ("redir", "/private")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    let cookie =
        cookie_pair(&set_cookie_named(signed_in.headers(), "session").expect("a session cookie"));

    // Signed in, the private page shows the address.
    let private = http
        .get(format!("{base}/private"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), StatusCode::OK);
    let body = private.text().await.unwrap();
    assert!(
        body.contains("Signed in as") && body.contains("ada@example.com"),
        "{body}"
    );
}
