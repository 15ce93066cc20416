//! Which addresses are public: what the engine may connect to for a name.
//!
//! The ranges themselves are data in the policy crate
//! ([`stockade_policy::network::non_public_reason`]), which also uses them
//! to explain a rule that names an address range.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is, for the engine's vetting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// A globally routable unicast address.
    Public,
    /// Anything else, with why (`"loopback"`, `"private (RFC 1918)"`,
    /// `"cloud metadata"`, ...), said as an audit record would say it.
    NonPublic(&'static str),
}

/// The class of `ip`, looking through IPv4-mapped, NAT64, 6to4 and Teredo
/// forms to the IPv4 address they carry.
pub fn classify(ip: IpAddr) -> AddressClass {
    match stockade_policy::network::non_public_reason(ip) {
        Some(why) => AddressClass::NonPublic(why),
        None => AddressClass::Public,
    }
}

/// The host's own addresses (every interface's), which are never public to
/// a guest whatever their class: a guest must not reach the host's services.
///
/// Every interface that has an address, up or down, IPv4 and IPv6, each
/// address once.
pub fn own_addresses() -> io::Result<Vec<IpAddr>> {
    let list = InterfaceList::read()?;
    let mut addresses = Vec::new();
    let mut entry = list.0;
    while !entry.is_null() {
        // SAFETY: `entry` is a non-null node of the list getifaddrs made,
        // which stays allocated until `list` is dropped at the end of this
        // function; nothing else writes to it.
        let node = unsafe { &*entry };
        // SAFETY: `ifa_addr` is null or points at a socket address that
        // lives as long as the node.
        if let Some(ip) = unsafe { address(node.ifa_addr) }
            && !addresses.contains(&ip)
        {
            addresses.push(ip);
        }
        entry = node.ifa_next;
    }
    Ok(addresses)
}

/// The interface list `getifaddrs` allocates, freed on drop.
struct InterfaceList(*mut libc::ifaddrs);

impl InterfaceList {
    fn read() -> io::Result<InterfaceList> {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: `head` is a valid place for the pointer getifaddrs
        // writes; on success the list is ours until freeifaddrs.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(InterfaceList(head))
    }
}

impl Drop for InterfaceList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful getifaddrs and is
            // freed only here, once; no reference into the list outlives
            // `own_addresses`, which owns this value.
            unsafe { libc::freeifaddrs(self.0) };
        }
    }
}

/// The IP address at `sockaddr`, if it is IPv4 or IPv6.
///
/// # Safety
/// `sockaddr` is null or points at a socket address whose storage is as
/// large as its family's structure (as getifaddrs gives).
unsafe fn address(sockaddr: *const libc::sockaddr) -> Option<IpAddr> {
    if sockaddr.is_null() {
        return None;
    }
    // SAFETY: non-null, and every socket address starts with its family.
    let family = unsafe { (*sockaddr).sa_family };
    match i32::from(family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage is a `sockaddr_in`; read
            // unaligned, since nothing promises its alignment.
            let v4 = unsafe { std::ptr::read_unaligned(sockaddr.cast::<libc::sockaddr_in>()) };
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage is a `sockaddr_in6`.
            let v6 = unsafe { std::ptr::read_unaligned(sockaddr.cast::<libc::sockaddr_in6>()) };
            Some(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockade_policy::network::cases::address_cases;

    const ADDRESSES: &str = include_str!("../../../tests/network/addresses.txt");

    #[test]
    fn every_address_in_the_table_is_classed() {
        let cases = address_cases(ADDRESSES).expect("addresses.txt reads");
        assert!(cases.len() >= 60, "addresses.txt has {} cases", cases.len());
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(address, public)| {
                let class = match address.parse::<IpAddr>() {
                    Ok(ip) => classify(ip),
                    Err(e) => return Some(format!("{address}: not an address ({e})")),
                };
                (matches!(class, AddressClass::Public) != *public).then(|| {
                    format!(
                        "{address}: want {}, got {class:?}",
                        if *public { "public" } else { "non-public" }
                    )
                })
            })
            .collect();
        assert!(failures.is_empty(), "{} of {} fail:\n{}", failures.len(), cases.len(), failures.join("\n"));
    }

    #[test]
    fn metadata_is_named_through_every_disguise() {
        for address in
            ["169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1"]
        {
            let ip: IpAddr = address.parse().expect("an address");
            assert_eq!(classify(ip), AddressClass::NonPublic("cloud metadata"), "{address}");
        }
    }

    /// Interface addresses as the kernel lists them in /proc, where it does:
    /// IPv6 from `if_inet6`, IPv4 from the `LOCAL` host routes of `fib_trie`.
    fn proc_addresses() -> Vec<IpAddr> {
        let mut found = Vec::new();
        if let Ok(text) = std::fs::read_to_string("/proc/net/if_inet6") {
            for hex in text.lines().filter_map(|line| line.split_whitespace().next()) {
                let bits = u128::from_str_radix(hex, 16).expect("if_inet6 holds hex addresses");
                found.push(IpAddr::V6(Ipv6Addr::from(bits)));
            }
        }
        if let Ok(text) = std::fs::read_to_string("/proc/net/fib_trie") {
            let lines: Vec<&str> = text.lines().collect();
            for pair in lines.windows(2) {
                let address = pair[0].trim().strip_prefix("|-- ").and_then(|a| a.parse::<Ipv4Addr>().ok());
                if let Some(address) = address
                    && pair[1].trim() == "/32 host LOCAL"
                {
                    found.push(IpAddr::V4(address));
                }
            }
        }
        found
    }

    #[test]
    fn own_addresses_include_loopback_and_every_interface() {
        let own = own_addresses().expect("getifaddrs works");
        eprintln!("own addresses: {own:?}");
        assert!(own.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)), "loopback is always up: {own:?}");
        for (i, ip) in own.iter().enumerate() {
            assert!(!own[..i].contains(ip), "{ip} is listed twice");
        }
        for ip in proc_addresses() {
            assert!(own.contains(&ip), "/proc lists {ip}, own_addresses does not: {own:?}");
        }
    }
}
