//! Hostile input against the real server over HTTP. Every case must get an answer below 500,
//! never a redirect off this site, and a rejected request must leave the credential and
//! session tables as they were.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::support::app::{TestApp, spawn_app_with, token_of};
use magic_link_core::{
    client::TrustedProxies,
    domain::RedirectTarget,
    entities::{credential, session},
};
use reqwest::{StatusCode, header};
use sea_orm::{EntityTrait, PaginatorTrait};

struct Outcome {
    status: StatusCode,
    location: Option<String>,
}

async fn counts(app: &TestApp) -> (u64, u64) {
    (
        credential::Entity::find().count(&app.db).await.unwrap(),
        session::Entity::find().count(&app.db).await.unwrap(),
    )
}

/// Sends one case from its own client address, and checks what every case must satisfy.
async fn case(app: &TestApp, n: usize, path: &str, body: String, cookie: Option<&str>) -> Outcome {
    case_with(app, n, path, body, cookie, &[]).await
}

/// As [`case`], with `headers` added (or replacing the defaults).
async fn case_with(
    app: &TestApp,
    n: usize,
    path: &str,
    body: String,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
) -> Outcome {
    let before = counts(app).await;
    let mut request = app
        .http
        .post(format!("{}{path}", app.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(body.clone());
    if !headers.iter().any(|(name, _)| *name == "x-forwarded-for") {
        request = request.header(
            "x-forwarded-for",
            format!("10.9.{}.{}", n / 250, n % 250 + 1),
        );
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.unwrap_or_else(|err| {
        panic!("case {n} {path} {body:?}: no answer ({err}); did the server panic?")
    });
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(status.as_u16() < 500, "case {n} {path} {body:?}: {status}");
    if let Some(location) = &location {
        // Resolved as a browser would, dot segments included, it stays on this site.
        let here = url::Url::parse(&app.base).unwrap();
        let resolved = here.join(location).unwrap();
        let local = location.starts_with('/') && resolved.origin() == here.origin();
        assert!(local, "case {n} {path} {body:?}: redirect to {location}");
    }
    if !status.is_success() {
        assert_eq!(
            counts(app).await,
            before,
            "case {n} {path} {body:?} changed the database"
        );
    }
    Outcome { status, location }
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

const HOSTILE_EMAILS: &[&str] = &[
    "",
    " ",
    "plain",
    "@",
    "@example.com",
    "a@",
    "a@b",
    "a@b@c.com",
    "a..@",
    "a@.com",
    "a@example..com",
    "a@example.com.",
    "a@-example.com",
    "a b@example.com",
    "a@example.com\r\nBcc: victim@example.com",
    "a@example.com\nSubject: pwned",
    "a@example.com\rX-Injected: 1",
    "a@example.com%0d%0aBcc:x@example.com",
    "\"a\"@example.com",
    "<a@example.com>",
    "Name <a@example.com>",
    "a,b@example.com",
    "a;b@example.com",
    "a@[127.0.0.1]",
    "a(b)@example.com",
    "a\\b@example.com",
    "' OR '1'='1@example.com",
    "a@example.com'; DROP TABLE auth_session;--",
    "a@example.com\" OR 1=1 --",
    "admin'--@example.com\0",
    "\u{0}@example.com",
    "a\u{7f}@example.com",
    "a\u{1b}[2J@example.com",
    "a\u{200b}@example.com",
    "a\u{2028}@example.com",
    "a@exam\u{a0}ple.com",
    "mailto:a@example.com",
    "javascript:alert(1)@example.com",
    "a@example",
    "a@localhost",
];

const HOSTILE_REDIRS: &[&str] = &[
    "https://evil.example",
    "http://evil.example/x",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "%2F%2Fevil.example",
    "/%2Fevil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%252F%252Fevil.example",
    "/%25252Fevil.example",
    "/%09/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\nLocation: //evil",
    "/%0d%0aSet-Cookie:%20x=1",
    "\u{FF0F}\u{FF0F}evil.example",
    "/\u{FF0F}evil.example",
    "/\u{2215}evil.example",
    "/%E2%88%95evil.example",
    " //evil.example",
    "\t//evil.example",
    "evil.example",
    "@evil.example",
    "/@evil.example/..//",
    "https:evil.example",
    "//evil.example/%2F..",
    "/.//evil.example",
    "//\\evil.example",
    "/././/evil.example",
    "/a/..//evil.example",
    "/a/b/../..//evil.example",
    "/..//evil.example",
    "/%2e//evil.example",
    "/%2E%2E//evil.example",
    "/.%2e//evil.example",
    "/%252e//evil.example",
    "/x/%2e%2e/%2e%2e//evil.example",
    "/%3F/%2e%2e//evil.example",
    "/%23/.%2e//evil.example",
    "/%zz",
    "/%",
    "/\u{0}",
    "ftp://evil.example",
    "file:///etc/passwd",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_never_breaks_the_server_or_leaks_a_redirect() {
    let app = spawn_app_with(|config| {
        config.trusted_proxies = TrustedProxies::parse_list("127.0.0.1").unwrap();
    })
    .await;
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };

    // Emails: malformed, injected, unicode tricks, SQL-shaped, oversized.
    for email in HOSTILE_EMAILS {
        let outcome = case(
            &app,
            next(),
            "/api/auth/request",
            form(&[("email", email)]),
            None,
        )
        .await;
        assert_eq!(outcome.status, StatusCode::BAD_REQUEST, "{email:?}");
    }
    for size in [255, 1_000, 15_000] {
        let email = format!("{}@example.com", "a".repeat(size));
        let outcome = case(
            &app,
            next(),
            "/api/auth/request",
            form(&[("email", &email)]),
            None,
        )
        .await;
        assert_eq!(outcome.status, StatusCode::BAD_REQUEST);
    }
    let huge = form(&[("email", &"a".repeat(20_000))]);
    let outcome = case(&app, next(), "/api/auth/request", huge, None).await;
    assert_eq!(outcome.status, StatusCode::PAYLOAD_TOO_LARGE);
    for unicode in [
        "ünïcödé@exämple.com",
        "用户@例子.广告",
        "a@xn--bcher-kva.example",
    ] {
        let outcome = case(
            &app,
            next(),
            "/api/auth/request",
            form(&[("email", unicode)]),
            None,
        )
        .await;
        assert!(outcome.status.is_success() || outcome.status == StatusCode::BAD_REQUEST);
    }

    // Redirect targets ride along with a valid request, and again on redemption.
    for (i, redir) in HOSTILE_REDIRS.iter().enumerate() {
        let email = format!("redir{i}@example.com");
        let outcome = case(
            &app,
            next(),
            "/api/auth/request",
            form(&[("email", &email), ("redir", redir)]),
            None,
        )
        .await;
        assert_eq!(outcome.status, StatusCode::OK, "{redir:?}");
        // Only a target that is a path on this site survives; anything else becomes `/`.
        let kept = RedirectTarget::parse(redir).map_or_else(|_| "/".to_owned(), String::from);
        let (link, _) = app.last_link_and_code().await;
        if kept == "/" {
            assert!(
                outcome.location.unwrap().ends_with("&redir=%2F"),
                "{redir:?}"
            );
            assert!(
                !link.contains("redir="),
                "{redir:?} reached the link: {link}"
            );
        }
        let outcome = case(
            &app,
            next(),
            "/api/auth/redeem",
            form(&[("token", &token_of(&link)), ("redir", redir)]),
            None,
        )
        .await;
        assert_eq!(outcome.status, StatusCode::OK, "{redir:?}");
        assert_eq!(
            outcome.location.as_deref(),
            Some(kept.as_str()),
            "{redir:?}"
        );
    }

    // Malformed tokens and codes.
    let long = "A".repeat(5_000);
    let tokens = [
        "",
        "a",
        "A",
        "null",
        "undefined",
        "' OR 1=1 --",
        "../../etc/passwd",
        "%00",
        "\0",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAé",
        "<script>alert(1)</script>",
        "\r\nSet-Cookie: session=x",
        &long,
    ];
    let bystander = app.sign_in("bystander@example.com").await;
    for token in tokens {
        let outcome = case(
            &app,
            next(),
            "/api/auth/redeem",
            form(&[("token", token)]),
            None,
        )
        .await;
        assert_eq!(outcome.status, StatusCode::BAD_REQUEST, "{token:?}");
        // A notice's "sign out everywhere" link: looked up, nothing; used, a 400.
        let outcome = case(
            &app,
            next(),
            "/api/auth/sign-out-link",
            form(&[("token", token)]),
            Some(&bystander),
        )
        .await;
        assert_eq!(outcome.status, StatusCode::OK, "{token:?}");
        let outcome = case(
            &app,
            next(),
            "/api/auth/sign-out-everywhere",
            form(&[("token", token)]),
            Some(&bystander),
        )
        .await;
        assert_eq!(outcome.status, StatusCode::BAD_REQUEST, "{token:?}");
    }
    let still = app.post("/api/auth/session", &[], Some(&bystander)).await;
    assert!(
        still.body.contains("bystander@example.com"),
        "{}",
        still.body
    );
    let codes = [
        "",
        "1",
        "12345",
        "1234567",
        "abcdef",
        "12345a",
        "١٢٣٤٥٦",
        "123 45",
        "+12345",
        "-12345",
        "123456\n",
        "0x1234",
        "1e5000",
        "' OR 1=1",
        "000000000000",
        "12.345",
    ];
    for code in codes {
        let outcome = case(
            &app,
            next(),
            "/api/auth/verify-code",
            form(&[("email", "victim@example.com"), ("code", code)]),
            None,
        )
        .await;
        assert!(
            outcome.status.is_client_error(),
            "{code:?}: {}",
            outcome.status
        );
    }

    // Missing, garbled and forged cookies.
    let forged = format!("session={}", "A".repeat(43));
    let cookies = [
        "",
        "session=",
        "session",
        "=",
        ";;;",
        "session=x",
        "session=; session=y",
        "session=AAAA%00",
        "session=\"quoted\"",
        forged.as_str(),
        "__Host-session=abc",
        "pending-sign-in=zzz",
        "session=../../../",
        "session=' OR 1=1 --",
    ];
    for cookie in cookies {
        let outcome = case(
            &app,
            next(),
            "/api/auth/session",
            String::new(),
            Some(cookie),
        )
        .await;
        assert_eq!(outcome.status, StatusCode::OK, "{cookie:?}");
        let outcome = case(
            &app,
            next(),
            "/api/auth/logout",
            String::new(),
            Some(cookie),
        )
        .await;
        assert_eq!(outcome.status, StatusCode::OK, "{cookie:?}");
        for path in [
            "/api/auth/sessions",
            "/api/auth/end-session",
            "/api/auth/delete-account",
        ] {
            let outcome = case(&app, next(), path, form(&[("id", "1")]), Some(cookie)).await;
            assert_eq!(
                outcome.status,
                StatusCode::UNAUTHORIZED,
                "{path} {cookie:?}"
            );
        }
    }

    // Session ids that are not a live session of the signed-in address end nothing.
    let signed_in = app.sign_in("holder@example.com").await;
    for id in [
        "",
        " ",
        "x",
        "-1",
        "0",
        "1.5",
        "1e3",
        "0x1",
        "99999999999999999999999",
        "1 OR 1=1",
        "1; DELETE FROM auth_session",
        "\u{0}1",
        "１",
    ] {
        let outcome = case(
            &app,
            next(),
            "/api/auth/end-session",
            form(&[("id", id)]),
            Some(&signed_in),
        )
        .await;
        assert!(
            [StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND].contains(&outcome.status),
            "{id:?}: {}",
            outcome.status
        );
    }
    // Confirmations that are not the address delete nothing.
    let long = "holder@example.com".repeat(500);
    for confirm in [
        "",
        " ",
        "holder",
        "holder@example.com\r\nX: y",
        "holder@example.com\u{0}",
        "h\u{f6}lder@example.com",
        "' OR 1=1 --",
        "other@example.com",
        long.as_str(),
    ] {
        let outcome = case(
            &app,
            next(),
            "/api/auth/delete-account",
            form(&[("confirm", confirm)]),
            Some(&signed_in),
        )
        .await;
        assert_eq!(outcome.status, StatusCode::BAD_REQUEST, "{confirm:?}");
    }
    let still = app.post("/api/auth/session", &[], Some(&signed_in)).await;
    assert!(still.body.contains("holder@example.com"), "{}", still.body);

    // Requests from other sites: every state-changing endpoint refuses them and changes
    // nothing, with or without a valid session and a pending sign-in.
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let other_port = format!("http://127.0.0.1:{}", port.parse::<u16>().unwrap() ^ 1);
    let localhost = format!("http://localhost:{port}");
    let hostile_origins: Vec<Vec<(&str, &str)>> = vec![
        vec![("origin", "null")],
        vec![("origin", "https://evil.example")],
        vec![("origin", other_port.as_str())],
        vec![("origin", localhost.as_str())],
        vec![("origin", "HTTP://127.0.0.1")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("sec-fetch-site", "none")],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", app.base.as_str()),
        ],
        vec![("sec-fetch-site", "cross-site"), ("accept", "text/html")],
    ];
    let victim = app.sign_in("csrf-victim@example.com").await;
    for headers in &hostile_origins {
        for (path, body) in [
            ("/api/auth/request", "email=csrf%40example.com"),
            (
                "/api/auth/redeem",
                "token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
            (
                "/api/auth/verify-code",
                "email=csrf%40example.com&code=123456",
            ),
            ("/api/auth/logout", ""),
            ("/api/auth/logout-all", ""),
            ("/api/auth/end-session", "id=1"),
            (
                "/api/auth/sign-out-everywhere",
                "token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
            (
                "/api/auth/delete-account",
                "confirm=csrf-victim%40example.com",
            ),
        ] {
            let outcome =
                case_with(&app, next(), path, body.to_owned(), Some(&victim), headers).await;
            assert!(
                [StatusCode::FORBIDDEN, StatusCode::SEE_OTHER].contains(&outcome.status),
                "{path} {headers:?}: {}",
                outcome.status
            );
        }
    }
    let still = app.post("/api/auth/session", &[], Some(&victim)).await;
    assert!(
        still.body.contains("csrf-victim@example.com"),
        "{}",
        still.body
    );

    // Forwarded-For values a client or a broken proxy might send.
    let long_chain = vec!["10.0.0.1"; 200].join(", ");
    for forwarded in [
        "1.2.3.4:99999",
        "[::1",
        "::1]",
        "[2001:db8::1]:x",
        "::ffff:1.2.3.4",
        "unknown",
        "_hidden",
        "1.2.3.4, ,",
        " , , ",
        "300.1.1.1",
        "2001:db8::1%eth0",
        "1.2.3.4\t5.6.7.8",
        "0.0.0.0",
        "255.255.255.255",
        long_chain.as_str(),
    ] {
        let outcome = case_with(
            &app,
            next(),
            "/api/auth/request",
            form(&[("email", "forwarded@example.com")]),
            None,
            &[("x-forwarded-for", forwarded)],
        )
        .await;
        assert!(
            [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS].contains(&outcome.status),
            "{forwarded:?}: {}",
            outcome.status
        );
    }

    // User-Agents a stranger might write: none of their words reach the email it asks for.
    let long_agent = "A".repeat(4000);
    let mailed_before = app.mails().await.len();
    for agent in [
        "Asked for from https://evil.example/cancel-this-request",
        "<script>alert(1)</script>",
        "Mozilla/5.0 <b>Call +1 555 0100</b>",
        "curl/8.5.0",
        "Chrome/1 but really evil.example",
        long_agent.as_str(),
    ] {
        let outcome = case_with(
            &app,
            next(),
            "/api/auth/request",
            form(&[("email", "agent@example.com")]),
            None,
            &[("user-agent", agent)],
        )
        .await;
        assert!(
            [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS].contains(&outcome.status),
            "{agent:?}: {}",
            outcome.status
        );
    }
    let mails = app.mails().await;
    assert!(mails.len() > mailed_before);
    for mail in &mails[mailed_before..] {
        for words in ["evil", "<script", "555 0100", "curl", "AAAAAAAAAA"] {
            assert!(!mail.contains(words), "{words} reached a message: {mail}");
        }
    }

    // Unknown fields, repeated fields, and bodies that are not a form at all.
    for body in [
        "email=a%40example.com&email=b%40example.com",
        "%%%%",
        "email",
        "=",
        "{\"email\":\"a@example.com\"}",
        "email=%FF%FE",
    ] {
        case(&app, next(), "/api/auth/request", body.to_owned(), None).await;
    }

    // Pages that echo query values: every value comes back escaped, nothing 5xx.
    let pages = [
        "/?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/?email=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/?redir=javascript%3Aalert(1)",
        "/?redir=%2F%2Fevil.example",
        "/check-your-email?email=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "/check-your-email?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/check-your-email?redir=https%3A%2F%2Fevil.example",
        "/magic-link-auth",
        "/magic-link-auth?token=",
        "/magic-link-auth?token=%3Cscript%3E",
        "/magic-link-auth?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/magic-link-auth?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/magic-link-auth?token=x&redir=%2F%2Fevil.example",
        "/sign-out-everywhere",
        "/sign-out-everywhere?token=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/sign-out-everywhere?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/sign-out-everywhere?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/sign-out-everywhere?done=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "/dev/mailbox/%3Cscript%3E",
        "/dev/mailbox/..%2F..%2FCargo.toml",
        "/%2F%2Fevil.example",
        "/..%2F..%2Fetc%2Fpasswd",
        "/pkg/..%2F..%2FCargo.toml",
    ];
    for page in pages {
        next();
        let reply = app.get(page).await;
        assert!(reply.status.as_u16() < 500, "{page}: {}", reply.status);
        assert!(
            !reply.body.contains("<script>alert"),
            "{page} echoed a script"
        );
        assert!(!reply.body.contains("<img src=x"), "{page} echoed markup");
        assert!(
            !reply.body.contains("[package]"),
            "{page} served a file outside the site"
        );
    }

    // A stranger's words in a genuine page's address: the page shows none of them, and an
    // outcome page shows no outcome without its action. Each GET, signed in or not.
    let stranger = "Your%20account%20was%20breached.%20Call%20%2B1%20555%200100";
    let worded = [
        format!("/?error={stranger}"),
        format!("/?error={stranger}&deleted=1"),
        format!("/account?error={stranger}"),
        format!("/account?delete_error={stranger}"),
        format!("/account?passkey_error={stranger}"),
        format!("/check-your-email?error={stranger}&email={stranger}"),
        format!("/magic-link-auth?token=x&error={stranger}"),
        format!("/sign-out-everywhere?token=x&error={stranger}"),
        format!("/sign-out-everywhere?done={stranger}&passkeys={stranger}"),
        "/sign-out-everywhere?done=9&passkeys=9".to_owned(),
        "/?deleted=1".to_owned(),
        "/dev/mailbox".to_owned(),
        format!("/dev/mailbox?key={stranger}"),
        "/dev/mailbox/1".to_owned(),
    ];
    let reader = app
        .sign_in_from("reader@example.com", &[("x-forwarded-for", "198.18.200.1")])
        .await;
    for page in &worded {
        for cookie in [None, Some(reader.as_str())] {
            next();
            let reply = match cookie {
                Some(cookie) => app.get_as(page, cookie).await,
                None => app.get(page).await,
            };
            assert!(reply.status.as_u16() < 500, "{page}: {}", reply.status);
            for words in [
                "breached",
                "555",
                "Signed out everywhere",
                "account is deleted",
            ] {
                assert!(!reply.body.contains(words), "{page} showed {words:?}");
            }
        }
    }

    let total = next() - 1;
    assert!(total >= 200, "only {total} cases");
    println!("{total} hostile cases, each answered below 500 with no off-site redirect");

    // No address ever put a header of its own into a message.
    app.mail_settled().await;
    for raw in std::fs::read_dir(&app.outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
    {
        // Folded lines (a long value goes on after CRLF and a space) are one header.
        let head = raw.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
        let mut names: Vec<&str> = head
            .split("\r\n")
            .map(|l| l.split(':').next().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "Content-Type",
                "Date",
                "From",
                "MIME-Version",
                "Message-ID",
                "Subject",
                "To"
            ],
            "{head}"
        );
    }
}

/// Makes one bent passkey answer from the authenticator and the server's options.
type Answer = Box<dyn Fn(&mut crate::support::authenticator::SoftAuthenticator, &str) -> String>;

/// A passkey answer bent by `edit`, as JSON.
fn bent(answer: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut value: serde_json::Value = serde_json::from_str(answer).unwrap();
    edit(&mut value);
    value.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_passkey_answers_get_a_400_and_change_nothing() {
    use crate::support::authenticator::{Bend, SoftAuthenticator};
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    use magic_link_core::entities::passkey;

    let app = spawn_app_with(|config| {
        config.trusted_proxies = TrustedProxies::parse_list("127.0.0.1").unwrap();
        config.public_url = config.public_url.replace("127.0.0.1", "localhost");
    })
    .await;
    let origin = app.base.replace("127.0.0.1", "localhost");
    let cookie = app.sign_in("keeper@example.com").await;
    let mut key = SoftAuthenticator::new("keeper");
    let started = app
        .post("/api/auth/passkey-register-start", &[], Some(&cookie))
        .await;
    let started: serde_json::Value = serde_json::from_str(&started.body).unwrap();
    let answer = key.register(
        started["options"].as_str().unwrap(),
        &origin,
        &Bend::default(),
    );
    let added = app
        .post(
            "/api/auth/passkey-register-finish",
            &[
                ("handle", started["handle"].as_str().unwrap()),
                ("name", "Key"),
                ("credential", &answer),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let passkeys = || async { passkey::Entity::find().count(&app.db).await.unwrap() };
    assert_eq!(passkeys().await, 1);

    let mut n = 10_000;
    let mut next = || {
        n += 1;
        n
    };
    let start_sign_in = || async {
        let reply = app.post("/api/auth/passkey-sign-in-start", &[], None).await;
        let value: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        (
            value["handle"].as_str().unwrap().to_owned(),
            value["options"].as_str().unwrap().to_owned(),
        )
    };

    // Answers that are not a credential at all, on a live ceremony.
    let long = "A".repeat(15_000);
    let garbage = [
        "",
        "null",
        "[]",
        "{}",
        "\"x\"",
        "{\"id\": 1}",
        "{\"id\":\"AA\",\"rawId\":\"AA\",\"type\":\"public-key\",\"response\":{}}",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        long.as_str(),
    ];
    for credential in garbage {
        let (handle, _) = start_sign_in().await;
        let outcome = case(
            &app,
            next(),
            "/api/auth/passkey-sign-in-finish",
            form(&[("handle", &handle), ("credential", credential)]),
            None,
        )
        .await;
        assert_eq!(outcome.status, StatusCode::BAD_REQUEST, "{credential:.40}");
    }

    // Real signatures, bent: another origin or relying party, a get answered as a create,
    // a flipped signature byte, truncated authenticator data, a stranger's user handle,
    // base64 that is not.
    let origin_for = origin.clone();
    let other_rp = origin.clone();
    let mut cases: Vec<(&str, Answer)> = vec![
        (
            "other origin",
            Box::new(move |k, o| {
                let bend = Bend {
                    origin: Some("https://evil.example".into()),
                    ..Bend::default()
                };
                k.assert(o, &origin_for, &bend)
            }),
        ),
        (
            "other relying party",
            Box::new(move |k, o| {
                let bend = Bend {
                    rp_id: Some("evil.example".into()),
                    ..Bend::default()
                };
                k.assert(o, &other_rp, &bend)
            }),
        ),
    ];
    let honest =
        |k: &mut SoftAuthenticator, o: &str, origin: &str| k.assert(o, origin, &Bend::default());
    let origin_for = origin.clone();
    cases.push((
        "create type",
        Box::new(move |k, o| {
            bent(&honest(k, o, &origin_for), |v| {
                let data = B64
                    .decode(v["response"]["clientDataJSON"].as_str().unwrap())
                    .unwrap();
                let text = String::from_utf8(data)
                    .unwrap()
                    .replace("webauthn.get", "webauthn.create");
                v["response"]["clientDataJSON"] = B64.encode(text).into();
            })
        }),
    ));
    let origin_for = origin.clone();
    cases.push((
        "flipped signature",
        Box::new(move |k, o| {
            bent(&honest(k, o, &origin_for), |v| {
                let mut sig = B64
                    .decode(v["response"]["signature"].as_str().unwrap())
                    .unwrap();
                let last = sig.len() - 1;
                sig[last] ^= 1;
                v["response"]["signature"] = B64.encode(sig).into();
            })
        }),
    ));
    let origin_for = origin.clone();
    cases.push((
        "truncated authenticator data",
        Box::new(move |k, o| {
            bent(&honest(k, o, &origin_for), |v| {
                let data = B64
                    .decode(v["response"]["authenticatorData"].as_str().unwrap())
                    .unwrap();
                v["response"]["authenticatorData"] = B64.encode(&data[..20]).into();
            })
        }),
    ));
    let origin_for = origin.clone();
    cases.push((
        "stranger's user handle",
        Box::new(move |k, o| {
            bent(&honest(k, o, &origin_for), |v| {
                v["response"]["userHandle"] = B64.encode([7u8; 16]).into();
            })
        }),
    ));
    let origin_for = origin.clone();
    cases.push((
        "short user handle",
        Box::new(move |k, o| {
            bent(&honest(k, o, &origin_for), |v| {
                v["response"]["userHandle"] = B64.encode([7u8; 3]).into();
            })
        }),
    ));
    let origin_for = origin.clone();
    cases.push((
        "not base64",
        Box::new(move |k, o| {
            bent(&honest(k, o, &origin_for), |v| {
                v["response"]["signature"] = "!!!".into();
            })
        }),
    ));
    for (name, make) in &cases {
        let (handle, options) = start_sign_in().await;
        let credential = make(&mut key, &options);
        let outcome = case(
            &app,
            next(),
            "/api/auth/passkey-sign-in-finish",
            form(&[("handle", &handle), ("credential", &credential)]),
            None,
        )
        .await;
        assert_eq!(outcome.status, StatusCode::BAD_REQUEST, "{name}");
    }

    // Handles that name no ceremony, with an honest answer.
    let (_, options) = start_sign_in().await;
    let honest_answer = key.assert(&options, &origin, &Bend::default());
    for handle in ["", "x", "A".repeat(43).as_str(), "../../", "\0"] {
        let outcome = case(
            &app,
            next(),
            "/api/auth/passkey-sign-in-finish",
            form(&[("handle", handle), ("credential", &honest_answer)]),
            None,
        )
        .await;
        assert_eq!(outcome.status, StatusCode::BAD_REQUEST, "{handle:?}");
    }

    // An answer too big for any form is refused unread.
    let (handle, _) = start_sign_in().await;
    let huge = form(&[("handle", &handle), ("credential", &"A".repeat(20_000))]);
    let outcome = case(&app, next(), "/api/auth/passkey-sign-in-finish", huge, None).await;
    assert_eq!(outcome.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Registrations: garbage and bent answers add nothing.
    for credential in garbage {
        let started = app
            .post("/api/auth/passkey-register-start", &[], Some(&cookie))
            .await;
        let started: serde_json::Value = serde_json::from_str(&started.body).unwrap();
        let outcome = case(
            &app,
            next(),
            "/api/auth/passkey-register-finish",
            form(&[
                ("handle", started["handle"].as_str().unwrap()),
                ("name", "x"),
                ("credential", credential),
            ]),
            Some(&cookie),
        )
        .await;
        assert_eq!(outcome.status, StatusCode::BAD_REQUEST, "{credential:.40}");
    }
    assert_eq!(passkeys().await, 1, "nothing was added");
    println!("{} hostile passkey cases, each a 4xx", n - 10_000);
}
