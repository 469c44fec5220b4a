//! Deleting an account: over HTTP against the real server, and in the store against SQLite
//! and the PostgreSQL at 127.0.0.1:5432.

use std::time::Duration;

use app::users::user;
use chrono::{DateTime, Utc};
use magic_link_core::{
    client::ClientKey,
    domain::{Code, Email},
    entities::{
        account, credential,
        event::{self, EventKind},
        failure, known_client, known_device, passkey, passkey_challenge,
        passkey_challenge::Purpose,
        passkey_user, session, sign_out_link,
    },
    store::{
        AuthStore, CodeClaim, DeletedAccount, Device, DeviceKey, NewEvent, RECENT_EVENTS,
        RECENT_NOISY_EVENTS, SEVERAL,
        passkeys::{ChallengeOwner, NewPasskey, SessionOwner},
    },
};
use reqwest::{StatusCode, header};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{
    app::{TestApp, cookie_pair, spawn_app},
    noon, small_store as store,
};

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

async fn users_row(app: &TestApp, email: &str) -> bool {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .count(&app.db)
        .await
        .unwrap()
        == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_account_needs_the_address_typed_and_a_fresh_sign_in() {
    let app = spawn_app().await;
    let laptop = app.sign_in("alice@example.com").await;
    let phone = app.sign_in("alice@example.com").await;
    let bob = app.sign_in("bob@example.com").await;
    assert!(users_row(&app, "alice@example.com").await);
    let server = &app;
    let delete = |cookie: Option<&str>, confirm: &str| {
        let confirm = confirm.to_owned();
        let cookie = cookie.map(str::to_owned);
        async move {
            server
                .post(
                    "/api/auth/delete-account",
                    &[("confirm", confirm.as_str())],
                    cookie.as_deref(),
                )
                .await
        }
    };

    // Signed out, there is nothing to delete.
    let reply = delete(None, "alice@example.com").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    // The address must be typed, exactly.
    for wrong in ["", " ", "bob@example.com", "alice@example.co", "alice"] {
        let reply = delete(Some(&laptop), wrong).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{wrong:?}: {}",
            reply.body
        );
        assert_eq!(
            json(&reply.body)["error"],
            "Type your email address exactly to confirm."
        );
    }
    // A stale sign-in must confirm first.
    app.age_sessions("alice@example.com").await;
    let reply = delete(Some(&laptop), "alice@example.com").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(json(&reply.body)["fresh_sign_in_required"], true);
    assert!(app.is_signed_in(&laptop).await && app.is_signed_in(&phone).await);
    assert!(users_row(&app, "alice@example.com").await);

    // A fresh sign-in deletes: every session of alice ends, her row in the app is gone, and
    // she is told by email. Bob keeps everything.
    let fresh = app.sign_in("alice@example.com").await;
    let mails_before = app.mails().await.len();
    let reply = delete(Some(&fresh), "  Alice@Example.com ").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let cleared = reply.cookie("session").expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    for cookie in [&laptop, &phone, &fresh] {
        assert!(!app.is_signed_in(cookie).await);
    }
    assert!(!users_row(&app, "alice@example.com").await, "the hook ran");
    assert!(users_row(&app, "bob@example.com").await);
    assert!(app.is_signed_in(&bob).await);
    let mails = app.mails().await;
    assert_eq!(mails.len(), mails_before + 1);
    let told = mails.last().unwrap();
    assert!(
        told.starts_with("Your Magic Link Auth account is deleted"),
        "{told}"
    );
    assert!(told.contains("alice@example.com"), "{told}");
    assert_eq!(
        session::Entity::find()
            .filter(session::Column::Email.eq("alice@example.com"))
            .count(&app.db)
            .await
            .unwrap(),
        0
    );

    // A second delete, or one from another tab, is a clean no-op with a message.
    let again = delete(Some(&fresh), "alice@example.com").await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.body);
    assert!(
        json(&again.body)["error"]
            .as_str()
            .unwrap()
            .contains("already deleted"),
        "{}",
        again.body
    );
    assert_eq!(app.mails().await.len(), mails_before + 1);

    // With JavaScript off, the form lands on the login page, which says so; a refusal goes
    // back to the delete card alone, not to every card on the account page.
    let back = app.sign_in("alice@example.com").await;
    let refused = app
        .post_plain_form(
            "/api/auth/delete-account",
            &[("confirm", "someone-else@example.com")],
            Some(&back),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FOUND, "{}", refused.body);
    let location = refused.headers[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with("/account?delete_error="), "{location}");
    let page = app.get_as(location, &back).await;
    assert_eq!(
        page.body
            .matches("Type your email address exactly to confirm.")
            .count(),
        1,
        "{}",
        page.body
    );
    assert!(app.is_signed_in(&back).await);
    let form = app
        .post_plain_form(
            "/api/auth/delete-account",
            &[("confirm", "alice@example.com")],
            Some(&back),
        )
        .await;
    assert_eq!(form.status, StatusCode::FOUND, "{}", form.body);
    let location = form.headers[header::LOCATION].to_str().unwrap();
    assert_eq!(location, "/");
    // The login page says so once, from the one-time cookie the deletion set.
    let outcome = cookie_pair(&form.cookie("outcome").expect("the outcome cookie"));
    let page = app.get_as(location, &outcome).await;
    assert!(
        page.body.contains("Your account is deleted"),
        "{}",
        page.body
    );
    assert!(page.cookie("outcome").unwrap().contains("Max-Age=0"));
    assert!(!app.is_signed_in(&back).await);
}

