//! Who is asking: the client's address behind trusted proxies, and the key the per-client
//! limits count by. Server only.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr, SocketAddr},
};

use http::HeaderMap;
use ipnet::{IpNet, Ipv6Net};

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) is the IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The networks whose `X-Forwarded-For` is believed (`MAGIC_LINK_AUTH_TRUSTED_PROXIES`).
///
/// Each entry means exactly what it says: `10.0.0.0/8` holds the IPv4 peers 10.x.x.x, and
/// so does its IPv4-mapped form `::ffff:10.0.0.0/104`; an IPv6 network holds only the IPv6
/// addresses in it. A peer seen as `::ffff:a.b.c.d` is the IPv4 peer `a.b.c.d`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Reads one network, `addr/prefix`, or one address, which is a network of one.
    pub fn parse_network(input: &str) -> Option<IpNet> {
        let input = input.trim();
        input
            .parse::<IpNet>()
            .ok()
            .or_else(|| input.parse::<IpAddr>().ok().map(IpNet::from))
    }

    /// The trusted networks from a comma-separated list; `Err` carries the first entry that
    /// is not a network or an address.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| Self::parse_network(item).ok_or_else(|| item.to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `peer`, the address a connection came from, may speak for the client.
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.0.iter().any(|net| match (net, peer) {
            (IpNet::V4(net), IpAddr::V4(ip)) => net.contains(&ip),
            (IpNet::V6(net), IpAddr::V4(ip)) => net.contains(&ip.to_ipv6_mapped()),
            (IpNet::V6(net), IpAddr::V6(ip)) => net.contains(&ip),
            (IpNet::V4(_), IpAddr::V6(_)) => false,
        })
    }

    /// The client's address: the connection's peer, unless that peer is a trusted proxy, in
    /// which case the nearest address in `X-Forwarded-For` that is not itself a trusted
    /// proxy. Entries further left are written by the client and never believed; an entry
    /// that is not an address stops the walk there.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.contains(client) {
            return client;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            let Some(ip) = forwarded_address(hop) else {
                break;
            };
            client = canonical(ip);
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`) or in brackets (`[2001:db8::1]`), as proxies write them.
fn forwarded_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| {
            let inner = hop.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        })
}

/// What the per-client limits count by: an IPv4 address, or the IPv6 network of
/// `MAGIC_LINK_AUTH_IPV6_PREFIX` bits around an IPv6 address, because one customer is given
/// a whole /64 (or more) and can pick any address in it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(String);

impl ClientKey {
    pub fn of(ip: IpAddr, ipv6_prefix: u8) -> Self {
        match canonical(ip) {
            IpAddr::V4(v4) => Self(v4.to_string()),
            IpAddr::V6(v6) => {
                let prefix = ipv6_prefix.min(128);
                match Ipv6Net::new(v6, prefix) {
                    Ok(net) => Self(net.trunc().to_string()),
                    // Unreachable with the prefix clamped; the whole address is the safe side.
                    Err(_) => Self(v6.to_string()),
                }
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A request's client: its address, kept on a session for the sessions page, and the key
/// the limits count by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    pub key: ClientKey,
}

impl Client {
    pub fn new(ip: IpAddr, ipv6_prefix: u8) -> Self {
        let ip = canonical(ip);
        Self {
            key: ClientKey::of(ip, ipv6_prefix),
            ip,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::parse_list(list).unwrap()
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let peer = ip("198.51.100.7");
        assert_eq!(trusted("").client_ip(peer, &forwarded("203.0.113.1")), peer);
    }

    #[test]
    fn a_trusted_proxy_speaks_for_the_nearest_untrusted_hop() {
        let proxies = trusted("10.0.0.0/8");
        let peer = ip("10.0.0.2");
        // The client wrote "1.1.1.1" itself; the proxies appended the real hops.
        let headers = forwarded("1.1.1.1, 203.0.113.9, 10.0.0.5");
        assert_eq!(proxies.client_ip(peer, &headers), ip("203.0.113.9"));
        assert_eq!(proxies.client_ip(peer, &HeaderMap::new()), peer);
        assert_eq!(proxies.client_ip(peer, &forwarded("garbage")), peer);
    }

    #[test]
    fn forwarded_entries_with_ports_and_brackets_are_addresses() {
        let proxies = trusted("10.0.0.0/8");
        let peer = ip("10.0.0.2");
        for (entry, client) in [
            ("1.2.3.4:5678", "1.2.3.4"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            (" 2001:db8::2 ", "2001:db8::2"),
            ("10.0.0.9:80, 1.2.3.4", "1.2.3.4"),
        ] {
            assert_eq!(
                proxies.client_ip(peer, &forwarded(entry)),
                ip(client),
                "{entry}"
            );
        }
        // A proxy in the chain written with a port is still a proxy: the walk goes on.
        let chain = forwarded("198.51.100.1, 10.0.0.7:8080");
        assert_eq!(proxies.client_ip(peer, &chain), ip("198.51.100.1"));
    }

    #[test]
    fn mapped_networks_mean_exactly_the_ipv4_addresses_they_name() {
        let mapped = trusted("::ffff:10.0.0.0/104");
        assert!(mapped.contains(ip("10.1.2.3")));
        assert!(mapped.contains(ip("::ffff:10.1.2.3")));
        assert!(!mapped.contains(ip("11.0.0.1")));
        assert!(!mapped.contains(ip("192.168.0.1")));
        assert!(!mapped.contains(ip("2001:db8::1")));
        let narrow = trusted("::ffff:192.168.1.5/128");
        assert!(narrow.contains(ip("192.168.1.5")));
        assert!(!narrow.contains(ip("192.168.1.6")));
        assert!(trusted("10.0.0.0/8").contains(ip("::ffff:10.9.9.9")));
        assert!(!trusted("fd00::/8").contains(ip("1.2.3.4")));
        assert!(
            trusted("::/0").contains(ip("1.2.3.4")),
            "all of IPv6 holds the mapped block"
        );
        assert!(TrustedProxies::parse_list("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse_list("::/129").is_err());
        assert!(TrustedProxies::parse_list("1.2.3.4/x").is_err());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_network() {
        let key = |s: &str, prefix| ClientKey::of(ip(s), prefix).to_string();
        assert_eq!(key("2001:db8:1:2:aaaa::1", 64), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:bbbb::9", 64), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:3::1", 64), "2001:db8:1:3::/64");
        assert_eq!(key("2001:db8:1:2::1", 48), "2001:db8:1::/48");
        assert_eq!(key("2001:db8::1", 128), "2001:db8::1/128");
        assert_eq!(key("203.0.113.7", 64), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7", 64), "203.0.113.7");
    }

    /// Everything in IPv6 terms: an IPv4 network is its mapped block, an IPv4 address its
    /// mapped address. Containment there is ipnet's own, and is what each entry says.
    fn reference(net: IpNet, peer: IpAddr) -> bool {
        let net = match net {
            IpNet::V4(v4) => {
                Ipv6Net::new(v4.addr().to_ipv6_mapped(), v4.prefix_len() + 96).unwrap()
            }
            IpNet::V6(v6) => v6,
        };
        let peer = match peer {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        net.contains(&peer)
    }

    fn any_network() -> impl Strategy<Value = IpNet> {
        prop_oneof![
            (any::<u32>(), 0u8..=32)
                .prop_map(|(a, p)| IpNet::from(ipnet::Ipv4Net::new(Ipv4Addr::from(a), p).unwrap())),
            (any::<u128>(), 0u8..=128)
                .prop_map(|(a, p)| IpNet::from(Ipv6Net::new(Ipv6Addr::from(a), p).unwrap())),
            // The mapped block, where the two families meet.
            (any::<u32>(), 96u8..=128).prop_map(|(a, p)| IpNet::from(
                Ipv6Net::new(Ipv4Addr::from(a).to_ipv6_mapped(), p).unwrap()
            )),
        ]
    }

    fn any_peer() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
            any::<u32>().prop_map(|a| IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped())),
        ]
    }

    proptest! {
        #[test]
        fn containment_agrees_with_ipnet(net in any_network(), peer in any_peer()) {
            let proxies = TrustedProxies::new(vec![net]);
            prop_assert_eq!(proxies.contains(peer), reference(net, peer));
            // Written out and read back, the entry means the same.
            let reread = TrustedProxies::parse_list(&net.to_string()).unwrap();
            prop_assert_eq!(reread.contains(peer), reference(net, peer));
        }

        #[test]
        fn a_peer_near_a_network_is_inside_exactly_when_its_prefix_matches(
            base in any::<u32>(), prefix in 0u8..=32, flip in 0u32..32,
        ) {
            let net = ipnet::Ipv4Net::new(Ipv4Addr::from(base), prefix).unwrap();
            let peer = Ipv4Addr::from(base ^ (1 << flip));
            let inside = flip < u32::from(32 - prefix);
            let proxies = TrustedProxies::new(vec![IpNet::from(net)]);
            prop_assert_eq!(proxies.contains(IpAddr::V4(peer)), inside);
            let mapped = TrustedProxies::new(vec![IpNet::from(
                Ipv6Net::new(net.addr().to_ipv6_mapped(), prefix + 96).unwrap(),
            )]);
            prop_assert_eq!(mapped.contains(IpAddr::V4(peer)), inside);
        }
    }
}
