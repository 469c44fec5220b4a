//! The site's static files: embedded in release builds, read from disk otherwise.
//!
//! A release binary carries every file of the built site (see `build.rs`), each with its
//! brotli and gzip forms. Files under `pkg/` are served at content-hashed URLs with a year of
//! immutable caching; the rest (`public/`) with an ETag and revalidation. A debug build
//! embeds nothing and leaves static files to Leptos' file handler, so `cargo leptos watch`
//! picks up every rebuild.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

/// One embedded file.
pub struct EmbeddedFile {
    /// The URL path it is served at: content-hashed for files under `pkg/`.
    pub url: &'static str,
    /// Its path in the site folder, as Leptos and the shell name it.
    pub original: &'static str,
    /// A strong ETag: the start of the content's SHA-256, quoted.
    pub etag: &'static str,
    /// Whether the URL changes with the content, so it can be cached forever.
    pub immutable: bool,
    pub body: &'static [u8],
    pub brotli: Option<&'static [u8]>,
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/embedded_site.rs"));

/// Whether this binary carries the site.
pub fn embedded() -> bool {
    !EMBEDDED.is_empty()
}

/// The file served at `url`, if embedded.
pub fn find(url: &str) -> Option<&'static EmbeddedFile> {
    EMBEDDED
        .binary_search_by(|file| file.url.cmp(url))
        .ok()
        .and_then(|index| EMBEDDED.get(index))
}

/// The URL to link to for the site file `original` (such as `/pkg/app.js`): its hashed URL
/// when embedded, the path itself otherwise.
pub fn url_of(original: &str) -> &str {
    EMBEDDED
        .iter()
        .find(|file| file.original == original)
        .map_or(original, |file| file.url)
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "public, max-age=0, must-revalidate";

/// Answers a GET or HEAD for an embedded file, or `None` when `url` is not one.
pub fn respond(method: &Method, url: &str, request: &HeaderMap) -> Option<Response> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let file = find(url)?;
    let cache = if file.immutable {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, content_type(url));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::ETAG, HeaderValue::from_static(file.etag));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));

    let revalidated = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == file.etag));
    if revalidated {
        return Some((StatusCode::NOT_MODIFIED, headers).into_response());
    }

    let (encoding, body) = match preferred_encoding(request) {
        Encoding::Brotli if file.brotli.is_some() => (Some("br"), file.brotli),
        Encoding::Brotli | Encoding::Gzip if file.gzip.is_some() => (Some("gzip"), file.gzip),
        _ => (None, Some(file.body)),
    };
    let body = body.unwrap_or(file.body);
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    };
    Some((StatusCode::OK, headers, body).into_response())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// The best encoding the client accepts: brotli, then gzip. An encoding listed with `q=0`
/// is refused.
fn preferred_encoding(request: &HeaderMap) -> Encoding {
    let accepted = |name: &str| {
        request
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|item| {
                let mut parts = item.split(';').map(str::trim);
                let coding = parts.next().unwrap_or_default();
                let refused = parts.any(|param| {
                    param
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                coding.eq_ignore_ascii_case(name) && !refused
            })
    };
    if accepted("br") {
        Encoding::Brotli
    } else if accepted("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// The Content-Type of a site file by its extension (mime_guess), with `charset=utf-8` on text
/// and JavaScript, which browsers would otherwise read in a legacy encoding.
fn content_type(url: &str) -> HeaderValue {
    let mime = mime_guess::from_path(url).first_or_octet_stream();
    let textual = mime.type_() == "text" || mime.essence_str() == "application/javascript";
    let value = if textual {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.essence_str().to_owned()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("")),
        );
        headers
    }

    #[test]
    fn the_best_accepted_encoding_wins() {
        assert_eq!(
            preferred_encoding(&accepting("gzip, deflate, br")),
            Encoding::Brotli
        );
        assert_eq!(preferred_encoding(&accepting("gzip")), Encoding::Gzip);
        assert_eq!(
            preferred_encoding(&accepting("br;q=0, gzip")),
            Encoding::Gzip
        );
        assert_eq!(
            preferred_encoding(&accepting("identity")),
            Encoding::Identity
        );
        assert_eq!(preferred_encoding(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn content_types_come_from_the_extension() {
        for (url, expected) in [
            ("/pkg/app.abc.js", "text/javascript; charset=utf-8"),
            ("/pkg/app.abc.wasm", "application/wasm"),
            ("/pkg/app.abc.css", "text/css; charset=utf-8"),
            ("/favicon.svg", "image/svg+xml"),
            ("/no-extension", "application/octet-stream"),
        ] {
            assert_eq!(content_type(url), expected, "{url}");
        }
    }
}
