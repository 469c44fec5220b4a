//! Faults outside the app, driven over HTTP against the real server: the mail provider
//! failing, hanging or gone, and the database going away. In each case the user gets a clear
//! message, nothing is lost, and the app recovers by itself once the fault clears.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use crate::support::{
    app::{TestApp, cookie_pair, spawn_app_on, spawn_app_with, token_of},
    mailgun::{Behaviour, FakeMailgun},
};
use app::server::connect_and_migrate;
use magic_link_core::config::MailProvider;
use magic_link_types::replies::UNAVAILABLE;
use reqwest::StatusCode;
use tokio::net::TcpListener;

const MAIL_FAILED: &str = "We couldn't send the email. Please try again.";

async fn spawn_app_with_mailgun(api_url: String) -> TestApp {
    spawn_app_with(move |config| {
        config.mail_provider = MailProvider::Mailgun {
            api_url,
            domain: "mg.example.com".to_owned(),
            api_key: "key".to_owned().into(),
        };
        config.mail_timeout = Duration::from_secs(1);
        config.mail_queue.backoff = Duration::from_millis(100);
        config.mail_queue.attempts = 3;
    })
    .await
}

fn unavailable() -> String {
    format!(r#"{{"error":"{UNAVAILABLE}"}}"#)
}

/// Polls `/healthz` until it answers 200, for at most `limit`; returns whether it did.
async fn wait_until_ready(app: &TestApp, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if app.get("/healthz").await.status == StatusCode::OK {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Asks for a link for `email`: the reply comes at once, whatever the provider does. Returns
/// the browser's pending sign-in cookie.
async fn request_link(app: &TestApp, email: &str) -> String {
    let sent = app
        .post("/api/auth/request", &[("email", email)], None)
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    cookie_pair(&sent.cookie("pending-sign-in").expect("a pending sign-in"))
}

/// What the app tells the browser holding `pending` about its email, once the queue settled:
/// the delivery report, and whether the waiting page says the email failed.
async fn told(app: &TestApp, pending: &str) -> (String, bool) {
    app.mail_settled().await;
    let report = app.post("/api/auth/delivery", &[], Some(pending)).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let page = app
        .send(
            app.http
                .get(format!(
                    "{}/check-your-email?email=a%40example.com",
                    app.base
                ))
                .header(reqwest::header::COOKIE, pending),
        )
        .await;
    (report.body, page.body.contains(MAIL_FAILED))
}

const FAILED: &str = r#"{"failed":true}"#;
const NOT_FAILED: &str = r#"{"failed":false}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_mailgun_is_told_to_the_waiting_page_loses_no_link_and_recovers() {
    let mailgun = FakeMailgun::start(Behaviour::Accept).await;
    let app = spawn_app_with_mailgun(mailgun.url.clone()).await;
    let first = request_link(&app, "flaky@example.com").await;
    assert_eq!(told(&app, &first).await, (NOT_FAILED.to_owned(), false));
    let held = mailgun.link(0);

    mailgun.set(Behaviour::Fail);
    let failing = request_link(&app, "flaky@example.com").await;
    assert_eq!(told(&app, &failing).await, (FAILED.to_owned(), true));
    // Three tries, then it gave up; the app itself is fine.
    assert_eq!(mailgun.log.lock().unwrap().len(), 1 + 3);
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    // The failed send lost nothing: the link already in the inbox still signs in.
    let redeemed = app
        .post("/api/auth/redeem", &[("token", &token_of(&held))], None)
        .await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.body);

    mailgun.set(Behaviour::Accept);
    let recovered = request_link(&app, "flaky@example.com").await;
    assert_eq!(told(&app, &recovered).await, (NOT_FAILED.to_owned(), false));
    let log = mailgun.log.lock().unwrap().clone();
    assert_eq!(log.len(), 1 + 3 + 1);
    assert!(
        log[4]
            .form
            .iter()
            .any(|(k, v)| k == "to" && v == "flaky@example.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_mailgun_is_told_after_its_timeouts_and_the_next_request_works() {
    let mailgun = FakeMailgun::start(Behaviour::Hang).await;
    let app = spawn_app_with_mailgun(mailgun.url.clone()).await;

    let hung = request_link(&app, "slow@example.com").await;
    assert_eq!(told(&app, &hung).await, (FAILED.to_owned(), true));
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);

    // One try only: a provider that never confirmed may have sent it, and a second try
    // would mail the address twice.
    assert_eq!(mailgun.log.lock().unwrap().len(), 1);

    mailgun.set(Behaviour::Accept);
    let sent = request_link(&app, "slow@example.com").await;
    assert_eq!(told(&app, &sent).await, (NOT_FAILED.to_owned(), false));
    assert_eq!(mailgun.log.lock().unwrap().len(), 1 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_to_mailgun_is_told_and_the_next_request_works_once_it_listens() {
    // A port that nothing listens on, until the fake takes it over.
    let reserved = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let app = spawn_app_with_mailgun(format!("http://{addr}")).await;

    let refused = request_link(&app, "gone@example.com").await;
    assert_eq!(told(&app, &refused).await, (FAILED.to_owned(), true));
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);

    let mailgun = FakeMailgun::start_on(TcpListener::bind(addr).await.unwrap(), Behaviour::Accept);
    let sent = request_link(&app, "gone@example.com").await;
    assert_eq!(told(&app, &sent).await, (NOT_FAILED.to_owned(), false));
    assert_eq!(mailgun.log.lock().unwrap().len(), 1);
}

/// Runs `program` with `args`, and whether it succeeded.
fn run(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .status()
        .is_ok_and(|status| status.success())
}

/// Makes a file immutable (`chattr +i`) for as long as it lives: even root cannot write it.
struct Unwritable(PathBuf);

impl Unwritable {
    /// `None` where the file system or the user cannot do it; under CI that is a failure.
    fn new(path: &Path) -> Option<Self> {
        if run("chattr", &["+i", path.to_str().unwrap()]) {
            Some(Self(path.to_owned()))
        } else {
            assert!(
                std::env::var_os("CI").is_none(),
                "chattr +i must work under CI (it needs root and a file system with attributes)"
            );
            eprintln!("chattr +i is not available here: skipping the unwritable-SQLite test");
            None
        }
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        run("chattr", &["-i", self.0.to_str().unwrap()]);
    }
}

/// Everything a user can reach while the database is away: a 503 with a message, and
/// `/healthz` not ready. Nothing is sent.
async fn assert_unavailable(app: &TestApp, cookie: &str) {
    let request = app
        .post(
            "/api/auth/request",
            &[("email", "during@example.com")],
            None,
        )
        .await;
    assert_eq!(request.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(request.body, unavailable());

    let session = app.post("/api/auth/session", &[], Some(cookie)).await;
    assert_eq!(session.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(session.body, unavailable());

    let health = app.get("/healthz").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    );
    assert_eq!(
        app.mails().await.len(),
        1,
        "no mail goes out while the database is away"
    );
}

/// After the fault clears: ready again without a restart, the earlier session still valid,
/// and a new sign-in works.
async fn assert_recovered(app: &TestApp, cookie: &str) {
    assert!(
        wait_until_ready(app, Duration::from_secs(20)).await,
        "/healthz did not become ready again"
    );
    let session = app.post("/api/auth/session", &[], Some(cookie)).await;
    assert_eq!(session.status, StatusCode::OK);
    assert!(
        session.body.contains("before@example.com"),
        "{}",
        session.body
    );
    app.sign_in("after@example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_sqlite_file_is_a_503_and_the_app_recovers_when_it_is_writable_again() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.db");
    let db = connect_and_migrate(&format!("sqlite://{}?mode=rwc", file.display()))
        .await
        .unwrap();
    let app = spawn_app_on(db, dir.path().join("outbox"), |_| {}).await;
    let cookie = app.sign_in("before@example.com").await;

    let Some(fault) = Unwritable::new(&file) else {
        return;
    };
    assert_unavailable(&app, &cookie).await;
    drop(fault);
    assert_recovered(&app, &cookie).await;
}

/// A PostgreSQL server of the test's own, in a temporary folder on a free port, so that it
/// can be stopped and started without disturbing the shared server other tests use.
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    /// `None` where PostgreSQL's server programs or the `postgres` user are missing; under CI
    /// that is a failure.
    async fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| versions.filter_map(Result::ok).map(|v| v.path()).max())
            .map(|version| version.join("bin"))
            .filter(|bin| bin.join("pg_ctl").exists());
        let owner = Command::new("id").args(["-u", "postgres"]).output().ok();
        let (Some(bin), Some(owner)) = (bin, owner.filter(|o| o.status.success())) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL's server programs and the postgres user must exist under CI"
            );
            eprintln!("no PostgreSQL server programs here: skipping the PostgreSQL outage test");
            return None;
        };
        let uid: u32 = String::from_utf8(owner.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(uid), None).unwrap();
        let data = dir.path().join("data");
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Self {
            bin,
            data,
            port,
            _dir: dir,
        };
        assert!(
            server.as_postgres(
                "initdb",
                &[
                    "-D",
                    server.data.to_str().unwrap(),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync"
                ]
            ),
            "initdb failed"
        );
        server.up();
        Some(server)
    }

    fn as_postgres(&self, program: &str, args: &[&str]) -> bool {
        let program = self.bin.join(program);
        let mut all = vec!["-u", "postgres", "--", program.to_str().unwrap()];
        all.extend_from_slice(args);
        Command::new("runuser")
            .args(&all)
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn up(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off",
            self.port
        );
        let data = self.data.to_str().unwrap();
        let log = self.data.join("server.log");
        assert!(
            self.as_postgres(
                "pg_ctl",
                &[
                    "-D",
                    data,
                    "-l",
                    log.to_str().unwrap(),
                    "-o",
                    &options,
                    "-w",
                    "start"
                ]
            ),
            "pg_ctl start failed"
        );
    }

    fn down(&self) {
        let data = self.data.to_str().unwrap();
        assert!(
            self.as_postgres("pg_ctl", &["-D", data, "-m", "fast", "-w", "stop"]),
            "pg_ctl stop failed"
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap().to_owned();
        self.as_postgres("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_postgresql_is_a_503_and_the_app_recovers_when_it_is_back() {
    let Some(server) = PrivatePostgres::start().await else {
        return;
    };
    let db = connect_and_migrate(&server.url()).await.unwrap();
    let outbox = tempfile::tempdir().unwrap();
    let app = spawn_app_on(db, outbox.path().to_owned(), |_| {}).await;
    let cookie = app.sign_in("before@example.com").await;

    server.down();
    assert_unavailable(&app, &cookie).await;
    server.up();
    assert_recovered(&app, &cookie).await;
}
