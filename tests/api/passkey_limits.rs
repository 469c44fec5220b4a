//! Passkeys' limits and the binding of each ceremony to its purpose and owner, over HTTP
//! against the real server with the software authenticator: how many passkeys an address
//! may have, how much one ceremony stores, how many unfinished ceremonies one session may
//! hold, and that a handle finishes only the ceremony, and the session, it was started for.

use magic_link_core::{
    entities::{passkey, passkey_challenge},
    secrets::token_hash,
    service::passkeys::LIVE_CEREMONIES_PER_SESSION,
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};

use crate::{
    passkeys::{json, origin, register, sessions, start},
    support::{
        app::{Reply, TestApp, spawn_app_on, spawn_app_with},
        authenticator::{Bend, SoftAuthenticator},
    },
};

const EXPIRED: &str = "This passkey request has expired or was already used. Please try again.";
const TOO_MANY: &str = "Too many attempts. Please try again later.";
const REGISTER_START: &str = "/api/auth/passkey-register-start";
const CONFIRM_START: &str = "/api/auth/passkey-confirm-start";

/// The app on `localhost` (a relying party WebAuthn accepts), with at most `limit` passkeys
/// per address.
async fn spawn_with_limit(limit: u32) -> TestApp {
    spawn_app_with(|config| {
        config.public_url = config.public_url.replace("127.0.0.1", "localhost");
        config.passkeys_per_address = limit;
    })
    .await
}

async fn passkeys(app: &TestApp) -> u64 {
    passkey::Entity::find().count(&app.db).await.unwrap()
}

async fn ceremonies(app: &TestApp) -> u64 {
    passkey_challenge::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}

/// Finishes the registration behind `handle` with `authenticator`'s answer to `options`.
async fn finish_register(
    app: &TestApp,
    cookie: &str,
    handle: &str,
    options: &str,
    authenticator: &mut SoftAuthenticator,
) -> Reply {
    let credential = authenticator.register(options, &origin(app), &Bend::default());
    app.post(
        "/api/auth/passkey-register-finish",
        &[
            ("handle", handle),
            ("name", "Key"),
            ("credential", &credential),
        ],
        Some(cookie),
    )
    .await
}

/// Posts `handle` and `credential` to the finish of a sign-in, or of a confirmation.
async fn finish(
    app: &TestApp,
    path: &str,
    handle: &str,
    credential: &str,
    cookie: Option<&str>,
) -> Reply {
    app.post(
        path,
        &[("handle", handle), ("credential", credential)],
        cookie,
    )
    .await
}

/// The size of the state stored for the ceremony behind `handle`.
async fn state_size(app: &TestApp, handle: &str) -> usize {
    passkey_challenge::Entity::find()
        .filter(passkey_challenge::Column::HandleHash.eq(token_hash(handle)))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the ceremony is stored")
        .state
        .len()
}

