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
///
/// Deserialising one checks it as [`Email::parse`] does, except in the browser
/// (`wasm32-unknown-unknown`), where an address only ever arrives from this server, which
/// parsed it: there the check's Unicode tables would be 2 KB of every page's wasm after
/// compression.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    derive(Deserialize)
)]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveValueType))]
#[cfg_attr(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    serde(try_from = "String")
)]
#[serde(into = "String")]
pub struct Email(String);

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

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

    /// The address as a log line at INFO and above may show it: the local part's first
    /// character, `***`, then `@` and the domain (`a***@example.com`). It ties one person's
    /// lines together for an operator without handing a log reader the address.
    pub fn masked(&self) -> MaskedEmail<'_> {
        MaskedEmail(self)
    }
}

/// An [`Email`] that displays as `a***@example.com`: see [`Email::masked`].
#[derive(Clone, Copy, Debug)]
pub struct MaskedEmail<'a>(&'a Email);

impl fmt::Display for MaskedEmail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.0.split_once('@') {
            Some((local, domain)) => {
                if let Some(first) = local.chars().next() {
                    write!(f, "{first}")?;
                }
                write!(f, "***@{domain}")
            }
            // A parsed address always has one; without it, nothing of the text is shown.
            None => f.write_str("***"),
        }
    }
}

/// Display, and the conversions serde uses, for a string newtype whose only way in is `parse`:
/// a deserialised value passes the same checks as a typed one.
macro_rules! parsed_string {
    ($name:ident, $error:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

/// The addresses allowed to sign in: exact addresses and whole domains, compared after the
/// same normalisation as [`Email::parse`].
///
/// ```
/// use magic_link_types::domain::AllowList;
///
/// let list = AllowList::parse("ada@example.com, *@example.org").unwrap();
/// assert!(list.allows("ada@example.com"));
/// assert!(list.allows("grace@example.org"));
/// assert!(!list.allows("eve@example.com"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    addresses: Vec<String>,
    domains: Vec<String>,
}

/// An allow-list that is empty or holds something that is neither an address nor a
/// `*@domain` pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", Self::RULE)]
pub struct AllowListError;

impl AllowListError {
    /// What a list must be.
    pub const RULE: &'static str = "must be a comma-separated list of email addresses and *@domain patterns, such as ada@example.com, *@example.org";
}

impl AllowList {
    /// Reads a comma-separated list of addresses and `*@domain` patterns; an empty list is
    /// refused.
    pub fn parse(list: &str) -> Result<Self, AllowListError> {
        let mut parsed = Self::default();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item.strip_prefix("*@") {
                Some(domain) => {
                    let email = Email::parse(&format!("x@{domain}")).map_err(|_| AllowListError)?;
                    let domain = email.as_str().trim_start_matches("x@").to_owned();
                    parsed.domains.push(domain);
                }
                None => {
                    let email = Email::parse(item).map_err(|_| AllowListError)?;
                    parsed.addresses.push(email.as_str().to_owned());
                }
            }
        }
        if parsed.addresses.is_empty() && parsed.domains.is_empty() {
            return Err(AllowListError);
        }
        Ok(parsed)
    }

    /// Whether the normalised address `email` is on the list.
    pub fn allows(&self, email: &str) -> bool {
        self.addresses.iter().any(|allowed| allowed == email)
            || email
                .rsplit_once('@')
                .is_some_and(|(_, domain)| self.domains.iter().any(|allowed| allowed == domain))
    }
}

mod redirect;

pub use redirect::{RedirectError, RedirectTarget, encode_query_value};

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

/// A stable, opaque user id for other systems, fixed at an account's first sign-in and kept
/// when its address changes: the lower-case hex SHA-256 of the lower-cased email it first
/// signed in with, exactly as the original computes it, so ids carry over. (An account that
/// starts at an address another account has moved away from gets 32 random bytes in hex
/// instead, so it never takes on the moved account's data.)
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveValueType))]
pub struct PersistentId(String);

impl PersistentId {
    pub fn for_email(email: &Email) -> Self {
        use sha2::{Digest, Sha256};
        Self(hex_lower(&Sha256::digest(email.as_str().as_bytes())))
    }

    /// An id from 32 random bytes (which the caller draws from a CSPRNG), in the same form
    /// as [`for_email`](Self::for_email)'s.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(hex_lower(&bytes))
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

pub fn hex_lower(bytes: &[u8]) -> String {
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
    fn a_masked_address_keeps_the_first_character_and_the_domain() {
        let masked = |input: &str| Email::parse(input).map(|email| email.masked().to_string());
        assert_eq!(
            masked("Alice.Smith@Example.com"),
            Ok("a***@example.com".to_owned())
        );
        assert_eq!(
            masked("b@mail.example.org"),
            Ok("b***@mail.example.org".to_owned())
        );
        assert_eq!(
            masked("élodie@exemple.fr"),
            Ok("é***@exemple.fr".to_owned())
        );
        let email = Email::parse("carol@example.com");
        assert!(email.is_ok_and(|email| !email.masked().to_string().contains("carol")));
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
