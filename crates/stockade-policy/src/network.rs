//! The network policy, compiled: destination patterns, host names in their
//! canonical form, and the verdict on a destination. Pure logic, no I/O:
//! the engine (`stockade-net`) resolves and connects.
//!
//! A destination is checked in this order, each step refusing what the next
//! could misread:
//!
//! 1. [`Host::parse`] canonicalizes what the guest asked for (case, a
//!    trailing dot, IDNA, every IPv4 spelling `inet_aton` reads) or refuses
//!    it before any lookup;
//! 2. [`Rules::decide`] matches it against `network.deny`, then
//!    `network.allow` ([`Pattern`]s);
//! 3. where the request is visible, [`Rules::admits`] checks its method and
//!    its path, normalized first ([`normalize_path`]);
//! 4. the engine vets every address a name resolves to
//!    ([`non_public_reason`]).
//!
//! ```
//! use stockade_policy::network::{Host, Rules, Verdict};
//! use stockade_policy::{NetworkPolicy, NetworkRule};
//!
//! let policy = NetworkPolicy {
//!     allow: vec![NetworkRule::host("*.example.org")],
//!     deny: vec!["secret.example.org".into()],
//!     ..NetworkPolicy::default()
//! };
//! let rules = Rules::new(&policy)?;
//! let host = Host::parse("API.Example.org.").expect("a host name");
//! assert_eq!(rules.decide(&host, 443), Verdict::Allowed { rule: 0 });
//! let secret = Host::parse("secret.example.org").expect("a host name");
//! assert_eq!(rules.decide(&secret, 443), Verdict::Denied { by: Some(0) });
//! # Ok::<(), stockade_policy::PolicyError>(())
//! ```

pub mod cases;
mod class;
mod explain;
mod host;
mod path;
mod pattern;
mod rules;
#[cfg(test)]
mod tests;

pub use class::non_public_reason;
pub use host::{Host, HostError, printable};
pub use path::normalize_path;
pub use pattern::Pattern;
pub use rules::{Rules, Verdict};
