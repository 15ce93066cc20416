//! Which addresses are not public: the ranges the engine refuses to
//! connect to for a name, as data, each with the reason an audit record
//! gives. `stockade-net` classifies with [`non_public_reason`]; the rules'
//! explanation names the ranges a rule reaches.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` is not a public address, or `None` if it is one: a globally
/// routable unicast address outside every range below.
///
/// IPv6 forms that carry an IPv4 address are judged by it: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::/96`), 6to4 (`2002::/16`) and Teredo (`2001::/32`, whose
/// server and client addresses must both be public). So
/// `::ffff:169.254.169.254` is `"cloud metadata"`, like the address itself.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    V4.iter().find(|(net, _)| net.contains(&ip)).map(|(_, why)| *why)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let block = V6.iter().find(|(net, _)| net.contains(&ip))?;
    match block.1 {
        Class::NonPublic(why) => Some(why),
        Class::Carries(embedding) => embedding.carried(ip).into_iter().find_map(v4_reason),
    }
}

/// What a rule's range reaches beyond the public internet, for the
/// explanation: `None` when every address in it is public.
pub(super) fn range_note(net: &IpNet) -> Option<&'static str> {
    let overlaps = |a: &IpNet, b: &IpNet| a.contains(&b.network()) || b.contains(&a.network());
    let blocks: Vec<(IpNet, Option<&'static str>)> = match net {
        IpNet::V4(_) => V4.iter().map(|(block, why)| (IpNet::V4(*block), Some(*why))).collect(),
        IpNet::V6(_) => V6
            .iter()
            .map(|(block, class)| match class {
                Class::NonPublic(why) => (IpNet::V6(*block), Some(*why)),
                Class::Carries(_) => (IpNet::V6(*block), None),
            })
            .collect(),
    };
    // A range is wholly non-public inside a non-public block, unless a
    // block that classifies first (one carrying IPv4) takes part of it.
    let mut carried = false;
    for (block, why) in blocks.iter().filter(|(block, _)| overlaps(block, net)) {
        match why {
            None => carried = true,
            Some(_) if !carried && block.contains(net) => return Some("a non-public range, named exactly"),
            Some(_) => {}
        }
    }
    blocks
        .iter()
        .any(|(block, _)| overlaps(block, net))
        .then_some("a range with non-public addresses in it, named exactly")
}

