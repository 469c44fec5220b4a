//! New-sign-in notices and the dev mailbox, over HTTP against the real server, and the
//! notice tables against SQLite and the PostgreSQL at 127.0.0.1:5432.

use chrono::{DateTime, Utc};
use magic_link_core::{
    client::TrustedProxies,
    config::MailProvider,
    store::{DeviceKey, KNOWN_DEVICE_FOR},
};
use reqwest::{StatusCode, header};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::support::{
    app::{TestApp, cookie_pair, spawn_app_with, token_of},
    email, noon, small_store as store,
};

const FIREFOX_MAC: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

async fn behind_a_proxy() -> TestApp {
    spawn_app_with(|config| {
        config.trusted_proxies = TrustedProxies::parse_list("127.0.0.1").unwrap();
    })
    .await
}

/// The "sign out everywhere" link in a notice's text.
fn sign_out_link(notice: &str) -> String {
    notice
        .lines()
        .find(|line| line.contains("/sign-out-everywhere?token="))
        .expect("a sign-out link")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_goes_out_for_a_new_device_and_not_for_a_known_one() {
    let app = behind_a_proxy().await;
    let home = [
        ("user-agent", FIREFOX_MAC),
        ("x-forwarded-for", "198.51.100.7"),
    ];
    // The very first sign-in is no news, and nor is the same device again.
    app.sign_in_from("alice@example.com", &home).await;
    app.sign_in_from("alice@example.com", &home).await;
    // Another address in the same /24 is the same network.
    let same_network = [
        ("user-agent", FIREFOX_MAC),
        ("x-forwarded-for", "198.51.100.250"),
    ];
    app.sign_in_from("alice@example.com", &same_network).await;
    assert!(app.notices().await.is_empty(), "{:?}", app.notices().await);

    // Another browser on the same network is a new device.
    let other_browser = [
        ("user-agent", CHROME_WINDOWS),
        ("x-forwarded-for", "198.51.100.7"),
    ];
    app.sign_in_from("alice@example.com", &other_browser).await;
    let notices = app.notices().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let notice = &notices[0];
    assert!(notice.contains("Chrome on Windows"), "{notice}");
    assert!(notice.contains("198.51.100.0/24"), "{notice}");
    assert!(
        notice.contains("alice@example.com just signed in"),
        "{notice}"
    );
    assert!(
        !notice.contains("198.51.100.7"),
        "the notice names the network only"
    );
    assert!(
        notice.contains("Wasn't you? Sign out everywhere"),
        "{notice}"
    );
    assert!(sign_out_link(notice).starts_with(&format!("{}/sign-out-everywhere?token=", app.base)));

    // The same browser from another network is a new device too: one notice each.
    let away = [
        ("user-agent", FIREFOX_MAC),
        ("x-forwarded-for", "203.0.113.9"),
    ];
    app.sign_in_from("alice@example.com", &away).await;
    app.sign_in_from("alice@example.com", &away).await;
    let notices = app.notices().await;
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices[1].contains("Firefox on macOS"), "{}", notices[1]);
    assert!(notices[1].contains("203.0.113.0/24"), "{}", notices[1]);
    // An IPv6 client is named by its /48.
    let v6 = [
        ("user-agent", FIREFOX_MAC),
        ("x-forwarded-for", "2001:db8:7:8::1"),
    ];
    app.sign_in_from("alice@example.com", &v6).await;
    let notices = app.notices().await;
    assert_eq!(notices.len(), 3, "{notices:?}");
    assert!(notices[2].contains("2001:db8:7::/48"), "{}", notices[2]);

    // Every notice went to alice; bob's first sign-in brought none.
    app.sign_in_from("bob@example.com", &other_browser).await;
    assert_eq!(app.notices().await.len(), 3);
    let outbox = std::fs::read_dir(&app.outbox).unwrap();
    let notices: Vec<String> = outbox
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .filter(|raw| raw.contains("\r\nSubject: New sign-in to "))
        .collect();
    assert_eq!(notices.len(), 3);
    for raw in &notices {
        assert!(raw.contains("\r\nTo: alice@example.com\r\n"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_ends_every_session_only_after_the_post() {
    let app = behind_a_proxy().await;
    let laptop = app
        .sign_in_from("carol@example.com", &[("user-agent", FIREFOX_MAC)])
        .await;
    let intruder = app
        .sign_in_from(
            "carol@example.com",
            &[
                ("user-agent", CHROME_WINDOWS),
                ("x-forwarded-for", "203.0.113.66"),
            ],
        )
        .await;
    let bystander = app.sign_in("dave@example.com").await;
    let notices = app.notices().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let link = sign_out_link(&notices[0]);
    let token = token_of(&link);
    let path = link.strip_prefix(&app.base).unwrap();

    // A mail scanner opens the link, twice, and asks the preview endpoint: nothing ends.
    for _ in 0..2 {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Sign out everywhere?"), "{}", page.body);
        assert!(page.body.contains("carol@example.com"), "{}", page.body);
        assert!(page.body.contains("<form"), "{}", page.body);
        assert_eq!(
            page.headers.get(header::REFERRER_POLICY).unwrap(),
            "strict-origin"
        );
    }
    let preview = app
        .post("/api/auth/sign-out-link", &[("token", &token)], None)
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview.body.contains("carol@example.com"),
        "{}",
        preview.body
    );
    assert!(app.is_signed_in(&laptop).await);
    assert!(app.is_signed_in(&intruder).await);

    // The button's POST ends both of carol's sessions, and no one else's.
    let used = app
        .post("/api/auth/sign-out-everywhere", &[("token", &token)], None)
        .await;
    assert_eq!(used.status, StatusCode::OK, "{}", used.body);
    let reply: serde_json::Value = serde_json::from_str(&used.body).unwrap();
    assert_eq!(reply["ended"], 2, "{}", used.body);
    assert!(!app.is_signed_in(&laptop).await);
    assert!(!app.is_signed_in(&intruder).await);
    assert!(app.is_signed_in(&bystander).await);

    // It works once.
    let again = app
        .post("/api/auth/sign-out-everywhere", &[("token", &token)], None)
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(
        again.body.contains("invalid, used or expired"),
        "{}",
        again.body
    );
    let page = app.get(path).await;
    assert!(
        page.body.contains("invalid, used or expired"),
        "{}",
        page.body
    );

    // With JavaScript off, the form post lands on the page, which says it is done.
    let fresh = app
        .sign_in_from(
            "carol@example.com",
            &[
                ("user-agent", CHROME_WINDOWS),
                ("x-forwarded-for", "192.0.2.1"),
            ],
        )
        .await;
    let notices = app.notices().await;
    assert_eq!(notices.len(), 2, "{notices:?}");
    let token = token_of(&sign_out_link(&notices[1]));
    let form = app
        .post_plain_form(
            "/api/auth/sign-out-everywhere",
            &[("token", token.as_str())],
            None,
        )
        .await;
    assert_eq!(form.status, StatusCode::FOUND, "{}", form.body);
    let location = form
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(location, "/sign-out-everywhere");
    let outcome = cookie_pair(&form.cookie("outcome").expect("the outcome cookie"));
    let done = app.get_as(location, &outcome).await;
    assert!(done.body.contains("Signed out everywhere"), "{}", done.body);
    assert!(
        done.body.contains("Every session has ended (1 session)"),
        "{}",
        done.body
    );
    assert!(!app.is_signed_in(&fresh).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_can_be_turned_off_and_a_failing_one_never_fails_the_sign_in() {
    let off = spawn_app_with(|config| config.notify_new_device = false).await;
    off.sign_in_from("erin@example.com", &[("user-agent", FIREFOX_MAC)])
        .await;
    off.sign_in_from("erin@example.com", &[("user-agent", CHROME_WINDOWS)])
        .await;
    assert!(off.notices().await.is_empty());

    // With the notice tables gone, a sign-in from a new device still signs in.
    let app = spawn_app_with(|_| {}).await;
    app.sign_in_from("frank@example.com", &[("user-agent", FIREFOX_MAC)])
        .await;
    app.db
        .execute_unprepared("DROP TABLE auth_known_device")
        .await
        .unwrap();
    let cookie = app
        .sign_in_from("frank@example.com", &[("user-agent", CHROME_WINDOWS)])
        .await;
    assert!(app.is_signed_in(&cookie).await);
    assert!(app.notices().await.is_empty());
}

// A release build has no dev mailbox: `standalone` asks the release binary for it.

/// Opens the address the console printed at start, as the developer does; returns the cookie
/// that then opens the mailbox, as a `Cookie:` value.
#[cfg(debug_assertions)]
async fn open_mailbox(app: &TestApp) -> String {
    let address = app.auth.dev_mailbox().address_with_key(&app.base).unwrap();
    let path = address.strip_prefix(&app.base).unwrap();
    let opened = app.get(path).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    assert_eq!(opened.headers[header::LOCATION], "/dev/mailbox");
    let set = opened.cookie("dev-mailbox-key").expect("the key's cookie");
    for attribute in ["Path=/dev/mailbox", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(attribute), "{set}");
    }
    cookie_pair(&set)
}

/// Behind a reverse proxy on the same machine (nginx's plain `proxy_pass`: a loopback peer,
/// a loopback `Host`, no forwarding header), every request looks like the developer's: only
/// the key tells them apart.
#[cfg(debug_assertions)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_mailbox_opens_only_with_its_key_whatever_a_proxy_sends() {
    let app = spawn_app_with(|config| config.mail_provider = MailProvider::Console).await;
    app.post("/api/auth/request", &[("email", "ivan@example.com")], None)
        .await;
    app.mail_settled().await;
    let id = app.auth.dev_mailbox().messages()[0].id;
    let code = app.auth.dev_mailbox().messages()[0]
        .mail
        .code
        .as_ref()
        .unwrap()
        .expose()
        .to_owned();
    let address = app.auth.dev_mailbox().address_with_key(&app.base).unwrap();
    let key = address.split("?key=").nth(1).unwrap().to_owned();
    let message = format!("/dev/mailbox/{id}");
    let refusals = [
        app.get("/dev/mailbox").await,
        app.get(&message).await,
        app.get(&format!("/dev/mailbox?key={}", &key[1..])).await,
        app.get(&format!("/dev/mailbox?key={key}x")).await,
        app.get_as("/dev/mailbox", &format!("dev-mailbox-key={}", &key[..42]))
            .await,
        app.get_as("/dev/mailbox", &format!("session={key}")).await,
        // The key opens the list's address only: a message's frame needs the cookie.
        app.get(&format!("{message}?key={key}")).await,
    ];
    for refused in refusals {
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
        assert!(refused.cookie("dev-mailbox-key").is_none());
        assert!(!refused.body.contains(&code), "{}", refused.body);
        assert!(refused.body.contains("needs its key"), "{}", refused.body);
    }
    let cookie = open_mailbox(&app).await;
    let list = app.get_as("/dev/mailbox", &cookie).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&code), "{}", list.body);
    let frame = app.get_as(&message, &cookie).await;
    assert_eq!(frame.status, StatusCode::OK);
    assert!(frame.body.contains(&code), "{}", frame.body);
    // Each start makes its own key.
    let other = spawn_app_with(|config| config.mail_provider = MailProvider::Console).await;
    assert_eq!(
        other.get_as("/dev/mailbox", &cookie).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[cfg(debug_assertions)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_mailbox_shows_every_message_in_a_debug_build() {
    // The console provider, as in development: the mailbox keeps what it logged.
    let app = spawn_app_with(|config| config.mail_provider = MailProvider::Console).await;
    let key = open_mailbox(&app).await;
    let empty = app.get_as("/dev/mailbox", &key).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("No messages yet"), "{}", empty.body);

    let sent = app
        .post(
            "/api/auth/request",
            &[("email", "o'brien&co@example.com")],
            None,
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    app.mail_settled().await;
    app.post("/api/auth/request", &[("email", "heidi@example.com")], None)
        .await;
    app.mail_settled().await;
    let messages = app.auth.dev_mailbox().messages();
    assert_eq!(messages.len(), 2);
    let first = &messages[1];
    let link = first.mail.link.clone();

    let page = app.get_as("/dev/mailbox", &key).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    // Newest first, each with its subject, recipient and time, escaped.
    let heidi = body.find("heidi@example.com").unwrap();
    let obrien = body.find("o&#x27;brien&amp;co@example.com").unwrap();
    assert!(heidi < obrien, "{body}");
    assert!(!body.contains("o'brien&co"), "{body}");
    assert!(body.contains("Magic Login Link"), "{body}");
    assert!(body.contains(&first.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()));
    // The text with its link clickable, and the HTML in a sandboxed frame.
    let escaped = link.replace('&', "&amp;");
    assert!(body.contains(&format!("<a href=\"{escaped}\">")), "{body}");
    assert!(
        body.contains(&format!(
            "<iframe sandbox=\"allow-popups allow-popups-to-escape-sandbox\" src=\"/dev/mailbox/{}\"",
            first.id
        )),
        "{body}"
    );
    // The page runs no script and loads nothing from elsewhere.
    let policy = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'sha256-"),
        "{policy}"
    );
    assert!(!body.contains("<script"), "{body}");

    let html = app
        .get_as(&format!("/dev/mailbox/{}", first.id), &key)
        .await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(
        html.body
            .contains(first.mail.code.as_ref().unwrap().expose())
    );
    assert!(
        html.body.contains("<base target=\"_blank\">"),
        "{}",
        html.body
    );
    let policy = html.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(policy.contains("sandbox"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert_eq!(
        app.get_as("/dev/mailbox/999", &key).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_as("/dev/mailbox/x", &key).await.status,
        StatusCode::NOT_FOUND
    );

    // The check-your-email page points to it.
    let check = app.get("/check-your-email?email=heidi%40example.com").await;
    assert!(
        check.body.contains("Open the dev mailbox"),
        "{}",
        check.body
    );
    assert!(
        check.body.contains("href=\"/dev/mailbox\""),
        "{}",
        check.body
    );
}

// The notice tables against both databases.

const LAPTOP: DeviceKey<'static> = DeviceKey {
    browser: "Firefox on macOS",
    network: "198.51.100.0/24",
};
const PHONE: DeviceKey<'static> = DeviceKey {
    browser: "Safari on iPhone",
    network: "198.51.100.0/24",
};

on_both_databases!(
    a_device_is_news_once_and_again_after_ninety_days,
    parallel_sign_ins_from_one_new_device_are_news_once,
    a_sign_out_link_is_used_once_and_ends_only_its_address,
    purging_keeps_a_dormant_address_known,
);

async fn a_device_is_news_once_and_again_after_ninety_days(db: &DatabaseConnection) {
    let store = store(db);
    let alice = email("alice@example.com");
    let at = noon();
    assert!(
        !store.note_device(&alice, LAPTOP, at).await.unwrap(),
        "first sign-in"
    );
    assert!(!store.note_device(&alice, LAPTOP, at).await.unwrap());
    assert!(store.note_device(&alice, PHONE, at).await.unwrap());
    assert!(!store.note_device(&alice, PHONE, at).await.unwrap());
    // Another address's devices are its own.
    let bob = email("bob@example.com");
    assert!(!store.note_device(&bob, PHONE, at).await.unwrap());
    // Used within 90 days, the laptop is still known; past them it is news again.
    let ninety = chrono::Duration::from_std(KNOWN_DEVICE_FOR).unwrap();
    let later = at + ninety - chrono::Duration::minutes(1);
    assert!(!store.note_device(&alice, LAPTOP, later).await.unwrap());
    let much_later = later + ninety + chrono::Duration::minutes(1);
    assert!(store.note_device(&alice, LAPTOP, much_later).await.unwrap());
    assert!(!store.note_device(&alice, LAPTOP, much_later).await.unwrap());
    assert_eq!(store.known_devices(&alice).await.unwrap(), 2);
}

async fn parallel_sign_ins_from_one_new_device_are_news_once(db: &DatabaseConnection) {
    let store = store(db);
    let alice = email("alice@example.com");
    store.note_device(&alice, LAPTOP, noon()).await.unwrap();
    let tries = (0..8).map(|_| {
        let store = store.clone();
        let alice = alice.clone();
        tokio::spawn(async move { store.note_device(&alice, PHONE, noon()).await })
    });
    let mut news = 0;
    for attempt in tries {
        if attempt.await.unwrap().unwrap() {
            news += 1;
        }
    }
    assert_eq!(news, 1, "eight sign-ins from one new device are news once");
    assert_eq!(store.known_devices(&alice).await.unwrap(), 2);
}

async fn a_sign_out_link_is_used_once_and_ends_only_its_address(db: &DatabaseConnection) {
    use magic_link_core::{
        client::ClientKey,
        domain::LinkToken,
        store::{Device, SignedOutEverywhere},
    };
    let store = store(db);
    let alice = email("alice@example.com");
    let bob = email("bob@example.com");
    // Two sessions of alice and one of bob, started as a sign-in would.
    for (n, address) in [&alice, &alice, &bob].into_iter().enumerate() {
        let client = ClientKey::of([192, 0, 2, u8::try_from(n).unwrap()].into(), 64);
        let issued = store.issue(address, &client, noon()).await.unwrap();
        store
            .redeem_link(&issued.token, &client, &Device::default(), noon())
            .await
            .unwrap();
    }
    // A passkey from before the warned-of sign-in stays; one added since goes with it.
    use magic_link_core::store::passkeys::NewPasskey;
    let add = |credential: &'static str, at: DateTime<Utc>| {
        let store = store.clone();
        let alice = alice.clone();
        async move {
            store
                .add_passkey(
                    NewPasskey {
                        email: &alice,
                        name: credential,
                        credential_id: credential,
                        passkey: "{}",
                    },
                    at,
                )
                .await
                .unwrap()
        }
    };
    add("owned-before", noon() - chrono::Duration::days(1)).await;
    add("added-since", noon() + chrono::Duration::minutes(1)).await;
    let pending = store
        .issue(&alice, &ClientKey::of([192, 0, 2, 9].into(), 64), noon())
        .await
        .unwrap();
    // A device from before the warned-of sign-in stays known; one seen since is forgotten.
    store
        .note_device(&alice, PHONE, noon() - chrono::Duration::days(1))
        .await
        .unwrap();
    store.note_device(&alice, LAPTOP, noon()).await.unwrap();
    let token = store
        .issue_sign_out_link(&alice, noon(), noon())
        .await
        .unwrap();
    assert_eq!(
        store.sign_out_link_email(&token, noon()).await.unwrap(),
        Some(alice.clone())
    );
    let other = magic_link_core::secrets::new_link_token().unwrap();
    assert_eq!(store.use_sign_out_link(&other, noon()).await.unwrap(), None);
    // Past its expiry (a session's lifetime) it does nothing.
    let week = noon() + chrono::Duration::days(7);
    assert_eq!(store.use_sign_out_link(&token, week).await.unwrap(), None);
    // Eight uses at once: one ends alice's two sessions, the rest find it gone.
    let tries = (0..8).map(|_| {
        let store = store.clone();
        let token = LinkToken::parse(token.expose()).unwrap();
        tokio::spawn(async move { store.use_sign_out_link(&token, noon()).await })
    });
    let mut used = Vec::new();
    for attempt in tries {
        if let Some(outcome) = attempt.await.unwrap().unwrap() {
            used.push(outcome);
        }
    }
    assert_eq!(
        used,
        [SignedOutEverywhere {
            email: alice.clone(),
            persistent_id: magic_link_core::domain::PersistentId::for_email(&alice),
            sessions: 2,
            passkeys: 1,
        }]
    );
    let left: Vec<String> = store
        .list_passkeys(&alice)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(left, ["owned-before"]);
    assert_eq!(store.known_devices(&alice).await.unwrap(), 1);
    assert!(
        store.note_device(&alice, LAPTOP, noon()).await.unwrap(),
        "the laptop is news again"
    );
    // The links and codes asked for before no longer sign in.
    assert!(
        store
            .redeem_link(
                &pending.token,
                &ClientKey::of([192, 0, 2, 9].into(), 64),
                &Device::default(),
                noon()
            )
            .await
            .is_err()
    );
    assert!(
        store
            .list_sessions(&alice, noon())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.list_sessions(&bob, noon()).await.unwrap().len(), 1);
    assert_eq!(
        store.sign_out_link_email(&token, noon()).await.unwrap(),
        None
    );
}

async fn purging_keeps_a_dormant_address_known(db: &DatabaseConnection) {
    let store = store(db);
    let alice = email("alice@example.com");
    let dormant = email("dormant@example.com");
    let at = noon();
    store.note_device(&alice, LAPTOP, at).await.unwrap();
    store.note_device(&dormant, LAPTOP, at).await.unwrap();
    store.note_device(&dormant, PHONE, at).await.unwrap();
    let link = store.issue_sign_out_link(&alice, at, at).await.unwrap();
    // A year on, alice signs in from her phone; the dormant address has not been back.
    let year = at + chrono::Duration::days(365);
    store.note_device(&alice, PHONE, year).await.unwrap();
    let purged = store.purge_expired(year).await.unwrap();
    assert_eq!(purged.notices, 2, "alice's old laptop and her expired link");
    assert_eq!(store.known_devices(&alice).await.unwrap(), 1);
    assert_eq!(store.known_devices(&dormant).await.unwrap(), 2);
    assert_eq!(store.sign_out_link_email(&link, at).await.unwrap(), None);
    // So the dormant address's next sign-in from a new device is news, not a first.
    let back = DeviceKey {
        browser: "Chrome on Windows",
        network: "203.0.113.0/24",
    };
    assert!(store.note_device(&dormant, back, year).await.unwrap());
}
