//! Signing in a second device from a signed-in one, over HTTP against the real server (on
//! SQLite and on the PostgreSQL at 127.0.0.1:5432), and the request's life in the store.

use magic_link_core::{
    client::ClientKey,
    entities::event::{self, EventKind},
    store::{Device, PollOutcome},
};
use reqwest::{StatusCode, header};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::support::{
    app::{Reply, TestApp, cookie_pair, spawn_app_on_postgres, spawn_app_with},
    noon, small_store as store,
};

const FIREFOX: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0";

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

/// A new device: its own cookie, its own `User-Agent`.
struct NewDevice<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
}

impl NewDevice<'_> {
    async fn post(&mut self, path: &str) -> Reply {
        let mut request = self
            .app
            .http
            .post(format!("{}{path}", self.app.base))
            .header(header::USER_AGENT, FIREFOX)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let reply = self.app.send(request).await;
        if let Some(set) = reply.cookie("device-sign-in") {
            self.cookie = Some(cookie_pair(&set));
        }
        reply
    }

    async fn start(&mut self) -> serde_json::Value {
        let reply = self.post("/api/auth/device-sign-in-start").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        json(&reply.body)
    }

    async fn poll(&mut self) -> Reply {
        self.post("/api/auth/device-sign-in-poll").await
    }
}

async fn preview(app: &TestApp, code: &str, cookie: Option<&str>) -> Reply {
    app.post("/api/auth/device-approval", &[("code", code)], cookie)
        .await
}

async fn approve(app: &TestApp, code: &str, number: &str, cookie: &str) -> Reply {
    app.post(
        "/api/auth/approve-device",
        &[("code", code), ("number", number)],
        Some(cookie),
    )
    .await
}

async fn events_of(db: &DatabaseConnection, email: &str, kind: EventKind) -> usize {
    event::Entity::find()
        .filter(event::Column::Email.eq(email))
        .filter(event::Column::Kind.eq(kind))
        .all(db)
        .await
        .unwrap()
        .len()
}

async fn every_rule(app: &TestApp) {
    let alice = app.sign_in("alice@example.com").await;
    let mut laptop = NewDevice { app, cookie: None };

    // The new device's request: a URL with its code, a QR code of it, and a number.
    let started = laptop.start().await;
    assert_eq!(started["state"], "waiting");
    let code = started["code"].as_str().unwrap().to_owned();
    let number = started["number"].as_u64().unwrap();
    assert!((10..=99).contains(&number));
    let url = started["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/approve?code={code}", app.base));
    let qr = started["qr_svg"].as_str().unwrap();
    assert!(qr.starts_with("<svg"), "{qr}");
    assert!(laptop.cookie.is_some());
    // Its page shows the same, and reads only.
    let page = laptop.post("/api/auth/device-sign-in").await;
    assert_eq!(json(&page.body)["number"], number);
    let waiting = laptop.poll().await;
    assert_eq!(json(&waiting.body)["state"], "waiting");

    // The signed-in device sees who asks, described from a fixed list, and three numbers.
    let unsigned = preview(app, &code, None).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    let shown = json(&preview(app, &code, Some(&alice)).await.body);
    assert_eq!(shown["device"], "Firefox on macOS");
    let choices: Vec<u64> = shown["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(choices.len(), 3);
    assert!(choices.contains(&number));
    // A code read aloud or typed in lower case is the same code.
    let typed = json(
        &preview(app, &code.to_lowercase().replace('-', " "), Some(&alice))
            .await
            .body,
    );
    assert_eq!(typed["choices"], shown["choices"]);

    // A stale session confirms first; a request from another site is refused; neither ends it.
    app.age_sessions("alice@example.com").await;
    let stale = approve(app, &code, &number.to_string(), &alice).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN, "{}", stale.body);
    assert_eq!(json(&stale.body)["fresh_sign_in_required"], true);
    let alice = app.sign_in("alice@example.com").await;
    let cross_site = app
        .send(
            app.form_request(
                "/api/auth/approve-device",
                &[("code", &code), ("number", &number.to_string())],
                "application/json",
                Some(&alice),
            )
            .header(header::ORIGIN, "https://evil.example")
            .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert_eq!(json(&laptop.poll().await.body)["state"], "waiting");

    // A wrong pick ends the request: the new device is told, and the code shows nothing more.
    let wrong = choices.iter().find(|&&n| n != number).unwrap();
    let refused = approve(app, &code, &wrong.to_string(), &alice).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        json(&refused.body)["error"]
            .as_str()
            .unwrap()
            .contains("not the number")
    );
    assert_eq!(json(&laptop.poll().await.body)["state"], "ended");
    assert_eq!(
        json(&preview(app, &code, Some(&alice)).await.body),
        serde_json::Value::Null
    );
    let late = approve(app, &code, &number.to_string(), &alice).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "{}", late.body);

    // Again, with the right number: the next poll signs the new device in as alice, once.
    let started = laptop.start().await;
    let code = started["code"].as_str().unwrap().to_owned();
    let number = started["number"].as_u64().unwrap().to_string();
    let (first, second) = tokio::join!(
        approve(app, &code, &number, &alice),
        approve(app, &code, &number, &alice)
    );
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::BAD_REQUEST],
        "one approval wins"
    );
    let signed_in = laptop.poll().await;
    assert_eq!(
        json(&signed_in.body)["state"],
        "signed_in",
        "{}",
        signed_in.body
    );
    assert_eq!(json(&signed_in.body)["redirect_to"], "/");
    let session = cookie_pair(&signed_in.cookie("session").expect("a session cookie"));
    let me = app.post("/api/auth/session", &[], Some(&session)).await;
    assert_eq!(json(&me.body)["email"], "alice@example.com");
    let mine = app.post("/api/auth/session", &[], Some(&alice)).await;
    assert_eq!(
        json(&me.body)["persistent_id"],
        json(&mine.body)["persistent_id"]
    );
    let again = laptop.poll().await;
    assert_ne!(json(&again.body)["state"], "signed_in");

    // The account's activity shows the approval, the refusal and the new sign-in.
    for kind in [
        EventKind::DeviceApproved,
        EventKind::DeviceRefused,
        EventKind::SignedInByApproval,
    ] {
        assert_eq!(
            events_of(&app.db, "alice@example.com", kind).await,
            1,
            "{kind:?}"
        );
    }
}

