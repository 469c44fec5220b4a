//! The server binary as a process: it refuses to start on an unusable or unsafe setting,
//! naming it in one line, and no secret ever reaches what it prints, at any log level.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    io::Read,
    process::{Child, Command, Stdio},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::support::app::{
    cookie_pair, link_and_code, set_cookie_named, text_part, token_of, wait_until_healthy,
};
use reqwest::{StatusCode, header};

fn server() -> Command {
    Command::new(crate::support::server_binary())
}

/// Runs the server in `dir` with `env` until it exits; returns its stderr.
fn refused_with(dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let output = server()
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the server binary runs");
    assert!(!output.status.success(), "{env:?} started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_unusable_setting_stops_the_server_with_one_line() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let stderr = refused_with(dir.path(), &[("MAGIC_LINK_AUTH_OTP_RATE_LIMIT", "zero")]);
    assert_eq!(
        stderr.trim_end(),
        "error: MAGIC_LINK_AUTH_OTP_RATE_LIMIT=\"zero\" is not usable: must be a whole number, 1 or more"
    );
    // It stopped before creating the database.
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
}

#[test]
fn a_misspelt_setting_stops_the_server_with_one_line_and_no_value() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let stderr = refused_with(
        dir.path(),
        &[
            ("MAGIC_LINK_SMTP_PASSWRD", "hunter2-typo"),
            // The demo's own variables pass.
            ("MAGIC_LINK_LOG_FORMAT", "text"),
        ],
    );
    assert_eq!(
        stderr.trim_end(),
        "error: MAGIC_LINK_SMTP_PASSWRD=<hidden> is not usable: names no setting of the sign-in (check its spelling against docs/configuration.md)"
    );
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
}

