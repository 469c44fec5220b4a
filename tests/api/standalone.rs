//! The release binary on its own: copied alone into an empty folder and run there, it serves
//! the whole site from inside itself, creates its SQLite file beside itself, signs a person in,
//! and on SIGTERM finishes the request in flight and sends its queued mail before it exits.
//!
//! It needs `cargo leptos build --release` first (`make test` does that). Under CI a missing
//! binary fails the test; elsewhere the test says so and passes.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::support::{
    app::{cookie_pair, text_part, token_of},
    mailgun::{Behaviour, FakeMailgun},
};
use magic_link_core::entities::credential::{self, Delivery};
use reqwest::{StatusCode, header};
use sea_orm::EntityTrait;

/// The release server binary, if it has been built.
fn release_binary() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    let binary = target.join("release").join(env!("CARGO_PKG_NAME"));
    if binary.exists() {
        return Some(binary);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: under CI, `cargo leptos build --release` must run before the tests",
        binary.display()
    );
    eprintln!("no release binary: run `cargo leptos build --release` to run this test");
    None
}

/// Held while a copy of the binary is written and while this process starts any program.
/// A program started by another test while the copy is still open for writing would inherit
/// that open file until it runs, and starting the copy would then fail with "Text file busy".
static SPAWNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The binary, copied alone into a new empty folder and started there with `env` only.
struct Standalone {
    folder: tempfile::TempDir,
    child: Child,
    base: String,
}

impl Standalone {
    async fn start(binary: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_with_dotenv(binary, env, None).await
    }

    /// As `start`, with a `.env` file written beside the binary first.
    async fn start_with_dotenv(binary: &Path, env: &[(&str, &str)], dotenv: Option<&str>) -> Self {
        Self::spawn(binary, env, dotenv, Stdio::null()).await
    }

    /// As `start`, with the server's stdout kept for [`Self::stop_and_read_logs`].
    async fn start_logging(binary: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(binary, env, None, Stdio::piped()).await
    }

    /// A form post to `path` on this server, ready to send.
    fn post(&self, path: &str, body: impl Into<String>) -> reqwest::RequestBuilder {
        client()
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.into())
    }

    /// Stops the server with SIGTERM and returns what it wrote to stdout.
    fn stop_and_read_logs(mut self) -> String {
        self.terminate();
        let mut logs = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut stdout, &mut logs).unwrap();
        }
        let _ = self.child.wait();
        logs
    }

    async fn spawn(
        binary: &Path,
        env: &[(&str, &str)],
        dotenv: Option<&str>,
        stdout: Stdio,
    ) -> Self {
        // The test's HTTP client shares the process-wide TLS provider choice with the app.
        app::auth::mail::mailgun::install_crypto_provider();
        let folder = tempfile::tempdir().unwrap();
        if let Some(dotenv) = dotenv {
            std::fs::write(folder.path().join(".env"), dotenv).unwrap();
        }
        let copy = folder.path().join(env!("CARGO_PKG_NAME"));
        let spawning = SPAWNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::fs::copy(binary, &copy).unwrap();
        let addr = crate::support::free_local_addr();
        let child = Command::new(&copy)
            .current_dir(folder.path())
            .env_clear()
            .env("LEPTOS_SITE_ADDR", &addr)
            .env("MAGIC_LINK_AUTH_PUBLIC_URL", format!("http://{addr}"))
            .envs(env.iter().copied())
            .stdout(stdout)
            .spawn()
            .unwrap();
        drop(spawning);
        let server = Self {
            folder,
            child,
            base: format!("http://{addr}"),
        };
        server.wait_until_ready().await;
        server
    }

    async fn wait_until_ready(&self) {
        crate::support::app::wait_until_healthy(&self.base).await;
    }

    fn terminate(&self) {
        let pid = self.child.id().to_string();
        let _spawning = SPAWNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
    }
}