fn limits(config: &mut magic_link_core::AuthConfig) {
    config.rate_limit = 100;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_device_signs_in_by_approval_on_sqlite() {
    let app = spawn_app_with(limits).await;
    every_rule(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_device_signs_in_by_approval_on_postgresql() {
    let Some((app, database)) = spawn_app_on_postgres(limits).await else {
        return;
    };
    every_rule(&app).await;
    drop(app);
    database.finish().await;
}

/// Requests count against their client together with its sign-in links: one link and two
/// requests spend a limit of three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_requests_count_against_the_requester() {
    let app = spawn_app_with(|config| config.rate_limit = 3).await;
    let mut device = NewDevice {
        app: &app,
        cookie: None,
    };
    let sent = app
        .post("/api/auth/request", &[("email", "bob@example.com")], None)
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    device.start().await;
    device.start().await;
    let over = device.post("/api/auth/device-sign-in-start").await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
    let refused = app
        .post("/api/auth/request", &[("email", "bob@example.com")], None)
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
}

on_both_databases!(a_request_lives_two_minutes_and_dies_with_its_approver_s_sessions);

/// Past two minutes a request shows nothing and signs nobody in; an approved one not yet
/// picked up dies when the approving account signs out everywhere.
async fn a_request_lives_two_minutes_and_dies_with_its_approver_s_sessions(
    db: &DatabaseConnection,
) {
    let store = store(db);
    let client = ClientKey::of([192, 0, 2, 7].into(), 64);
    let device = Device::default();
    let email = magic_link_core::domain::Email::parse("carol@example.com").unwrap();
    let issued = store.issue(&email, &client, noon()).await.unwrap();
    let carol = store
        .redeem_link(&issued.token, &client, &device, noon())
        .await
        .unwrap()
        .session;

    let started = store
        .start_device_request(&client, &device, noon())
        .await
        .unwrap();
    let later = noon() + chrono::Duration::seconds(121);
    assert!(
        store
            .pending_device_request(&started.code, later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store
            .approve_device_request(&started.code, started.number, &carol, later)
            .await,
        Err(magic_link_core::store::ApproveError::InvalidOrExpired)
    ));
    assert!(matches!(
        store
            .poll_device_request(&started.poll, &client, &device, later)
            .await
            .unwrap(),
        PollOutcome::Ended
    ));

    let started = store
        .start_device_request(&client, &device, noon())
        .await
        .unwrap();
    store
        .approve_device_request(&started.code, started.number, &carol, noon())
        .await
        .unwrap();
    store.logout_all(&email, noon()).await.unwrap();
    assert!(matches!(
        store
            .poll_device_request(&started.poll, &client, &device, noon())
            .await
            .unwrap(),
        PollOutcome::Ended
    ));
}
