//! A destination vetted: checked against the policy before any lookup, then
//! resolved by the host, and refused whole if any address is not public.

use crate::address::{AddressClass, classify};
use crate::refusal::Refusal;
use crate::resolve::Resolver;
use std::net::{IpAddr, SocketAddr};
use stockade_policy::network::{Host, Rules, Verdict};

/// Where a request may go: the host it named, the rule that allowed it, and
/// the addresses to connect to, the only ones ever used for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// The host, canonical.
    pub host: Host,
    /// The port.
    pub port: u16,
    /// The `network.allow` rule that allowed it.
    pub rule: usize,
    /// The vetted addresses, in the resolver's order.
    pub addresses: Vec<SocketAddr>,
    /// `host:port` as written once, for the records and pool keys that
    /// name it on every request.
    written: String,
}

impl Destination {
    /// The destination `host:port`, allowed by rule `rule`, at `addresses`.
    pub fn new(host: Host, port: u16, rule: usize, addresses: Vec<SocketAddr>) -> Destination {
        let written = authority(&host, port);
        Destination { host, port, rule, addresses, written }
    }

    /// `host:port`, with an IPv6 address in brackets.
    pub fn authority(&self) -> String {
        self.written.clone()
    }
}

/// `host:port`, with an IPv6 address in brackets.
pub(crate) fn authority(host: &Host, port: u16) -> String {
    format!("{}:{port}", UriHost(host))
}

/// The host as a URI or a `Host` header writes it: an IPv6 address in brackets.
pub(crate) fn host_text(host: &Host) -> String {
    UriHost(host).to_string()
}

/// Writes a host as a URI does, straight into the text being made.
struct UriHost<'a>(&'a Host);

impl std::fmt::Display for UriHost<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self.0 {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            host => write!(f, "{host}"),
        }
    }
}

/// What the engine needs to vet a destination.
pub(crate) struct Vetting<'a> {
    pub rules: &'a Rules,
    pub resolver: &'a Resolver,
    /// The host's own addresses, never a guest's destination by name.
    pub own: &'a [IpAddr],
}

impl Vetting<'_> {
    /// Vets `raw_host` (as the guest wrote it) on `port`.
    pub async fn vet(&self, raw_host: &str, port: u16) -> Result<Destination, Refusal> {
        self.vet_host(Host::parse(raw_host)?, port).await
    }

    /// Vets `host` (canonical already) on `port`.
    pub async fn vet_host(&self, host: Host, port: u16) -> Result<Destination, Refusal> {
        let destination = authority(&host, port);
        // No rule covers port 0 (a pattern's port is 1 to 65535), so it is refused here.
        let rule = match self.rules.decide(&host, port) {
            Verdict::Allowed { rule } => rule,
            Verdict::Denied { by: Some(rule) } => return Err(Refusal::Denied { destination, rule }),
            Verdict::Denied { by: None } => return Err(Refusal::NotAllowed { destination }),
        };
        let addresses = match &host {
            // An address literal got here through a rule that names its
            // range, which is what lets a non-public one through.
            Host::Ip(ip) => vec![*ip],
            Host::Name(name) => {
                let answer = self
                    .resolver
                    .lookup(name)
                    .await
                    .map_err(|why| Refusal::Unresolved { destination: destination.clone(), why })?;
                if answer.is_empty() {
                    return Err(Refusal::Unresolved { destination, why: "no address".into() });
                }
                for &address in &answer {
                    self.vet_address(&destination, address, port)?;
                }
                answer
            }
        };
        let addresses = addresses.into_iter().map(|ip| (ip, port).into()).collect();
        Ok(Destination { host, port, rule, addresses, written: destination })
    }

    /// Refuses an address of a name's answer that a deny rule covers, or
    /// that is not public (or is the host's own) and no rule names.
    fn vet_address(&self, destination: &str, address: IpAddr, port: u16) -> Result<(), Refusal> {
        // `::ffff:a.b.c.d` reaches the host at a.b.c.d: compare it as that.
        let own = self.own.iter().any(|own| own.to_canonical() == address.to_canonical());
        let class = match classify(address) {
            _ if own => "host-owned",
            AddressClass::NonPublic(class) => class,
            AddressClass::Public => "",
        };
        match self.rules.decide(&Host::Ip(address), port) {
            Verdict::Denied { by: Some(rule) } => {
                Err(Refusal::Denied { destination: address.to_string(), rule })
            }
            Verdict::Allowed { .. } => Ok(()),
            Verdict::Denied { by: None } if class.is_empty() => Ok(()),
            Verdict::Denied { by: None } => {
                Err(Refusal::NonPublic { destination: destination.to_string(), address, class })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockade_policy::NetworkPolicy;

    #[test]
    fn the_hosts_own_address_is_refused_in_its_ipv4_mapped_form_too() {
        let rules = Rules::new(&NetworkPolicy {
            allow: vec![stockade_policy::NetworkRule::host("api.example")],
            ..NetworkPolicy::default()
        })
        .expect("rules");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let _entered = runtime.enter();
        let resolver = Resolver::new(&["127.0.0.1:9".parse().expect("address")]).expect("resolver");
        // A public address, as a host on the internet has one.
        let own: IpAddr = "203.0.114.7".parse().expect("address");
        let vetting = Vetting { rules: &rules, resolver: &resolver, own: &[own] };
        for address in ["203.0.114.7", "::ffff:203.0.114.7"] {
            let address: IpAddr = address.parse().expect("address");
            let refused = vetting.vet_address("api.example:443", address, 443);
            assert!(
                matches!(refused, Err(Refusal::NonPublic { class: "host-owned", .. })),
                "{address}: {refused:?}"
            );
        }
        assert!(vetting.vet_address("api.example:443", "203.0.114.8".parse().expect("ip"), 443).is_ok());
    }
}