/// How a range of IPv6 is classified.
enum Class {
    /// Never public, with why.
    NonPublic(&'static str),
    /// Carries IPv4 addresses, which decide.
    Carries(Embedding),
}

/// Where an IPv6 address carries IPv4.
#[derive(Clone, Copy)]
enum Embedding {
    /// The last 32 bits: mapped, compatible, NAT64.
    Last32,
    /// 6to4: bits 16..48.
    SixToFour,
    /// Teredo: the server at bits 32..64, the client in the last 32 bits
    /// with every bit flipped.
    Teredo,
}

impl Embedding {
    fn carried(self, ip: Ipv6Addr) -> Vec<Ipv4Addr> {
        let bits = u128::from(ip);
        let at = |shift: u32| Ipv4Addr::from((bits >> shift) as u32);
        match self {
            Embedding::Last32 => vec![at(0)],
            Embedding::SixToFour => vec![at(80)],
            Embedding::Teredo => vec![at(64), Ipv4Addr::from(!(bits as u32))],
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

#[expect(clippy::too_many_arguments, reason = "an IPv6 address is eight groups")]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16, len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

const METADATA: &str = "cloud metadata";

/// IPv4 ranges that are not public, the narrowest first where they nest
/// (the reason is the first match's).
const V4: &[(Ipv4Net, &str)] = &[
    (v4(0, 0, 0, 0, 32), "unspecified"),
    (v4(0, 0, 0, 0, 8), "this network (0.0.0.0/8)"),
    (v4(10, 0, 0, 0, 8), "private (RFC 1918)"),
    // Alibaba Cloud's metadata service, inside the shared range.
    (v4(100, 100, 100, 200, 32), METADATA),
    (v4(100, 64, 0, 0, 10), "shared address space (CGNAT, RFC 6598)"),
    (v4(127, 0, 0, 0, 8), "loopback"),
    // AWS, GCP, Azure and others; ECS task metadata; EKS Pod Identity.
    (v4(169, 254, 169, 254, 32), METADATA),
    (v4(169, 254, 170, 2, 32), METADATA),
    (v4(169, 254, 170, 23, 32), METADATA),
    (v4(169, 254, 0, 0, 16), "link-local"),
    (v4(172, 16, 0, 0, 12), "private (RFC 1918)"),
    // Oracle Cloud's older metadata address, inside the IETF's block.
    (v4(192, 0, 0, 192, 32), METADATA),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignments (192.0.0.0/24)"),
    (v4(192, 0, 2, 0, 24), "documentation (TEST-NET-1)"),
    (v4(192, 168, 0, 0, 16), "private (RFC 1918)"),
    (v4(198, 18, 0, 0, 15), "benchmarking (198.18.0.0/15)"),
    (v4(198, 51, 100, 0, 24), "documentation (TEST-NET-2)"),
    (v4(203, 0, 113, 0, 24), "documentation (TEST-NET-3)"),
    (v4(224, 0, 0, 0, 4), "multicast"),
    (v4(255, 255, 255, 255, 32), "broadcast"),
    (v4(240, 0, 0, 0, 4), "reserved (240.0.0.0/4)"),
];

/// IPv6 ranges that are not public or carry IPv4, the narrowest first
/// where they nest. Past them, only global unicast (`2000::/3`) is public.
const V6: &[(Ipv6Net, Class)] = &[
    (v6(0, 0, 0, 0, 0, 0, 0, 0, 128), Class::NonPublic("unspecified")),
    (v6(0, 0, 0, 0, 0, 0, 0, 1, 128), Class::NonPublic("loopback")),
    (v6(0, 0, 0, 0, 0, 0xffff, 0, 0, 96), Class::Carries(Embedding::Last32)),
    // IPv4-compatible, deprecated: judged by the IPv4 it names.
    (v6(0, 0, 0, 0, 0, 0, 0, 0, 96), Class::Carries(Embedding::Last32)),
    (v6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0, 96), Class::Carries(Embedding::Last32)),
    (v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0, 48), Class::NonPublic("local-use NAT64 (64:ff9b:1::/48)")),
    (v6(0x100, 0, 0, 0, 0, 0, 0, 0, 64), Class::NonPublic("discard-only (100::/64)")),
    (v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 32), Class::Carries(Embedding::Teredo)),
    (v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 23), Class::NonPublic("IETF protocol assignments (2001::/23)")),
    (v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0, 32), Class::NonPublic("documentation (2001:db8::/32)")),
    (v6(0x2002, 0, 0, 0, 0, 0, 0, 0, 16), Class::Carries(Embedding::SixToFour)),
    (v6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20), Class::NonPublic("documentation (3fff::/20)")),
    // AWS's metadata service over IPv6, and EKS Pod Identity's.
    (v6(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254, 128), Class::NonPublic(METADATA)),
    (v6(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23, 128), Class::NonPublic(METADATA)),
    (v6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7), Class::NonPublic("unique local (fc00::/7)")),
    (v6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10), Class::NonPublic("link-local")),
    (v6(0xfec0, 0, 0, 0, 0, 0, 0, 0, 10), Class::NonPublic("site-local (deprecated)")),
    (v6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8), Class::NonPublic("multicast")),
    // Everything outside global unicast is unassigned or special: no
    // public host answers there.
    (v6(0, 0, 0, 0, 0, 0, 0, 0, 3), Class::NonPublic("reserved (outside 2000::/3)")),
    (v6(0x4000, 0, 0, 0, 0, 0, 0, 0, 2), Class::NonPublic("reserved (outside 2000::/3)")),
    (v6(0x8000, 0, 0, 0, 0, 0, 0, 0, 1), Class::NonPublic("reserved (outside 2000::/3)")),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(ip: &str) -> Option<&'static str> {
        non_public_reason(ip.parse().expect("an address"))
    }

    #[test]
    fn reasons_name_the_range() {
        assert_eq!(reason("169.254.169.254"), Some(METADATA));
        assert_eq!(reason("::ffff:169.254.169.254"), Some(METADATA));
        assert_eq!(reason("fd00:ec2::254"), Some(METADATA));
        assert_eq!(reason("100.100.100.200"), Some(METADATA));
        assert_eq!(reason("127.0.0.1"), Some("loopback"));
        assert_eq!(reason("::1"), Some("loopback"));
        assert_eq!(reason("64:ff9b::a00:1"), Some("private (RFC 1918)"));
        assert_eq!(reason("2002:7f00:1::"), Some("loopback"));
        assert_eq!(reason("8.8.8.8"), None);
        assert_eq!(reason("2606:4700:4700::1111"), None);
    }

    #[test]
    fn teredo_is_judged_by_both_ends() {
        // Server 65.54.227.120, client 1.2.3.4 (flipped: fefd:fcfb).
        assert_eq!(reason("2001:0:4136:e378:8000:63bf:fefd:fcfb"), None);
        // Client 127.0.0.1 (flipped: 80ff:fffe).
        assert_eq!(reason("2001:0:4136:e378:8000:63bf:80ff:fffe"), Some("loopback"));
        // Server 10.0.0.1.
        assert_eq!(reason("2001:0:a00:1:8000:63bf:fefd:fcfb"), Some("private (RFC 1918)"));
    }

    #[test]
    fn range_notes() {
        let note = |net: &str| range_note(&net.parse().expect("a range"));
        assert_eq!(note("10.1.2.3/32"), Some("a non-public range, named exactly"));
        assert_eq!(note("169.254.0.0/16"), Some("a non-public range, named exactly"));
        assert_eq!(note("8.8.8.0/24"), None);
        assert!(note("0.0.0.0/1").is_some_and(|n| n.contains("with non-public")));
        assert!(note("64:ff9b::/96").is_some_and(|n| n.contains("with non-public")));
        assert_eq!(note("2606:4700::/32"), None);
        assert_eq!(note("fd00::/8"), Some("a non-public range, named exactly"));
    }
}
