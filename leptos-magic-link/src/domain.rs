//! Pure domain types. Each can only be built valid: parse, don't validate.
//!
//! Nothing here touches the database or the network, so these types compile into the
//! wasm bundle too, where the forms can use the same rules as the server.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest address SMTP can carry (RFC 5321: a 256-octet path less the angle brackets).
const EMAIL_MAX_LEN: usize = 254;

/// A normalised email address: trimmed, lower-cased, with one `@` between a non-empty
/// local part and a dotted domain, and nothing that could break out of a mail header.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveValueType))]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Why an address was refused. The messages are shown to the person who typed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("An email address can't be longer than 254 characters.")]
    TooLong,
    #[error("An email address can't contain spaces, line breaks or control characters.")]
    WhitespaceOrControl,
    #[error("An email address needs an @, as in name@example.com.")]
    MissingAt,
    #[error("An email address has only one @.")]
    MoreThanOneAt,
    #[error("Add the part before the @, as in name@example.com.")]
    EmptyLocalPart,
    #[error("Add the domain after the @, as in name@example.com.")]
    EmptyDomain,
    #[error("The domain after the @ needs a dot, as in example.com.")]
    DomainWithoutDot,
    #[error("The domain after the @ isn't valid: check for stray or doubled dots.")]
    MalformedDomain,
    #[error("An email address can't contain < > ( ) [ ] , ; : \\ or double quotes.")]
    ForbiddenCharacter,
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
        {
            return Err(EmailError::WhitespaceOrControl);
        }
        if email.len() > EMAIL_MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = match email.split_once('@') {
            None => return Err(EmailError::MissingAt),
            Some((_, rest)) if rest.contains('@') => return Err(EmailError::MoreThanOneAt),
            Some(parts) => parts,
        };
        if local.is_empty() {
            return Err(EmailError::EmptyLocalPart);
        }
        if domain.is_empty() {
            return Err(EmailError::EmptyDomain);
        }
        // Quoted local parts and address literals are legal but almost never used, and
        // these characters are the ones that change a header's meaning.
        if email.chars().any(|c| {
            matches!(
                c,
                '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | ':' | '\\' | '"'
            )
        }) {
            return Err(EmailError::ForbiddenCharacter);
        }
        if !domain.contains('.') {
            return Err(EmailError::DomainWithoutDot);
        }
        let bad_label = |label: &str| {
            label.is_empty()
                || label.starts_with('-')
                || label.ends_with('-')
                || !label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if domain.split('.').any(bad_label) {
            return Err(EmailError::MalformedDomain);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Display, and the conversions serde uses, for a string newtype whose only way in is `parse`:
/// a deserialised value passes the same checks as a typed one.
macro_rules! parsed_string {
    ($name:ident, $error:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

parsed_string!(Email, EmailError);

/// Format characters that render as nothing: an address holding one looks like another.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

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

/// The length of a 32-byte secret written as unpadded URL-safe base64.
pub const TOKEN_LEN: usize = 43;

/// Why a token or code from a request was refused before any lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialFormatError {
    #[error(
        "This sign-in link is incomplete or damaged. Copy the whole link from the email, or request a new one."
    )]
    MalformedToken,
    #[error("Enter the 6-digit code from the email.")]
    MalformedCode,
}

/// The text of a 256-bit token: exactly 43 URL-safe base64 characters.
fn token_text(value: &str) -> Result<String, CredentialFormatError> {
    let shaped = value.len() == TOKEN_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if shaped {
        Ok(value.to_owned())
    } else {
        Err(CredentialFormatError::MalformedToken)
    }
}

/// The secret in a magic link: 32 random bytes, URL-safe base64. Only its SHA-256 is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    /// Spaces around a pasted link are forgiven.
    pub fn parse(input: &str) -> Result<Self, CredentialFormatError> {
        token_text(input.trim()).map(Self)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A session's bearer secret, carried in an HttpOnly cookie. Only its SHA-256 is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn parse(input: &str) -> Result<Self, CredentialFormatError> {
        token_text(input).map(Self)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The number of digits in a typed sign-in code.
pub const CODE_DIGITS: usize = 6;

/// The code typed by hand when the email is read on another device. Stored as argon2id.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    /// Accepts the digits with any spaces or dashes a person adds while copying them.
    pub fn parse(input: &str) -> Result<Self, CredentialFormatError> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(CredentialFormatError::MalformedCode)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

// Secrets never reach logs through `{:?}`.
macro_rules! redacted_debug {
    ($($name:ident),*) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    )*};
}
redacted_debug!(LinkToken, SessionToken, Code);

/// A stable, opaque user id for other systems: the lower-case hex SHA-256 of the
/// lower-cased email, exactly as the original computes it, so ids carry over.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveValueType))]
pub struct PersistentId(String);

