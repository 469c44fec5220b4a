//! The dev mailbox: in debug builds, `/dev/mailbox` lists every message sent since the server
//! started, newest first, with its HTML part in a sandboxed frame and its text with the link
//! clickable. Server only, and compiled into debug builds only: a release binary has no such
//! page, whatever its settings.
//!
//! Every message goes through the configured provider as before (the console by default); the
//! mailbox keeps a copy of each one the provider took. It answers only requests made on this
//! machine (a loopback peer, a loopback `Host`, and no proxy's forwarding headers), never
//! cached: the messages hold working sign-in links.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{
    Extension,
    extract::{ConnectInfo, Path, Request},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Mail, Mailer, SendFuture};
use crate::{clock::Clock, service::AuthService};

/// Where the mailbox lives.
pub const PATH: &str = crate::paths::DEV_MAILBOX;

/// How many messages the mailbox keeps; older ones make way.
pub const KEEP: usize = 200;

/// One message the provider took.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// Its number since start, from 1.
    pub id: u64,
    pub at: DateTime<Utc>,
    pub mail: Mail,
}

/// The messages sent since start; clones share them.
#[derive(Clone, Default)]
pub struct DevMailbox {
    inner: Arc<Mutex<Inbox>>,
}

#[derive(Default)]
struct Inbox {
    last_id: u64,
    messages: VecDeque<Delivered>,
}

impl DevMailbox {
    fn keep(&self, mail: &Mail, at: DateTime<Utc>) {
        let mut inbox = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inbox.last_id += 1;
        let id = inbox.last_id;
        inbox.messages.push_front(Delivered {
            id,
            at,
            mail: mail.clone(),
        });
        inbox.messages.truncate(KEEP);
    }

    /// Every message kept, newest first.
    pub fn messages(&self) -> Vec<Delivered> {
        let inbox = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inbox.messages.iter().cloned().collect()
    }

    fn message(&self, id: u64) -> Option<Delivered> {
        let inbox = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inbox.messages.iter().find(|m| m.id == id).cloned()
    }
}

/// A mailer that keeps a copy of every message `inner` took in the mailbox.
pub struct Keeping {
    pub inner: Arc<dyn Mailer>,
    pub mailbox: DevMailbox,
    pub clock: Arc<dyn Clock>,
}

impl Mailer for Keeping {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        Box::pin(async move {
            self.inner.send(mail).await?;
            self.mailbox.keep(mail, self.clock.now());
            Ok(())
        })
    }
}

/// Only this machine may read the mailbox: the connection's peer is a loopback address, the
/// request names a loopback host (a page on another site that rebinds its name to 127.0.0.1
/// still says its own), and no proxy on this machine forwarded it from elsewhere (a tunnel or
/// a reverse proxy connects from loopback too, but says whom it speaks for).
fn is_local(request: &Request) -> bool {
    let peer_is_loopback = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(addr)| crate::client::canonical(addr.ip()).is_loopback());
    let headers = request.headers();
    let host_is_loopback = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(is_loopback_host);
    let forwarded = [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-real-ip",
    ]
    .iter()
    .any(|name| headers.contains_key(*name));
    peer_is_loopback && host_is_loopback && !forwarded
}

/// `localhost`, `127.0.0.1` or `[::1]`, with any port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found").into_response()
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
pub async fn list(Extension(auth): Extension<AuthService>, request: Request) -> Response {
    if !is_local(&request) {
        return not_found();
    }
    let messages = auth.dev_mailbox.messages();
    let mut items = String::new();
    for Delivered { id, at, mail } in &messages {
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
    Extension(auth): Extension<AuthService>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    if !is_local(&request) {
        return not_found();
    }
    let Some(delivered) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| auth.dev_mailbox.message(id))
    else {
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
    fn only_a_loopback_peer_may_read_it() {
        let asked = |peer: &str, headers: &[(&str, &str)]| {
            let mut request = Request::new(axum::body::Body::empty());
            request
                .extensions_mut()
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
            for (name, value) in headers {
                request.headers_mut().insert(
                    axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            is_local(&request)
        };
        let host = |value: &'static str| [("host", value)];
        assert!(asked("127.0.0.1:5000", &host("127.0.0.1:3000")));
        assert!(asked("[::1]:5000", &host("[::1]:3000")));
        assert!(asked("[::ffff:127.0.0.1]:5000", &host("localhost:3000")));
        assert!(asked("127.0.0.1:5000", &host("LOCALHOST")));
        // Another machine, whatever it says.
        assert!(!asked("192.0.2.1:5000", &host("127.0.0.1:3000")));
        assert!(!asked("[2001:db8::1]:5000", &host("[::1]:3000")));
        // A rebound name, or none.
        assert!(!asked("127.0.0.1:5000", &host("evil.example:3000")));
        assert!(!asked("127.0.0.1:5000", &host("127.0.0.1.evil.example")));
        assert!(!asked("127.0.0.1:5000", &[]));
        // A proxy or tunnel on this machine, speaking for someone else.
        for proxied in [
            "x-forwarded-for",
            "forwarded",
            "x-real-ip",
            "x-forwarded-host",
        ] {
            assert!(
                !asked(
                    "127.0.0.1:5000",
                    &[("host", "127.0.0.1:3000"), (proxied, "for=192.0.2.1")]
                ),
                "{proxied}"
            );
        }
        assert!(!is_local(&Request::new(axum::body::Body::empty())));
    }

    #[test]
    fn the_mailbox_keeps_the_newest_messages_first() {
        let mailbox = DevMailbox::default();
        let mail = |n: usize| Mail {
            from: "a@example.com".to_owned(),
            to: crate::domain::Email::parse("b@example.com").unwrap(),
            subject: format!("message {n}"),
            text: String::new(),
            html: String::new(),
            link: String::new(),
            code: None,
        };
        for n in 0..KEEP + 5 {
            mailbox.keep(&mail(n), Utc::now());
        }
        let messages = mailbox.messages();
        assert_eq!(messages.len(), KEEP);
        assert_eq!(messages[0].mail.subject, format!("message {}", KEEP + 4));
        assert_eq!(messages[0].id, u64::try_from(KEEP + 5).unwrap());
        assert!(mailbox.message(1).is_none());
    }
}
