//! The dev mailbox's pages: with the `dev-mailbox` feature, in debug builds, `/dev/mailbox` lists every
//! message sent since the server started, newest first, with its HTML part in a sandboxed
//! frame and its text with the link clickable. Server only; a release build has no such page,
//! whatever its features.
//!
//! Every message goes through the configured provider as before (the console by default); the
//! mailbox keeps a copy of each one the provider took. The messages hold working sign-in
//! links, so the mailbox is as closed as a session: it answers only a browser that holds its
//! key, a 256-bit random value made at start and printed once to the server's console with
//! the mailbox's full address (Jupyter's way). Opening that address keeps the key in a cookie
//! scoped to the mailbox's path. Where the request came from decides nothing: behind a reverse
//! proxy on the same machine every request comes from loopback, and only a secret tells the
//! developer from anyone else. Never cached.

use axum::{
    Extension,
    extract::{Path, Request},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::mail::mailbox::{DevMailbox, KEEP, Kept, PATH};

/// The cookie that keeps the key, sent back only to the mailbox's own path.
const KEY_COOKIE: &str = "dev-mailbox-key";

/// How `request` stands with `mailbox`: the key in its query, its cookie, or neither.
fn access(mailbox: &DevMailbox, request: &Request) -> Access {
    let mut in_query = request.uri().query().into_iter().flat_map(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .filter(|(name, _)| name == "key")
            .map(|(_, value)| value.into_owned())
    });
    if let Some(offered) = in_query.next() {
        return if mailbox.is_key(&offered) {
            Access::KeyInQuery
        } else {
            Access::Refused
        };
    }
    let in_cookie = crate::cookies::cookie_in(request.headers(), KEY_COOKIE)
        .is_some_and(|offered| mailbox.is_key(&offered));
    if in_cookie {
        Access::KeyInCookie
    } else {
        Access::Refused
    }
}

enum Access {
    /// The address the console printed: keep the key in a cookie, then drop it from the URL.
    KeyInQuery,
    KeyInCookie,
    Refused,
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found").into_response()
}

/// What a browser without the key gets: no message, and where the developer finds the key.
fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CACHE_CONTROL, "no-store")],
        "The dev mailbox needs its key: open the address the server printed when it started.\n",
    )
        .into_response()
}