#[test]
fn an_https_deployment_without_a_mail_provider_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = refused_with(
        dir.path(),
        &[("MAGIC_LINK_AUTH_PUBLIC_URL", "https://app.example.com")],
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: MAGIC_LINK_MAIL_PROVIDER=\"\" is not usable: must be set when MAGIC_LINK_AUTH_PUBLIC_URL is https"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn no_secret_reaches_a_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    // A database that cannot be reached: the URL is named, its password is not.
    let stderr = refused_with(
        dir.path(),
        &[("DATABASE_URL", "postgres://app:hunter2-db@127.0.0.1:1/app")],
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(
        stderr.contains("postgres://app:***@127.0.0.1:1/app"),
        "{stderr}"
    );
    for (variable, secret, others) in [
        (
            "MAGIC_LINK_SMTP_PASSWORD",
            "hunter2-smtp",
            vec![
                ("MAGIC_LINK_MAIL_PROVIDER", "smtp"),
                ("MAGIC_LINK_SMTP_HOST", "mx.example.com"),
            ],
        ),
        ("MAGIC_LINK_CAPTCHA_SECRET", "hunter2-captcha", vec![]),
        ("DATABASE_URL", "mysql://app:hunter2-url@db/app", vec![]),
    ] {
        let mut env = others;
        env.push((variable, secret));
        let stderr = refused_with(dir.path(), &env);
        assert!(stderr.contains(variable), "{stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "{variable} printed its secret: {stderr}"
        );
    }
}

/// The server started with `env` on a free port, its output collected as it runs.
struct Running {
    child: Child,
    base: String,
    output: Vec<JoinHandle<String>>,
}

impl Running {
    fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        // The test's HTTP client shares the process-wide TLS provider choice with the app.
        app::auth::mail::mailgun::install_crypto_provider();
        let addr = crate::support::free_local_addr();
        let mut child = server()
            .current_dir(dir)
            .env_clear()
            .env("LEPTOS_SITE_ADDR", &addr)
            .env("LEPTOS_OUTPUT_NAME", env!("CARGO_PKG_NAME"))
            .env("MAGIC_LINK_AUTH_PUBLIC_URL", format!("http://{addr}"))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        };
        let output = vec![
            drain(Box::new(child.stdout.take().unwrap())),
            drain(Box::new(child.stderr.take().unwrap())),
        ];
        Self {
            child,
            base: format!("http://{addr}"),
            output,
        }
    }

    async fn ready(&self) {
        wait_until_healthy(&self.base).await;
    }

    /// Stops the server and returns everything it printed.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output
            .drain(..)
            .map(|reader| reader.join().unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The text part of the first message the `file` provider writes into `outbox`.
async fn first_mail(outbox: &std::path::Path) -> String {
    let start = Instant::now();
    let mail = loop {
        let written = std::fs::read_dir(outbox).ok().and_then(|mut entries| {
            entries.find_map(|e| {
                Some(e.ok()?.path()).filter(|p| p.extension().is_some_and(|x| x == "eml"))
            })
        });
        if let Some(file) = written {
            break file;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no mail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    text_part(&std::fs::read_to_string(mail).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_mail_on_an_https_deployment_starts_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(
        dir.path(),
        &[
            ("MAGIC_LINK_AUTH_PUBLIC_URL", "https://app.example.com"),
            ("MAGIC_LINK_MAIL_PROVIDER", "console"),
        ],
    );
    server.ready().await;
    let printed = server.stop();
    assert!(
        printed.contains("MAGIC_LINK_MAIL_PROVIDER=console on an https deployment"),
        "{printed}"
    );
    assert!(printed.contains("WARN"), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_code_or_session_ever_reaches_the_log_even_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(
        dir.path(),
        &[
            ("RUST_LOG", "trace"),
            ("MAGIC_LINK_MAIL_PROVIDER", "file"),
            ("MAGIC_LINK_MAIL_OUTBOX", "outbox"),
        ],
    );
    server.ready().await;
    let base = server.base.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: &str, body: String, cookie: Option<&str>| {
        form(&http, &server, path, body, cookie).send()
    };

    // The whole flow, each secret travelling every way it can: in a query, a form, a cookie.
    let sent = post(
        "/api/auth/request",
        "email=traced%40example.com".to_owned(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    let pending = cookie_pair(sent.headers()[header::SET_COOKIE].to_str().unwrap());
    let text = first_mail(&dir.path().join("outbox")).await;
    let (link, code) = link_and_code(&text);
    let token = token_of(&link);
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    post("/api/auth/link", format!("token={token}"), Some(&pending))
        .await
        .unwrap();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    post(
        "/api/auth/verify-code",
        format!("email=traced%40example.com&code={wrong}"),
        Some(&pending),
    )
    .await
    .unwrap();
    let signed_in = post(
        "/api/auth/verify-code",
        format!("email=traced%40example.com&code={code}"),
        Some(&pending),
    )
    .await
    .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    let session = cookie_pair(&set_cookie_named(signed_in.headers(), "session").unwrap());
    post("/api/auth/session", String::new(), Some(&session))
        .await
        .unwrap();
    http.get(format!("{base}/account"))
        .header(header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    post("/api/auth/logout", String::new(), Some(&session))
        .await
        .unwrap();

    let printed = server.stop();
    // The request trace is on: each request's span names its path, never its query.
    assert!(printed.contains("finished processing request"), "{printed}");
    assert!(printed.contains("path=/magic-link-auth"), "{printed}");
    let session_token = session.trim_start_matches("session=");
    for (what, secret) in [
        ("link token", token.as_str()),
        ("code", code.as_str()),
        ("session token", session_token),
    ] {
        assert!(!printed.contains(secret), "the {what} reached the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_listener_cuts_off_a_half_sent_request() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let metrics = crate::support::free_local_addr();
    let server = Running::start(dir.path(), &[("MAGIC_LINK_METRICS_ADDR", metrics.as_str())]);
    server.ready().await;
    let http = reqwest::Client::new();
    let session = http
        .post(format!("{}/api/auth/session", server.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::OK);
    let scrape = http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    assert!(
        scrape.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "{:?}",
        scrape.headers()
    );
    let text = scrape.text().await.unwrap();
    assert!(
        text.contains("# TYPE magic_link_request_seconds histogram"),
        "{text}"
    );

    // Half a request line, then nothing: the listener closes the connection (after its
    // 10-second header limit) instead of holding it for as long as the client likes.
    let mut stream = tokio::net::TcpStream::connect(&metrics).await.unwrap();
    stream.write_all(b"GET /metr").await.unwrap();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .is_ok();
    let printed = server.stop();
    assert!(
        closed,
        "the metrics listener still held a half-sent request after 30 s:\n{printed}"
    );
    assert!(
        !String::from_utf8_lossy(&answer).contains("magic_link_"),
        "{answer:?}"
    );
}

/// The address the personal-data tests sign in with, and how a log line may show it.
const PERSON: &str = "private.person@example.com";
const PERSON_FORM: &str = "private.person%40example.com";
const MASKED: &str = "p***@example.com";

/// Asks the running server for a link for [`PERSON`]; its `200` reply.
async fn ask_for_persons_link(http: &reqwest::Client, server: &Running) -> reqwest::Response {
    let email = format!("email={PERSON_FORM}");
    let sent = form(http, server, "/api/auth/request", email, None)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    sent
}

/// A form POST with `cookie`, if any, to the running server.
fn form(
    http: &reqwest::Client,
    server: &Running,
    path: &str,
    body: String,
    cookie: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = http
        .post(format!("{}{path}", server.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    match cookie {
        Some(cookie) => request.header(header::COOKIE, cookie),
        None => request,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_address_or_persistent_id_reaches_the_log_at_the_default_level() {
    for format in ["text", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let server = Running::start(
            dir.path(),
            &[
                ("MAGIC_LINK_LOG_FORMAT", format),
                ("MAGIC_LINK_MAIL_PROVIDER", "file"),
                ("MAGIC_LINK_MAIL_OUTBOX", "outbox"),
            ],
        );
        server.ready().await;
        let http = reqwest::Client::new();

        // A link asked for, used, the session read, and signed out.
        ask_for_persons_link(&http, &server).await;
        let (link, _) = link_and_code(&first_mail(&dir.path().join("outbox")).await);
        let token = format!("token={}", token_of(&link));
        let signed_in = form(&http, &server, "/api/auth/redeem", token, None)
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), StatusCode::OK);
        let session = cookie_pair(&set_cookie_named(signed_in.headers(), "session").unwrap());
        let reply = form(
            &http,
            &server,
            "/api/auth/session",
            String::new(),
            Some(&session),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["email"], PERSON);
        let persistent_id = reply["persistent_id"].as_str().unwrap().to_owned();
        let out = form(
            &http,
            &server,
            "/api/auth/logout",
            String::new(),
            Some(&session),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(out.status(), StatusCode::OK);

        let printed = server.stop();
        for (what, personal) in [
            ("address", PERSON),
            ("address as a form sends it", PERSON_FORM),
            ("persistent_id", persistent_id.as_str()),
        ] {
            assert!(
                !printed.contains(personal),
                "{format}: the {what} reached the log:\n{printed}"
            );
        }
        // A clean start and a whole sign-in log no error: nothing is wrong.
        assert!(
            !printed.contains("ERROR") && !printed.contains("\"level\":\"ERROR\""),
            "{format}: an error was logged:\n{printed}"
        );
        // The lines an operator reads still say whose mail and sign-in they are, masked.
        for event in ["magic-link email written", "signed in"] {
            assert!(
                printed
                    .lines()
                    .any(|line| line.contains(event) && line.contains(MASKED)),
                "{format}: no {event:?} line naming {MASKED}:\n{printed}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_refusal_quoting_the_address_is_logged_with_it_masked() {
    let sink = crate::support::smtp::SmtpSink::start().await;
    sink.reject_recipients(true);
    let port = sink.addr.port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(
        dir.path(),
        &[
            ("MAGIC_LINK_MAIL_PROVIDER", "smtp"),
            ("MAGIC_LINK_SMTP_HOST", "127.0.0.1"),
            ("MAGIC_LINK_SMTP_PORT", port.as_str()),
            ("MAGIC_LINK_SMTP_TLS", "none"),
        ],
    );
    server.ready().await;
    let http = reqwest::Client::new();
    let sent = ask_for_persons_link(&http, &server).await;
    let pending = cookie_pair(sent.headers()[header::SET_COOKIE].to_str().unwrap());
    // The waiting page learns of the refusal once the queue has given up, and logged it.
    let start = Instant::now();
    loop {
        let report = form(
            &http,
            &server,
            "/api/auth/delivery",
            String::new(),
            Some(&pending),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        if report["failed"] == true {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{report}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let printed = server.stop();
    assert!(
        !printed.contains(PERSON),
        "the address reached the log:\n{printed}"
    );
    assert!(
        printed
            .lines()
            .any(|line| line.contains("could not send an email")
                && line.contains(&format!("<{MASKED}>: Recipient address rejected"))),
        "no refusal naming {MASKED}:\n{printed}"
    );
}
