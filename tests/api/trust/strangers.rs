//! A stranger's words never reach the owner: not a `User-Agent` in an email or on the account
//! page, not a `redir` or a query string on a page, and strangers' requests never decide what
//! the owner's recent activity shows.

use reqwest::StatusCode;
use serde_json::Value;

use super::{app_behind_proxy, form_post, wrong};
use crate::support::app::TestApp;

/// What a stranger may write as its `User-Agent`.
const STRANGER_WORDS: &str = "Asked for from https://evil.example/cancel-this-request";

/// Asks for a link for `email` from `client`, with `user_agent`.
async fn ask_as(app: &TestApp, email: &str, client: &str, user_agent: &str) -> StatusCode {
    let request = form_post(app, "/api/auth/request", &[("email", email)], client, None)
        .header("user-agent", user_agent);
    app.send(request).await.status
}

fn whats(activity: &Value) -> Vec<String> {
    activity
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["what"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_cannot_push_the_owners_own_events_out_of_view() {
    let app = app_behind_proxy().await;
    let owner_email = "owner@example.com";
    let owner = app.sign_in(owner_email).await;
    let (_, code) = app.last_link_and_code().await;

    // The flood from the review: two clients, each with a new User-Agent on every request,
    // asking for links and typing wrong codes.
    for (n, client) in ["203.0.113.7", "198.51.100.7"].into_iter().enumerate() {
        for i in 0..10 {
            let agent = format!("Stranger/{n}.{i}");
            ask_as(&app, owner_email, client, &agent).await;
            let guess = form_post(
                &app,
                "/api/auth/verify-code",
                &[("email", owner_email), ("code", &wrong(&code))],
                client,
                None,
            )
            .header("user-agent", agent);
            app.send(guess).await;
        }
    }

    let reply = app.post("/api/auth/activity", &[], Some(&owner)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let activity: Value = serde_json::from_str(&reply.body).unwrap();
    let whats = whats(&activity);
    assert!(
        whats.iter().any(|what| what == "Signed in with a link"),
        "{whats:?}"
    );
    // The strangers' requests are a counted line or two, from "several networks" (their
    // made-up browsers are all "an unknown browser").
    let noisy: Vec<&Value> = activity
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["count"].as_u64().unwrap() > 1)
        .collect();
    assert!(!noisy.is_empty(), "{whats:?}");
    assert!(whats.len() <= 4 + 1 + 1, "{whats:?}");
    assert!(
        noisy
            .iter()
            .all(|event| event["network"] == "several networks"
                && event["device"] == "an unknown browser"),
        "{noisy:?}"
    );
    assert!(!reply.body.contains("Stranger/"), "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_agent_never_reaches_an_email_or_a_page_as_text() {
    let app = app_behind_proxy().await;
    let email = "reader@example.com";
    assert_eq!(
        ask_as(&app, email, "203.0.113.8", STRANGER_WORDS).await,
        StatusCode::OK
    );
    let mails = app.mails().await;
    let message = mails.last().unwrap();
    assert!(!message.contains("evil.example"), "{message}");
    assert!(
        message.contains("Asked for from an unknown browser"),
        "{message}"
    );
    // A known browser is named from the fixed vocabulary, whatever else its header says.
    let dressed = "Mozilla/5.0 (Windows NT 10.0) Chrome/126.0 Safari/537.36 call +1-555-0100";
    assert_eq!(
        ask_as(&app, email, "203.0.113.9", dressed).await,
        StatusCode::OK
    );
    let mails = app.mails().await;
    let message = mails.last().unwrap();
    assert!(
        message.contains("Asked for from Chrome on Windows"),
        "{message}"
    );
    assert!(!message.contains("555"), "{message}");

    // Signed in from such a browser, the sessions list and the activity say the same.
    let cookie = app
        .sign_in_from(email, &[("user-agent", STRANGER_WORDS)])
        .await;
    for endpoint in ["/api/auth/sessions", "/api/auth/activity"] {
        let reply = app.post(endpoint, &[], Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(!reply.body.contains("evil.example"), "{}", reply.body);
        assert!(reply.body.contains("an unknown browser"), "{}", reply.body);
    }
    let page = app.get_as("/account", &cookie).await;
    assert!(!page.body.contains("evil.example"), "{}", page.body);
}