impl PersistentId {
    pub fn for_email(email: &Email) -> Self {
        use sha2::{Digest, Sha256};
        Self(hex_lower(&Sha256::digest(email.as_str().as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersistentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Alice.Smith+Tag@Example.COM \t").map(String::from);
        assert_eq!(email, Ok("alice.smith+tag@example.com".to_owned()));
    }

    #[test]
    fn ordinary_emails_are_accepted() {
        for input in [
            "a@b.co",
            "first.last@sub.example.org",
            "user+tag@example.com",
            "o'neil@example.ie",
            "x_y-z@my-domain.example",
            "12345@numbers.example",
            "müller@example.de",
        ] {
            assert!(Email::parse(input).is_ok(), "{input:?} should be accepted");
        }
    }

    #[test]
    fn hostile_emails_are_refused_each_with_its_reason() {
        use EmailError::*;
        let long_local = format!("{}@example.com", "a".repeat(243));
        let cases: Vec<(String, EmailError)> = [
            ("", Empty),
            ("   ", Empty),
            ("\t\r\n", Empty),
            ("plainaddress", MissingAt),
            ("example.com", MissingAt),
            ("a@b@example.com", MoreThanOneAt),
            ("a@@example.com", MoreThanOneAt),
            ("@example.com", EmptyLocalPart),
            ("alice@", EmptyDomain),
            ("@", EmptyLocalPart),
            ("alice@localhost", DomainWithoutDot),
            ("alice@example", DomainWithoutDot),
            ("alice smith@example.com", WhitespaceOrControl),
            ("alice@exa mple.com", WhitespaceOrControl),
            (
                "alice@example.com\r\nBcc: victim@example.com",
                WhitespaceOrControl,
            ),
            ("alice@example.com\nSubject: hi", WhitespaceOrControl),
            ("alice\0@example.com", WhitespaceOrControl),
            ("alice\u{7f}@example.com", WhitespaceOrControl),
            ("alice\u{1b}[31m@example.com", WhitespaceOrControl),
            ("alice\u{a0}x@example.com", WhitespaceOrControl),
            ("alice\u{2028}@example.com", WhitespaceOrControl),
            ("ali\u{200b}ce@example.com", WhitespaceOrControl),
            ("alice@exam\u{ad}ple.com", WhitespaceOrControl),
            ("alice\u{202e}moc.elpmaxe@example.com", WhitespaceOrControl),
            ("\u{feff}alice@example.com", WhitespaceOrControl),
            ("alice@exa\u{85}mple.com", WhitespaceOrControl),
            ("Alice <alice@example.com>", WhitespaceOrControl),
            ("<alice@example.com>", ForbiddenCharacter),
            ("alice@example.com>", ForbiddenCharacter),
            ("alice,bob@example.com", ForbiddenCharacter),
            ("alice;bob@example.com", ForbiddenCharacter),
            ("\"alice\"@example.com", ForbiddenCharacter),
            ("alice@example.com'--", MalformedDomain),
            ("alice@exam_ple.com", MalformedDomain),
            ("alice@[127.0.0.1]", ForbiddenCharacter),
            ("alice(comment)@example.com", ForbiddenCharacter),
            ("alice\\@example.com", ForbiddenCharacter),
            ("mailto:alice@example.com", ForbiddenCharacter),
            ("alice@.example.com", MalformedDomain),
            ("alice@example..com", MalformedDomain),
            ("alice@example.com.", MalformedDomain),
            ("alice@-example.com", MalformedDomain),
            ("alice@example-.com", MalformedDomain),
        ]
        .into_iter()
        .map(|(input, error)| (input.to_owned(), error))
        .chain([
            (long_local, TooLong),
            (format!("a@{}.com", "b".repeat(300)), TooLong),
        ])
        .collect();
        assert!(cases.len() >= 30);
        for (input, expected) in cases {
            assert_eq!(Email::parse(&input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn email_at_the_length_limit_is_accepted() {
        let at_limit = format!("{}@example.com", "a".repeat(254 - "@example.com".len()));
        assert_eq!(at_limit.len(), 254);
        assert!(Email::parse(&at_limit).is_ok());
    }

    #[test]
    fn email_deserialisation_applies_the_same_rules() {
        let ok: Result<Email, _> = serde_json::from_str("\" Bob@Example.com \"");
        assert_eq!(
            ok.map(String::from).ok(),
            Some("bob@example.com".to_owned())
        );
        let bad: Result<Email, _> = serde_json::from_str("\"bob@example\"");
        assert!(bad.is_err());
    }

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

    #[test]
    fn tokens_must_have_the_exact_shape() {
        let good = "A".repeat(TOKEN_LEN);
        assert!(LinkToken::parse(&good).is_ok());
        assert!(SessionToken::parse("abcdefghijklmnopqrstuvwxyz-_ABCDEFGHIJ01234").is_ok());
        for bad in [
            String::new(),
            "A".repeat(TOKEN_LEN - 1),
            "A".repeat(TOKEN_LEN + 1),
            format!("{}=", "A".repeat(TOKEN_LEN - 1)),
            format!("{}+", "A".repeat(TOKEN_LEN - 1)),
            format!("{}/", "A".repeat(TOKEN_LEN - 1)),
            format!("{}é", "A".repeat(TOKEN_LEN - 2)),
            format!("{}' OR 1=1", "A".repeat(TOKEN_LEN - 8)),
        ] {
            assert_eq!(
                LinkToken::parse(&bad),
                Err(CredentialFormatError::MalformedToken),
                "{bad:?}"
            );
            assert!(SessionToken::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn codes_are_six_digits_allowing_copy_separators() {
        assert_eq!(
            Code::parse("123456").map(|c| c.expose().to_owned()),
            Ok("123456".to_owned())
        );
        assert_eq!(
            Code::parse(" 123 456 ").map(|c| c.expose().to_owned()),
            Ok("123456".to_owned())
        );
        assert_eq!(
            Code::parse("123-456").map(|c| c.expose().to_owned()),
            Ok("123456".to_owned())
        );
        for bad in [
            "",
            "12345",
            "1234567",
            "12345a",
            "١٢٣٤٥٦",
            "12 34 5",
            "123456\n",
            "+12345",
        ] {
            assert_eq!(
                Code::parse(bad),
                Err(CredentialFormatError::MalformedCode),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let code = Code::parse("123456");
        assert_eq!(format!("{code:?}"), "Ok(Code(<redacted>))");
    }

    #[test]
    fn persistent_id_matches_the_original() {
        let email = Email::parse("Test@Example.com");
        let id = email.map(|email| PersistentId::for_email(&email).to_string());
        assert_eq!(
            id,
            Ok("973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b".to_owned())
        );
    }
}
