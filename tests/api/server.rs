//! The real server on a random port, with a fresh SQLite file and a file outbox, driven
//! over HTTP exactly as a browser or an API client would.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::support::app::{Reply, TestApp, cookie_pair, spawn_app, spawn_app_with, token_of};
use reqwest::{StatusCode, header};

/// A `Set-Cookie` value's attributes after its `name=value`, sorted.
fn attributes(set_cookie: &str) -> Vec<&str> {
    let mut attributes: Vec<&str> = set_cookie.split("; ").skip(1).collect();
    attributes.sort_unstable();
    attributes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_is_ready_while_the_database_answers() {
    let app = spawn_app().await;
    let reply = app.get("/healthz").await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "ok"));

    app.db.close_by_ref().await.expect("close pool");
    let reply = app.get("/healthz").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_is_rendered_on_the_server() {
    let app = spawn_app().await;
    let reply = app.get("/").await;
    assert_eq!(reply.status, StatusCode::OK);
    let html = reply.body;
    assert!(html.contains("<title>Magic Link Auth</title>"), "{html}");
    assert!(
        html.contains(r#"<meta name="description" content="Sign in without a password"#),
        "{html}"
    );
    assert!(html.contains("Enter your email to log in"), "{html}");
    assert!(html.contains("Send Magic Link"), "{html}");
    assert!(
        html.contains(r#"<label for="email">Email address</label>"#),
        "{html}"
    );
    assert!(html.contains(r#"action="/api/auth/request""#), "{html}");
    assert!(
        html.contains("/pkg/magic-link-auth.js"),
        "hydration script missing: {html}"
    );
    assert!(!html.contains("data-hydrated"), "{html}");
    // Islands mode: the email form and the header's session are islands, each with the props
    // the server read; the rest of the page is plain HTML.
    assert!(
        html.contains(r#"<leptos-island data-component="EmailForm_"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<leptos-island data-component="AccountNav_"#),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gated_page_sends_a_signed_out_visitor_to_the_login_page_and_back() {
    let app = spawn_app().await;
    // Whatever the client accepts: a browser without JavaScript and a plain HTTP client both
    // get a real redirect, with a way back that keeps the path and the query.
    for accept in ["text/html,application/xhtml+xml", "*/*"] {
        let reply = app
            .send(
                app.http
                    .get(format!("{}/dashboard?tab=2", app.base))
                    .header(header::ACCEPT, accept),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "{accept}: {}",
            reply.body
        );
        assert_eq!(
            reply.headers.get(header::LOCATION).unwrap(),
            "/?redir=%2Fdashboard%3Ftab%3D2",
            "{accept}"
        );
        // The gated content itself never goes out.
        assert!(!reply.body.contains("dashboard-title"), "{}", reply.body);
    }

    let cookie = app.sign_in("gate@example.com").await;
    let page = app.get_as("/dashboard?tab=2", &cookie).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("gate@example.com"), "{}", page.body);
    assert!(page.headers.get(header::LOCATION).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_path_is_a_404_page() {
    let app = spawn_app().await;
    let reply = app.get("/no-such-page").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("Page not found"), "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_400_with_a_message() {
    let app = spawn_app().await;
    let reply = app
        .post("/api/auth/request", &[("email", "not-an-email")], None)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        r#"{"error":"An email address needs an @, as in name@example.com."}"#
    );
    let missing = app.post("/api/auth/request", &[], None).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body, r#"{"error":"Enter your email address."}"#);
    let token = app
        .post("/api/auth/redeem", &[("token", "short")], None)
        .await;
    assert_eq!(token.status, StatusCode::BAD_REQUEST);
    let code = app
        .post(
            "/api/auth/verify-code",
            &[("email", "a@example.com"), ("code", "12")],
            None,
        )
        .await;
    assert_eq!(code.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        code.body,
        r#"{"error":"Enter the 6-digit code from the email."}"#
    );
    assert!(app.mails().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_and_unknown_addresses_get_the_same_reply() {
    let app = spawn_app().await;
    // Make the first address known: it has signed in before.
    app.post("/api/auth/request", &[("email", "known@example.com")], None)
        .await;
    let (link, _) = app.last_link_and_code().await;
    let signed_in = app
        .post("/api/auth/redeem", &[("token", &token_of(&link))], None)
        .await;
    assert_eq!(signed_in.status, StatusCode::OK);

    let known = app
        .post("/api/auth/request", &[("email", "known@example.com")], None)
        .await;
    let unknown = app
        .post("/api/auth/request", &[("email", "new@example.com")], None)
        .await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    assert_eq!(
        known.body,
        r#"{"message":"Check your email for a magic link!"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sixth_request_is_rate_limited() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let reply = app
            .post("/api/auth/request", &[("email", "rl@example.com")], None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let sixth = app
        .post("/api/auth/request", &[("email", "rl@example.com")], None)
        .await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        sixth.body,
        r#"{"error":"Too many attempts. Please try again later."}"#
    );
    assert_eq!(app.mails().await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_signs_in_once_with_a_locked_down_cookie_and_logout_ends_it() {
    let app = spawn_app().await;
    let requested = app
        .post(
            "/api/auth/request",
            &[("email", "Eve@Example.com"), ("redir", "/account?tab=1")],
            None,
        )
        .await;
    assert_eq!(requested.status, StatusCode::OK);
    let pending = requested.cookie("pending-sign-in").expect("pending cookie");
    assert_eq!(
        attributes(&pending),
        ["HttpOnly", "Max-Age=1800", "Path=/", "SameSite=Lax"],
        "{pending}"
    );
    assert_eq!(
        requested.headers.get(header::LOCATION).unwrap(),
        "/check-your-email?email=eve%40example.com&redir=%2Faccount%3Ftab%3D1"
    );

    let (link, _) = app.last_link_and_code().await;
    assert!(
        link.starts_with(&format!("{}/magic-link-auth?token=", app.base)),
        "{link}"
    );
    assert!(link.ends_with("&redir=%2Faccount%3Ftab%3D1"), "{link}");
    let token = token_of(&link);

    // Opening the link, as a scanner would, uses nothing up.
    let page = app.get(&link.replace(&app.base, "")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Sign in as eve@example.com?"),
        "{}",
        page.body
    );

    let redeemed = app
        .post(
            "/api/auth/redeem",
            &[("token", &token), ("redir", "/account?tab=1")],
            None,
        )
        .await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.body);
    // The reply names where to go and the session just started, as the session check would.
    let reply: serde_json::Value = serde_json::from_str(&redeemed.body).unwrap();
    assert_eq!(reply["redirect_to"], "/account?tab=1", "{reply}");
    assert_eq!(reply["session"]["email"], "eve@example.com", "{reply}");
    assert_eq!(
        reply["session"]["persistent_id"].as_str().map(str::len),
        Some(64),
        "{reply}"
    );
    let session = redeemed.cookie("session").expect("session cookie");
    assert_eq!(
        attributes(&session),
        ["HttpOnly", "Max-Age=604800", "Path=/", "SameSite=Lax"],
        "{session}"
    );
    assert!(
        redeemed
            .cookie("pending-sign-in")
            .unwrap()
            .contains("Max-Age=0")
    );
    let cookie = cookie_pair(&session);

    let current = app.post("/api/auth/session", &[], Some(&cookie)).await;
    assert!(
        current.body.contains(r#""email":"eve@example.com""#),
        "{}",
        current.body
    );
    let home = app
        .send(
            app.http
                .get(format!("{}/", app.base))
                .header(header::COOKIE, &cookie),
        )
        .await;
    assert!(home.body.contains("Welcome back!"), "{}", home.body);
    assert!(home.body.contains("eve@example.com"), "{}", home.body);

    let again = app
        .post("/api/auth/redeem", &[("token", &token)], None)
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);

    let logout = app.post("/api/auth/logout", &[], Some(&cookie)).await;
    assert_eq!(logout.status, StatusCode::OK);
    assert!(logout.cookie("session").unwrap().contains("Max-Age=0"));
    let after = app.post("/api/auth/session", &[], Some(&cookie)).await;
    assert_eq!(after.body, "null");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offsite_redirect_falls_back_to_home() {
    let app = spawn_app().await;
    app.post(
        "/api/auth/request",
        &[
            ("email", "r@example.com"),
            ("redir", "https://evil.example"),
        ],
        None,
    )
    .await;
    let (link, _) = app.last_link_and_code().await;
    assert!(!link.contains("evil"), "{link}");
    let redeemed = app
        .post(
            "/api/auth/redeem",
            &[("token", &token_of(&link)), ("redir", "//evil.example")],
            None,
        )
        .await;
    let reply: serde_json::Value = serde_json::from_str(&redeemed.body).unwrap();
    assert_eq!(reply["redirect_to"], "/", "{reply}");
    assert_eq!(redeemed.headers.get(header::LOCATION).unwrap(), "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_signs_in_and_wrong_codes_count() {
    let app = spawn_app().await;
    app.post("/api/auth/request", &[("email", "code@example.com")], None)
        .await;
    let (_, code) = app.last_link_and_code().await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let miss = app
        .post(
            "/api/auth/verify-code",
            &[("email", "code@example.com"), ("code", &wrong)],
            None,
        )
        .await;
    assert_eq!(miss.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        miss.body,
        r#"{"error":"That code is not right. 4 attempts left."}"#
    );
    let hit = app
        .post(
            "/api/auth/verify-code",
            &[("email", "code@example.com"), ("code", &code)],
            None,
        )
        .await;
    assert_eq!(hit.status, StatusCode::OK, "{}", hit.body);
    assert!(hit.cookie("session").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_forms_redirect_and_carry_errors_back() {
    let app = spawn_app().await;
    let form_post = |path: &str, form: &[(&str, &str)]| {
        app.http
            .post(format!("{}{path}", app.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::REFERER, format!("{}/", app.base))
            .body(serde_urlencoded::to_string(form).unwrap())
    };
    let bad = app
        .send(form_post("/api/auth/request", &[("email", "nope")]))
        .await;
    assert_eq!(bad.status, StatusCode::FOUND);
    let location = bad
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(location.starts_with("/?error=email_no_at&"), "{location}");
    let page = app.get(&location).await;
    assert!(
        page.body.contains("An email address needs an @"),
        "{}",
        page.body
    );

    let good = app
        .send(form_post(
            "/api/auth/request",
            &[("email", "nojs@example.com")],
        ))
        .await;
    assert_eq!(good.status, StatusCode::FOUND);
    assert_eq!(
        good.headers.get(header::LOCATION).unwrap(),
        "/check-your-email?email=nojs%40example.com&redir=%2F"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_security_headers_with_a_nonce_their_scripts_use() {
    let app = spawn_app().await;
    let page = app.get("/").await;
    let header = |reply: &Reply, name: &str| {
        reply
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let csp = header(&page, "content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_default()
        .to_owned();
    assert!(nonce.len() >= 16, "{csp}");
    assert!(
        page.body.contains(&format!("nonce=\"{nonce}\"")),
        "{}",
        page.body
    );
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "referrer-policy"), "same-origin");

    // A second page gets a different nonce.
    let again = header(&app.get("/").await, "content-security-policy");
    assert_ne!(again, csp);

    let link_page = app.get("/magic-link-auth?token=x").await;
    assert_eq!(header(&link_page, "referrer-policy"), "strict-origin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_refused_with_413_and_changes_nothing() {
    let app = spawn_app().await;
    let email = format!("{}@example.com", "a".repeat(20 * 1024));
    let reply = app
        .post("/api/auth/request", &[("email", &email)], None)
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(app.mails().await.is_empty());
}

/// Six requests, each for a new address and each claiming a different client address.
async fn six_requests_claiming_six_addresses(app: &TestApp) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for n in 1..=6 {
        let reply = app
            .send(
                app.http
                    .post(format!("{}/api/auth/request", app.base))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "application/json")
                    .header("x-forwarded-for", format!("203.0.113.{n}"))
                    .body(format!("email=proxy{n}%40example.com")),
            )
            .await;
        statuses.push(reply.status);
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app().await;
    let statuses = six_requests_claiming_six_addresses(&app).await;
    // All six count against the real peer, 127.0.0.1: the sixth is refused.
    assert_eq!(statuses[..5], [StatusCode::OK; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_from_a_trusted_proxy_names_the_client() {
    let app = spawn_app_with(|config| {
        config.trusted_proxies =
            magic_link_core::client::TrustedProxies::parse_list("127.0.0.1").unwrap();
    })
    .await;
    let statuses = six_requests_claiming_six_addresses(&app).await;
    assert_eq!(statuses, [StatusCode::OK; 6]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeeming_is_limited_per_client_ip() {
    let app = spawn_app().await;
    app.post("/api/auth/request", &[("email", "ip@example.com")], None)
        .await;
    let (link, _) = app.last_link_and_code().await;
    let bogus = "B".repeat(43);
    // Defaults: 5 links × 5 attempts = 25 failures per window from one address.
    for n in 0..25 {
        let reply = app
            .post("/api/auth/redeem", &[("token", &bogus)], None)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "try {n}: {}",
            reply.body
        );
    }
    let refused = app
        .post("/api/auth/redeem", &[("token", &token_of(&link))], None)
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.body,
        r#"{"error":"Too many attempts. Please try again later."}"#
    );
    assert!(refused.cookie("session").is_none());
    let code = app
        .post(
            "/api/auth/verify-code",
            &[("email", "ip@example.com"), ("code", "123456")],
            None,
        )
        .await;
    assert_eq!(code.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_the_allow_list_the_reply_is_the_same_and_no_mail_goes_out() {
    let app = spawn_app_with(|config| {
        config.allowed_emails = magic_link_core::config::AuthConfig::from_lookup(|name| {
            (name == "MAGIC_LINK_AUTH_ALLOWED_EMAILS")
                .then(|| "ada@example.com, *@corp.example".to_owned())
        })
        .unwrap()
        .allowed_emails;
    })
    .await;
    let shape = |reply: &Reply| {
        let cookies: Vec<String> = reply
            .cookies()
            .iter()
            .map(|c| {
                let (pair, attributes) = c.split_once(';').unwrap();
                format!("{}={}", pair.split('=').next().unwrap(), attributes)
            })
            .collect();
        (reply.status, reply.body.clone(), cookies)
    };
    let mut replies = Vec::new();
    for email in ["ada@example.com", "Boss@Corp.Example", "eve@example.com"] {
        let reply = app
            .post("/api/auth/request", &[("email", email)], None)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        replies.push(shape(&reply));
    }
    assert_eq!(replies[0], replies[1]);
    assert_eq!(
        replies[0], replies[2],
        "an outsider must look like everyone else"
    );
    let mut recipients = app.recipients().await;
    recipients.sort();
    assert_eq!(recipients, ["ada@example.com", "boss@corp.example"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_keeps_a_users_row_through_the_sign_in_and_sign_out_hooks() {
    use app::users::user;
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    let users = || async { user::Entity::find().all(&app.db).await.unwrap() };

    let cookie = app.sign_in("Ada@Example.com").await;
    let first = users().await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].email.as_str(), "ada@example.com");
    assert_eq!(first[0].persistent_id.as_str().len(), 64);
    assert_eq!(first[0].first_seen_at, first[0].last_seen_at);

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.sign_in("ada@example.com").await;
    let again = users().await;
    assert_eq!(again.len(), 1, "one row per person");
    assert_eq!(again[0].first_seen_at, first[0].first_seen_at);
    assert!(again[0].last_seen_at > first[0].last_seen_at);

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let out = app.post("/api/auth/logout", &[], Some(&cookie)).await;
    assert_eq!(out.status, StatusCode::OK);
    let after = users().await;
    assert!(after[0].last_seen_at > again[0].last_seen_at);

    app.sign_in("grace@example.com").await;
    assert_eq!(users().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_api_lists_describes_and_ends_only_your_own_sessions() {
    const FIREFOX_MAC: &str =
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0";
    const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
    let app = spawn_app().await;
    let sign_in_with = |agent: &'static str, email: &'static str| {
        let app = &app;
        async move {
            app.post("/api/auth/request", &[("email", email)], None)
                .await;
            let (link, _) = app.last_link_and_code().await;
            let reply = app
                .send(
                    app.http
                        .post(format!("{}/api/auth/redeem", app.base))
                        .header(header::USER_AGENT, agent)
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(format!("token={}", token_of(&link))),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            cookie_pair(&reply.cookie("session").unwrap())
        }
    };
    let laptop = sign_in_with(FIREFOX_MAC, "ada@example.com").await;
    let desktop = sign_in_with(CHROME_LINUX, "ada@example.com").await;
    let other = sign_in_with(CHROME_LINUX, "grace@example.com").await;

    let listed = app.post("/api/auth/sessions", &[], Some(&laptop)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let sessions: Vec<serde_json::Value> = serde_json::from_str(&listed.body).unwrap();
    let summary: Vec<(&str, &str, bool)> = sessions
        .iter()
        .map(|s| {
            (
                s["device"].as_str().unwrap(),
                s["ip"].as_str().unwrap(),
                s["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Chrome on Linux", "127.0.0.1", false),
            ("Firefox on macOS", "127.0.0.1", true),
        ]
    );
    assert!(sessions[0]["created"].as_str().unwrap().ends_with(" UTC"));

    // Someone else's session cannot be ended from here.
    let graces: Vec<serde_json::Value> =
        serde_json::from_str(&app.post("/api/auth/sessions", &[], Some(&other)).await.body)
            .unwrap();
    let grace_id = graces[0]["id"].to_string();
    let refused = app
        .post("/api/auth/end-session", &[("id", &grace_id)], Some(&laptop))
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(
        app.post("/api/auth/session", &[], Some(&other))
            .await
            .body
            .contains("grace")
    );

    // Ending the desktop's session from the laptop signs the desktop out only.
    let desktop_id = sessions[0]["id"].to_string();
    let ended = app
        .post(
            "/api/auth/end-session",
            &[("id", &desktop_id)],
            Some(&laptop),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(
        app.post("/api/auth/session", &[], Some(&desktop))
            .await
            .body,
        "null"
    );
    assert!(
        app.post("/api/auth/session", &[], Some(&laptop))
            .await
            .body
            .contains("ada")
    );

    let anonymous = app.post("/api/auth/sessions", &[], None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let malformed = app
        .post("/api/auth/end-session", &[("id", "x")], Some(&laptop))
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_asked_for_by_another_host_is_sent_to_the_public_url_before_anything_runs() {
    // The app's public URL is `http://127.0.0.1:{port}`; `localhost:{port}` is the same
    // server by another name.
    let app = spawn_app().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let other = format!("localhost:{port}");
    let page = app
        .send(
            app.http
                .get(format!("{}/dashboard?tab=1", app.base))
                .header(header::HOST, &other),
        )
        .await;
    assert_eq!(page.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        page.headers[header::LOCATION],
        format!("{}/dashboard?tab=1", app.base)
    );
    // A state-changing request is not redirected (a browser would send it on with
    // `Origin: null`): from a page on that other origin, the cross-site check refuses it, and
    // nothing is written or mailed.
    let request = app
        .send(
            app.http
                .post(format!("{}/api/auth/request", app.base))
                .header(header::HOST, &other)
                .header(header::ORIGIN, format!("http://{other}"))
                .form(&[("email", "elsewhere@example.com")]),
        )
        .await;
    assert_eq!(request.status, StatusCode::FORBIDDEN, "{}", request.body);
    assert!(app.recipients().await.is_empty());
    // A HEAD is redirected like a GET.
    let head = app
        .send(
            app.http
                .head(format!("{}/account", app.base))
                .header(header::HOST, &other),
        )
        .await;
    assert_eq!(head.status, StatusCode::TEMPORARY_REDIRECT);
    // The health check answers on any host, for a load balancer's probe by address.
    let health = app
        .send(
            app.http
                .get(format!("{}/healthz", app.base))
                .header(header::HOST, &other),
        )
        .await;
    assert_eq!(health.status, StatusCode::OK);
    // Through a proxy, the proxy answers for the host the browser asked for.
    let proxied = app
        .send(
            app.http
                .get(format!("{}/", app.base))
                .header(header::HOST, "app.internal:8080")
                .header("x-forwarded-for", "203.0.113.9"),
        )
        .await;
    assert_eq!(proxied.status, StatusCode::OK);
    // The public host itself is served.
    assert_eq!(app.get("/").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_to_the_public_host_can_be_turned_off_in_code() {
    let app = spawn_app_with(|config| config.redirect_other_hosts = false).await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let page = app
        .send(
            app.http
                .get(format!("{}/", app.base))
                .header(header::HOST, format!("localhost:{port}")),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
}
