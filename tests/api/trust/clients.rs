//! Clients behind proxies: trusted networks mean exactly what they say, forwarded entries
//! with ports are read, and a redirect cannot hide another host behind dot segments.

use magic_link_core::client::TrustedProxies;
use reqwest::{StatusCode, header};

use super::post_from;
use crate::support::app::{TestApp, spawn_app_with, token_of};

async fn behind(proxies: &str) -> TestApp {
    let proxies = TrustedProxies::parse_list(proxies).unwrap();
    spawn_app_with(move |config| config.trusted_proxies = proxies).await
}

/// Six requests, each for a new address, each naming `client(n)` in `X-Forwarded-For`.
async fn six_requests(app: &TestApp, client: impl Fn(usize) -> String) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for n in 1..=6 {
        let email = format!("c{n}@example.com");
        let reply = post_from(
            app,
            "/api/auth/request",
            &[("email", &email)],
            &client(n),
            None,
        )
        .await;
        statuses.push(reply.status);
    }
    statuses
}

fn five_then_refused() -> Vec<StatusCode> {
    [
        [StatusCode::OK; 5].as_slice(),
        &[StatusCode::TOO_MANY_REQUESTS],
    ]
    .concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_network_trusts_only_the_ipv4_block_it_names() {
    // 127.0.0.1 is not in 10.0.0.0/8: its X-Forwarded-For must be ignored, so all six
    // requests are the loopback client's, and the sixth is refused.
    let app = behind("::ffff:10.0.0.0/104").await;
    let statuses = six_requests(&app, |n| format!("198.51.100.{n}")).await;
    assert_eq!(statuses, five_then_refused());
    // The same block written as IPv4-mapped loopback is believed.
    let app = behind("::ffff:127.0.0.0/104").await;
    let statuses = six_requests(&app, |n| format!("198.51.100.{n}")).await;
    assert_eq!(statuses, [StatusCode::OK; 6]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_entries_with_ports_and_brackets_name_their_client() {
    let app = behind("127.0.0.1").await;
    // One client, written five ways: its sixth request is over its limit.
    let forms = [
        "198.51.100.7:1111",
        "198.51.100.7:2222",
        "198.51.100.7",
        "198.51.100.7:3333",
        "198.51.100.7:4444",
        "198.51.100.7:5555",
    ];
    assert_eq!(
        six_requests(&app, |n| forms[n - 1].to_owned()).await,
        five_then_refused()
    );
    let app = behind("127.0.0.1").await;
    let forms = [
        "[2001:db8:7::1]:443",
        "[2001:db8:7::2]",
        "2001:db8:7::3",
        "[2001:db8:7::4]:8443",
        "[2001:db8:7::5]:443",
        "[2001:db8:7::6]:443",
    ];
    assert_eq!(
        six_requests(&app, |n| forms[n - 1].to_owned()).await,
        five_then_refused()
    );
    // Six different clients with ports are six clients.
    let app = behind("127.0.0.1").await;
    let statuses = six_requests(&app, |n| format!("198.51.100.{n}:4000")).await;
    assert_eq!(statuses, [StatusCode::OK; 6]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_cannot_reach_another_host_through_dot_segments() {
    let app = behind("127.0.0.1").await;
    for (n, redir) in [
        "/.//evil.example",
        "/a/..//evil.example",
        "/%2e//evil.example",
        "/./%2e%2e//evil.example/x",
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("dots{n}@example.com");
        let client = format!("192.0.2.{}", n + 1);
        let sent = post_from(
            &app,
            "/api/auth/request",
            &[("email", &email), ("redir", redir)],
            &client,
            None,
        )
        .await;
        assert_eq!(sent.status, StatusCode::OK);
        let (link, _) = app.last_link_and_code().await;
        assert!(!link.contains("redir="), "{redir} reached the link: {link}");
        let redeemed = post_from(
            &app,
            "/api/auth/redeem",
            &[("token", &token_of(&link)), ("redir", redir)],
            &client,
            None,
        )
        .await;
        assert_eq!(redeemed.status, StatusCode::OK);
        assert_eq!(redeemed.headers[header::LOCATION], "/", "{redir}");
        let reply: serde_json::Value = serde_json::from_str(&redeemed.body).unwrap();
        assert_eq!(reply["redirect_to"], "/", "{redir}");
    }
}
