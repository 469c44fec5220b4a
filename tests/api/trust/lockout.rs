//! Nobody who knows an address can keep its owner out: another client's (or another
//! browser's) requests and wrong codes never end the owner's link nor refuse the owner's own
//! request, an owner refused at the address's cap is told the way in that still works, and
//! mail to one address stays bounded however many clients ask.

use reqwest::StatusCode;

use magic_link_core::{client::TrustedProxies, config::AuthConfig};

use super::{app_behind_proxy, post_from, redeem_from, type_code, wrong};
use crate::support::app::{TestApp, cookie_pair, spawn_app_with, token_of};

const OWNER: &str = "198.51.100.10";
const ATTACKER: &str = "203.0.113.66";

/// Asks for a link for `email` from `client`; returns the reply's status.
async fn ask(app: &TestApp, email: &str, client: &str) -> StatusCode {
    post_from(app, "/api/auth/request", &[("email", email)], client, None)
        .await
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_asking_and_guessing_never_locks_the_owner_out() {
    let app = app_behind_proxy().await;
    let victim = "victim@example.com";
    // The owner asked for a link and holds it in the inbox.
    assert_eq!(ask(&app, victim, OWNER).await, StatusCode::OK);
    let (held_link, held_code) = app.last_link_and_code().await;

    // The attack from the review, twice over: every link the attacker may ask for, and
    // wrong codes after each.
    for _ in 0..2 {
        let mut asked = 0;
        while ask(&app, victim, ATTACKER).await == StatusCode::OK {
            asked += 1;
            assert!(asked <= 5, "the attacker's own limit did not hold");
        }
        for _ in 0..3 {
            type_code(&app, victim, &wrong(&held_code), ATTACKER, None).await;
        }
    }

    // The owner's link still works, and so does the owner's code.
    let preview = post_from(
        &app,
        "/api/auth/link",
        &[("token", &token_of(&held_link))],
        OWNER,
        None,
    )
    .await;
    assert!(preview.body.contains(victim), "{}", preview.body);
    let by_code = type_code(&app, victim, &held_code, OWNER, None).await;
    assert_eq!(by_code.status, StatusCode::OK, "{}", by_code.body);

    // And the owner's own next request goes through, its link signing in.
    assert_eq!(ask(&app, victim, OWNER).await, StatusCode::OK);
    let (link, _) = app.last_link_and_code().await;
    let redeemed = redeem_from(&app, &link, OWNER).await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_end_a_code_but_never_its_link() {
    let app = app_behind_proxy().await;
    let sent = post_from(
        &app,
        "/api/auth/request",
        &[("email", "fumble@example.com")],
        OWNER,
        None,
    )
    .await;
    let pending = cookie_pair(&sent.cookie("pending-sign-in").unwrap());
    let (link, code) = app.last_link_and_code().await;
    for _ in 0..5 {
        type_code(
            &app,
            "fumble@example.com",
            &wrong(&code),
            OWNER,
            Some(&pending),
        )
        .await;
    }
    let dead = type_code(&app, "fumble@example.com", &code, OWNER, Some(&pending)).await;
    assert_eq!(dead.status, StatusCode::BAD_REQUEST, "{}", dead.body);
    let redeemed = redeem_from(&app, &link, OWNER).await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.body);
}

/// Asks for a link for `email` from `client`, from a browser holding `pending` (its
/// pending sign-in cookie, as a `Cookie:` value), if any; returns the browser's new pending
/// sign-in cookie and the link mailed.
async fn ask_in_browser(
    app: &TestApp,
    email: &str,
    client: &str,
    pending: Option<&str>,
) -> (String, String) {
    let sent = post_from(
        app,
        "/api/auth/request",
        &[("email", email)],
        client,
        pending,
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let cookie = cookie_pair(&sent.cookie("pending-sign-in").expect("a pending sign-in"));
    let (link, _) = app.last_link_and_code().await;
    (cookie, link)
}

/// Whether `link` would still sign in, as the page it opens reads it (which uses nothing).
async fn is_live(app: &TestApp, link: &str, email: &str) -> bool {
    let preview = post_from(
        app,
        "/api/auth/link",
        &[("token", &token_of(link))],
        OWNER,
        None,
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    preview.body.contains(email)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_request_supersedes_only_the_same_browsers_older_link() {
    let app = app_behind_proxy().await;
    let email = "twice@example.com";
    let (_, owners) = ask_in_browser(&app, email, OWNER, None).await;
    let (pending, first) = ask_in_browser(&app, email, "192.0.2.1", None).await;
    let (_, second) = ask_in_browser(&app, email, "192.0.2.1", Some(&pending)).await;

    assert!(
        !is_live(&app, &first, email).await,
        "the older link lives on"
    );
    assert!(is_live(&app, &second, email).await);
    assert!(
        is_live(&app, &owners, email).await,
        "another client's link ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_neighbour_behind_the_same_address_never_voids_the_owners_link() {
    let app = app_behind_proxy().await;
    // One IPv4 address behind a NAT, and two hosts of one IPv6 /64: each pair is one client.
    for (email, owner, neighbour) in [
        ("household@example.com", "198.51.100.77", "198.51.100.77"),
        ("flat@example.com", "2001:db8:5:6::1", "2001:db8:5:6::2"),
    ] {
        // The owner's browser asks for a link and waits for it.
        let (_, owners) = ask_in_browser(&app, email, owner, None).await;
        // A second browser on the same network asks for one of its own, for the same
        // address and for its own, then again with its cookie.
        let (pending, neighbours) = ask_in_browser(&app, email, neighbour, None).await;
        ask_in_browser(&app, "neighbour@example.com", neighbour, None).await;
        let (_, neighbours_newer) = ask_in_browser(&app, email, neighbour, Some(&pending)).await;

        // Only the neighbour's own older link ended; the owner's signs in.
        assert!(!is_live(&app, &neighbours, email).await);
        assert!(is_live(&app, &neighbours_newer, email).await);
        let redeemed = redeem_from(&app, &owners, owner).await;
        assert_eq!(
            redeemed.status,
            StatusCode::OK,
            "{email}: {}",
            redeemed.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_at_the_address_cap_is_told_the_links_in_the_inbox_work() {
    let app = app_behind_proxy().await;
    let email = "sought@example.com";
    // Ten strangers ask for links for an address whose owner has never signed in.
    for n in 1..=10 {
        assert_eq!(
            ask(&app, email, &format!("192.0.2.{n}")).await,
            StatusCode::OK
        );
    }
    // The owner is refused, and told the way in that still works.
    let refused = post_from(&app, "/api/auth/request", &[("email", email)], OWNER, None).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused
            .body
            .contains("open the newest sign-in email in your inbox: its link works in any browser"),
        "{}",
        refused.body
    );
    assert!(refused.cookie("pending-sign-in").is_none());
    // And it does: the newest link in the inbox signs the owner in from the owner's browser.
    let (link, _) = app.last_link_and_code().await;
    let redeemed = redeem_from(&app, &link, OWNER).await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_address_cap_reads_the_same_on_and_off_the_allow_list() {
    let app = spawn_app_with(|config| {
        config.trusted_proxies = TrustedProxies::parse_list("127.0.0.1").unwrap();
        config.allowed_emails = AuthConfig::from_lookup(|name| {
            (name == "MAGIC_LINK_AUTH_ALLOWED_EMAILS").then(|| "*@corp.example".to_owned())
        })
        .unwrap()
        .allowed_emails;
    })
    .await;
    let mut replies = Vec::new();
    for (email, network) in [("ada@corp.example", 1), ("eve@example.com", 2)] {
        for n in 1..=10 {
            assert_eq!(
                ask(&app, email, &format!("192.0.{network}.{n}")).await,
                StatusCode::OK
            );
        }
        let refused = post_from(
            &app,
            "/api/auth/request",
            &[("email", email)],
            &format!("198.51.100.{network}"),
            None,
        )
        .await;
        replies.push((refused.status, refused.body));
    }
    assert_eq!(replies[0].0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(replies[0], replies[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_to_one_address_stays_bounded_but_its_own_clients_still_get_through() {
    let app = app_behind_proxy().await;
    let email = "bombed@example.com";
    // The owner has signed in from this client before.
    assert_eq!(ask(&app, email, OWNER).await, StatusCode::OK);
    let (link, _) = app.last_link_and_code().await;
    let signed_in = redeem_from(&app, &link, OWNER).await;
    assert_eq!(signed_in.status, StatusCode::OK);
    let before = app.mails().await.len();

    // Thirty clients ask once each: ten mails go out (the default cap), the rest are refused.
    let mut statuses = Vec::new();
    for n in 0..30 {
        statuses.push(ask(&app, email, &format!("192.0.2.{}", n + 1)).await);
    }
    let accepted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(accepted, 10, "{statuses:?}");
    assert!(
        statuses[10..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(app.mails().await.len(), before + 10);

    // The owner's own client is not refused.
    assert_eq!(ask(&app, email, OWNER).await, StatusCode::OK);
    assert_eq!(app.mails().await.len(), before + 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipv6_client_is_its_slash_64() {
    let app = app_behind_proxy().await;
    let mut statuses = Vec::new();
    for n in 1..=7 {
        statuses.push(
            ask(
                &app,
                &format!("v6-{n}@example.com"),
                &format!("2001:db8:1:2::{n:x}"),
            )
            .await,
        );
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::OK; 5].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS; 2]
        ]
        .concat()
    );
    assert_eq!(
        ask(&app, "v6-8@example.com", "2001:db8:1:3::1").await,
        StatusCode::OK
    );
}