// The store, against both databases.

/// How many rows of table `E` have `column` equal to `email`.
async fn count<E>(db: &DatabaseConnection, column: E::Column, email: &str) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find().filter(column.eq(email)).count(db).await.unwrap()
}

/// How many rows each auth table holds for `email`.
async fn rows_of(db: &DatabaseConnection, email: &str) -> [u64; 11] {
    [
        count::<account::Entity>(db, account::Column::Email, email).await,
        count::<event::Entity>(db, event::Column::Email, email).await,
        count::<session::Entity>(db, session::Column::Email, email).await,
        count::<credential::Entity>(db, credential::Column::Email, email).await,
        count::<failure::Entity>(db, failure::Column::Email, email).await,
        count::<known_client::Entity>(db, known_client::Column::Email, email).await,
        count::<known_device::Entity>(db, known_device::Column::Email, email).await,
        count::<sign_out_link::Entity>(db, sign_out_link::Column::Email, email).await,
        count::<passkey::Entity>(db, passkey::Column::Email, email).await,
        count::<passkey_user::Entity>(db, passkey_user::Column::Email, email).await,
        count::<passkey_challenge::Entity>(db, passkey_challenge::Column::Email, email).await,
    ]
}

/// Gives `address` a row in every auth table, as its use of the app would.
async fn populate(store: &AuthStore, address: &str, n: u8) {
    let email = Email::parse(address).unwrap();
    let client = ClientKey::of([192, 0, 2, n].into(), 64);
    let issued = store.issue(&email, &client, noon()).await.unwrap();
    let signed_in = store
        .redeem_link(&issued.token, &client, &Device::default(), noon())
        .await
        .unwrap();
    let pending = store.issue(&email, &client, noon()).await.unwrap();
    // A wrong code (the right one is `pending.code`), counted against the address.
    let wrong = if pending.code.expose() == "000000" {
        "111111"
    } else {
        "000000"
    };
    let claim = CodeClaim {
        pending: None,
        client: &client,
    };
    assert!(
        store
            .redeem_code(
                &email,
                &Code::parse(wrong).unwrap(),
                &claim,
                &Device::default(),
                noon()
            )
            .await
            .is_err()
    );
    let device = DeviceKey {
        browser: "Firefox on macOS",
        network: "192.0.2.0/24",
    };
    store.note_device(&email, device, noon()).await.unwrap();
    store
        .issue_sign_out_link(&email, noon(), noon())
        .await
        .unwrap();
    store
        .record_event(NewEvent {
            email: &email,
            kind: EventKind::SignedInWithLink,
            device: Some("Firefox on macOS"),
            network: Some("192.0.2.0/24"),
            at: noon(),
        })
        .await
        .unwrap();
    store.passkey_user_handle(&email, noon()).await.unwrap();
    store
        .add_passkey(
            NewPasskey {
                email: &email,
                name: "Laptop",
                credential_id: &format!("cred-{address}"),
                passkey: "{}",
            },
            noon(),
        )
        .await
        .unwrap();
    store
        .save_challenge(
            Purpose::Register,
            ChallengeOwner::Session(SessionOwner {
                email: &email,
                session: signed_in.session.id,
            }),
            "{}".to_owned(),
            noon(),
            Duration::from_secs(300),
            1,
        )
        .await
        .unwrap()
        .expect("under the cap");
}

