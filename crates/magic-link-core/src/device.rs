//! Describing a browser for people: the sessions list says "Firefox on macOS", not a
//! User-Agent string.
//!
//! The `User-Agent` is a stranger's words: whoever asks for a link writes it. So only a fixed
//! vocabulary of browser and system names ever comes out of here, into an email or a page;
//! anything else reads [`UNKNOWN_BROWSER`], never a piece of the header itself.
//!
//! Hand-written rather than a user-agent parser crate: a handful of substring checks cover the
//! browsers and systems people use, with no regex tables in the server, and a parser's output
//! (a free-form "family" string) would let the header's own words through.

/// What a browser that names no known browser or system is called.
pub const UNKNOWN_BROWSER: &str = "an unknown browser";

/// A short description of a browser from its `User-Agent`, such as "Firefox on macOS": built
/// from fixed names only, whatever the header says.
pub fn describe_user_agent(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return UNKNOWN_BROWSER.to_owned();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("a browser on {system}"),
        (None, None) => UNKNOWN_BROWSER.to_owned(),
    }
}

/// The network around a client address, as new-sign-in notices name it: its IPv4 /24 or
/// IPv6 /48 (`203.0.113.0/24`, `2001:db8:1::/48`), close enough to tell a home from a café
/// while a provider's reassignments within it stay the same device.
pub fn network_of(ip: Option<&str>) -> String {
    use ipnet::{Ipv4Net, Ipv6Net};
    use std::net::IpAddr;
    match ip
        .and_then(|ip| ip.parse::<IpAddr>().ok())
        .map(crate::client::canonical)
    {
        Some(IpAddr::V4(v4)) => {
            Ipv4Net::new(v4, 24).map_or_else(|_| v4.to_string(), |net| net.trunc().to_string())
        }
        Some(IpAddr::V6(v6)) => {
            Ipv6Net::new(v6, 48).map_or_else(|_| v6.to_string(), |net| net.trunc().to_string())
        }
        None => "an unknown network".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{UNKNOWN_BROWSER, describe_user_agent};

    #[test]
    fn networks_are_a_v4_24_or_a_v6_48() {
        use super::network_of;
        assert_eq!(network_of(Some("203.0.113.77")), "203.0.113.0/24");
        assert_eq!(network_of(Some("::ffff:203.0.113.77")), "203.0.113.0/24");
        assert_eq!(network_of(Some("2001:db8:1:2:3::9")), "2001:db8:1::/48");
        assert_eq!(network_of(Some("not an address")), "an unknown network");
        assert_eq!(network_of(None), "an unknown network");
    }

    #[test]
    fn user_agents_are_described_briefly() {
        let cases = [
            (None, UNKNOWN_BROWSER),
            (Some("  "), UNKNOWN_BROWSER),
            (
                Some(
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                ),
                "Safari on iPhone",
            ),
            (
                Some(
                    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                ),
                "Chrome on Android",
            ),
            (
                Some(
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
                ),
                "Edge on Windows",
            ),
            (Some("X11; Linux x86_64"), "a browser on Linux"),
            // Not a browser, or a stranger's sentence: none of its words come out.
            (Some("curl/8.5.0"), UNKNOWN_BROWSER),
            (
                Some("Asked for from https://evil.example/cancel-this-request"),
                UNKNOWN_BROWSER,
            ),
        ];
        for (agent, expected) in cases {
            assert_eq!(describe_user_agent(agent), expected, "{agent:?}");
        }
    }
}
