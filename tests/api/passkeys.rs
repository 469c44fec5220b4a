//! Passkeys over HTTP against the real server, with a software authenticator holding a real
//! P-256 key: adding one after a link, signing in with it, and every way an answer can be
//! wrong. The server is at `http://localhost:PORT`, as browsers require a domain for the
//! relying party.

use magic_link_core::entities::{passkey, passkey_challenge, session};
use reqwest::{StatusCode, header};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;

use crate::support::{
    app::{TestApp, cookie_pair, spawn_app_with},
    authenticator::{Bend, SoftAuthenticator},
};

/// The app with its public URL on `localhost`, which WebAuthn accepts as a relying party.
pub(crate) async fn spawn() -> TestApp {
    spawn_app_with(|config| {
        config.public_url = config.public_url.replace("127.0.0.1", "localhost");
    })
    .await
}

pub(crate) fn origin(app: &TestApp) -> String {
    app.base.replace("127.0.0.1", "localhost")
}

/// The page without its islands' props (`data-props="…"`), so what is counted is what shows.
fn without_island_props(html: &str) -> String {
    let mut rest = html;
    let mut out = String::new();
    while let Some(start) = rest.find(r#"data-props=""#) {
        out.push_str(&rest[..start]);
        let after = &rest[start + r#"data-props=""#.len()..];
        rest = after.find('"').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out
}

pub(crate) fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|err| panic!("{err}: {body}"))
}

