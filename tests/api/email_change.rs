//! Changing an account's address, over HTTP against the real server, on SQLite and on the
//! PostgreSQL at 127.0.0.1:5432: the link to the new address, the undo link to the old one,
//! the refusals, and a race with a deletion.

use app::users::user;
use magic_link_core::entities::{account, event, passkey, session};
use reqwest::{StatusCode, header};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::app::{TestApp, spawn_app_on_postgres, spawn_app_with, token_of};

const OLD: &str = "alice@example.com";
const NEW: &str = "alice@new.example";

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

/// The link in a message's text.
fn link_in(text: &str) -> String {
    text.lines()
        .find(|line| line.starts_with("http://"))
        .expect("a link")
        .to_owned()
}

/// The persistent id the session behind `cookie` reports.
async fn persistent_id(app: &TestApp, cookie: &str) -> String {
    let reply = app.post("/api/auth/session", &[], Some(cookie)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    json(&reply.body)["persistent_id"]
        .as_str()
        .expect("a session")
        .to_owned()
}

async fn session_email(app: &TestApp, cookie: &str) -> Option<String> {
    let reply = app.post("/api/auth/session", &[], Some(cookie)).await;
    json(&reply.body)["email"].as_str().map(str::to_owned)
}

async fn rows_of(db: &DatabaseConnection, address: &str) -> u64 {
    session::Entity::find()
        .filter(session::Column::Email.eq(address))
        .count(db)
        .await
        .unwrap()
        + account::Entity::find()
            .filter(account::Column::Email.eq(address))
            .count(db)
            .await
            .unwrap()
}

async fn user_email(db: &DatabaseConnection, persistent_id: &str) -> Option<String> {
    user::Entity::find()
        .filter(user::Column::PersistentId.eq(persistent_id))
        .one(db)
        .await
        .unwrap()
        .map(|row| row.email.to_string())
}

async fn change(app: &TestApp, cookie: Option<&str>, to: &str) -> crate::support::app::Reply {
    app.post("/api/auth/change-email", &[("email", to)], cookie)
        .await
}

/// The whole change of address, and its undo, as one person and the server see it.
async fn a_change_of_address_moves_the_account_and_the_old_address_can_move_it_back(app: &TestApp) {
    let laptop = app.sign_in(OLD).await;
    let phone = app.sign_in(OLD).await;
    let id = persistent_id(app, &laptop).await;
    assert_eq!(
        id,
        magic_link_core::domain::PersistentId::for_email(
            &magic_link_core::domain::Email::parse(OLD).unwrap()
        )
        .to_string(),
        "a new account keeps the original's id"
    );

    // Signed out: nothing to change. Stale: confirm first. Nothing is mailed either way.
    assert_eq!(
        change(app, None, NEW).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.age_sessions(OLD).await;
    let stale = change(app, Some(&laptop), NEW).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN, "{}", stale.body);
    assert_eq!(json(&stale.body)["fresh_sign_in_required"], true);
    let fresh = app.sign_in(OLD).await;
    let mails_before = app.mails().await.len();
    // The account's own address, a malformed one, or a request from another site: refused.
    let same = change(app, Some(&fresh), " Alice@Example.com").await;
    assert_eq!(same.status, StatusCode::BAD_REQUEST, "{}", same.body);
    assert_eq!(
        json(&same.body)["error"],
        "That is already your email address."
    );
    let malformed = change(app, Some(&fresh), "alice@").await;
    assert_eq!(
        malformed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        malformed.body
    );
    let cross_site = app
        .send(
            app.form_request(
                "/api/auth/change-email",
                &[("email", NEW)],
                "application/json",
                Some(&fresh),
            )
            .header(header::ORIGIN, "https://evil.example")
            .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(
        cross_site.status,
        StatusCode::FORBIDDEN,
        "{}",
        cross_site.body
    );
    assert_eq!(app.mails().await.len(), mails_before, "nothing was mailed");

    // Asked: a link goes to the new address, and nothing moves yet.
    let asked = change(app, Some(&fresh), NEW).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert_eq!(json(&asked.body)["to"], NEW);
    let message = app.last_mail_to(NEW).await;
    assert!(
        message.starts_with("Confirm your new email address for Magic Link Auth"),
        "{message}"
    );
    assert!(message.contains(OLD), "{message}");
    let confirm_link = link_in(&message);
    assert!(
        confirm_link.contains("/change-email?token="),
        "{confirm_link}"
    );
    let token = token_of(&confirm_link);

    // Opening the link (a mail scanner, say) changes nothing; the preview says what it will do.
    let page = app.get(&format!("/change-email?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let preview = app
        .post("/api/auth/preview-email-change", &[("token", &token)], None)
        .await;
    let preview = json(&preview.body);
    assert_eq!(preview["link"]["undo"], false);
    assert_eq!(preview["link"]["from"], OLD);
    assert_eq!(preview["link"]["to"], NEW);
    assert_eq!(session_email(app, &laptop).await.as_deref(), Some(OLD));

    // Whoever reads the new mailbox cannot move the account from a browser that is not
    // signed in to it: the press is refused, and the link stays live.
    let elsewhere = app
        .post("/api/auth/confirm-email-change", &[("token", &token)], None)
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        elsewhere.body
    );
    assert!(
        json(&elsewhere.body)["error"]
            .as_str()
            .unwrap()
            .contains("where you are signed in to the account that asked")
    );
    assert_eq!(session_email(app, &laptop).await.as_deref(), Some(OLD));

    // Confirmed from a browser signed in to the account: every session, the app's row and
    // the activity move, under the same id.
    let confirmed = app
        .post(
            "/api/auth/confirm-email-change",
            &[("token", &token)],
            Some(&laptop),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    for cookie in [&laptop, &phone, &fresh] {
        assert_eq!(session_email(app, cookie).await.as_deref(), Some(NEW));
        assert_eq!(persistent_id(app, cookie).await, id);
    }
    assert_eq!(
        user_email(&app.db, &id).await.as_deref(),
        Some(NEW),
        "the hook ran"
    );
    assert_eq!(rows_of(&app.db, OLD).await, 0);
    let changed_events = event::Entity::find()
        .filter(event::Column::Email.eq(NEW))
        .filter(event::Column::Kind.eq(event::EventKind::EmailChanged))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(changed_events, 1);
    let moved_sign_ins = event::Entity::find()
        .filter(event::Column::Email.eq(NEW))
        .filter(event::Column::Kind.eq(event::EventKind::SignedInWithLink))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(moved_sign_ins, 3, "the activity moved with the account");
    // The link works once.
    let again = app
        .post("/api/auth/confirm-email-change", &[("token", &token)], None)
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);

    // The old address is told, with a link that moves the account back.
    let told = app.last_mail_to(OLD).await;
    assert!(
        told.starts_with("Your Magic Link Auth account moved to another email address"),
        "{told}"
    );
    assert!(told.contains(NEW), "{told}");
    let undo_token = token_of(&link_in(&told));

    // Signing in with the old address now starts a new, empty account with an id of its own.
    let newcomer = app.sign_in(OLD).await;
    let newcomer_id = persistent_id(app, &newcomer).await;
    assert_ne!(newcomer_id, id);
    assert_eq!(
        user_email(&app.db, &newcomer_id).await.as_deref(),
        Some(OLD)
    );

    // "This wasn't me": the account moves back, every session of it ends, the account the
    // old address started meanwhile makes room, and the app's rows follow.
    let preview = app
        .post(
            "/api/auth/preview-email-change",
            &[("token", &undo_token)],
            None,
        )
        .await;
    assert_eq!(json(&preview.body)["link"]["undo"], true);
    // A confirm link is not an undo link, nor the other way round.
    let wrong_kind = app
        .post(
            "/api/auth/confirm-email-change",
            &[("token", &undo_token)],
            None,
        )
        .await;
    assert_eq!(wrong_kind.status, StatusCode::BAD_REQUEST);
    let undone = app
        .post(
            "/api/auth/undo-email-change",
            &[("token", &undo_token)],
            None,
        )
        .await;
    assert_eq!(undone.status, StatusCode::OK, "{}", undone.body);
    let undone = json(&undone.body);
    assert_eq!(undone["undone"], true);
    assert_eq!(undone["to"], OLD);
    assert_eq!(undone["ended"], 3);
    for cookie in [&laptop, &phone, &fresh, &newcomer] {
        assert!(!app.is_signed_in(cookie).await);
    }
    assert_eq!(user_email(&app.db, &id).await.as_deref(), Some(OLD));
    assert_eq!(user_email(&app.db, &newcomer_id).await, None, "replaced");
    assert_eq!(rows_of(&app.db, NEW).await, 0);
    let back = app.sign_in(OLD).await;
    assert_eq!(persistent_id(app, &back).await, id);
    let again = app
        .post(
            "/api/auth/undo-email-change",
            &[("token", &undo_token)],
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
}

/// The new address's own account, the requesting session's end, and the limits.
async fn a_change_is_refused_when_the_address_is_taken_or_its_session_ended(app: &TestApp) {
    let alice = app.sign_in(OLD).await;
    let _bob = app.sign_in("bob@example.com").await;

    // Asking says nothing of whether bob has an account; opening the link there does.
    let asked = change(app, Some(&alice), "bob@example.com").await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let token = token_of(&link_in(&app.last_mail_to("bob@example.com").await));
    let taken = app
        .post(
            "/api/auth/confirm-email-change",
            &[("token", &token)],
            Some(&alice),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    assert!(
        json(&taken.body)["error"]
            .as_str()
            .unwrap()
            .contains("already has an account")
    );
    assert_eq!(session_email(app, &alice).await.as_deref(), Some(OLD));

    // A request whose session has signed out dies with it, even confirmed from another
    // session of the account.
    let asked = change(app, Some(&alice), NEW).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let token = token_of(&link_in(&app.last_mail_to(NEW).await));
    let other = app.sign_in(OLD).await;
    let out = app.post("/api/auth/logout", &[], Some(&alice)).await;
    assert_eq!(out.status, StatusCode::OK);
    let ended = app
        .post(
            "/api/auth/confirm-email-change",
            &[("token", &token)],
            Some(&other),
        )
        .await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED, "{}", ended.body);
    assert!(
        json(&ended.body)["error"]
            .as_str()
            .unwrap()
            .contains("has ended")
    );
    assert_eq!(rows_of(&app.db, NEW).await, 0);
    let used = app
        .post(
            "/api/auth/confirm-email-change",
            &[("token", &token)],
            Some(&other),
        )
        .await;
    assert_eq!(used.status, StatusCode::BAD_REQUEST, "the link is used up");
}

/// A confirmation and a deletion of the same account at once: one of them wins whole.
async fn a_change_racing_a_deletion_leaves_one_whole_outcome(app: &TestApp) {
    for round in 0..4 {
        let old = format!("racer{round}@example.com");
        let new = format!("racer{round}@new.example");
        let cookie = app.sign_in(&old).await;
        let asked = change(app, Some(&cookie), &new).await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
        let token = token_of(&link_in(&app.last_mail_to(&new).await));
        let (confirm_form, delete_form) =
            ([("token", token.as_str())], [("confirm", old.as_str())]);
        let confirm = app.post(
            "/api/auth/confirm-email-change",
            &confirm_form,
            Some(&cookie),
        );
        let delete = app.post("/api/auth/delete-account", &delete_form, Some(&cookie));
        let (confirmed, deleted) = tokio::join!(confirm, delete);
        let at_new = rows_of(&app.db, &new).await;
        let at_old = rows_of(&app.db, &old).await;
        assert_eq!(
            at_old, 0,
            "round {round}: nothing is left at the old address"
        );
        match (confirmed.status, deleted.status) {
            // The deletion found its session moved: gone from the old address (401), or
            // already at the new one, which is not the address typed (400).
            (StatusCode::OK, StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST) => {
                assert!(at_new > 0, "round {round}: the account moved whole");
                assert_eq!(
                    session_email(app, &cookie).await.as_deref(),
                    Some(new.as_str())
                );
            }
            // The deletion took the link with the account (400), or the confirmation found
            // its session gone (401).
            (StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED, StatusCode::OK) => {
                assert_eq!(at_new, 0, "round {round}: the deletion took everything");
                assert!(!app.is_signed_in(&cookie).await);
            }
            other => panic!(
                "round {round}: {other:?}: {} / {}",
                confirmed.body, deleted.body
            ),
        }
    }
    // Every passkey row belongs to an address that still has its account.
    assert_eq!(passkey::Entity::find().count(&app.db).await.unwrap(), 0);
}

async fn every_rule(app: &TestApp) {
    a_change_of_address_moves_the_account_and_the_old_address_can_move_it_back(app).await;
    a_change_is_refused_when_the_address_is_taken_or_its_session_ended(app).await;
    a_change_racing_a_deletion_leaves_one_whole_outcome(app).await;
}

fn limits(config: &mut magic_link_core::AuthConfig) {
    // Many sign-ins from one test client.
    config.rate_limit = 100;
}

/// The requester's limit counts change requests as it counts sign-in links (each kind on its
/// own), and the new address's limit counts the requests to it from anyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_requests_count_against_the_requester_and_the_new_address() {
    let app = spawn_app_with(|config| {
        config.rate_limit = 3;
        config.email_rate_limit = 2;
    })
    .await;
    let alice = app.sign_in(OLD).await;
    let bob = app.sign_in("bob@example.com").await;
    // Two requests to one address, from two accounts: the third is over the address's limit,
    // and nothing is mailed for it.
    assert_eq!(change(&app, Some(&alice), NEW).await.status, StatusCode::OK);
    assert_eq!(change(&app, Some(&bob), NEW).await.status, StatusCode::OK);
    let sent = app.recipients().await.len();
    let over = change(&app, Some(&alice), NEW).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
    assert_eq!(app.recipients().await.len(), sent);
    // The client has made three requests now (the refused one is not counted): its fourth,
    // to any address, is over its own limit; its sign-in links were counted apart.
    assert_eq!(
        change(&app, Some(&alice), "a3@new.example").await.status,
        StatusCode::OK
    );
    let over = change(&app, Some(&alice), "a4@new.example").await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
    // A used link keeps counting: moving the account does not hand the limits back.
    let token = token_of(&link_in(&app.last_mail_to("a3@new.example").await));
    let moved = app
        .post(
            "/api/auth/confirm-email-change",
            &[("token", &token)],
            Some(&alice),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let over = change(&app, Some(&alice), "a5@new.example").await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
}

/// An address off the allow-list gets the same reply as any other, and no mail: asking tells
/// a signed-in person nothing about who may sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_an_address_off_the_allow_list_is_answered_alike_and_mails_nothing() {
    let app = spawn_app_with(|config| {
        config.allowed_emails = magic_link_core::AuthConfig::from_lookup(|name| {
            (name == "MAGIC_LINK_AUTH_ALLOWED_EMAILS").then(|| "*@corp.example".to_owned())
        })
        .unwrap()
        .allowed_emails;
    })
    .await;
    let alice = app.sign_in("alice@corp.example").await;
    let allowed = change(&app, Some(&alice), "alice2@corp.example").await;
    let refused = change(&app, Some(&alice), "alice@elsewhere.example").await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.body);
    let shape = |reply: &crate::support::app::Reply| {
        let mut body = json(&reply.body);
        body["to"] = serde_json::Value::Null;
        body.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&allowed), shape(&refused));
    let recipients = app.recipients().await;
    assert!(
        recipients.contains(&"alice2@corp.example".to_owned()),
        "{recipients:?}"
    );
    assert!(
        !recipients.iter().any(|to| to.contains("elsewhere")),
        "{recipients:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_address_on_sqlite() {
    let app = spawn_app_with(limits).await;
    every_rule(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_address_on_postgresql() {
    let Some((app, database)) = spawn_app_on_postgres(limits).await else {
        return;
    };
    every_rule(&app).await;
    drop(app);
    database.finish().await;
}
