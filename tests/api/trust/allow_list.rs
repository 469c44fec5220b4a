//! Under an allow-list, an allowed and a refused address answer alike and in the same time,
//! whatever the mail provider's latency: the reply never waits for it.

use std::time::{Duration, Instant};

use magic_link_core::config::{AuthConfig, MailProvider};
use reqwest::StatusCode;

use super::post_from;
use crate::support::{
    app::{TestApp, spawn_app_on, spawn_app_with},
    mailgun::{Behaviour, FakeMailgun},
};

async fn app_with(mailgun: &FakeMailgun) -> TestApp {
    let api_url = mailgun.url.clone();
    spawn_app_with(move |config| {
        config.trusted_proxies =
            magic_link_core::client::TrustedProxies::parse_list("127.0.0.1").unwrap();
        config.allowed_emails = AuthConfig::from_lookup(|name| {
            (name == "MAGIC_LINK_AUTH_ALLOWED_EMAILS").then(|| "*@corp.example".to_owned())
        })
        .unwrap()
        .allowed_emails;
        config.mail_provider = MailProvider::Mailgun {
            api_url,
            domain: "mg.example.com".to_owned(),
            api_key: "key".to_owned().into(),
        };
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_never_waits_for_the_mail_provider() {
    let mailgun = FakeMailgun::start(Behaviour::Held).await;
    let app = app_with(&mailgun).await;
    // The provider holds every message until the test lets it go: an allowed address is
    // answered while its message is still held, exactly as a refused one is.
    let allowed = post_from(
        &app,
        "/api/auth/request",
        &[("email", "ada@corp.example")],
        "192.0.2.1",
        None,
    )
    .await;
    let refused = post_from(
        &app,
        "/api/auth/request",
        &[("email", "eve@example.com")],
        "192.0.2.2",
        None,
    )
    .await;
    assert_eq!(
        (allowed.status, &allowed.body),
        (refused.status, &refused.body)
    );
    assert_eq!(allowed.status, StatusCode::OK);
    mailgun.release(1);
    app.mail_settled().await;
    let log = mailgun.log.lock().unwrap().clone();
    assert_eq!(log.len(), 1, "only the allowed address is mailed");
    assert!(
        log[0]
            .form
            .iter()
            .any(|(k, v)| k == "to" && v == "ada@corp.example")
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// A figure for the record, not an assertion (timing depends on the machine): the medians
/// the closing notes quote, with a provider that takes 400 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_and_refused_addresses_take_the_same_time_with_a_slow_provider() {
    let mailgun = FakeMailgun::start(Behaviour::Delay(Duration::from_millis(400))).await;
    let app = app_with(&mailgun).await;
    let (mut allowed, mut refused) = (Vec::new(), Vec::new());
    for n in 0..15 {
        for (samples, email) in [
            (&mut allowed, format!("staff{n}@corp.example")),
            (&mut refused, format!("outsider{n}@example.com")),
        ] {
            let client = format!("10.9.{}.{}", n, samples.len() + 1);
            let started = Instant::now();
            let reply = post_from(
                &app,
                "/api/auth/request",
                &[("email", &email)],
                &client,
                None,
            )
            .await;
            samples.push(started.elapsed());
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
    }
    let (allowed, refused) = (median(allowed), median(refused));
    println!(
        "allow-list reply medians with a 400 ms provider: allowed {:.1} ms, refused {:.1} ms",
        allowed.as_secs_f64() * 1000.0,
        refused.as_secs_f64() * 1000.0
    );
    app.mail_settled().await;
    assert_eq!(mailgun.log.lock().unwrap().len(), 15);
}

/// An address taken off the allow-list (and the server restarted with the new list) is signed
/// out at its next request: its old cookie reads no session, and the app's `require_user()`
/// endpoints answer `401`, while an address still on the list keeps its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_taken_off_the_allow_list_is_signed_out_at_its_next_request() {
    let allow = |list: &'static str| {
        move |config: &mut AuthConfig| {
            config.allowed_emails = AuthConfig::from_lookup(|name| {
                (name == "MAGIC_LINK_AUTH_ALLOWED_EMAILS").then(|| list.to_owned())
            })
            .unwrap()
            .allowed_emails;
        }
    };
    let before = spawn_app_with(allow("ada@corp.example, bob@corp.example")).await;
    let ada = before.sign_in("ada@corp.example").await;
    let bob = before.sign_in("bob@corp.example").await;
    assert!(before.is_signed_in(&ada).await);

    // The same database, served again with ada off the list.
    let after = spawn_app_on(
        before.db.clone(),
        before.outbox.clone(),
        allow("bob@corp.example"),
    )
    .await;
    assert!(!after.is_signed_in(&ada).await);
    let profile = after.post("/api/demo/profile", &[], Some(&ada)).await;
    assert_eq!(profile.status, StatusCode::UNAUTHORIZED, "{}", profile.body);
    let sessions = after.post("/api/auth/sessions", &[], Some(&ada)).await;
    assert_eq!(
        sessions.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        sessions.body
    );
    let page = after.get_as("/dashboard", &ada).await;
    assert!(!page.body.contains("ada@corp.example"), "{}", page.body);

    // Bob, still on the list, is untouched.
    assert!(after.is_signed_in(&bob).await);
    let profile = after.post("/api/demo/profile", &[], Some(&bob)).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
}
