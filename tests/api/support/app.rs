//! The real server on a random port, driven over HTTP as a browser or an API client would.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use app::{
    auth::ClientLimits,
    server::{AppState, connect_and_migrate, serve_with},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use leptos::prelude::LeptosOptions;
use magic_link_core::{
    AuthService,
    config::{AuthConfig, MailProvider},
};
use reqwest::{StatusCode, header};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

pub struct TestApp {
    pub base: String,
    pub db: DatabaseConnection,
    pub outbox: PathBuf,
    pub http: reqwest::Client,
    /// The app's auth service, to wait for its mail queue.
    pub auth: AuthService,
    _dir: Option<tempfile::TempDir>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The app on a fresh SQLite file in a temporary folder.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut AuthConfig)) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    let db = connect_and_migrate(&url).await.expect("database ready");
    let outbox = dir.path().join("outbox");
    let mut app = spawn_app_on(db, outbox, adjust).await;
    app._dir = Some(dir);
    app
}

/// The app on a fresh PostgreSQL database at `TEST_DATABASE_URL`, or `None` when it is unset
/// (outside CI). Drop the app, then `finish` the database.
pub async fn spawn_app_on_postgres(
    adjust: impl FnOnce(&mut AuthConfig),
) -> Option<(TestApp, super::TestDb)> {
    let database = super::TestDb::postgres().await?;
    let db = connect_and_migrate(&database.url)
        .await
        .expect("database ready");
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut app = spawn_app_on(db, dir.path().join("outbox"), adjust).await;
    app._dir = Some(dir);
    Some((app, database))
}

/// The app on `db`, already migrated, writing mail into `outbox`.
pub async fn spawn_app_on(
    db: DatabaseConnection,
    outbox: PathBuf,
    adjust: impl FnOnce(&mut AuthConfig),
) -> TestApp {
    spawn_app_limited(db, outbox, ClientLimits::default(), adjust).await
}

/// As [`spawn_app_on`], with `limits` on slow clients.
pub async fn spawn_app_limited(
    db: DatabaseConnection,
    outbox: PathBuf,
    limits: ClientLimits,
    adjust: impl FnOnce(&mut AuthConfig),
) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let mut config = AuthConfig {
        public_url: format!("http://{addr}"),
        mail_provider: MailProvider::File {
            outbox: outbox.clone(),
        },
        ..AuthConfig::default()
    };
    adjust(&mut config);
    let leptos_options = LeptosOptions::builder()
        .output_name(env!("CARGO_PKG_NAME"))
        .site_root("target/site")
        .site_addr(addr)
        .build();
    let host_header = public_host_header(&config.public_url, addr);
    let state = AppState::new(leptos_options, db.clone(), config).expect("app state");
    let auth = state.auth.clone();
    tokio::spawn(serve_with(listener, state, limits, std::future::pending()));
    TestApp {
        base: format!("http://{addr}"),
        db,
        outbox,
        // The production server runs on a multi-threaded runtime, and so do these tests. A
        // request that stalls fails the test instead of holding the whole run.
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            // A test whose public URL names another host (`localhost`, a domain) still talks
            // to this address, as a browser behind that name would: with the public host.
            .default_headers(host_header)
            .build()
            .unwrap(),
        auth,
        _dir: None,
    }
}

/// A `Host` header naming `public_url`'s host, when it is not `addr` itself.
fn public_host_header(public_url: &str, addr: std::net::SocketAddr) -> header::HeaderMap {
    let mut headers = header::HeaderMap::new();
    let authority = public_url.parse::<reqwest::Url>().ok().and_then(|url| {
        let host = url.host_str()?.to_owned();
        Some(match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        })
    });
    if let Some(authority) = authority.filter(|authority| *authority != addr.to_string()) {
        headers.insert(header::HOST, authority.parse().unwrap());
    }
    headers
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        set_cookie_named(&self.headers, name)
    }
}

