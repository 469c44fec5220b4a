//! Where to send someone after they sign in, and encoding a value for a query string.

use serde::{Deserialize, Serialize};

/// The longest redirect target kept; anything longer is refused rather than cut.
const REDIRECT_MAX_LEN: usize = 2048;

/// How many rounds of percent-decoding are inspected: enough to see through
/// double-encoding tricks such as `%252F`.
const REDIRECT_DECODE_ROUNDS: usize = 3;

/// Where to send someone after they sign in: always a path on this site.
///
/// Only a path that starts with exactly one `/` is accepted. Anything a browser could
/// read as another origin is refused, in its plain form and in its percent-encoded forms:
/// `//host`, `/\host`, a scheme, control characters, and paths whose `.` and `..`
/// segments resolve to one of those (`/.//host`). The target kept has its dot segments
/// resolved, as a browser would.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectTarget(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("The redirect must be a path on this site, starting with a single /.")]
    NotALocalPath,
    #[error("The redirect can't contain a backslash.")]
    Backslash,
    #[error("The redirect can't contain spaces, line breaks or control characters.")]
    WhitespaceOrControl,
    #[error("The redirect must be plain ASCII: percent-encode other characters.")]
    NotAscii,
    #[error("The redirect is too long.")]
    TooLong,
    #[error("The redirect contains a malformed percent-encoding.")]
    MalformedEncoding,
}

impl RedirectTarget {
    pub fn parse(input: &str) -> Result<Self, RedirectError> {
        if input.len() > REDIRECT_MAX_LEN {
            return Err(RedirectError::TooLong);
        }
        if !input.is_ascii() {
            return Err(RedirectError::NotAscii);
        }
        if input.contains(' ') {
            return Err(RedirectError::WhitespaceOrControl);
        }
        // The plain form and each decoded form must read as a local path, in case anything
        // between here and the browser decodes it again. Decoded forms may hold spaces and
        // UTF-8, which are harmless once encoded, but never control characters.
        let mut current = input.to_owned();
        for _ in 0..=REDIRECT_DECODE_ROUNDS {
            check_local_path(&current)?;
            let decoded = percent_decode(&current)?;
            if decoded == current {
                return Ok(Self(resolve_dot_segments(input)));
            }
            current = decoded;
        }
        // Still changing after several rounds: nobody encodes a path like that by accident.
        Err(RedirectError::MalformedEncoding)
    }