on_both_databases!(
    deleting_an_account_removes_everything_of_it_and_nothing_else,
    events_are_kept_apart_newest_first_and_purged_past_retention,
);

async fn events_are_kept_apart_newest_first_and_purged_past_retention(db: &DatabaseConnection) {
    let store = store(db);
    let alice = Email::parse("alice@example.com").unwrap();
    let bob = Email::parse("bob@example.com").unwrap();
    for minute in 0..25 {
        store
            .record_event(NewEvent {
                email: &alice,
                kind: if minute % 2 == 0 {
                    EventKind::SignedInWithLink
                } else {
                    EventKind::SignedOut
                },
                device: Some("Firefox on macOS"),
                network: None,
                at: noon() + chrono::Duration::minutes(minute),
            })
            .await
            .unwrap();
    }
    store
        .record_event(NewEvent {
            email: &bob,
            kind: EventKind::PasskeyAdded,
            device: None,
            network: Some("2001:db8:7::/48"),
            at: noon() + chrono::Duration::hours(1),
        })
        .await
        .unwrap();
    let recent = store.recent_events(&alice).await.unwrap();
    assert_eq!(recent.len() as u64, RECENT_EVENTS);
    assert!(recent.iter().all(|e| e.email == alice));
    assert_eq!(recent[0].created_at, noon() + chrono::Duration::minutes(24));
    assert_eq!(recent[0].kind, EventKind::SignedInWithLink);
    assert_eq!(recent[1].kind, EventKind::SignedOut);
    assert!(recent.windows(2).all(|w| w[0].created_at > w[1].created_at));
    let bobs = store.recent_events(&bob).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].network.as_deref(), Some("2001:db8:7::/48"));
    // Retention: everything at or before the cutoff goes, on every address.
    let purged = store
        .purge_events(noon() + chrono::Duration::minutes(9))
        .await
        .unwrap();
    assert_eq!(purged, 10);
    assert_eq!(store.recent_events(&alice).await.unwrap().len(), 15);
    assert_eq!(store.recent_events(&bob).await.unwrap().len(), 1);

    // Link requests and wrong codes within an hour are one event with a count, whoever sent
    // them: a stranger's flood cannot push the rest out of view.
    let carol = Email::parse("carol@example.com").unwrap();
    let request = |at: DateTime<Utc>, network: &'static str| NewEvent {
        email: &carol,
        kind: EventKind::LinkRequested,
        device: Some("an unknown browser"),
        network: Some(network),
        at,
    };
    for minute in 0..50 {
        let at = noon() + chrono::Duration::minutes(minute);
        store
            .record_event(request(at, "203.0.113.0/24"))
            .await
            .unwrap();
    }
    // Late news of an earlier request from elsewhere: counted, the line keeps its time.
    store
        .record_event(request(noon(), "198.51.100.0/24"))
        .await
        .unwrap();
    let two_hours_on = noon() + chrono::Duration::hours(3);
    store
        .record_event(request(two_hours_on, "203.0.113.0/24"))
        .await
        .unwrap();
    let carols = store.recent_events(&carol).await.unwrap();
    let counts: Vec<(Option<&str>, Option<&str>, i32)> = carols
        .iter()
        .map(|e| (e.device.as_deref(), e.network.as_deref(), e.count))
        .collect();
    assert_eq!(
        counts,
        [
            (Some("an unknown browser"), Some("203.0.113.0/24"), 1),
            (Some("an unknown browser"), Some(SEVERAL), 51),
        ]
    );
    assert_eq!(carols[1].created_at, noon() + chrono::Duration::minutes(49));

    // However many lines of those there are, the address's own newest events all stay.
    for hour in 4..40 {
        for kind in [EventKind::LinkRequested, EventKind::WrongCode] {
            store
                .record_event(NewEvent {
                    kind,
                    ..request(noon() + chrono::Duration::hours(hour), "192.0.2.0/24")
                })
                .await
                .unwrap();
        }
    }
    store
        .record_event(NewEvent {
            email: &carol,
            kind: EventKind::SignedInWithLink,
            device: Some("Firefox on macOS"),
            network: None,
            at: noon() + chrono::Duration::hours(1),
        })
        .await
        .unwrap();
    let carols = store.recent_events(&carol).await.unwrap();
    assert_eq!(carols.len() as u64, 1 + RECENT_NOISY_EVENTS);
    assert_eq!(carols.last().unwrap().kind, EventKind::SignedInWithLink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_shows_the_address_its_own_recent_activity() {
    let app = spawn_app().await;
    let alice = app.sign_in("alice@example.com").await;
    // A wrong code typed for alice, by anyone.
    app.post("/api/auth/request", &[("email", "alice@example.com")], None)
        .await;
    let (_, code) = app.last_link_and_code().await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    app.post(
        "/api/auth/verify-code",
        &[("email", "alice@example.com"), ("code", wrong)],
        None,
    )
    .await;
    let other = app.sign_in("alice@example.com").await;
    app.post("/api/auth/logout", &[], Some(&other)).await;
    let bob = app.sign_in("bob@example.com").await;

    let reply = app.post("/api/auth/activity", &[], Some(&alice)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let events = json(&reply.body);
    let what: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    // The three link requests from this browser are one event, moved to the last of them.
    assert_eq!(
        what,
        [
            "Signed out",
            "Signed in with a link",
            "Sign-in link requested (3 times)",
            "Wrong code entered",
            "Signed in with a link",
        ]
    );
    assert_eq!(events[2]["count"], 3);
    assert_eq!(events[0]["network"], "127.0.0.0/24");
    assert!(events[0]["at"].as_str().unwrap().ends_with(" UTC"));
    // Bob sees only his own, and a stranger nothing.
    let reply = app.post("/api/auth/activity", &[], Some(&bob)).await;
    assert_eq!(json(&reply.body).as_array().unwrap().len(), 2);
    let reply = app.post("/api/auth/activity", &[], None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // The page lists them.
    let page = app
        .send(
            app.http
                .get(format!("{}/account", app.base))
                .header(header::COOKIE, &alice),
        )
        .await;
    assert!(page.body.contains("Recent activity"), "{}", page.body);
    assert!(page.body.contains("Wrong code entered"), "{}", page.body);
}

async fn deleting_an_account_removes_everything_of_it_and_nothing_else(db: &DatabaseConnection) {
    let store = store(db);
    populate(&store, "alice@example.com", 1).await;
    populate(&store, "bob@example.com", 2).await;
    let alice = rows_of(db, "alice@example.com").await;
    assert!(alice.iter().all(|&rows| rows > 0), "{alice:?}");
    let bob = rows_of(db, "bob@example.com").await;

    let alice_email = Email::parse("alice@example.com").unwrap();
    let alice_session = store.list_sessions(&alice_email, noon()).await.unwrap()[0].id;
    let bob_session = store
        .list_sessions(&Email::parse("bob@example.com").unwrap(), noon())
        .await
        .unwrap()[0]
        .id;
    // Only one of the address's own live sessions may delete it.
    assert_eq!(
        store
            .delete_account(&alice_email, bob_session, noon())
            .await
            .unwrap(),
        None
    );
    assert_eq!(rows_of(db, "alice@example.com").await, alice);
    let deleted = store
        .delete_account(&alice_email, alice_session, noon())
        .await
        .unwrap()
        .expect("deleted");
    assert_eq!(deleted.live_sessions, 1);
    assert_eq!(deleted.rows, alice.iter().sum::<u64>());
    assert_eq!(rows_of(db, "alice@example.com").await, [0; 11]);
    assert_eq!(rows_of(db, "bob@example.com").await, bob);
    // Once more, as a second tab would: the session is gone, so nothing happens.
    let again = store
        .delete_account(&alice_email, alice_session, noon())
        .await
        .unwrap();
    assert_eq!(again, None::<DeletedAccount>);
}
