//! Login CSRF and its kin: a state-changing request from another site is refused before any
//! endpoint runs, and changes nothing.

use magic_link_types::replies::CROSS_SITE;
use reqwest::{StatusCode, header};
use sea_orm::EntityTrait;

use super::{post_from, rows, wrong};
use crate::support::app::{TestApp, cookie_pair, spawn_app, spawn_app_with, token_of};

/// Headers a page on another site makes the browser send, each set on its own.
fn hostile_headers(app: &TestApp) -> Vec<Vec<(&'static str, String)>> {
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let mut sets: Vec<Vec<(&'static str, String)>> = [
        "null".to_owned(),
        "https://evil.example".to_owned(),
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{}", port.parse::<u16>().unwrap() ^ 1),
        format!("https://127.0.0.1:{port}"),
        format!("{}.evil.example", app.base),
    ]
    .into_iter()
    .map(|origin| vec![("origin", origin)])
    .collect();
    for site in ["cross-site", "same-site", "none"] {
        sets.push(vec![("sec-fetch-site", site.to_owned())]);
        // This site's own Origin does not excuse a cross-site fetch.
        sets.push(vec![
            ("sec-fetch-site", site.to_owned()),
            ("origin", app.base.clone()),
        ]);
    }
    sets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_changing_endpoint_refuses_another_site_and_changes_nothing() {
    let app = spawn_app().await;
    let signed_in = app.sign_in("held@example.com").await;
    // A sign-in from another browser brings a notice, whose link would sign held@ out.
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    app.sign_in_from("held@example.com", &[("user-agent", firefox)])
        .await;
    let notices = app.notices().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let sign_out = notices[0]
        .lines()
        .find(|line| line.contains("/sign-out-everywhere?token="))
        .map(token_of)
        .unwrap();
    let sent = app
        .post(
            "/api/auth/request",
            &[("email", "victim@example.com")],
            None,
        )
        .await;
    let pending = cookie_pair(&sent.cookie("pending-sign-in").unwrap());
    let (link, code) = app.last_link_and_code().await;
    let token = token_of(&link);
    let bad_code = wrong(&code);
    let mails = app.mails().await.len();
    let before = rows(&app).await;

    let both = format!("{signed_in}; {pending}");
    let endpoints: [(&str, Vec<(&str, &str)>); 9] = [
        ("/api/auth/request", vec![("email", "victim@example.com")]),
        ("/api/auth/redeem", vec![("token", token.as_str())]),
        (
            "/api/auth/verify-code",
            vec![("email", "victim@example.com"), ("code", code.as_str())],
        ),
        (
            "/api/auth/verify-code",
            vec![("email", "victim@example.com"), ("code", bad_code.as_str())],
        ),
        ("/api/auth/logout", vec![]),
        ("/api/auth/logout-all", vec![]),
        ("/api/auth/end-session", vec![("id", "1")]),
        (
            "/api/auth/sign-out-everywhere",
            vec![("token", sign_out.as_str())],
        ),
        (
            "/api/auth/delete-account",
            vec![("confirm", "held@example.com")],
        ),
    ];
    let mut cases = 0;
    for headers in hostile_headers(&app) {
        for (path, form) in &endpoints {
            let mut request = app
                .http
                .post(format!("{}{path}", app.base))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .header(header::COOKIE, &both)
                .body(serde_urlencoded::to_string(form).unwrap());
            for (name, value) in &headers {
                request = request.header(*name, value);
            }
            let reply = app.send(request).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path} {headers:?}");
            assert_eq!(
                reply.body,
                serde_json::json!({ "error": CROSS_SITE }).to_string()
            );
            assert!(
                reply.cookies().is_empty(),
                "{path} {headers:?} set a cookie"
            );
            cases += 1;
        }
    }
    assert!(cases >= 80, "{cases}");
    assert_eq!(
        rows(&app).await,
        before,
        "a refused request changed the database"
    );
    assert_eq!(
        app.mails().await.len(),
        mails,
        "a refused request sent mail"
    );
    let attempts: Vec<i32> = magic_link_core::entities::credential::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|row| row.attempts)
        .collect();
    assert_eq!(attempts, [0], "a refused code was counted");
    let still = app.post("/api/auth/session", &[], Some(&signed_in)).await;
    assert!(still.body.contains("held@example.com"), "{}", still.body);
    // The refused sign-out link still works from the site itself.
    let used = app
        .post(
            "/api/auth/sign-out-everywhere",
            &[("token", &sign_out)],
            None,
        )
        .await;
    assert_eq!(used.status, StatusCode::OK, "{}", used.body);

    // The refused token still signs in from the site itself, and requests without either
    // header (curl, servers) go through as before.
    let from_here = app
        .send(
            app.http
                .post(format!("{}/api/auth/redeem", app.base))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ORIGIN, &app.base)
                .header("sec-fetch-site", "same-origin")
                .body(format!("token={token}")),
        )
        .await;
    assert_eq!(from_here.status, StatusCode::OK, "{}", from_here.body);
    assert!(from_here.cookie("session").is_some());
    let curl = app
        .post("/api/auth/request", &[("email", "curl@example.com")], None)
        .await;
    assert_eq!(curl.status, StatusCode::OK, "{}", curl.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_form_from_another_site_goes_back_to_its_page_with_the_message() {
    let app = spawn_app().await;
    app.post("/api/auth/request", &[("email", "form@example.com")], None)
        .await;
    let (link, _) = app.last_link_and_code().await;
    let token = token_of(&link);
    let before = rows(&app).await;
    let cross_site_form = |path: &str, body: String| {
        app.http
            .post(format!("{}{path}", app.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::ORIGIN, "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .body(body)
    };
    for (path, body, page) in [
        (
            "/api/auth/redeem",
            format!("token={token}"),
            "/magic-link-auth",
        ),
        (
            "/api/auth/verify-code",
            "email=form%40example.com&code=123456".to_owned(),
            "/check-your-email",
        ),
        (
            "/api/auth/request",
            "email=form%40example.com".to_owned(),
            "/",
        ),
    ] {
        let reply = app.send(cross_site_form(path, body)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        let location = reply.headers[header::LOCATION].to_str().unwrap().to_owned();
        assert!(
            location.starts_with(&format!("{page}?error=")),
            "{location}"
        );
        assert!(reply.cookies().is_empty());
        let shown = app.get(&location).await;
        assert!(
            shown.body.contains("This request came from another site"),
            "{location}: {}",
            shown.body
        );
    }
    assert_eq!(rows(&app).await, before);
    let redeemed = app
        .post("/api/auth/redeem", &[("token", &token)], None)
        .await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_exact_public_origin_passes_not_a_sibling_subdomain() {
    let app = spawn_app_with(|config| {
        config.public_url = "https://app.example.com".to_owned();
    })
    .await;
    for (origin, passes) in [
        ("https://app.example.com", true),
        ("https://api.example.com", false),
        ("https://example.com", false),
        ("https://evil.app.example.com", false),
        ("http://app.example.com", false),
        ("https://app.example.com:8443", false),
    ] {
        let reply = post_from(&app, "/api/auth/logout", &[], "127.0.0.1", None).await;
        assert_eq!(reply.status, StatusCode::OK, "no Origin at all passes");
        let reply = app
            .send(
                app.http
                    .post(format!("{}/api/auth/logout", app.base))
                    .header(header::ORIGIN, origin),
            )
            .await;
        let expected = if passes {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(reply.status, expected, "{origin}");
    }
}