/// The whole `Set-Cookie` value among `headers` that sets cookie `name`, attributes included.
pub fn set_cookie_named(headers: &header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
}

impl TestApp {
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Reply {
        self.send(self.form_request(path, form, "application/json", cookie))
            .await
    }

    /// POSTs `form` as a browser without JavaScript sends one: urlencoded, asking for HTML,
    /// so a refusal answers with a redirect rather than JSON.
    pub async fn post_plain_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> Reply {
        self.send(self.form_request(path, form, "text/html", cookie))
            .await
    }

    /// A urlencoded POST of `form` to `path` that accepts `accept`, with `cookie`, if any.
    pub fn form_request(
        &self,
        path: &str,
        form: &[(&str, &str)],
        accept: &str,
        cookie: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, accept)
            .body(serde_urlencoded::to_string(form).unwrap());
        match cookie {
            Some(cookie) => request.header(header::COOKIE, cookie),
            None => request,
        }
    }

    /// GETs `path` with the session `cookie`.
    pub async fn get_as(&self, path: &str, cookie: &str) -> Reply {
        self.send(
            self.http
                .get(format!("{}{path}", self.base))
                .header(header::COOKIE, cookie),
        )
        .await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let mut request = request.build().expect("a request");
        // A page GET is asked once more if it stalls. While any router in this process
        // generates its route list, leptos holds back every resource in the process (a
        // process-wide flag), and a page rendered at that moment waits forever. The demo's
        // routes are generated once per process (`server::route_list`), but the example
        // app's are generated by its own test, while other tests' servers render. A GET
        // changes nothing, so a second try is safe, and a server that is really broken fails
        // both. Every stall is reported.
        let retry = (request.method() == reqwest::Method::GET)
            .then(|| {
                *request.timeout_mut() = Some(std::time::Duration::from_secs(15));
                request.try_clone()
            })
            .flatten();
        let url = request.url().clone();
        let response = match (self.http.execute(request).await, retry) {
            (Ok(response), _) => response,
            (Err(err), Some(retry)) if err.is_timeout() => {
                eprintln!("GET {url} stalled for 15 s; asking once more");
                self.http.execute(retry).await.expect("request")
            }
            (Err(err), _) => panic!("request: {err:?}"),
        };
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }

    /// Waits until the app has sent (or given up on) every message it queued: mail goes
    /// out after the reply.
    pub async fn mail_settled(&self) {
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            self.auth.mail_queue().settled(),
        )
        .await
        .expect("the mail queue settles");
    }

    /// Every message in the outbox once the mail queue has settled, raw, oldest first.
    async fn raw_mails(&self) -> Vec<String> {
        self.mail_settled().await;
        let Ok(entries) = std::fs::read_dir(&self.outbox) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|file| std::fs::read_to_string(file).unwrap())
            .collect()
    }

    /// Every message in the outbox once the mail queue has settled, decoded to its text part,
    /// oldest first.
    pub async fn mails(&self) -> Vec<String> {
        self.raw_mails()
            .await
            .iter()
            .map(|raw| text_part(raw))
            .collect()
    }

    /// The text of the newest message to `to`, once the mail queue has settled.
    pub async fn last_mail_to(&self, to: &str) -> String {
        let header = format!("\r\nTo: {to}\r\n");
        self.raw_mails()
            .await
            .iter()
            .rev()
            .find(|raw| raw.contains(&header))
            .map(|raw| text_part(raw))
            .unwrap_or_else(|| panic!("no message to {to}"))
    }

    /// The `To:` of every message in the outbox, once the mail queue has settled.
    pub async fn recipients(&self) -> Vec<String> {
        self.mail_settled().await;
        let Ok(entries) = std::fs::read_dir(&self.outbox) else {
            return Vec::new();
        };
        entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .map(|file| {
                let raw = std::fs::read_to_string(file).unwrap();
                raw.split("\r\n")
                    .find_map(|line| line.strip_prefix("To: "))
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    /// Requests a link for `email`, redeems it over the API, and returns the session cookie
    /// as a `Cookie:` header value.
    pub async fn sign_in(&self, email: &str) -> String {
        let sent = self
            .post("/api/auth/request", &[("email", email)], None)
            .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        let (link, _) = self.last_link_and_code().await;
        let token = token_of(&link);
        let signed_in = self
            .post("/api/auth/redeem", &[("token", token.as_str())], None)
            .await;
        assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
        cookie_pair(&signed_in.cookie("session").expect("a session cookie"))
    }

    /// As [`sign_in`](Self::sign_in), from a browser that sends `headers` (a `User-Agent`,
    /// an `X-Forwarded-For` behind a trusted proxy) with both requests.
    pub async fn sign_in_from(&self, email: &str, headers: &[(&str, &str)]) -> String {
        let with = |mut request: reqwest::RequestBuilder| {
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request
        };
        let form = |pairs: &[(&str, &str)]| serde_urlencoded::to_string(pairs).unwrap();
        let post = |path: &str, body: String| {
            with(
                self.http
                    .post(format!("{}{path}", self.base))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "application/json")
                    .body(body),
            )
        };
        let sent = self
            .send(post("/api/auth/request", form(&[("email", email)])))
            .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        let (link, _) = self.last_link_and_code().await;
        let token = token_of(&link);
        let signed_in = self
            .send(post("/api/auth/redeem", form(&[("token", token.as_str())])))
            .await;
        assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
        cookie_pair(&signed_in.cookie("session").expect("a session cookie"))
    }

    /// Whether the session cookie `cookie` is a live session, as the app's session
    /// endpoint says.
    pub async fn is_signed_in(&self, cookie: &str) -> bool {
        let reply = self.post("/api/auth/session", &[], Some(cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body != "null"
    }

    /// Makes every session of `email` look as if it signed in an hour ago: no longer fresh
    /// enough for a sensitive action.
    pub async fn age_sessions(&self, email: &str) {
        let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
        self.auth
            .store()
            .set_authenticated_at(email, hour_ago)
            .await
            .unwrap();
    }

    /// The text of every new-sign-in notice in the outbox, oldest first.
    pub async fn notices(&self) -> Vec<String> {
        self.mails()
            .await
            .into_iter()
            .filter(|text| text.starts_with("New sign-in to "))
            .collect()
    }

    /// The link and the code of the newest sign-in message (notices are passed over).
    pub async fn last_link_and_code(&self) -> (String, String) {
        let mails = self.mails().await;
        let sign_in = mails
            .iter()
            .rev()
            .find(|text| text.contains("code on the sign-in page: "))
            .expect("a sign-in message");
        link_and_code(sign_in)
    }
}

/// The link and the code in a message's text part.
pub fn link_and_code(text: &str) -> (String, String) {
    let link = text
        .lines()
        .find(|l| l.starts_with("http://"))
        .unwrap()
        .to_owned();
    let code = text
        .split("code on the sign-in page: ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    (link, code)
}

/// Waits until the server at `base` answers `/healthz` with 200, for at most 20 s.
pub async fn wait_until_healthy(base: &str) {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(20) {
        if let Ok(reply) = reqwest::get(format!("{base}/healthz")).await
            && reply.status() == StatusCode::OK
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server at {base} did not become ready");
}

/// The decoded plain-text part of a raw `.eml` message.
pub fn text_part(raw: &str) -> String {
    let text_part = raw.split("text/plain; charset=utf-8").nth(1).unwrap();
    let body = text_part.split("\r\n\r\n").nth(1).unwrap();
    let encoded: String = body.split("\r\n--").next().unwrap().replace("\r\n", "");
    String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap()
}

pub fn token_of(link: &str) -> String {
    let query = link.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().find(|(k, _)| k == "token").unwrap().1
}

pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}
