//! Slow clients and overload: a client that trickles its request is cut off, the health
//! check answers while a thousand of them hang on, and a full hashing queue says "come back"
//! at once.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use magic_link_core::client::TrustedProxies;

use app::auth::ClientLimits;
use reqwest::{StatusCode, header};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::{post_from, rows};
use crate::support::app::{TestApp, spawn_app_limited, spawn_app_with};

/// Short limits, so the tests need not wait out the defaults (10 s and 30 s).
const LIMITS: ClientLimits = ClientLimits {
    headers: Duration::from_secs(2),
    request: Duration::from_secs(3),
};

async fn app_with_short_limits() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    let db = app::server::connect_and_migrate(&url).await.unwrap();
    let app = spawn_app_limited(db, dir.path().join("outbox"), LIMITS, |_| {}).await;
    // The folder must outlive the app; the test process ends soon enough.
    std::mem::forget(dir);
    app
}

/// A connection that has sent part of its request headers, and no more yet.
async fn half_open(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    stream
}

/// Whether the server has closed `stream`, waiting at most until `deadline`.
async fn closed_by(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            // A 408 or 400 on the way out: keep reading to the close.
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_trickle_their_headers_are_cut_off() {
    let app = app_with_short_limits().await;
    let mut streams = Vec::new();
    for _ in 0..150 {
        streams.push(half_open(&app).await);
    }
    // They keep trickling, a byte every 200 ms, and never finish.
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        let mut open = streams;
        for _ in 0..20 {
            for stream in &mut open {
                let _ = stream.write_all(b"x").await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        open
    });
    let mut streams = trickle.await.unwrap();
    let deadline = started + LIMITS.headers + Duration::from_secs(10);
    let mut cut = 0;
    for stream in &mut streams {
        if closed_by(stream, deadline).await {
            cut += 1;
        }
    }
    assert_eq!(cut, 150, "trickling connections still held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_check_answers_while_a_thousand_slow_connections_hang_on() {
    let app = app_with_short_limits().await;
    let mut streams = Vec::new();
    for _ in 0..1000 {
        streams.push(half_open(&app).await);
    }
    for _ in 0..3 {
        let reply = app.get("/healthz").await;
        assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "ok"));
    }
    let deadline = Instant::now() + LIMITS.headers + Duration::from_secs(15);
    let mut cut = 0;
    for stream in &mut streams {
        if closed_by(stream, deadline).await {
            cut += 1;
        }
    }
    assert_eq!(cut, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_is_answered_408() {
    let app = app_with_short_limits().await;
    let addr = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /api/auth/request HTTP/1.1\r\nHost: {addr}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail="
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let writer = tokio::spawn(async move {
        for _ in 0..20 {
            if stream.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        stream
    });
    let mut stream = writer.await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(rows(&app).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_answers_503_with_retry_after_at_once() {
    // One worker and room for one waiting code. The requests reach the hasher one SQLite
    // write at a time, so whether two of them overlap one hash is timing: a burst of 40 from
    // 40 clients is tried up to five times, and any one that fills the queue is enough.
    let app = Arc::new(
        spawn_app_with(|config| {
            config.trusted_proxies = TrustedProxies::parse_list("127.0.0.1").unwrap();
            config.hash_queue = 1;
            config.hash_workers = Some(1);
        })
        .await,
    );
    let (mut accepted, mut busy) = (0, 0);
    for burst in 0..5 {
        let requests: Vec<_> = (0..40)
            .map(|n| {
                let app = app.clone();
                tokio::spawn(async move {
                    let email = format!("rush{burst}-{n}@example.com");
                    post_from(
                        &app,
                        "/api/auth/request",
                        &[("email", &email)],
                        &format!("10.7.{burst}.{}", n + 1),
                        None,
                    )
                    .await
                })
            })
            .collect();
        for request in requests {
            let reply = request.await.unwrap();
            match reply.status {
                StatusCode::OK => accepted += 1,
                StatusCode::SERVICE_UNAVAILABLE => {
                    busy += 1;
                    assert_eq!(reply.headers[header::RETRY_AFTER], "1");
                    assert_eq!(
                        reply.body,
                        r#"{"error":"The service is busy. Please try again in a moment."}"#
                    );
                }
                other => panic!("{other}: {}", reply.body),
            }
        }
        if busy > 0 {
            break;
        }
    }
    assert!(busy > 0, "the queue never filled in five bursts");
    assert!(accepted > 0);
    // A refused request wrote nothing, and sent nothing.
    assert_eq!(rows(&app).await, (accepted, 0));
    assert_eq!(app.mails().await.len() as u64, accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_one_client_costs_no_more_hashing_than_its_limit() {
    // Room for five codes in the queue: exactly the client's limit. Were codes hashed before
    // the limit is taken, the burst would overflow it and be told 503.
    let app = Arc::new(
        spawn_app_with(|config| {
            config.hash_queue = 5;
        })
        .await,
    );
    let requests: Vec<_> = (0..50)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                let email = format!("burst{n}@example.com");
                app.post("/api/auth/request", &[("email", &email)], None)
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap());
    }
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(count(StatusCode::OK), 5, "{statuses:?}");
    assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 45, "{statuses:?}");
}
