//! Mail delivery against real endpoints: a folder on disk, and a local HTTP server standing
//! in for Mailgun's API that records the exact request.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use crate::support::{
    mailgun::{Behaviour, FakeMailgun},
    smtp::SmtpSink,
};
use axum::http::Method;
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{TimeZone, Utc};
use magic_link_core::{
    config::{MailProvider, SmtpSettings, SmtpTls},
    domain::{Code, Email},
    mail::{
        Mail, MailError, MailSettings, Mailer, SignIn, Templates, compose, file::FileMailer,
        mailgun::MailgunMailer, smtp::SmtpMailer,
    },
};

const TEN_SECONDS: Duration = Duration::from_secs(10);

const LINK: &str = "http://127.0.0.1:3000/magic-link-auth?token=T0kEn_-abc&redir=%2Fdashboard";

fn mail() -> Mail {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    compose(
        &MailSettings {
            from: "Magic Link Auth <magic_link_auth@mg.example.com>".to_owned(),
            subject: "Magic Login Link".to_owned(),
            html: None,
            templates: Templates::default(),
            app_name: "Magic Link Auth".to_owned(),
            notice_subject: app::auth::mail::DEFAULT_NOTICE_SUBJECT.to_owned(),
        },
        &SignIn {
            to: &Email::parse("alice@example.com").unwrap(),
            link: LINK,
            code: &Code::parse("314159").unwrap(),
            expires_at: now + chrono::Duration::minutes(30),
            now,
            user_agent: None,
        },
    )
}

/// Name and value pairs, in order.
type Pairs = Vec<(String, String)>;

/// The parts of a multipart `.eml`: headers, then each part's decoded body by content type.
fn parse_eml(raw: &str) -> (Pairs, Pairs) {
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers end");
    // Folded lines (a long value goes on after CRLF and a space) are one header.
    let head = head.replace("\r\n ", " ");
    let headers = head
        .split("\r\n")
        .map(|line| {
            let (name, value) = line.split_once(": ").expect("header line");
            (name.to_owned(), value.to_owned())
        })
        .collect::<Vec<_>>();
    let content_type = &headers.iter().find(|(n, _)| n == "Content-Type").unwrap().1;
    let boundary = content_type
        .split("boundary=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let parts = body
        .split(&format!("--{boundary}"))
        // What follows the closing delimiter (`--`) is no part.
        .filter(|part| !part.starts_with("--"))
        .filter_map(|part| {
            let (part_head, part_body) = part.trim_start_matches("\r\n").split_once("\r\n\r\n")?;
            let kind = part_head
                .lines()
                .next()?
                .trim_start_matches("Content-Type: ");
            let decoded = STANDARD
                .decode(part_body.replace("\r\n", ""))
                .expect("base64 body");
            Some((kind.to_owned(), String::from_utf8(decoded).expect("utf-8")))
        })
        .collect();
    (headers, parts)
}

#[tokio::test]
async fn the_file_mailer_writes_one_multipart_eml_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let mailer = FileMailer::new(&outbox);
    mailer.send(&mail()).await.unwrap();
    mailer.send(&mail()).await.unwrap();

    let mut files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "eml"))
    );

    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        !raw.replace("\r\n", "").contains('\n'),
        "bare LF in the message"
    );
    let (headers, parts) = parse_eml(&raw);
    let mut names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
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
        ]
    );
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).unwrap().1.clone();
    // lettre quotes a display name with spaces in it.
    assert_eq!(
        header("From"),
        "\"Magic Link Auth\" <magic_link_auth@mg.example.com>"
    );
    assert_eq!(header("To"), "alice@example.com");
    assert_eq!(header("Subject"), "Magic Login Link");
    assert!(header("Content-Type").starts_with("multipart/alternative; boundary="));

    let kinds: Vec<&str> = parts.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["text/plain; charset=utf-8", "text/html; charset=utf-8"]
    );
    let (text, html) = (&parts[0].1, &parts[1].1);
    assert!(text.contains(LINK), "{text}");
    assert!(html.contains(&LINK.replace('&', "&amp;")), "{html}");
    for part in [text, html] {
        assert!(part.contains("314159"));
        assert!(part.contains("2026-11-25 12:30 UTC"));
        assert!(part.contains("never share the code"));
    }
}

