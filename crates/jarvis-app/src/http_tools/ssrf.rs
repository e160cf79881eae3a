//! The SSRF guard of custom HTTP tools: a tool's URL is written by a gym manager, so the server
//! must not let it reach the server's own network (cloud metadata at 169.254.169.254, the
//! database, admin ports on loopback, the office LAN).
//!
//! [`resolve`] looks the host up **once**, refuses the whole URL when any address it resolves
//! to is not a public unicast address ([`forbidden`]), and returns the checked addresses; the
//! caller connects to exactly those (reqwest `resolve_to_addrs`, no proxy), so a DNS answer
//! that changes between check and connect (rebinding) is never used. What counts as not public:
//! unspecified, loopback, private (RFC 1918), shared CGNAT 100.64/10, link-local, multicast,
//! broadcast and reserved 240/4, documentation and benchmarking ranges, IETF protocol
//! assignments; IPv6 unique-local fc00::/7, link-local fe80::/10, site-local, multicast,
//! documentation, discard-only, ORCHID, Teredo; and any IPv6 form that embeds an IPv4 address
//! (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
//! `2002::/16`) is judged by the IPv4 address it carries. NAT64 local-use `64:ff9b:1::/48` is
//! refused outright.
//!
//! The operator's allow-list (`tools_allow_hosts`) lifts the refusal for named hosts (every
//! address they resolve to) and for addresses inside listed networks; it also permits plain
//! `http://` to those hosts and networks.

use crate::auth::net::Cidr;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Most addresses of one host name kept for the connection.
const MAX_ADDRS: usize = 8;

/// The operator's allow-list: host names (exact, case-insensitive) and networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    nets: Vec<Cidr>,
}

impl AllowList {
    /// Parses `name, 10.0.0.0/8, ::1, …` (comma-separated; empty entries ignored).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut out = AllowList::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bare = entry.trim_start_matches('[').trim_end_matches(']');
            if let Ok(net) = bare.parse::<Cidr>() {
                out.nets.push(net);
            } else if is_host_name(entry) {
                out.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!("`{entry}` is neither a host name nor an IP/CIDR"));
            }
        }
        Ok(out)
    }

    /// Nothing allowed beyond public https.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.nets.is_empty()
    }

    /// Whether the host name itself is listed.
    pub fn names_host(&self, host: &str) -> bool {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&h)
    }

    /// Whether `ip` lies in a listed network.
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// Whether plain `http://` may be used for `host` (a listed name, or an address literal in
    /// a listed network).
    pub fn permits_http(&self, host: &Host) -> bool {
        match host {
            Host::Name(n) => self.names_host(n),
            Host::Ip(ip) => self.contains_ip(*ip),
        }
    }
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .hosts
            .iter()
            .cloned()
            .chain(self.nets.iter().map(ToString::to_string))
            .collect();
        f.write_str(&parts.join(","))
    }
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The host of a URL: a name to resolve, or an address literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A DNS name.
    Name(String),
    /// An IP literal (`127.0.0.1`, `[::1]`).
    Ip(IpAddr),
}

impl Host {
    /// From a URL's host text (IPv6 literals may keep their brackets).
    pub fn parse(host: &str) -> Host {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(host.to_ascii_lowercase()),
        }
    }
}

/// Why a URL's host may not be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    /// The host resolves (or is) an address that is not public.
    #[error("{host} resolves to {addr}, a {reason} address: refused (not on the allow-list)")]
    Forbidden {
        /// The URL's host.
        host: String,
        /// The refused address.
        addr: IpAddr,
        /// Which kind of address.
        reason: &'static str,
    },
    /// The name does not resolve.
    #[error("{0} does not resolve")]
    Unresolved(String),
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    let reason = match o {
        [0, ..] => "unspecified (0.0.0.0/8)",
        [127, ..] => "loopback",
        [10, ..] => "private",
        [172, b, ..] if (16..=31).contains(&b) => "private",
        [192, 168, ..] => "private",
        [100, b, ..] if (64..=127).contains(&b) => "shared (CGNAT)",
        [169, 254, ..] => "link-local",
        [192, 0, 0, _] => "IETF protocol assignment",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "documentation",
        [198, 18..=19, ..] => "benchmarking",
        [192, 88, 99, _] => "6to4 relay",
        [a, ..] if (224..=239).contains(&a) => "multicast",
        [255, 255, 255, 255] => "broadcast",
        [a, ..] if a >= 240 => "reserved",
        _ => return None,
    };
    Some(reason)
}

fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match s {
        // IPv4-mapped ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        // IPv4-compatible ::a.b.c.d (deprecated; :: and ::1 are judged before)
        [0, 0, 0, 0, 0, 0, _, _] => Some(tail),
        // NAT64 well-known prefix 64:ff9b::/96
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        // 6to4 2002:a.b.c.d::/48
        [0x2002, ..] => Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        _ => None,
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = embedded_v4(ip) {
        // An IPv6 form of an IPv4 address is as good as that address.
        return v4_reason(v4).map(|_| "IPv4-embedding IPv6 of a non-public IPv4");
    }
    let s = ip.segments();
    let reason = match s[0] {
        x if x & 0xfe00 == 0xfc00 => "unique-local (fc00::/7)",
        x if x & 0xffc0 == 0xfe80 => "link-local (fe80::/10)",
        x if x & 0xffc0 == 0xfec0 => "site-local (fec0::/10)",
        x if x & 0xff00 == 0xff00 => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x3fff if s[1] & 0xf000 == 0 => "documentation",
        0x2001 if s[1] == 0 => "Teredo",
        0x2001 if s[1] & 0xfff0 == 0x0010 || s[1] & 0xfff0 == 0x0020 => "ORCHID",
        0x2001 if s[1] == 0x0002 && s[2] == 0 => "benchmarking",
        0x0100 if s[1] == 0 && s[2] == 0 && s[3] == 0 => "discard-only",
        0x0064 if s[1] == 0xff9b && s[2] == 1 => "NAT64 local-use",
        // Everything else below 2000::/3 is unassigned or special.
        x if x & 0xe000 != 0x2000 => "reserved",
        _ => return None,
    };
    Some(reason)
}

/// Why `ip` is not a public unicast address (`None`: it is).
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

/// Whether `ip` may be reached for `host` under `allow`.
fn check(host: &str, ip: IpAddr, allow: &AllowList) -> Result<(), SsrfError> {
    match forbidden(ip) {
        None => Ok(()),
        Some(_) if allow.names_host(host) || allow.contains_ip(ip) => Ok(()),
        Some(reason) => Err(SsrfError::Forbidden {
            host: host.to_owned(),
            addr: ip,
            reason,
        }),
    }
}

/// Resolves `host` once and checks every address; answers the addresses to connect to (and
/// only to). An address literal is checked without a lookup.
pub async fn resolve(
    host: &Host,
    port: u16,
    allow: &AllowList,
) -> Result<Vec<SocketAddr>, SsrfError> {
    match host {
        Host::Ip(ip) => {
            check(&ip.to_string(), *ip, allow)?;
            Ok(vec![SocketAddr::new(*ip, port)])
        }
        Host::Name(name) => {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|_| SsrfError::Unresolved(name.clone()))?
                .collect();
            if found.is_empty() {
                return Err(SsrfError::Unresolved(name.clone()));
            }
            // Every answer must pass: one bad address refuses the host (a name that mixes a
            // public and a private address is an attack, not a configuration).
            for a in &found {
                check(name, a.ip(), allow)?;
            }
            let mut out = found;
            out.dedup();
            out.truncate(MAX_ADDRS);
            Ok(out)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_refused() {
        for a in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "3fff::1",
            "2001::1",
            "2001:10::1",
            "2001:2::1",
            "100::1",
            "4000::1",
        ] {
            assert!(forbidden(ip(a)).is_some(), "{a} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.15.0.1",
            "172.32.0.1",
            "100.63.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4007::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(forbidden(ip(a)), None, "{a} is public");
        }
    }

    #[test]
    fn allow_list_parses_and_permits() {
        let a = AllowList::parse("Hooks.Gym.internal, 127.0.0.1, 10.1.0.0/16, [::1]").unwrap();
        assert!(a.names_host("hooks.gym.internal"));
        assert!(a.names_host("HOOKS.gym.internal."));
        assert!(!a.names_host("gym.internal"));
        assert!(a.contains_ip(ip("10.1.2.3")));
        assert!(
            a.contains_ip(ip("::ffff:127.0.0.1")),
            "mapped compares as IPv4"
        );
        assert!(a.contains_ip(ip("::1")));
        assert!(!a.contains_ip(ip("10.2.0.1")));
        assert!(a.permits_http(&Host::parse("127.0.0.1")));
        assert!(a.permits_http(&Host::parse("[::1]")));
        assert!(!a.permits_http(&Host::parse("example.com")));
        assert!(AllowList::parse("bad host!").is_err());
        assert!(AllowList::parse("10.0.0.0/33").is_err());
        assert!(AllowList::parse(" , ").unwrap().is_empty());
        assert_eq!(
            a.to_string(),
            "hooks.gym.internal,127.0.0.1/32,10.1.0.0/16,::1/128"
        );
    }

    #[tokio::test]
    async fn resolve_refuses_before_connecting_and_pins_what_it_checked() {
        let none = AllowList::default();
        for h in [
            "127.0.0.1",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "169.254.169.254",
            "10.0.0.1",
        ] {
            let e = resolve(&Host::parse(h), 80, &none).await.unwrap_err();
            assert!(matches!(e, SsrfError::Forbidden { .. }), "{h}: {e}");
        }
        let e = resolve(&Host::parse("localhost"), 80, &none)
            .await
            .unwrap_err();
        assert!(matches!(e, SsrfError::Forbidden { .. }), "{e}");
        let allow = AllowList::parse("127.0.0.0/8,::1").unwrap();
        let addrs = resolve(&Host::parse("127.0.0.1"), 8080, &allow)
            .await
            .unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:8080".parse().unwrap()]);
        let named = AllowList::parse("localhost").unwrap();
        let addrs = resolve(&Host::parse("localhost"), 9, &named).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
    }
}
