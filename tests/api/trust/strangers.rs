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
    // The strangers' requests are a counted line or two: their made-up browsers are all "an
    // unknown browser", and the link requests came from "several networks".
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
            .all(|event| event["device"] == "an unknown browser"),
        "{noisy:?}"
    );
    assert!(
        noisy
            .iter()
            .any(|event| event["network"] == "several networks"),
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

/// What a stranger might put in a genuine page's address.
const BREACHED: &str = "Your account was breached. Call +1 555 0100";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_never_puts_its_own_words_on_a_page() {
    let app = app_behind_proxy().await;
    let owner_email = "owner@example.com";
    let encoded = BREACHED.replace(' ', "%20").replace('+', "%2B");

    // The attack from the review: a stranger asks for the owner's link with a `redir` that
    // lands on the account page with an error of the stranger's own.
    let redir = format!("/account?error={encoded}");
    let asked = form_post(
        &app,
        "/api/auth/request",
        &[("email", owner_email), ("redir", &redir)],
        "203.0.113.10",
        None,
    );
    assert_eq!(app.send(asked).await.status, StatusCode::OK);
    let (link, _) = app.last_link_and_code().await;
    let signed_in = app
        .post(
            "/api/auth/redeem",
            &[
                ("token", &crate::support::app::token_of(&link)),
                ("redir", &redir),
            ],
            None,
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let owner = crate::support::app::cookie_pair(&signed_in.cookie("session").unwrap());
    let landed: Value = serde_json::from_str(&signed_in.body).unwrap();
    let landed = landed["redirect_to"].as_str().unwrap().to_owned();
    assert!(landed.starts_with("/account?error="), "{landed}");
    let page = app.get_as(&landed, &owner).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("breached"), "{}", page.body);

    // Every page that shows a message from its address, each with the stranger's words.
    for page in [
        format!("/?error={encoded}"),
        format!("/account?delete_error={encoded}"),
        format!("/account?passkey_error={encoded}"),
        format!("/check-your-email?error={encoded}&email={encoded}"),
        format!("/magic-link-auth?token=x&error={encoded}"),
        format!("/sign-out-everywhere?token=x&error={encoded}"),
    ] {
        let shown = app.get_as(&page, &owner).await;
        assert!(shown.status.is_success(), "{page}: {}", shown.status);
        assert!(!shown.body.contains("breached"), "{page}: {}", shown.body);
        assert!(!shown.body.contains("555"), "{page}: {}", shown.body);
    }

    // What the server sends a plain form back with is a code, and the page says its words.
    let refused = app
        .post_plain_form("/api/auth/request", &[("email", "no-at-sign")], None)
        .await;
    let location = refused.headers[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(location.starts_with("/?error=email_no_at&"), "{location}");
    let page = app.get(&location).await;
    assert!(
        page.body
            .contains("An email address needs an @, as in name@example.com."),
        "{}",
        page.body
    );
    // A code with a count comes back without it.
    let page = app.get("/check-your-email?error=wrong_code").await;
    assert!(
        page.body.contains("That code is not right."),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_page_shows_only_after_its_action_and_only_once() {
    let app = app_behind_proxy().await;
    // By URL alone, no outcome.
    let login = app.get("/?deleted=1").await;
    assert!(!login.body.contains("account is deleted"), "{}", login.body);
    let signed_out = app.get("/sign-out-everywhere?done=5&passkeys=2").await;
    assert!(
        !signed_out.body.contains("Signed out everywhere"),
        "{}",
        signed_out.body
    );
    assert!(
        !signed_out.body.contains("5 sessions"),
        "{}",
        signed_out.body
    );
    // A cookie of the stranger's own making says nothing either.
    let forged = app
        .get_as("/sign-out-everywhere", "outcome=signed_out_everywhere.5.2x")
        .await;
    assert!(
        !forged.body.contains("Signed out everywhere"),
        "{}",
        forged.body
    );

    // After the action, once.
    let owner = app.sign_in("leaving@example.com").await;
    let deleted = app
        .post_plain_form(
            "/api/auth/delete-account",
            &[("confirm", "leaving@example.com")],
            Some(&owner),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::FOUND, "{}", deleted.body);
    let outcome = crate::support::app::cookie_pair(&deleted.cookie("outcome").unwrap());
    let once = app.get_as("/", &outcome).await;
    assert!(
        once.body.contains("Your account is deleted"),
        "{}",
        once.body
    );
    assert!(once.cookie("outcome").unwrap().contains("Max-Age=0"));
    // The API reads it once too.
    let again = app.post("/api/auth/outcome", &[], Some(&outcome)).await;
    assert_eq!(again.body, "\"AccountDeleted\"");
    assert!(again.cookie("outcome").unwrap().contains("Max-Age=0"));
    let none = app.post("/api/auth/outcome", &[], None).await;
    assert_eq!(none.body, "null");

    // A page with JavaScript shows the action's reply itself: no cookie is left behind to
    // show a past outcome later.
    let other = app.sign_in("script@example.com").await;
    let deleted = app
        .post(
            "/api/auth/delete-account",
            &[("confirm", "script@example.com")],
            Some(&other),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert!(deleted.cookie("outcome").is_none());
}
