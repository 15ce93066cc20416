//! Destination patterns, as `network.allow`, `network.deny` and
//! `secrets.NAME.hosts` write them.

use super::host::{Host, printable};
use ipnet::{IpNet, Ipv4Net};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// One destination pattern: `api.github.com`, `*.example.org`,
/// `10.1.2.3/32`, each with an optional port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pub(super) target: Target,
    /// The one port covered; `None` covers 80 and 443 (see [`Pattern::matches`]).
    pub(super) port: Option<u16>,
}

/// The hosts a pattern covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// One name, canonical.
    Name(String),
    /// The subdomains of a name at any depth, not the name itself; held
    /// with its leading dot (`.example.org`), so a match ends at a label.
    Subdomains(String),
    /// IP literals in a range. IPv4-mapped IPv6 ranges are held as IPv4.
    Addresses(IpNet),
}

impl Pattern {
    /// Parses a pattern as `network.allow` and `network.deny` write it.
    ///
    /// - `api.github.com`: that name, canonicalized like [`Host::parse`];
    /// - `*.example.org`: its subdomains at any depth, not `example.org`
    ///   itself; a wildcard over a single label (`*`, `*.com`) is refused,
    ///   and so is a `*` anywhere else;
    /// - `10.0.0.0/8`, `2001:db8::/32`, `10.1.2.3`, `[2001:db8::1]`: IP
    ///   literals in that range (never a name); `/0` is refused;
    /// - any of these with `:port` (IPv6 in brackets: `[2001:db8::1]:443`).
    pub fn parse(pattern: &str) -> Result<Pattern, String> {
        let refuse = |why: &str| format!("`{}` is not a host pattern: {why}", printable(pattern));
        if pattern.contains("://") {
            return Err(refuse("it is a URL; write the host alone, like `example.com`"));
        }
        let (host, port) = split_port(pattern).map_err(refuse)?;
        let target = if let Some(net) = cidr(host).map_err(refuse)? {
            Target::Addresses(net)
        } else if host == "*" {
            return Err(refuse("`*` is every host; name the hosts, or `*.domain` for a domain's"));
        } else if let Some(domain) = host.strip_prefix("*.") {
            if domain.contains('*') {
                return Err(refuse("only a leading `*.` is a wildcard"));
            }
            if domain.is_empty() {
                return Err(refuse("`*.` needs a domain after it, like `*.example.org`"));
            }
            match Host::parse(domain).map_err(|e| refuse(e.why))? {
                Host::Name(name) if name.contains('.') => Target::Subdomains(format!(".{name}")),
                Host::Name(_) => {
                    return Err(refuse(
                        "a wildcard over a single label covers a whole top-level domain; \
                         name a domain under it, like `*.example.org`",
                    ));
                }
                Host::Ip(_) => {
                    return Err(refuse("a wildcard covers names; write a range like `10.0.0.0/8`"));
                }
            }
        } else if host.contains('*') {
            return Err(refuse("only a leading `*.` is a wildcard"));
        } else {
            match Host::parse(host).map_err(|e| refuse(e.why))? {
                Host::Name(name) => Target::Name(name),
                Host::Ip(ip) => Target::Addresses(narrow(IpNet::from(ip))),
            }
        };
        Ok(Pattern { target, port })
    }

    /// Whether the pattern covers `host` on `port`. Without a port of its
    /// own, a pattern covers ports 80 and 443 only.
    pub fn matches(&self, host: &Host, port: u16) -> bool {
        self.covers(host) && self.port.map_or(port == 80 || port == 443, |own| own == port)
    }

    /// Whether the pattern covers `host`, whatever the port.
    pub(super) fn covers(&self, host: &Host) -> bool {
        match (&self.target, host) {
            (Target::Name(name), Host::Name(host)) => name == host,
            (Target::Subdomains(suffix), Host::Name(host)) => host.ends_with(suffix.as_str()),
            // `::ffff:10.0.0.1` is 10.0.0.1 on a dual-stack socket, so it
            // meets IPv4 ranges: a deny rule on 10.0.0.0/8 covers it too.
            (Target::Addresses(net), Host::Ip(ip)) => net.contains(&unmapped(*ip)),
            _ => false,
        }
    }
}

impl fmt::Display for Pattern {
    /// The canonical form, which parses back to the same pattern.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match (&self.target, self.port) {
            (Target::Name(name), _) => f.write_str(name)?,
            (Target::Subdomains(suffix), _) => write!(f, "*{suffix}")?,
            (Target::Addresses(IpNet::V6(net)), Some(_)) => write!(f, "[{net}]")?,
            (Target::Addresses(net), _) => write!(f, "{net}")?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// Splits off an optional `:port`: after `]` for bracketed IPv6, after the
/// one `:` otherwise; a bare IPv6 literal or range has no port.
fn split_port(pattern: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if let Some(rest) = pattern.strip_prefix('[') {
        let (inner, after) = rest.split_once(']').ok_or("`[` opens an IPv6 address that no `]` closes")?;
        let address = inner.split_once('/').map_or(inner, |(address, _)| address);
        if address.parse::<Ipv6Addr>().is_err() {
            return Err("brackets hold an IPv6 address or range, like `[2001:db8::1]:443`");
        }
        match after {
            "" => (inner, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (inner, Some(port)),
                None => {
                    return Err("after `]` comes only `:port`; a range goes inside: `[2001:db8::/32]:443`");
                }
            },
        }
    } else if pattern.matches(':').count() > 1 {
        (pattern, None)
    } else {
        match pattern.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (pattern, None),
        }
    };
    let port = match port {
        None => None,
        Some(port) => {
            let number = port.bytes().all(|b| b.is_ascii_digit()).then(|| port.parse::<u16>().ok()).flatten();
            match number {
                Some(0) | None => return Err("a port is a number from 1 to 65535"),
                some => some,
            }
        }
    };
    Ok((host, port))
}