    /// The target from an optional query value: absent or empty means the home page. (The
    /// auth endpoints use `paths::sign_in_target`, where it means the app's
    /// `after_sign_in`.)
    pub fn parse_optional(input: Option<&str>) -> Result<Self, RedirectError> {
        match input {
            None | Some("") => Ok(Self::default()),
            Some(value) => Self::parse(value),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RedirectTarget {
    fn default() -> Self {
        Self("/".to_owned())
    }
}

parsed_string!(RedirectTarget, RedirectError);

fn check_local_path(path: &str) -> Result<(), RedirectError> {
    if path.chars().any(char::is_control) {
        return Err(RedirectError::WhitespaceOrControl);
    }
    if path.contains('\\') {
        return Err(RedirectError::Backslash);
    }
    // What a browser goes to is the path with its dot segments resolved: `/.//x` is `//x`.
    let resolved = resolve_dot_segments(path);
    let mut bytes = resolved.bytes();
    match (bytes.next(), bytes.next()) {
        (Some(b'/'), Some(b'/')) => Err(RedirectError::NotALocalPath),
        (Some(b'/'), _) if path.starts_with('/') => Ok(()),
        _ => Err(RedirectError::NotALocalPath),
    }
}

/// `.` as a browser reads a path segment: `.`, or `%2e` in either case (WHATWG URL).
fn is_single_dot(segment: &str) -> bool {
    segment == "." || segment.eq_ignore_ascii_case("%2e")
}

/// `..` as a browser reads a path segment: `..`, `.%2e`, `%2e.` or `%2e%2e`, in either case.
fn is_double_dot(segment: &str) -> bool {
    matches!(
        segment.to_ascii_lowercase().as_str(),
        ".." | ".%2e" | "%2e." | "%2e%2e"
    )
}

/// `target` with the `.` and `..` segments of its path resolved as a browser does (RFC 3986,
/// 5.2.4, with WHATWG's `%2e`); the query and fragment are kept as they are. Written here
/// because the `url` crate is not in the wasm bundle, and only absolute paths need resolving.
fn resolve_dot_segments(target: &str) -> String {
    let split = target.find(['?', '#']).unwrap_or(target.len());
    let (path, rest) = target.split_at(split);
    let Some(path) = path.strip_prefix('/') else {
        return target.to_owned();
    };
    let mut out: Vec<&str> = Vec::new();
    let mut segments = path.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if is_double_dot(segment) {
            out.pop();
        } else if !is_single_dot(segment) {
            out.push(segment);
            continue;
        }
        // A path ending in `.` or `..` names a directory: it keeps its trailing slash.
        if last {
            out.push("");
        }
    }
    format!("/{}{rest}", out.join("/"))
}

/// Decodes one round of percent-encoding. Stricter than the percent-encoding crate, which
/// passes a stray `%` through as it is: here a `%` must start a two-digit hex escape, since
/// nobody writes a malformed one by accident and a later decoder might read it otherwise.
fn percent_decode(input: &str) -> Result<String, RedirectError> {
    let well_formed = input.split('%').skip(1).all(|after| {
        after
            .as_bytes()
            .get(..2)
            .is_some_and(|escape| escape.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return Err(RedirectError::MalformedEncoding);
    }
    // Bytes that are not UTF-8 cannot form `/`, `\\` or a control character; only those matter.
    Ok(percent_encoding::percent_decode_str(input)
        .decode_utf8_lossy()
        .into_owned())
}

/// Everything but the unreserved characters of RFC 3986 (letters, digits, `- . _ ~`).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but unreserved characters, so the value is inert in a query
/// string and in an HTML attribute alike.
pub fn encode_query_value(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_accepted_as_given() {
        for input in [
            "/",
            "/dashboard",
            "/a/b/c?x=1&y=two#section",
            "/search?q=%20spaced",
            "/caf%C3%A9",
            "/%EF%BC%8Fstill-local",
            "/path;param",
            "/~user/",
        ] {
            assert_eq!(
                RedirectTarget::parse(input).map(String::from),
                Ok(input.to_owned()),
                "{input:?}"
            );
        }
    }

    #[test]
    fn dot_segments_are_resolved_as_a_browser_would() {
        let kept = |input: &str| RedirectTarget::parse(input).map(String::from);
        for (input, resolved) in [
            ("/a/./b", "/a/b"),
            ("/a/b/../c", "/a/c"),
            ("/..", "/"),
            ("/../../x", "/x"),
            ("/a/.", "/a/"),
            ("/a/b/..", "/a/"),
            ("/a/..?next=/./x", "/?next=/./x"),
            ("/search?u=//evil.example", "/search?u=//evil.example"),
            ("/a#/../..//b", "/a#/../..//b"),
        ] {
            assert_eq!(kept(input), Ok(resolved.to_owned()), "{input:?}");
        }
    }

    #[test]
    fn missing_or_empty_redirect_means_home() {
        assert_eq!(
            RedirectTarget::parse_optional(None).map(String::from),
            Ok("/".to_owned())
        );
        assert_eq!(
            RedirectTarget::parse_optional(Some("")).map(String::from),
            Ok("/".to_owned())
        );
        assert_eq!(RedirectTarget::default().as_str(), "/");
    }

    #[test]
    fn hostile_redirects_are_refused() {
        use RedirectError::*;
        let cases = [
            ("https://evil.example", NotALocalPath),
            ("http://evil.example/path", NotALocalPath),
            ("//evil.example", NotALocalPath),
            ("///evil.example", NotALocalPath),
            ("/\\evil.example", Backslash),
            ("\\\\evil.example", Backslash),
            ("/\\/evil.example", Backslash),
            ("javascript:alert(1)", NotALocalPath),
            ("JaVaScRiPt:alert(1)", NotALocalPath),
            ("data:text/html,<script>alert(1)</script>", NotALocalPath),
            ("evil.example", NotALocalPath),
            ("dashboard", NotALocalPath),
            ("%2F%2Fevil.example", NotALocalPath),
            ("/%2Fevil.example", NotALocalPath),
            ("/%2fevil.example", NotALocalPath),
            ("/%5Cevil.example", Backslash),
            ("/%252Fevil.example", NotALocalPath),
            ("/%25252Fevil.example", NotALocalPath),
            ("/%09/evil.example", WhitespaceOrControl),
            ("/\t/evil.example", WhitespaceOrControl),
            ("/\r\nSet-Cookie: x=1", WhitespaceOrControl),
            (
                "/%0d%0aLocation:%20https://evil.example",
                WhitespaceOrControl,
            ),
            ("/ /evil.example", WhitespaceOrControl),
            ("/\u{FF0F}evil.example", NotAscii),
            ("/\u{2215}evil.example", NotAscii),
            ("/%zz", MalformedEncoding),
            ("/%+1", MalformedEncoding),
            ("/%4", MalformedEncoding),
            (" /dashboard", WhitespaceOrControl),
            ("\u{0}/", WhitespaceOrControl),
            // Dot segments that resolve to another host.
            ("/.//evil.example", NotALocalPath),
            ("/././/evil.example", NotALocalPath),
            ("/..//evil.example", NotALocalPath),
            ("/a/..//evil.example", NotALocalPath),
            ("/a/b/../..//evil.example", NotALocalPath),
            ("/%2e//evil.example", NotALocalPath),
            ("/%2E%2E//evil.example", NotALocalPath),
            ("/.%2e//evil.example", NotALocalPath),
            ("/%252e//evil.example", NotALocalPath),
            // An encoded `?` hides the rest from a check that decodes first; a browser keeps
            // it in the path and still reads `%2e%2e` as `..`.
            ("/%3F/%2e%2e//evil.example", NotALocalPath),
            ("/%23/%2E%2E//evil.example", NotALocalPath),
        ];
        assert!(cases.len() >= 20);
        for (input, expected) in cases {
            assert_eq!(RedirectTarget::parse(input), Err(expected), "{input:?}");
        }
        assert_eq!(
            RedirectTarget::parse(&format!("/{}", "a".repeat(REDIRECT_MAX_LEN))),
            Err(TooLong)
        );
    }
}
