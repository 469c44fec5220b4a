//! What an attacker-minded review of the server found, each as a test over HTTP against the
//! real server: cross-site requests, lockout by strangers, code guessing, clients behind
//! proxies and IPv6, production defaults, slow clients and overload, and timing.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod allow_list;
mod clients;
mod codes;
mod cross_site;
mod lockout;
mod production;
mod slow_clients;
mod strangers;

use crate::support::app::{Reply, TestApp, spawn_app_with};
use magic_link_core::{
    client::TrustedProxies,
    entities::{credential, session},
};
use reqwest::RequestBuilder;
use sea_orm::{EntityTrait, PaginatorTrait};

/// The app behind a trusted proxy on loopback, so each request can name its own client in
/// `X-Forwarded-For`.
async fn app_behind_proxy() -> TestApp {
    spawn_app_with(|config| {
        config.trusted_proxies = TrustedProxies::parse_list("127.0.0.1").unwrap();
    })
    .await
}

/// A form post to `path` as an API client would send it, from `client` (an
/// `X-Forwarded-For` value) with `cookie`, if any.
fn form_post(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    client: &str,
    cookie: Option<&str>,
) -> RequestBuilder {
    app.form_request(path, form, "application/json", cookie)
        .header("x-forwarded-for", client)
}

async fn post_from(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    client: &str,
    cookie: Option<&str>,
) -> Reply {
    app.send(form_post(app, path, form, client, cookie)).await
}

/// Opens `link` (redeems its token) from `client`, as the browser there would.
async fn redeem_from(app: &TestApp, link: &str, client: &str) -> Reply {
    let token = crate::support::app::token_of(link);
    post_from(app, "/api/auth/redeem", &[("token", &token)], client, None).await
}

/// Types `code` for `email` from `client`, with the pending sign-in `cookie`, if any.
async fn type_code(
    app: &TestApp,
    email: &str,
    code: &str,
    client: &str,
    cookie: Option<&str>,
) -> Reply {
    post_from(
        app,
        "/api/auth/verify-code",
        &[("email", email), ("code", code)],
        client,
        cookie,
    )
    .await
}

/// Credentials and sessions in the database.
async fn rows(app: &TestApp) -> (u64, u64) {
    (
        credential::Entity::find().count(&app.db).await.unwrap(),
        session::Entity::find().count(&app.db).await.unwrap(),
    )
}

/// A code that is not `code`.
fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}