/// Keeps the key in a cookie only the mailbox's path gets back, and sends the browser to the
/// mailbox without the key in its address (or its history, or a `Referer`).
fn keep_key(mailbox: &DevMailbox) -> Response {
    let Some(key) = mailbox.key() else {
        return refused();
    };
    let cookie = cookie::Cookie::build((KEY_COOKIE, key.expose_secret().to_owned()))
        .path(PATH)
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(mailbox.is_secure())
        .build()
        .to_string();
    match HeaderValue::from_str(&cookie) {
        Ok(cookie) => (
            StatusCode::SEE_OTHER,
            [
                (header::SET_COOKIE, cookie),
                (header::LOCATION, HeaderValue::from_static(PATH)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
            ],
        )
            .into_response(),
        Err(_) => refused(),
    }
}

/// The page's stylesheet, allowed by its hash: the page has no script and loads nothing.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}\
main{max-width:60rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem}\
ol{list-style:none;padding:0}li{background:#fff;border:1px solid #d4d4d8;border-radius:8px;margin:0 0 1rem;padding:1rem}\
h2{font-size:1.1rem;margin:0;overflow-wrap:anywhere}.meta{color:#52525b;margin:.25rem 0 .75rem;overflow-wrap:anywhere}\
iframe{width:100%;height:34rem;border:1px solid #d4d4d8;border-radius:4px;background:#fff}\
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fafafa;border:1px solid #e4e4e7;padding:.75rem;border-radius:4px}\
a{color:#1d4ed8}";

/// The list's policy, with the stylesheet's hash: worked out once.
static LIST_POLICY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let style_hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{style_hash}'; frame-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
});

fn escape(value: &str) -> String {
    html_escape::encode_quoted_attribute(value).into_owned()
}

/// The text part, escaped, with each `http(s)://` word a link.
fn linkify(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (j, word) in line.split(' ').enumerate() {
            if j > 0 {
                out.push(' ');
            }
            if word.starts_with("http://") || word.starts_with("https://") {
                let word = escape(word);
                out.push_str(&format!("<a href=\"{word}\">{word}</a>"));
            } else {
                out.push_str(&escape(word));
            }
        }
    }
    out
}

/// `GET /dev/mailbox`: the list.
pub async fn list(Extension(mailbox): Extension<DevMailbox>, request: Request) -> Response {
    match access(&mailbox, &request) {
        Access::KeyInQuery => return keep_key(&mailbox),
        Access::KeyInCookie => {}
        Access::Refused => return refused(),
    }
    let messages = mailbox.messages();
    let mut items = String::new();
    for Kept { id, at, mail } in &messages {
        let subject = escape(&mail.subject);
        items.push_str(&format!(
            "<li><article aria-labelledby=\"m{id}\"><h2 id=\"m{id}\">{subject}</h2>\
             <p class=\"meta\">To {to} · from {from} · {at}</p>\
             <iframe sandbox=\"allow-popups allow-popups-to-escape-sandbox\" src=\"{PATH}/{id}\" \
             title=\"The HTML part of “{subject}”\" loading=\"lazy\"></iframe>\
             <h3>Text</h3><pre>{text}</pre></article></li>",
            to = escape(mail.to.as_str()),
            from = escape(&mail.from),
            at = at.format("%Y-%m-%d %H:%M:%S UTC"),
            text = linkify(&mail.text),
        ));
    }
    let body = if messages.is_empty() {
        "<p>No messages yet. Ask for a sign-in link and it shows up here.</p>".to_owned()
    } else {
        format!("<ol>{items}</ol>")
    };
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Dev mailbox</title><style>{STYLE}</style></head><body><main>\
         <h1>Dev mailbox</h1><p>The messages sent since the server started, newest first \
         ({count} kept, up to {KEEP}). Debug builds only. <a href=\"{PATH}\">Refresh</a></p>\
         {body}</main></body></html>\n",
        count = messages.len(),
    );
    html_response(page, &LIST_POLICY)
}

/// `GET /dev/mailbox/{id}`: one message's HTML part, for the list's sandboxed frame. Its
/// policy sandboxes it when opened on its own, too: no script runs, nothing loads but
/// inline styles and `data:` images.
pub async fn message_html(
    Extension(mailbox): Extension<DevMailbox>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    if !matches!(access(&mailbox, &request), Access::KeyInCookie) {
        return refused();
    }
    let Some(delivered) = id.parse::<u64>().ok().and_then(|id| mailbox.message(id)) else {
        return not_found();
    };
    // Links open in a new tab: the app's pages refuse to be framed.
    const BASE: &str = "<base target=\"_blank\">";
    let html = &delivered.mail.html;
    let html = if html.contains("<head>") {
        html.replacen("<head>", &format!("<head>{BASE}"), 1)
    } else {
        format!("{BASE}{html}")
    };
    html_response(
        html,
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
         frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox",
    )
}

/// The page with its policy, never cached: it holds working links and codes.
fn html_response(body: String, policy: &str) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response();
    if let Ok(policy) = HeaderValue::from_str(policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_links_are_clickable_and_the_rest_is_escaped() {
        assert_eq!(
            linkify("Open <this>:\nhttps://a.example/l?t=1&r=\"x\" now"),
            "Open &lt;this&gt;:\n<a href=\"https://a.example/l?t=1&amp;r=&quot;x&quot;\">\
             https://a.example/l?t=1&amp;r=&quot;x&quot;</a> now"
        );
        assert_eq!(linkify("javascript:alert(1)"), "javascript:alert(1)");
    }

    #[test]
    fn only_the_key_opens_it() {
        let mailbox = DevMailbox::new(false);
        let address = mailbox.address_with_key("http://127.0.0.1:3000").unwrap();
        let key = address.split("?key=").nth(1).unwrap().to_owned();
        assert_eq!(key.len(), 43);
        assert_ne!(
            DevMailbox::new(false).address_with_key("http://127.0.0.1:3000"),
            Some(address.clone())
        );
        let asked = |uri: &str, cookie: Option<&str>| {
            let mut request = Request::builder().uri(uri);
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            access(&mailbox, &request.body(axum::body::Body::empty()).unwrap())
        };
        assert!(matches!(
            asked(&format!("{PATH}?key={key}"), None),
            Access::KeyInQuery
        ));
        let cookie = format!("other=1; {KEY_COOKIE}={key}");
        assert!(matches!(asked(PATH, Some(&cookie)), Access::KeyInCookie));
        // No key, another key, a cut key, or the key under another name.
        assert!(matches!(asked(PATH, None), Access::Refused));
        assert!(matches!(
            asked(&format!("{PATH}?key=x{key}"), Some(&cookie)),
            Access::Refused
        ));
        let cut = &key[..42];
        assert!(matches!(
            asked(PATH, Some(&format!("{KEY_COOKIE}={cut}"))),
            Access::Refused
        ));
        assert!(matches!(
            asked(PATH, Some(&format!("session={key}"))),
            Access::Refused
        ));
        assert!(matches!(
            asked(&format!("{PATH}?token={key}"), None),
            Access::Refused
        ));
    }
}