fn limit_message(have: u32, limit: u32) -> String {
    format!(
        "You have {have} passkeys, and an account may have at most {limit}: delete one to add another."
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_has_at_most_its_passkey_limit_even_when_ceremonies_finish_together() {
    let app = spawn_with_limit(3).await;
    let cookie = app.sign_in("alice@example.com").await;
    for n in 0..2 {
        register(
            &app,
            &cookie,
            &mut SoftAuthenticator::new(&format!("key {n}")),
            "Key",
        )
        .await;
    }
    // Two ceremonies for the last place, started while it was free, finished together.
    let (first, first_options) = start(&app, REGISTER_START, Some(&cookie)).await;
    let (second, second_options) = start(&app, REGISTER_START, Some(&cookie)).await;
    let mut third = SoftAuthenticator::new("key 2");
    let mut fourth = SoftAuthenticator::new("key 3");
    let (a, b) = tokio::join!(
        finish_register(&app, &cookie, &first, &first_options, &mut third),
        finish_register(&app, &cookie, &second, &second_options, &mut fourth),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} / {}",
        a.body,
        b.body
    );
    let refused = if a.status == StatusCode::CONFLICT {
        a
    } else {
        b
    };
    assert_eq!(json(&refused.body)["error"], limit_message(3, 3));
    assert_eq!(passkeys(&app).await, 3);

    // At the limit, a new registration is refused before it starts, and writes nothing.
    let before = ceremonies(&app).await;
    let early = app.post(REGISTER_START, &[], Some(&cookie)).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert_eq!(json(&early.body)["error"], limit_message(3, 3));
    assert_eq!(ceremonies(&app).await, before);

    // Deleting one makes room again.
    let listed = json(
        &app.post("/api/auth/passkeys", &[], Some(&cookie))
            .await
            .body,
    );
    let id = listed[0]["id"].to_string();
    let deleted = app
        .post("/api/auth/passkey-delete", &[("id", &id)], Some(&cookie))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    register(&app, &cookie, &mut SoftAuthenticator::new("key 4"), "Key").await;
    assert_eq!(passkeys(&app).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceremony_lists_no_more_passkeys_than_the_limit_even_after_it_is_lowered() {
    // Five passkeys added under a limit of 5; then the limit is lowered to 2 (the same
    // database, served again).
    let roomy = spawn_with_limit(5).await;
    let cookie = roomy.sign_in("bob@example.com").await;
    let mut keys: Vec<SoftAuthenticator> = (0..5)
        .map(|n| SoftAuthenticator::new(&format!("bob {n}")))
        .collect();
    for key in &mut keys {
        register(&roomy, &cookie, key, "Key").await;
    }
    let (roomy_handle, options) = start(&roomy, CONFIRM_START, Some(&cookie)).await;
    let listed = |options: &str| {
        json(options)["publicKey"]["allowCredentials"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(listed(&options), 5);

    let outbox = roomy.outbox.clone();
    let strict = spawn_app_on(roomy.db.clone(), outbox, |config| {
        config.public_url = config.public_url.replace("127.0.0.1", "localhost");
        config.passkeys_per_address = 2;
    })
    .await;
    let cookie = strict.sign_in("bob@example.com").await;
    let (handle, options) = start(&strict, CONFIRM_START, Some(&cookie)).await;
    assert_eq!(listed(&options), 2, "{options}");
    // The stored state lists the same two: well under half the five's.
    let (five, two) = (
        state_size(&roomy, &roomy_handle).await,
        state_size(&strict, &handle).await,
    );
    assert!(
        two * 2 < five,
        "{two} bytes for two passkeys, {five} for five"
    );

    // The oldest passkey confirms; no more can be added until three are deleted.
    let credential = keys[0].assert(&options, &origin(&strict), &Bend::default());
    let confirmed = finish(
        &strict,
        "/api/auth/passkey-confirm-finish",
        &handle,
        &credential,
        Some(&cookie),
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let refused = strict.post(REGISTER_START, &[], Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(json(&refused.body)["error"], limit_message(5, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_holds_a_few_unfinished_ceremonies_and_nobody_else_is_refused() {
    let app = spawn_with_limit(20).await;
    let cookie = app.sign_in("carol@example.com").await;
    let other = app.sign_in("carol@example.com").await;
    register(&app, &cookie, &mut SoftAuthenticator::new("carol"), "Key").await;

    // Registrations and confirmations share the cap.
    let confirmations = LIVE_CEREMONIES_PER_SESSION / 2;
    for n in 0..LIVE_CEREMONIES_PER_SESSION {
        let path = if n < confirmations {
            CONFIRM_START
        } else {
            REGISTER_START
        };
        start(&app, path, Some(&cookie)).await;
    }
    let before = ceremonies(&app).await;
    for path in [REGISTER_START, CONFIRM_START] {
        let refused = app.post(path, &[], Some(&cookie)).await;
        assert_eq!(
            refused.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{path}: {}",
            refused.body
        );
        assert_eq!(json(&refused.body)["error"], TOO_MANY, "{path}");
    }
    assert_eq!(
        ceremonies(&app).await,
        before,
        "the refused starts wrote nothing"
    );

    // The same person's other browser, and a passkey sign-in from this client, go on.
    start(&app, REGISTER_START, Some(&other)).await;
    start(&app, CONFIRM_START, Some(&other)).await;
    start(&app, "/api/auth/passkey-sign-in-start", None).await;

    // Once the unfinished ceremonies expire (5 minutes), this session may start again.
    passkey_challenge::Entity::update_many()
        .col_expr(
            passkey_challenge::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(passkey_challenge::Column::Email.eq("carol@example.com"))
        .exec(&app.db)
        .await
        .unwrap();
    start(&app, REGISTER_START, Some(&cookie)).await;
    start(&app, CONFIRM_START, Some(&cookie)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_finishes_only_its_own_ceremony_and_is_left_for_it() {
    let app = spawn_with_limit(20).await;
    let cookie = app.sign_in("dana@example.com").await;
    let mut key = SoftAuthenticator::new("dana");
    register(&app, &cookie, &mut key, "Key").await;
    let sign_in_finish = "/api/auth/passkey-sign-in-finish";
    let confirm_finish = "/api/auth/passkey-confirm-finish";

    // A confirmation's handle, answered with the passkey, signs nobody in ...
    let before = sessions(&app).await;
    let (handle, options) = start(&app, CONFIRM_START, Some(&cookie)).await;
    let answer = key.assert(&options, &origin(&app), &Bend::default());
    let refused = finish(&app, sign_in_finish, &handle, &answer, None).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(json(&refused.body)["error"], EXPIRED);
    assert!(refused.cookie("session").is_none());
    assert_eq!(sessions(&app).await, before);
    // ... and still confirms the session that started it.
    let confirmed = finish(&app, confirm_finish, &handle, &answer, Some(&cookie)).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);

    // A registration's handle signs nobody in either, and still adds the passkey.
    let (handle, options) = start(&app, REGISTER_START, Some(&cookie)).await;
    let localhost = Bend {
        rp_id: Some("localhost".into()),
        ..Bend::default()
    };
    let answer = key.assert(&options, &origin(&app), &localhost);
    let refused = finish(&app, sign_in_finish, &handle, &answer, None).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(json(&refused.body)["error"], EXPIRED);
    let mut tablet = SoftAuthenticator::new("dana's tablet");
    let added = finish_register(&app, &cookie, &handle, &options, &mut tablet).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);

    // A sign-in's handle neither confirms a session nor adds a passkey, and still signs in.
    let (handle, options) = start(&app, "/api/auth/passkey-sign-in-start", None).await;
    let answer = key.assert(&options, &origin(&app), &Bend::default());
    let refused = finish(&app, confirm_finish, &handle, &answer, Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(json(&refused.body)["error"], EXPIRED);
    let mut phone = SoftAuthenticator::new("dana's phone");
    let refused = finish_register(&app, &cookie, &handle, &options_for_create(), &mut phone).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(json(&refused.body)["error"], EXPIRED);
    assert_eq!(passkeys(&app).await, 2);
    let signed_in = finish(&app, sign_in_finish, &handle, &answer, None).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
}

/// Creation options of no ceremony, for answering a handle that is not a registration's:
/// the server refuses the handle before it reads the answer.
fn options_for_create() -> String {
    serde_json::json!({
        "publicKey": {
            "challenge": "AAAAAAAAAAAAAAAAAAAAAA",
            "rp": { "id": "localhost", "name": "localhost" },
            "user": { "id": "AAAAAAAAAAAAAAAAAAAAAA", "name": "x", "displayName": "x" },
        }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sessions_handle_is_refused_and_left_for_its_session() {
    let app = spawn_with_limit(20).await;
    let mine = app.sign_in("erin@example.com").await;
    let same_person_elsewhere = app.sign_in("erin@example.com").await;
    let mallory = app.sign_in("mallory@example.com").await;
    let mut key = SoftAuthenticator::new("erin");
    register(&app, &mine, &mut key, "Key").await;
    register(
        &app,
        &mallory,
        &mut SoftAuthenticator::new("mallory"),
        "Key",
    )
    .await;

    // A registration started here is finished by no other session, not even the same
    // address's; then here it is.
    let (handle, options) = start(&app, REGISTER_START, Some(&mine)).await;
    let mut tablet = SoftAuthenticator::new("erin's tablet");
    for other in [&same_person_elsewhere, &mallory] {
        let refused = finish_register(&app, other, &handle, &options, &mut tablet).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert_eq!(json(&refused.body)["error"], EXPIRED);
    }
    assert_eq!(passkeys(&app).await, 2);
    let added = finish_register(&app, &mine, &handle, &options, &mut tablet).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);

    // A confirmation started here confirms no other session; then it confirms this one.
    app.age_sessions("erin@example.com").await;
    let (handle, options) = start(&app, CONFIRM_START, Some(&mine)).await;
    let answer = key.assert(&options, &origin(&app), &Bend::default());
    for other in [&same_person_elsewhere, &mallory] {
        let refused = finish(
            &app,
            "/api/auth/passkey-confirm-finish",
            &handle,
            &answer,
            Some(other),
        )
        .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert_eq!(json(&refused.body)["error"], EXPIRED);
    }
    let still_stale = app
        .post("/api/auth/logout-all", &[], Some(&same_person_elsewhere))
        .await;
    assert_eq!(
        still_stale.status,
        StatusCode::FORBIDDEN,
        "{}",
        still_stale.body
    );
    let confirmed = confirm_with(&app, &mine, &handle, &answer).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let fresh = app.post("/api/auth/logout-all", &[], Some(&mine)).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
}

async fn confirm_with(app: &TestApp, cookie: &str, handle: &str, answer: &str) -> Reply {
    finish(
        app,
        "/api/auth/passkey-confirm-finish",
        handle,
        answer,
        Some(cookie),
    )
    .await
}