/// Starts a ceremony at `path`; returns the handle and the options.
pub(crate) async fn start(app: &TestApp, path: &str, cookie: Option<&str>) -> (String, String) {
    let reply = app.post(path, &[], cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    let started = json(&reply.body);
    (
        started["handle"].as_str().unwrap().to_owned(),
        started["options"].as_str().unwrap().to_owned(),
    )
}

/// Adds `authenticator`'s passkey to the address signed in as `cookie`.
pub(crate) async fn register(
    app: &TestApp,
    cookie: &str,
    authenticator: &mut SoftAuthenticator,
    name: &str,
) -> Value {
    let (handle, options) = start(app, "/api/auth/passkey-register-start", Some(cookie)).await;
    let credential = authenticator.register(&options, &origin(app), &Bend::default());
    let reply = app
        .post(
            "/api/auth/passkey-register-finish",
            &[
                ("handle", &handle),
                ("name", name),
                ("credential", &credential),
            ],
            Some(cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    json(&reply.body)
}

/// Answers a fresh sign-in ceremony with `authenticator`, bent by `bend`.
async fn sign_in(
    app: &TestApp,
    authenticator: &mut SoftAuthenticator,
    bend: &Bend,
) -> crate::support::app::Reply {
    let (handle, options) = start(app, "/api/auth/passkey-sign-in-start", None).await;
    let credential = authenticator.assert(&options, &origin(app), bend);
    app.post(
        "/api/auth/passkey-sign-in-finish",
        &[
            ("handle", &handle),
            ("credential", &credential),
            ("redir", "/dashboard"),
        ],
        None,
    )
    .await
}

pub(crate) async fn sessions(app: &TestApp) -> u64 {
    session::Entity::find().count(&app.db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_added_after_a_link_signs_in_without_an_email() {
    let app = spawn().await;
    let cookie = app.sign_in("alice@example.com").await;
    let mut laptop = SoftAuthenticator::new("laptop");
    let added = register(&app, &cookie, &mut laptop, "  Laptop  ").await;
    assert_eq!(added["name"], "Laptop");
    assert_eq!(added["last_used"], Value::Null);

    // The user handle given to the authenticator is random: not the address, nor its hash.
    assert_eq!(laptop.user_handle.len(), 16);
    let handle_text = String::from_utf8_lossy(&laptop.user_handle).to_string();
    assert!(!handle_text.contains("alice"));
    let listed = json(
        &app.post("/api/auth/passkeys", &[], Some(&cookie))
            .await
            .body,
    );
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Sign in with it, as a new browser: no email goes out.
    let mails_before = app.mails().await.len();
    let signed_in = sign_in(&app, &mut laptop, &Bend::default()).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert_eq!(json(&signed_in.body)["redirect_to"], "/dashboard");
    let set_cookie = signed_in.cookie("session").expect("a session cookie");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let new_session = cookie_pair(&set_cookie);
    let who = app.post("/api/auth/session", &[], Some(&new_session)).await;
    assert_eq!(json(&who.body)["email"], "alice@example.com");
    assert_eq!(
        app.mails().await.len(),
        mails_before,
        "no email for a passkey sign-in"
    );

    // It shows on the sessions page, and the passkey shows its use.
    let listed = json(
        &app.post("/api/auth/sessions", &[], Some(&new_session))
            .await
            .body,
    );
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let listed = json(
        &app.post("/api/auth/passkeys", &[], Some(&cookie))
            .await
            .body,
    );
    assert!(listed[0]["last_used"].is_string());

    // Rename, then delete: afterwards it signs nobody in.
    let id = added["id"].to_string();
    let renamed = app
        .post(
            "/api/auth/passkey-rename",
            &[("id", &id), ("name", "Work laptop")],
            Some(&cookie),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let listed = json(
        &app.post("/api/auth/passkeys", &[], Some(&cookie))
            .await
            .body,
    );
    assert_eq!(listed[0]["name"], "Work laptop");
    let deleted = app
        .post("/api/auth/passkey-delete", &[("id", &id)], Some(&cookie))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let before = sessions(&app).await;
    let refused = sign_in(&app, &mut laptop, &Bend::default()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(
        json(&refused.body)["error"],
        "This passkey is not registered."
    );
    assert_eq!(sessions(&app).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_cloned_and_misdirected_answers_are_refused_with_a_400() {
    let app = spawn().await;
    let cookie = app.sign_in("bob@example.com").await;
    let mut phone = SoftAuthenticator::new("phone");
    register(&app, &cookie, &mut phone, "Phone").await;
    let before = sessions(&app).await;

    // Another origin, another relying party: refused.
    let other_origin = Bend {
        origin: Some("http://evil.example".into()),
        ..Bend::default()
    };
    let other_rp = Bend {
        rp_id: Some("evil.example".into()),
        ..Bend::default()
    };
    for bend in [other_origin, other_rp] {
        let reply = sign_in(&app, &mut phone, &bend).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bend:?}: {}",
            reply.body
        );
        assert_eq!(
            json(&reply.body)["error"],
            "The passkey could not be verified."
        );
    }

    // A replayed answer: the same handle again, or the same answer to a new challenge.
    let (handle, options) = start(&app, "/api/auth/passkey-sign-in-start", None).await;
    let credential = phone.assert(&options, &origin(&app), &Bend::default());
    let first = app
        .post(
            "/api/auth/passkey-sign-in-finish",
            &[("handle", &handle), ("credential", &credential)],
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = app
        .post(
            "/api/auth/passkey-sign-in-finish",
            &[("handle", &handle), ("credential", &credential)],
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    let (fresh, _) = start(&app, "/api/auth/passkey-sign-in-start", None).await;
    let replayed = app
        .post(
            "/api/auth/passkey-sign-in-finish",
            &[("handle", &fresh), ("credential", &credential)],
            None,
        )
        .await;
    assert_eq!(
        replayed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        replayed.body
    );

    // A cloned authenticator: its counter is behind the one last seen.
    phone.counter -= 2;
    let cloned = sign_in(&app, &mut phone, &Bend::default()).await;
    assert_eq!(cloned.status, StatusCode::BAD_REQUEST, "{}", cloned.body);
    assert_eq!(
        sessions(&app).await,
        before + 1,
        "only the one honest sign-in"
    );

    // A registration answered for another origin adds nothing.
    let mut tablet = SoftAuthenticator::new("tablet");
    let (handle, options) = start(&app, "/api/auth/passkey-register-start", Some(&cookie)).await;
    let bent = Bend {
        origin: Some("https://evil.example".into()),
        ..Bend::default()
    };
    let credential = tablet.register(&options, &origin(&app), &bent);
    let reply = app
        .post(
            "/api/auth/passkey-register-finish",
            &[
                ("handle", &handle),
                ("name", "Tablet"),
                ("credential", &credential),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(passkey::Entity::find().count(&app.db).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_belong_to_their_address_and_need_a_session() {
    let app = spawn().await;
    let alice = app.sign_in("alice@example.com").await;
    let mallory = app.sign_in("mallory@example.com").await;
    let mut key = SoftAuthenticator::new("alice's key");
    let added = register(&app, &alice, &mut key, "Key").await;
    let id = added["id"].to_string();

    let listed = json(
        &app.post("/api/auth/passkeys", &[], Some(&mallory))
            .await
            .body,
    );
    assert_eq!(listed, Value::Array(vec![]));
    for (path, form) in [
        (
            "/api/auth/passkey-rename",
            vec![("id", id.as_str()), ("name", "mine")],
        ),
        ("/api/auth/passkey-delete", vec![("id", id.as_str())]),
    ] {
        let reply = app.post(path, &form, Some(&mallory)).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
    }
    let listed = json(&app.post("/api/auth/passkeys", &[], Some(&alice)).await.body);
    assert_eq!(listed[0]["name"], "Key");

    // Without JavaScript, the refusal goes back to the passkeys card alone, not to every
    // card on the account page.
    let refused = app
        .post_plain_form(
            "/api/auth/passkey-rename",
            &[("id", id.as_str()), ("name", "mine")],
            Some(&mallory),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FOUND, "{}", refused.body);
    let location = refused.headers[header::LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("/account?passkey_error="),
        "{location}"
    );
    let page = app.get_as(location, &mallory).await;
    // Once on the page: the passkey list is an island, whose props carry the same text.
    assert_eq!(
        without_island_props(&page.body)
            .matches("That passkey is not registered.")
            .count(),
        1,
        "{}",
        page.body
    );

    // Signed out: every passkey management call is a 401.
    for path in [
        "/api/auth/passkeys",
        "/api/auth/passkey-register-start",
        "/api/auth/passkey-register-finish",
        "/api/auth/passkey-rename",
        "/api/auth/passkey-delete",
    ] {
        let reply = app.post(path, &[("id", id.as_str())], None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{path}: {}",
            reply.body
        );
    }

    // A registration started by one address cannot be finished by another.
    let (handle, options) = start(&app, "/api/auth/passkey-register-start", Some(&alice)).await;
    let mut other = SoftAuthenticator::new("mallory's key");
    let credential = other.register(&options, &origin(&app), &Bend::default());
    let reply = app
        .post(
            "/api/auth/passkey-register-finish",
            &[
                ("handle", &handle),
                ("name", "x"),
                ("credential", &credential),
            ],
            Some(&mallory),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(passkey::Entity::find().count(&app.db).await.unwrap(), 1);

    // The same authenticator twice: the second is refused.
    let (handle, options) = start(&app, "/api/auth/passkey-register-start", Some(&alice)).await;
    let credential = key.register(&options, &origin(&app), &Bend::default());
    let reply = app
        .post(
            "/api/auth/passkey-register-finish",
            &[
                ("handle", &handle),
                ("name", "again"),
                ("credential", &credential),
            ],
            Some(&alice),
        )
        .await;
    assert!(
        reply.status.is_client_error(),
        "{}: {}",
        reply.status,
        reply.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_calls_from_another_site_are_refused() {
    let app = spawn().await;
    let cookie = app.sign_in("carol@example.com").await;
    for path in [
        "/api/auth/passkey-register-start",
        "/api/auth/passkey-sign-in-start",
        "/api/auth/passkey-sign-in-finish",
        "/api/auth/passkey-delete",
    ] {
        let reply = app
            .send(
                app.http
                    .post(format!("{}{path}", app.base))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "application/json")
                    .header(header::ORIGIN, "https://evil.example")
                    .header("sec-fetch-site", "cross-site")
                    .header(header::COOKIE, &cookie)
                    .body("id=1"),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            reply.body
        );
    }
    assert_eq!(
        passkey_challenge::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_are_off_when_the_public_url_is_an_ip_address() {
    // The default test app is at http://127.0.0.1:PORT: no relying party can be made.
    let app = spawn_app_with(|_| {}).await;
    let reply = app.post("/api/auth/passkey-sign-in-start", &[], None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert_eq!(
        json(&reply.body)["error"],
        "Passkeys are not available on this site."
    );
}

/// Confirms the session behind `cookie` with `authenticator`'s answer.
pub(crate) async fn confirm(
    app: &TestApp,
    cookie: &str,
    authenticator: &mut SoftAuthenticator,
) -> crate::support::app::Reply {
    let (handle, options) = start(app, "/api/auth/passkey-confirm-start", Some(cookie)).await;
    let credential = authenticator.assert(&options, &origin(app), &Bend::default());
    app.post(
        "/api/auth/passkey-confirm-finish",
        &[("handle", &handle), ("credential", &credential)],
        Some(cookie),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_actions_need_a_fresh_sign_in_and_a_passkey_confirms_it() {
    let app = spawn().await;
    let cookie = app.sign_in("dana@example.com").await;
    let other = app.sign_in("dana@example.com").await;
    let mut key = SoftAuthenticator::new("dana's key");
    let added = register(&app, &cookie, &mut key, "Key").await;
    let id = added["id"].to_string();
    app.age_sessions("dana@example.com").await;

    let sessions_list = json(
        &app.post("/api/auth/sessions", &[], Some(&cookie))
            .await
            .body,
    );
    let other_id = sessions_list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .to_string();
    // Stale: each sensitive action is a 403 that asks to confirm, and changes nothing.
    for (path, form) in [
        ("/api/auth/passkey-register-start", vec![]),
        ("/api/auth/passkey-delete", vec![("id", id.as_str())]),
        ("/api/auth/logout-all", vec![]),
        ("/api/auth/end-session", vec![("id", other_id.as_str())]),
    ] {
        let reply = app.post(path, &form, Some(&cookie)).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            reply.body
        );
        assert_eq!(json(&reply.body)["fresh_sign_in_required"], true, "{path}");
    }
    assert_eq!(passkey::Entity::find().count(&app.db).await.unwrap(), 1);
    let who = app.post("/api/auth/session", &[], Some(&other)).await;
    assert_eq!(
        json(&who.body)["email"],
        "dana@example.com",
        "the other session lives"
    );
    // Not sensitive: renaming, and signing this browser out.
    let renamed = app
        .post(
            "/api/auth/passkey-rename",
            &[("id", &id), ("name", "Old key")],
            Some(&cookie),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);

    // Another address's passkey cannot confirm this session.
    let stranger = app.sign_in("erin@example.com").await;
    let mut erins = SoftAuthenticator::new("erin's key");
    register(&app, &stranger, &mut erins, "Erin's").await;
    let reply = confirm(&app, &cookie, &mut erins).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let still = app.post("/api/auth/logout-all", &[], Some(&cookie)).await;
    assert_eq!(still.status, StatusCode::FORBIDDEN);

    // Confirmed with its own passkey, the session may act again.
    let reply = confirm(&app, &cookie, &mut key).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let ended = app
        .post("/api/auth/end-session", &[("id", &other_id)], Some(&cookie))
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    let deleted = app
        .post("/api/auth/passkey-delete", &[("id", &id)], Some(&cookie))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);

    // With no passkey left, a fresh code by email is the way to confirm: a new sign-in.
    app.age_sessions("dana@example.com").await;
    let refused = app
        .post("/api/auth/passkey-confirm-start", &[], Some(&cookie))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let sent = app
        .post(
            "/api/auth/request",
            &[("email", "dana@example.com")],
            Some(&cookie),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let (_, code) = app.last_link_and_code().await;
    let confirmed = app
        .post(
            "/api/auth/verify-code",
            &[("email", "dana@example.com"), ("code", &code)],
            Some(&cookie),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let fresh = cookie_pair(&confirmed.cookie("session").unwrap());
    let everywhere = app.post("/api/auth/logout-all", &[], Some(&fresh)).await;
    assert_eq!(everywhere.status, StatusCode::OK, "{}", everywhere.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_fill_the_table_with_sign_in_ceremonies_and_others_are_unaffected() {
    use magic_link_core::{client::TrustedProxies, service::passkeys::LIVE_SIGN_INS_PER_CLIENT};
    let app = spawn_app_with(|config| {
        config.public_url = config.public_url.replace("127.0.0.1", "localhost");
        config.trusted_proxies = TrustedProxies::parse_list("127.0.0.1").unwrap();
    })
    .await;
    let start_from = |ip: &'static str| {
        app.send(
            app.http
                .post(format!("{}/api/auth/passkey-sign-in-start", app.base))
                .header(header::ACCEPT, "application/json")
                .header("x-forwarded-for", ip),
        )
    };
    for _ in 0..LIVE_SIGN_INS_PER_CLIENT {
        assert_eq!(start_from("203.0.113.7").await.status, StatusCode::OK);
    }
    let refused = start_from("203.0.113.7").await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert_eq!(
        passkey_challenge::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        LIVE_SIGN_INS_PER_CLIENT,
        "the refused start wrote nothing"
    );
    assert_eq!(
        start_from("198.51.100.9").await.status,
        StatusCode::OK,
        "another client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_stale_once_fresh_seconds_have_passed() {
    let app = spawn_app_with(|config| {
        config.fresh_for = std::time::Duration::from_secs(1);
    })
    .await;
    let cookie = app.sign_in("frank@example.com").await;
    // Past the second, whatever the machine's speed: stale, and refused.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let refused = app.post("/api/auth/logout-all", &[], Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let reply = json(&refused.body);
    assert_eq!(reply["fresh_sign_in_required"], true);
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("confirm it's you"),
        "{reply}"
    );
    let who = app.post("/api/auth/session", &[], Some(&cookie)).await;
    assert_eq!(
        json(&who.body)["email"],
        "frank@example.com",
        "still signed in"
    );
    // Signing this browser out is never refused.
    let out = app.post("/api/auth/logout", &[], Some(&cookie)).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pages_with_passkeys_render_on_the_server_again_and_again() {
    // Server rendering moves between worker threads: a value tied to one thread would panic
    // when dropped on another, and the page would never arrive.
    let app = spawn().await;
    let cookie = app.sign_in("grace@example.com").await;
    for _ in 0..20 {
        let login = app.get("/").await;
        assert_eq!(login.status, StatusCode::OK);
        assert!(
            login.body.contains(r#"autocomplete="username webauthn""#),
            "{}",
            login.body
        );
        let account = app
            .send(
                app.http
                    .get(format!("{}/account", app.base))
                    .header(header::COOKIE, &cookie),
            )
            .await;
        assert_eq!(account.status, StatusCode::OK);
        assert!(account.body.contains("Passkeys"), "{}", account.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_sign_in_tells_the_hook_its_method() {
    use std::sync::{Arc, Mutex};

    use magic_link_core::{
        AuthConfig, AuthService, client::Client, hooks::HookFuture,
        mail::recording::RecordingMailer, store::Device,
    };

    use app::auth::{AuthHooks, SignInMethod, SignedInEvent};

    #[derive(Default)]
    struct Recorder(Mutex<Vec<SignInMethod>>);
    impl AuthHooks for Recorder {
        fn signed_in<'a>(&'a self, event: &'a SignedInEvent) -> HookFuture<'a> {
            self.0.lock().unwrap().push(event.method);
            Box::pin(std::future::ready(Ok(())))
        }
    }

    let db = crate::support::TestDb::sqlite().await;
    let config = AuthConfig {
        public_url: "http://localhost:3000".to_owned(),
        ..AuthConfig::default()
    };
    let recorder = Arc::new(Recorder::default());
    let service = AuthService::builder(db.db.clone(), config)
        .mailer(Arc::new(RecordingMailer::default()))
        .hooks(recorder.clone())
        .build()
        .unwrap();
    let email = app::auth::Email::parse("heidi@example.com").unwrap();
    let now = chrono::Utc::now();
    // A real session: a passkey is added only while the session adding it lives.
    let requester = magic_link_core::client::ClientKey::of([192, 0, 2, 1].into(), 64);
    let issued = service
        .store()
        .issue(&email, &requester, now)
        .await
        .unwrap();
    let session = service
        .store()
        .redeem_link(&issued.token, &requester, &Device::default(), now)
        .await
        .unwrap()
        .session;
    let origin = "http://localhost:3000";
    let mut key = SoftAuthenticator::new("heidi");
    let started = service.start_passkey_registration(&session).await.unwrap();
    let options = serde_json::to_string(&started.options).unwrap();
    let answer = key.register(&options, origin, &Bend::default());
    service
        .finish_passkey_registration(&session, &started.handle, "Key", &answer)
        .await
        .unwrap();

    let client = Client::new("203.0.113.5".parse().unwrap(), 64);
    let started = service.start_passkey_sign_in(&client).await.unwrap();
    let options = serde_json::to_string(&started.options).unwrap();
    let answer = key.assert(&options, origin, &Bend::default());
    let signed_in = service
        .finish_passkey_sign_in(&started.handle, &answer, &client, &Device::default())
        .await
        .unwrap();
    assert_eq!(signed_in.session.email.as_str(), "heidi@example.com");
    assert_eq!(*recorder.0.lock().unwrap(), vec![SignInMethod::Passkey]);
    db.finish().await;
}