/// The range `host` writes as `address/length`, if it does; an error if it
/// is not a range a rule may name.
fn cidr(host: &str) -> Result<Option<IpNet>, &'static str> {
    let Some((address, length)) = host.split_once('/') else { return Ok(None) };
    if address.parse::<IpAddr>().is_err() {
        return Err("a host has no path; write the host alone, or a range like `10.0.0.0/8`");
    }
    if length.is_empty() || !length.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a range's prefix length is a number, like `/8`");
    }
    let net: IpNet = host.parse().map_err(|_| "the prefix length is longer than the address")?;
    if net.prefix_len() == 0 {
        return Err("`/0` is every address; name the ranges the guest needs");
    }
    if net.trunc() != net {
        return Err("the address has bits set past the prefix length; write the range's first address");
    }
    let net = narrow(net);
    if net.prefix_len() == 0 {
        return Err("`::ffff:0:0/96` is every IPv4 address; name the ranges the guest needs");
    }
    Ok(Some(net))
}

/// An IPv4-mapped IPv6 range as the IPv4 range it is; others unchanged.
fn narrow(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && v6.prefix_len() >= 96
        && let Some(v4) = v6.network().to_ipv4_mapped()
        && let Ok(v4) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(v4);
    }
    net
}

/// An IPv4-mapped IPv6 address as its IPv4 address; others unchanged.
pub(super) fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(pattern: &str) -> Pattern {
        Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    fn host(raw: &str) -> Host {
        Host::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn canonical_forms_round_trip() {
        for (written, canonical) in [
            ("API.GitHub.com.", "api.github.com"),
            ("*.Example.org:8443", "*.example.org:8443"),
            ("10.1.2.3", "10.1.2.3/32"),
            ("2130706433:80", "127.0.0.1/32:80"),
            ("10.0.0.0/8:8080", "10.0.0.0/8:8080"),
            ("[2001:db8::1]:443", "[2001:db8::1/128]:443"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
            ("bücher.example", "xn--bcher-kva.example"),
        ] {
            let pattern = parsed(written);
            assert_eq!(pattern.to_string(), canonical, "{written}");
            assert_eq!(parsed(canonical), pattern, "{canonical} parses back");
        }
    }

    #[test]
    fn refusals_say_why() {
        for (pattern, why) in [
            ("", "empty"),
            ("*", "every host"),
            ("*.", "needs a domain"),
            ("*.com", "single label"),
            ("*.com.", "single label"),
            ("a.*.com", "leading `*.`"),
            ("*foo.com", "leading `*.`"),
            ("**.x", "leading `*.`"),
            ("*.*.x", "leading `*.`"),
            ("*.10.0.0.1", "covers names"),
            ("http://x", "URL"),
            ("x.com/path", "no path"),
            ("a@b", "user name"),
            ("a b.com", "space"),
            ("a..b", "empty label"),
            ("x.com:0", "1 to 65535"),
            ("x.com:65536", "1 to 65535"),
            ("x.com:", "1 to 65535"),
            ("x.com:+80", "1 to 65535"),
            ("0.0.0.0/0", "every address"),
            ("::/0", "every address"),
            ("::ffff:0:0/96", "every IPv4 address"),
            ("10.0.0.0/33", "longer than the address"),
            ("10.1.2.3/8", "bits set"),
            ("10.0.0.0/", "prefix length"),
            ("fe80::1%eth0", "zone"),
            ("[fe80::1%eth0]:80", "IPv6 address"),
            ("[example.com]:443", "IPv6 address"),
            ("[2001:db8::]/32:443", "inside"),
            ("a\0b.com", "control"),
            ("a.com\r\n", "control"),
            (&format!("{}.com", "a".repeat(64)), "63"),
        ] {
            let err = Pattern::parse(pattern).expect_err(pattern);
            assert!(err.contains(why) && err.contains("not a host pattern"), "{pattern:?}: {err}");
        }
    }

    #[test]
    fn wildcards_cover_subdomains_only() {
        let pattern = parsed("*.example.org");
        for yes in ["a.example.org", "a.b.example.org", "A.EXAMPLE.ORG."] {
            assert!(pattern.matches(&host(yes), 443), "{yes}");
        }
        for no in ["example.org", "evilexample.org", "example.org.evil.com", "a.example.org.evil"] {
            assert!(!pattern.matches(&host(no), 443), "{no}");
        }
    }

    #[test]
    fn ports_default_to_80_and_443() {
        let any = parsed("example.com");
        assert!(any.matches(&host("example.com"), 80) && any.matches(&host("example.com"), 443));
        assert!(!any.matches(&host("example.com"), 8080) && !any.matches(&host("example.com"), 22));
        let one = parsed("example.com:8080");
        assert!(one.matches(&host("example.com"), 8080) && !one.matches(&host("example.com"), 443));
    }

    #[test]
    fn names_and_addresses_never_meet() {
        assert!(!parsed("127.0.0.1").matches(&host("localhost"), 80));
        assert!(!parsed("localhost").matches(&host("127.0.0.1"), 80));
        assert!(parsed("127.0.0.1").matches(&host("0x7f.1"), 80));
        assert!(parsed("10.0.0.0/8").matches(&host("::ffff:10.9.9.9"), 80), "mapped meets IPv4");
        assert!(!parsed("10.0.0.0/8").matches(&host("::10.9.9.9"), 80), "compatible is another address");
        assert!(parsed("2001:db8::/32").matches(&host("[2001:db8:1::5]"), 443));
    }
}
