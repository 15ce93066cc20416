//! Which addresses are public: what the engine may connect to for a name.

use std::net::IpAddr;

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
    todo!("{ip}")
}

/// The host's own addresses (every interface's), which are never public to
/// a guest whatever their class: a guest must not reach the host's services.
pub fn own_addresses() -> std::io::Result<Vec<IpAddr>> {
    todo!()
}