#[tokio::test]
async fn mailgun_gets_the_originals_request_plus_a_text_part() {
    let FakeMailgun { url, log, .. } = FakeMailgun::start(Behaviour::Accept).await;
    let mailer = MailgunMailer::new(
        &format!("{url}/"),
        "mg.example.com",
        "key-secret".into(),
        TEN_SECONDS,
    )
    .unwrap();
    let mail = mail();
    mailer.send(&mail).await.unwrap();

    let captured = log.lock().unwrap().clone();
    assert_eq!(captured.len(), 1);
    let request = &captured[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.domain, "mg.example.com");
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Basic {}", STANDARD.encode("api:key-secret")).as_str())
    );
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let expected: Vec<(String, String)> = [
        ("from", mail.from.as_str()),
        ("to", "alice@example.com"),
        ("subject", "Magic Login Link"),
        ("html", mail.html.as_str()),
        ("text", mail.text.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(request.form, expected);
}

#[tokio::test]
async fn a_mailgun_server_error_is_deferred_for_another_try() {
    let FakeMailgun { url, log, .. } = FakeMailgun::start(Behaviour::Fail).await;
    let mailer = MailgunMailer::new(&url, "mg.example.com", "key".into(), TEN_SECONDS).unwrap();
    let result = mailer.send(&mail()).await;
    assert!(
        matches!(&result, Err(MailError::Deferred { status: 500, body }) if body == "upstream exploded"),
        "{result:?}"
    );
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_hanging_mailgun_times_out_without_confirming() {
    let FakeMailgun { url, .. } = FakeMailgun::start(Behaviour::Hang).await;
    let mailer = MailgunMailer::new(
        &url,
        "mg.example.com",
        "key".into(),
        Duration::from_millis(300),
    )
    .unwrap();
    let result = mailer.send(&mail()).await;
    assert!(
        matches!(&result, Err(MailError::Unconfirmed(reason)) if reason.starts_with("timed out")),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_unreachable() {
    // Bind a port, then free it, so nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mailer = MailgunMailer::new(&url, "mg.example.com", "key".into(), TEN_SECONDS).unwrap();
    let result = mailer.send(&mail()).await;
    assert!(
        matches!(&result, Err(MailError::Unreachable(reason)) if reason.starts_with("connection failed")),
        "{result:?}"
    );
}

fn smtp_settings(sink: &SmtpSink, credentials: bool) -> SmtpSettings {
    SmtpSettings {
        host: sink.addr.ip().to_string(),
        port: sink.addr.port(),
        tls: SmtpTls::None,
        credentials: credentials.then(|| ("mailer".to_owned(), "hunter2".into())),
    }
}

#[tokio::test]
async fn smtp_delivers_the_multipart_message_to_a_real_smtp_server() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(&smtp_settings(&sink, true), TEN_SECONDS).unwrap();
    mailer.send(&mail()).await.unwrap();

    let received = sink.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.auth.as_deref(), Some("\0mailer\0hunter2"));
    assert_eq!(message.mail_from, "<magic_link_auth@mg.example.com>");
    assert_eq!(message.rcpt_to, ["<alice@example.com>"]);
    let (headers, parts) = parse_eml(&message.data);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        header("From"),
        Some("\"Magic Link Auth\" <magic_link_auth@mg.example.com>")
    );
    assert_eq!(header("To"), Some("alice@example.com"));
    assert_eq!(header("Subject"), Some("Magic Login Link"));
    let kinds: Vec<&str> = parts.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["text/plain; charset=utf-8", "text/html; charset=utf-8"]
    );
    assert!(parts[0].1.contains(LINK), "{}", parts[0].1);
    assert!(
        parts[1].1.contains(&LINK.replace('&', "&amp;")),
        "{}",
        parts[1].1
    );
    for (_, body) in &parts {
        assert!(body.contains("314159"), "{body}");
    }
}

