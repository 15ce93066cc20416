//! The network policy, compiled: destination patterns, host names in their
//! canonical form, and the verdict on a destination. Pure logic, no I/O:
//! the engine (`stockade-net`) resolves and connects.

use crate::{NetworkPolicy, PolicyError};
use std::fmt;
use std::net::IpAddr;

/// A destination host in its canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name: lower-case ASCII (IDNA), no trailing dot.
    Name(String),
    /// An IP literal, in any of the forms `inet_aton` reads for IPv4.
    Ip(IpAddr),
}

/// Why a host name was refused before any lookup.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{host}` is not a host name or address: {why}")]
pub struct HostError {
    /// The host as given, escaped for printing.
    pub host: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl Host {
    /// Canonicalizes `raw` (a name or IP literal, IPv6 with or without
    /// brackets, no port).
    pub fn parse(raw: &str) -> Result<Host, HostError> {
        todo!("{raw}")
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// One destination pattern: `api.github.com`, `*.example.org`,
/// `10.1.2.3/32`, each with an optional port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {}

impl Pattern {
    /// Parses a pattern as `network.allow` and `network.deny` write it.
    pub fn parse(pattern: &str) -> Result<Pattern, String> {
        todo!("{pattern}")
    }

    /// Whether the pattern covers `host` on `port`.
    pub fn matches(&self, host: &Host, port: u16) -> bool {
        todo!("{host} {port}")
    }
}

/// What the policy says of a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `network.allow[rule]` lets it through (and no deny rule matched).
    Allowed {
        /// The index of the allow rule that decided.
        rule: usize,
    },
    /// Refused: by `network.deny[rule]`, or (`None`) because no allow
    /// rule covers it.
    Denied {
        /// The index of the deny rule that decided, if one did.
        by: Option<usize>,
    },
}

/// A network policy, compiled once when the sandbox is built.
#[derive(Clone, Debug)]
pub struct Rules {}

impl Rules {
    /// Compiles `policy`'s rules; an error names the key (`network.allow[2]`).
    pub fn new(policy: &NetworkPolicy) -> Result<Rules, PolicyError> {
        todo!("{policy:?}")
    }

    /// The verdict on `host` at `port`. Deny rules win over allow rules.
    pub fn decide(&self, host: &Host, port: u16) -> Verdict {
        todo!("{host} {port}")
    }

    /// Whether allow rule `rule` admits `method` on `path` (a request
    /// target's path, before any `?`): its methods and path prefixes, each
    /// admitting anything when empty.
    pub fn admits(&self, rule: usize, method: &str, path: &str) -> bool {
        todo!("{rule} {method} {path}")
    }

    /// What the rules allow and refuse, in words, one line each.
    pub fn explain(&self) -> Vec<String> {
        todo!()
    }
}
