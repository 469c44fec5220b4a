//! Where the auth pages live in the app: the login form, the page that waits for the email,
//! the page a magic link opens, where a sign-in lands by default, the account page, and the
//! page a new-sign-in notice's "sign out everywhere" link opens, and the page a change of
//! address's links open.
//!
//! The server fixes them once at start, when the `AuthService`
//! is built (before the app builds its route table), and `AuthProvider`
//! writes them into the page's `<head>`; the browser reads them back from there, so both
//! sides route alike with no second setting.
//!
//! ```
//! use magic_link_types::paths::AuthPaths;
//!
//! let paths = AuthPaths {
//!     login: "/login".into(),
//!     account: "/me".into(),
//!     ..AuthPaths::default()
//! };
//! assert!(paths.validate().is_ok());
//! assert_eq!(paths.segment(&paths.link), "magic-link-auth");
//! ```

use std::sync::OnceLock;

use crate::domain::RedirectTarget;

/// The name of the `<meta>` element that carries the paths to the browser.
pub const META_NAME: &str = "magic-link-paths";

/// The auth pages' paths. Each is an absolute path of one segment (or `/`), made of letters,
/// digits and `- _ . ~`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthPaths {
    /// The login form, where a signed-out visitor is sent. Default `/`.
    pub login: String,
    /// The page that waits for the email and takes the typed code. Default
    /// `/check-your-email`.
    pub check_email: String,
    /// The page a magic link opens (`MAGIC_LINK_AUTH_ROUTE`). Default `/magic-link-auth`.
    pub link: String,
    /// Where a sign-in lands when it was given no `redir`. Default `/`.
    pub after_sign_in: String,
    /// The account page, with the sessions list. Default `/account`.
    pub account: String,
    /// The page a new-sign-in notice's "Wasn't you? Sign out everywhere" link opens. Default
    /// `/sign-out-everywhere`.
    pub sign_out_everywhere: String,
    /// The page a change of address's links open: the one sent to the new address, which
    /// moves the account there, and the one sent to the old address afterwards, which moves
    /// it back. Default `/change-email`.
    pub change_email: String,
    /// The page that signs this device in from another one where the person is signed in
    /// (the login form links to it). Default `/sign-in-with-device`.
    pub device_sign_in: String,
    /// The page the other device opens, from the QR code or the short URL, to approve a
    /// sign-in. Default `/approve`.
    pub approve_device: String,
}

impl Default for AuthPaths {
    fn default() -> Self {
        Self {
            login: "/".into(),
            check_email: "/check-your-email".into(),
            link: DEFAULT_LINK.into(),
            after_sign_in: "/".into(),
            account: "/account".into(),
            sign_out_everywhere: "/sign-out-everywhere".into(),
            change_email: "/change-email".into(),
            device_sign_in: "/sign-in-with-device".into(),
            approve_device: "/approve".into(),
        }
    }
}

/// Where debug builds serve the dev mailbox (the messages sent since start). A release build
/// has no such page.
pub const DEV_MAILBOX: &str = "/dev/mailbox";

/// The default path of the page a magic link opens.
pub const DEFAULT_LINK: &str = "/magic-link-auth";

/// A path that is not one the router can take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the {which} path {path:?} must be `/` or one segment such as `/login`")]
pub struct PathError {
    /// Which path: `login`, `check_email`, `link`, `after_sign_in`, `account`,
    /// `sign_out_everywhere`, `change_email`, `device_sign_in` or `approve_device`.
    pub which: &'static str,
    /// The path as given.
    pub path: String,
}

/// One absolute path segment of unreserved characters, or `/` itself.
pub fn is_valid_path(path: &str, allow_root: bool) -> bool {
    if path == "/" {
        return allow_root;
    }
    path.strip_prefix('/').is_some_and(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    })
}

impl AuthPaths {
    /// Checks every path. The link page may not be `/`: it would shadow the app's home.
    pub fn validate(&self) -> Result<(), PathError> {
        for (which, path, allow_root) in [
            ("login", &self.login, true),
            ("check_email", &self.check_email, false),
            ("link", &self.link, false),
            ("after_sign_in", &self.after_sign_in, true),
            ("account", &self.account, false),
            ("sign_out_everywhere", &self.sign_out_everywhere, false),
            ("change_email", &self.change_email, false),
            ("device_sign_in", &self.device_sign_in, false),
            ("approve_device", &self.approve_device, false),
        ] {
            if !is_valid_path(path, allow_root) {
                return Err(PathError {
                    which,
                    path: path.clone(),
                });
            }
        }
        Ok(())
    }