#[tokio::test]
async fn an_smtp_refusal_is_a_rejection_and_a_dead_server_is_unreachable() {
    let sink = SmtpSink::start().await;
    sink.reject_recipients(true);
    let mailer = SmtpMailer::new(&smtp_settings(&sink, false), TEN_SECONDS).unwrap();
    let refused = mailer.send(&mail()).await;
    assert!(
        matches!(refused, Err(MailError::Rejected { status: 550, .. })),
        "{refused:?}"
    );
    assert!(sink.received.lock().unwrap().is_empty());

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let settings = SmtpSettings {
        port: closed.local_addr().unwrap().port(),
        ..smtp_settings(&sink, false)
    };
    drop(closed);
    let mailer = SmtpMailer::new(&settings, TEN_SECONDS).unwrap();
    let unreachable = mailer.send(&mail()).await;
    assert!(
        matches!(unreachable, Err(MailError::Unreachable(_))),
        "{unreachable:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_sends_through_smtp_when_configured() {
    let sink = SmtpSink::start().await;
    let settings = smtp_settings(&sink, false);
    let app = crate::support::app::spawn_app_with(move |config| {
        config.mail_provider = MailProvider::Smtp(settings);
    })
    .await;
    let sent = app
        .post("/api/auth/request", &[("email", "smtp@example.com")], None)
        .await;
    assert_eq!(sent.status, reqwest::StatusCode::OK, "{}", sent.body);
    app.mail_settled().await;
    let received = sink.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, ["<smtp@example.com>"]);
    let (_, parts) = parse_eml(&received[0].data);
    assert!(
        parts[0]
            .1
            .contains(&format!("{}/magic-link-auth?token=", app.base))
    );

    // A refused recipient is no fault that passes: one try, and the waiting page is told.
    sink.reject_recipients(true);
    let refused = app
        .post("/api/auth/request", &[("email", "smtp@example.com")], None)
        .await;
    assert_eq!(refused.status, reqwest::StatusCode::OK, "{}", refused.body);
    let pending = crate::support::app::cookie_pair(&refused.cookie("pending-sign-in").unwrap());
    app.mail_settled().await;
    let report = app.post("/api/auth/delivery", &[], Some(&pending)).await;
    assert_eq!(report.body, r#"{"failed":true}"#);
    assert_eq!(sink.received.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_says_which_browser_asked_and_escapes_it_in_the_html() {
    let app = crate::support::app::spawn_app().await;
    let firefox =
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0";
    let reply = app
        .send(
            app.http
                .post(format!("{}/api/auth/request", app.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .header("user-agent", firefox)
                .body("email=ivan%40example.com"),
        )
        .await;
    assert_eq!(reply.status, reqwest::StatusCode::OK, "{}", reply.body);
    let text = app.mails().await.pop().unwrap();
    assert!(
        text.contains("Asked for from Firefox on macOS at "),
        "{text}"
    );
    assert!(text.contains("Sign in to Magic Link Auth"), "{text}");

    // A browser that names itself in markup gets no markup into the message.
    let reply = app
        .send(
            app.http
                .post(format!("{}/api/auth/request", app.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .header("user-agent", "<img src=x onerror=alert(1)>")
                .body("email=judy%40example.com"),
        )
        .await;
    assert_eq!(reply.status, reqwest::StatusCode::OK, "{}", reply.body);
    app.mail_settled().await;
    let raw = std::fs::read_dir(&app.outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|raw| raw.contains("To: judy@example.com"))
        .unwrap();
    let (_, parts) = parse_eml(&raw);
    let html = &parts
        .iter()
        .find(|(kind, _)| kind.starts_with("text/html"))
        .unwrap()
        .1;
    assert!(!html.contains("<img src=x"), "{html}");
}
