//! Guessing codes is bounded per address, not only per credential: past the day's wrong
//! codes, codes for that address stop working from the clients it has not signed in from,
//! and say so; links keep working, and so do codes from the clients it signs in from.

use reqwest::StatusCode;

use super::{app_behind_proxy, post_from, redeem_from, type_code, wrong};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_are_capped_per_address_per_day_across_clients() {
    let app = app_behind_proxy().await;
    let email = "guessed@example.com";
    // Five clients each ask for a link and spend its code on wrong guesses: 25 guesses
    // were possible per window before, from one client alone.
    let mut checked = 0;
    let mut paused = 0;
    for n in 1..=5 {
        let client = format!("192.0.2.{n}");
        let sent = post_from(
            &app,
            "/api/auth/request",
            &[("email", email)],
            &client,
            None,
        )
        .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        let (_, code) = app.last_link_and_code().await;
        for _ in 0..5 {
            let reply = type_code(&app, email, &wrong(&code), &client, None).await;
            match reply.status {
                StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => paused += 1,
                other => panic!("{other}: {}", reply.body),
            }
        }
    }
    assert_eq!(checked, 10, "the default cap is ten wrong codes a day");
    assert_eq!(paused, 15);

    // The owner's right code is refused too, with the reason and what to do instead.
    let owner = "198.51.100.10";
    post_from(&app, "/api/auth/request", &[("email", email)], owner, None).await;
    let (link, code) = app.last_link_and_code().await;
    let refused = type_code(&app, email, &code, owner, None).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused
            .body
            .contains("Too many wrong codes were entered for this address today")
            && refused.body.contains("Use the link in the email instead"),
        "{}",
        refused.body
    );
    // Another address is unaffected, and the link still signs in.
    post_from(
        &app,
        "/api/auth/request",
        &[("email", "other@example.com")],
        "192.0.2.99",
        None,
    )
    .await;
    let (_, other_code) = app.last_link_and_code().await;
    let other = type_code(&app, "other@example.com", &other_code, "192.0.2.99", None).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    let by_link = redeem_from(&app, &link, owner).await;
    assert_eq!(by_link.status, StatusCode::OK, "{}", by_link.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_guesses_never_reach_a_code() {
    let app = app_behind_proxy().await;
    let email = "mine@example.com";
    let owner = "198.51.100.10";
    post_from(&app, "/api/auth/request", &[("email", email)], owner, None).await;
    let (_, code) = app.last_link_and_code().await;
    // A client that asked for nothing has no code to guess at: even the right one fails.
    let stranger = type_code(&app, email, &code, "203.0.113.66", None).await;
    assert_eq!(
        stranger.status,
        StatusCode::BAD_REQUEST,
        "{}",
        stranger.body
    );
    let owners = type_code(&app, email, &code, owner, None).await;
    assert_eq!(owners.status, StatusCode::OK, "{}", owners.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_pause_codes_for_a_client_the_owner_signs_in_from() {
    let app = app_behind_proxy().await;
    let email = "regular@example.com";
    let (owner, stranger) = ("198.51.100.10", "203.0.113.66");
    // The owner has signed in from this client before.
    post_from(&app, "/api/auth/request", &[("email", email)], owner, None).await;
    let (link, _) = app.last_link_and_code().await;
    let signed_in = redeem_from(&app, &link, owner).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);

    // The review's attack: one stranger client, two link requests, ten wrong codes.
    for _ in 0..2 {
        let sent = post_from(
            &app,
            "/api/auth/request",
            &[("email", email)],
            stranger,
            None,
        )
        .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        let (_, code) = app.last_link_and_code().await;
        for _ in 0..5 {
            let reply = type_code(&app, email, &wrong(&code), stranger, None).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        }
    }
    // Strangers' codes are paused for the day, even a right one, from any client the
    // address has not signed in from...
    for client in [stranger, "192.0.2.200"] {
        post_from(&app, "/api/auth/request", &[("email", email)], client, None).await;
        let (_, code) = app.last_link_and_code().await;
        let paused = type_code(&app, email, &code, client, None).await;
        assert_eq!(
            paused.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            paused.body
        );
        assert!(paused.body.contains("codes are paused"), "{}", paused.body);
    }
    // ...but the owner's code still signs in from the client it signs in from.
    post_from(&app, "/api/auth/request", &[("email", email)], owner, None).await;
    let (_, code) = app.last_link_and_code().await;
    let by_code = type_code(&app, email, &code, owner, None).await;
    assert_eq!(by_code.status, StatusCode::OK, "{}", by_code.body);
}