    /// A path without its leading `/`, as a router's path segment.
    pub fn segment<'a>(&self, path: &'a str) -> &'a str {
        path.trim_start_matches('/')
    }

    /// The paths in one attribute value, space-separated (no path holds a space).
    fn encode(&self) -> String {
        [
            &self.login,
            &self.check_email,
            &self.link,
            &self.after_sign_in,
            &self.account,
            &self.sign_out_everywhere,
            &self.change_email,
            &self.device_sign_in,
            &self.approve_device,
        ]
        .map(String::as_str)
        .join(" ")
    }

    #[cfg(any(test, feature = "hydrate"))]
    fn decode(content: &str) -> Option<Self> {
        let mut parts = content.split(' ').map(str::to_owned);
        let paths = Self {
            login: parts.next()?,
            check_email: parts.next()?,
            link: parts.next()?,
            after_sign_in: parts.next()?,
            account: parts.next()?,
            sign_out_everywhere: parts.next()?,
            change_email: parts.next()?,
            device_sign_in: parts.next()?,
            approve_device: parts.next()?,
        };
        paths.validate().is_ok().then_some(paths)
    }
}

static PATHS: OnceLock<AuthPaths> = OnceLock::new();

/// Fixes the paths for this process. Only the first call counts: one app per process.
pub fn set(paths: AuthPaths) {
    let _ = PATHS.set(paths);
}

/// The paths of this app: on the server as built, in the browser as the page carries them,
/// else the defaults.
pub fn get() -> &'static AuthPaths {
    PATHS.get_or_init(|| {
        #[cfg(feature = "hydrate")]
        if let Some(paths) = from_document() {
            return paths;
        }
        AuthPaths::default()
    })
}

/// Where a sign-in goes, given the `redir` a request carried: there when it is a safe local
/// path, else (absent, empty, or refused, which is logged) the app's `after_sign_in`.
pub fn sign_in_target(redir: Option<&str>) -> RedirectTarget {
    let fallback = || RedirectTarget::parse(&get().after_sign_in).unwrap_or_default();
    match redir.filter(|redir| !redir.is_empty()) {
        None => fallback(),
        Some(redir) => RedirectTarget::parse(redir).unwrap_or_else(|err| {
            tracing::info!(error = %err, "refused a redirect target");
            fallback()
        }),
    }
}

/// The `content` of the `<meta>` element `AuthProvider` writes.
pub fn meta_content() -> String {
    get().encode()
}

/// Reads the paths the server wrote into the page.
#[cfg(feature = "hydrate")]
fn from_document() -> Option<AuthPaths> {
    AuthPaths::decode(&read_meta(META_NAME)?)
}

/// The `content` of the page's `<meta name=…>`, as the server wrote it.
#[cfg(feature = "hydrate")]
pub fn read_meta(name: &str) -> Option<String> {
    web_sys::window()
        .and_then(|window| window.document())?
        .query_selector(&format!("meta[name=\"{name}\"]"))
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_survive_the_page() {
        let paths = AuthPaths {
            login: "/login".into(),
            after_sign_in: "/dashboard".into(),
            ..AuthPaths::default()
        };
        assert_eq!(AuthPaths::decode(&paths.encode()), Some(paths));
        assert_eq!(AuthPaths::decode("/ /a"), None);
        assert_eq!(AuthPaths::decode("/ /a /b / /c"), None);
        assert_eq!(AuthPaths::decode("/ /a /b / /c /d"), None);
        assert_eq!(AuthPaths::decode("/ /a //evil / /b"), None);
    }

    #[test]
    fn only_one_segment_paths_are_taken() {
        for good in ["/a", "/magic-link-auth", "/a.b~c_d"] {
            assert!(is_valid_path(good, false), "{good}");
        }
        for bad in [
            "", "a", "//evil", "/a b", "/a/b", "/..", "/.", "/?x", "/%2f",
        ] {
            assert!(!is_valid_path(bad, true), "{bad}");
        }
        assert!(is_valid_path("/", true));
        assert!(!is_valid_path("/", false));
        let link_at_root = AuthPaths {
            link: "/".into(),
            ..AuthPaths::default()
        };
        assert_eq!(link_at_root.validate().map_err(|e| e.which), Err("link"));
    }
}