impl Standalone {
    /// Kills the server with SIGKILL: no graceful stop, nothing flushed.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The messages in `folder`, once there are at least `count` (mail goes out after the reply;
/// a message being written has another name until it is renamed into place).
async fn files_in(folder: &Path, count: usize) -> Vec<PathBuf> {
    let start = Instant::now();
    loop {
        let files: Vec<PathBuf> = std::fs::read_dir(folder)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().path())
                    .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if files.len() >= count {
            return files;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} holds {} files, not {count}",
            folder.display(),
            files.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `src` or `href` values in `html` that point under `/pkg/`.
fn pkg_urls(html: &str) -> Vec<String> {
    html.split('"')
        .filter(|piece| piece.starts_with("/pkg/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_alone_serves_the_site_and_signs_a_person_in() {
    let Some(binary) = release_binary() else {
        return;
    };
    let server = Standalone::start(
        &binary,
        &[
            ("MAGIC_LINK_MAIL_PROVIDER", "file"),
            ("MAGIC_LINK_MAIL_OUTBOX", "outbox"),
        ],
    )
    .await;
    let http = client();

    // The page links to content-hashed assets, and each comes out of the binary compressed.
    let page = http.get(&server.base).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
    // A release binary runs as production: no development reload socket in the policy.
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    assert!(!csp.contains("ws:"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("ws://"), "the page opens the reload socket");
    let assets = pkg_urls(&html);
    for ext in [".css", ".js", ".wasm"] {
        assert!(
            assets
                .iter()
                .any(|url| url.ends_with(ext) && url.matches('.').count() == 2),
            "no hashed {ext} in {assets:?}"
        );
    }
    for url in &assets {
        for (accept, encoding) in [("br, gzip", Some("br")), ("gzip", Some("gzip")), ("", None)] {
            let reply = http
                .get(format!("{}{url}", server.base))
                .header(header::ACCEPT_ENCODING, accept)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), StatusCode::OK, "{url}");
            assert_eq!(
                reply.headers()[header::CACHE_CONTROL],
                "public, max-age=31536000, immutable"
            );
            assert_eq!(
                reply
                    .headers()
                    .get(header::CONTENT_ENCODING)
                    .map(|v| v.to_str().unwrap()),
                encoding,
                "{url} with Accept-Encoding {accept:?}"
            );
            assert!(!reply.bytes().await.unwrap().is_empty());
        }
    }
    let icon = http
        .get(format!("{}/favicon.svg", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), StatusCode::OK);
    let etag = icon.headers()[header::ETAG].clone();
    let again = http
        .get(format!("{}/favicon.svg", server.base))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // The whole sign-in, with the database created beside the binary.
    let form = |pairs: &[(&str, &str)]| serde_urlencoded::to_string(pairs).unwrap();
    let sent = http
        .post(format!("{}/api/auth/request", server.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("email", "alone@example.com")]))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    assert!(server.folder.path().join("magic_link_auth.db").exists());
    let mail = files_in(&server.folder.path().join("outbox"), 1)
        .await
        .remove(0);
    let text = text_part(&std::fs::read_to_string(mail).unwrap());
    let link = text.lines().find(|l| l.starts_with("http://")).unwrap();
    let token = token_of(link);
    let signed_in = http
        .post(format!("{}/api/auth/redeem", server.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("token", &token)]))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    let cookie = cookie_pair(signed_in.headers()[header::SET_COOKIE].to_str().unwrap());
    let home = http
        .get(&server.base)
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert!(home.text().await.unwrap().contains("Welcome back!"));

    // A release binary has no dev mailbox: the message above is not there to read, and the
    // check-your-email page does not point to it.
    for path in ["/dev/mailbox", "/dev/mailbox/1"] {
        let mailbox = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(mailbox.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!mailbox.text().await.unwrap().contains("alone@example.com"));
    }
    let check = http
        .get(format!("{}/check-your-email", server.base))
        .send()
        .await
        .unwrap();
    assert!(!check.text().await.unwrap().contains("dev mailbox"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_and_the_queued_mail_go_out() {
    let Some(binary) = release_binary() else {
        return;
    };
    // Mailgun answers after a second, so the mail is still being sent when SIGTERM lands.
    let mailgun = FakeMailgun::start(Behaviour::Delay(Duration::from_secs(1))).await;
    let server = Standalone::start(
        &binary,
        &[
            ("MAGIC_LINK_MAIL_PROVIDER", "mailgun"),
            ("MAGIC_LINK_MAILGUN_API_URL", &mailgun.url),
            ("MAGIC_LINK_MAILGUN_DOMAIN_NAME", "mg.example.com"),
            ("MAGIC_LINK_MAILGUN_API_KEY", "key"),
        ],
    )
    .await;
    let sent = client()
        .post(format!("{}/api/auth/request", server.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("email=late%40example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    // A second request is half sent: its headers are in, its body is not.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /api/auth/request HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 25\r\n\r\nemail="
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // Wait until the mail has reached Mailgun, then ask the server to stop.
    let start = Instant::now();
    while mailgun.log.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the mail never reached Mailgun"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;
    slow.write_all(b"later%40example.com").await.unwrap();
    let mut answer = Vec::new();
    slow.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let mut server = server;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server did not exit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
    // Both messages went out before it stopped, and it recorded so.
    assert_eq!(mailgun.log.lock().unwrap().len(), 2);
    let url = format!(
        "sqlite://{}?mode=ro",
        server.folder.path().join("magic_link_auth.db").display()
    );
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let deliveries: Vec<Delivery> = credential::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.delivery)
        .collect();
    assert_eq!(deliveries, [Delivery::Sent, Delivery::Sent]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_can_come_from_a_dotenv_file_and_the_environment_wins() {
    let Some(binary) = release_binary() else {
        return;
    };
    let dotenv = "# settings for this folder\n\
                  MAGIC_LINK_MAIL_PROVIDER=file\n\
                  MAGIC_LINK_MAIL_OUTBOX=letters\n\
                  MAGIC_LINK_AUTH_OTP_RATE_LIMIT=1\n";
    let server = Standalone::start_with_dotenv(
        &binary,
        &[("MAGIC_LINK_AUTH_OTP_RATE_LIMIT", "2")],
        Some(dotenv),
    )
    .await;
    let http = client();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let reply = http
            .post(format!("{}/api/auth/request", server.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("email=dotenv%40example.com")
            .send()
            .await
            .unwrap();
        statuses.push(reply.status());
    }
    // The limit of 2 from the environment, not 1 from the file.
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let letters = files_in(&server.folder.path().join("letters"), 2).await;
    assert_eq!(letters.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_json_lines_when_asked_and_plain_text_in_a_file() {
    let Some(binary) = release_binary() else {
        return;
    };
    for format in ["json", "text"] {
        let server = Standalone::start_logging(
            &binary,
            &[
                ("MAGIC_LINK_LOG_FORMAT", format),
                ("MAGIC_LINK_MAIL_PROVIDER", "file"),
                ("MAGIC_LINK_MAIL_OUTBOX", "outbox"),
            ],
        )
        .await;
        // A request that logs: the queued mail is written, then logged as sent.
        let sent = server
            .post("/api/auth/request", "email=logs%40example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::OK);
        let logs = server.stop_and_read_logs();
        let lines: Vec<&str> = logs.lines().collect();
        assert!(lines.len() >= 3, "{format}: {logs}");
        // No colour codes when stdout is not a terminal.
        assert!(!logs.contains('\u{1b}'), "{format}: {logs}");
        if format == "json" {
            for line in &lines {
                let entry: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
                assert!(entry["timestamp"].is_string(), "{line}");
                assert!(entry["level"].is_string(), "{line}");
                assert!(entry["fields"].is_object(), "{line}");
            }
            assert!(logs.contains("\"listening on http://"), "{logs}");
        } else {
            assert!(lines.iter().all(|line| !line.starts_with('{')), "{logs}");
            assert!(logs.contains(" INFO "), "{logs}");
        }
    }
}

/// The value of one series (`name` or `name{labels}`) in Prometheus text.
fn series(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_scripted_flow_exactly_on_their_own_address() {
    let Some(binary) = release_binary() else {
        return;
    };
    let metrics_addr = crate::support::free_local_addr();
    let server = Standalone::start(
        &binary,
        &[
            ("MAGIC_LINK_METRICS_ADDR", metrics_addr.as_str()),
            ("MAGIC_LINK_MAIL_PROVIDER", "file"),
            ("MAGIC_LINK_MAIL_OUTBOX", "outbox"),
        ],
    )
    .await;
    let http = client();
    let post = |path: &str, body: String| server.post(path, body);
    let scrape = || async {
        let reply = http
            .get(format!("http://{metrics_addr}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        reply.text().await.unwrap()
    };

    // One link, mailed; one wrong code; the link used; a cross-site request; a sign-out.
    let sent = post("/api/auth/request", "email=metrics%40example.com".into())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    let mail = files_in(&server.folder.path().join("outbox"), 1)
        .await
        .remove(0);
    let text = text_part(&std::fs::read_to_string(mail).unwrap());
    let link = text.lines().find(|l| l.starts_with("http://")).unwrap();
    let token = token_of(link);
    let code = text.split("sign-in page: ").nth(1).unwrap()[..6].to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = post(
        "/api/auth/verify-code",
        format!("email=metrics%40example.com&code={wrong}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let signed_in = post("/api/auth/redeem", format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    let cookie = cookie_pair(signed_in.headers()[header::SET_COOKIE].to_str().unwrap());
    let cross_site = post("/api/auth/logout", String::new())
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let out = post("/api/auth/logout", String::new())
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);

    // The mail is recorded as sent just after it is written: wait for that.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = scrape().await;
    while series(&text, "magic_link_links_mailed_total").is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        text = scrape().await;
    }
    let expected = [
        ("magic_link_links_requested_total", 1.0),
        ("magic_link_links_mailed_total", 1.0),
        ("magic_link_wrong_codes_total", 1.0),
        ("magic_link_sign_ins_total{method=\"link\"}", 1.0),
        (
            "magic_link_requests_refused_total{reason=\"cross_site\"}",
            1.0,
        ),
        ("magic_link_sessions_ended_total", 1.0),
        ("magic_link_mail_send_seconds_count", 1.0),
        (
            "magic_link_request_seconds_count{endpoint=\"request\"}",
            1.0,
        ),
        (
            "magic_link_request_seconds_count{endpoint=\"verify-code\"}",
            1.0,
        ),
        ("magic_link_request_seconds_count{endpoint=\"redeem\"}", 1.0),
        ("magic_link_request_seconds_count{endpoint=\"logout\"}", 2.0),
    ];
    for (name, value) in expected {
        assert_eq!(series(&text, name), Some(value), "{name} in:\n{text}");
    }
    for absent in [
        "magic_link_links_failed_total",
        "magic_link_sign_ins_total{method=\"code\"}",
        "magic_link_requests_refused_total{reason=\"rate_limit\"}",
    ] {
        assert_eq!(series(&text, absent), None, "{absent} in:\n{text}");
    }
    // No label names a person, a token or a client.
    for secret in [
        "metrics@example.com",
        token.as_str(),
        code.as_str(),
        "127.0.0.1",
    ] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
    assert!(text.contains("# HELP magic_link_sign_ins_total"), "{text}");

    // The app's own address does not serve them.
    let own = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::NOT_FOUND);
    assert!(!own.text().await.unwrap().contains("magic_link_"));
}

/// The environment of an instance on `database`, mailing through the Mailgun at `mailgun`.
fn mailgun_env<'a>(mailgun: &'a str, database: &'a str) -> [(&'static str, &'a str); 5] {
    [
        ("MAGIC_LINK_MAIL_PROVIDER", "mailgun"),
        ("MAGIC_LINK_MAILGUN_API_URL", mailgun),
        ("MAGIC_LINK_MAILGUN_DOMAIN_NAME", "mg.example.com"),
        ("MAGIC_LINK_MAILGUN_API_KEY", "key"),
        ("DATABASE_URL", database),
    ]
}

/// Waits until `mailgun` has been asked `count` times.
async fn asked(mailgun: &FakeMailgun, count: usize) {
    let start = Instant::now();
    while mailgun.log.lock().unwrap().len() < count {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Mailgun was asked {} times, not {count}",
            mailgun.log.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Asks `first` for a link while its provider fails, kills it with SIGKILL once the first try
/// has failed (the message then waits in the outbox for its next try), and checks that
/// `takes_over` sends it once, through `working`, and that its link signs in there.
async fn killed_mid_queue_then_sent_by(
    first: Standalone,
    failing: &FakeMailgun,
    takes_over: impl std::future::Future<Output = Standalone>,
    working: &FakeMailgun,
) {
    let sent = first
        .post("/api/auth/request", "email=killed%40example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    asked(failing, 1).await;
    // The failed try puts the message back for a second one, a second later.
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill();

    let second = takes_over.await;
    asked(working, 1).await;
    // Once, not again: past the next poll and the next pause, still one message.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(failing.log.lock().unwrap().len(), 1);
    let log = working.log.lock().unwrap().clone();
    assert_eq!(log.len(), 1);
    assert!(
        log[0]
            .form
            .iter()
            .any(|(k, v)| k == "to" && v == "killed@example.com")
    );
    // The same credential: each instance writes the link with its own public address.
    let link = working.link(0);
    assert_eq!(token_of(&link), token_of(&failing.link(0)));
    let redeemed = second
        .post("/api/auth/redeem", format!("token={}", token_of(&link)))
        .send()
        .await
        .unwrap();
    assert_eq!(redeemed.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_queued_when_its_instance_is_killed_goes_out_after_a_restart_on_sqlite() {
    let Some(binary) = release_binary() else {
        return;
    };
    let (failing, working) = (
        FakeMailgun::start(Behaviour::Fail).await,
        FakeMailgun::start(Behaviour::Accept).await,
    );
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", data.path().join("app.db").display());
    let first = Standalone::start(&binary, &mailgun_env(&failing.url, &url)).await;
    let env = mailgun_env(&working.url, &url);
    let restarted = Standalone::start(&binary, &env);
    killed_mid_queue_then_sent_by(first, &failing, restarted, &working).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_queued_when_its_instance_is_killed_goes_out_from_another_on_postgresql() {
    let Some(binary) = release_binary() else {
        return;
    };
    let Some(database) = crate::support::TestDb::postgres().await else {
        return;
    };
    let (failing, working) = (
        FakeMailgun::start(Behaviour::Fail).await,
        FakeMailgun::start(Behaviour::Accept).await,
    );
    let first = Standalone::start(&binary, &mailgun_env(&failing.url, &database.url)).await;
    // The other instance is up the whole time, polling the same outbox.
    let other = Standalone::start(&binary, &mailgun_env(&working.url, &database.url)).await;
    killed_mid_queue_then_sent_by(first, &failing, std::future::ready(other), &working).await;
    database.finish().await;
}
