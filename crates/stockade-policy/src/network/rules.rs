//! A network policy compiled into rules, and the verdict on a destination.

use super::path::{normalize_path, within};
use super::{Host, Pattern};
use crate::validate::{MAX_WALL_MS, range};
use crate::{NetworkPolicy, PolicyError};
use std::net::SocketAddr;

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
pub struct Rules {
    pub(super) allow: Vec<AllowRule>,
    pub(super) deny: Vec<Pattern>,
    pub(super) budgets: Budgets,
    pub(super) dns: Vec<SocketAddr>,
}

/// One `network.allow` rule, compiled.
#[derive(Clone, Debug)]
pub(super) struct AllowRule {
    pub(super) pattern: Pattern,
    /// Upper-case; empty admits any method.
    pub(super) methods: Vec<String>,
    /// Normal forms ([`normalize_path`]); empty admits any path.
    pub(super) paths: Vec<String>,
}

/// A run's network budgets; `None` is no limit.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Budgets {
    pub(super) requests: Option<u64>,
    pub(super) bytes_out: Option<u64>,
    pub(super) bytes_in: Option<u64>,
    pub(super) idle_timeout_ms: Option<u64>,
}

impl Rules {
    /// Compiles `policy`'s rules; an error names the key (`network.allow[2]`).
    ///
    /// Refused: a pattern [`Pattern::parse`] refuses (in `network.allow` or
    /// `network.deny`), a method that is not an HTTP token, a path that is
    /// not absolute or holds `..`, `?`, `#` or anything
    /// [`normalize_path`] refuses, a `network.dns` entry that is not
    /// `ip:port`, and a budget of 0 (leave it out for no limit). Deny rules
    /// and budgets without any allow rule are fine: that is no network.
    pub fn new(policy: &NetworkPolicy) -> Result<Rules, PolicyError> {
        let mut allow = Vec::with_capacity(policy.allow.len());
        for (i, rule) in policy.allow.iter().enumerate() {
            let key = format!("network.allow[{i}]");
            let pattern = Pattern::parse(&rule.host).map_err(|why| PolicyError::invalid(&key, why))?;
            let methods = rule
                .methods
                .iter()
                .enumerate()
                .map(|(j, method)| compile_method(method).map_err(|why| invalid(&key, "methods", j, why)))
                .collect::<Result<_, _>>()?;
            let paths = rule
                .paths
                .iter()
                .enumerate()
                .map(|(j, path)| compile_path(path).map_err(|why| invalid(&key, "paths", j, why)))
                .collect::<Result<_, _>>()?;
            allow.push(AllowRule { pattern, methods, paths });
        }
        let deny = policy
            .deny
            .iter()
            .enumerate()
            .map(|(i, pattern)| {
                Pattern::parse(pattern).map_err(|why| PolicyError::invalid(format!("network.deny[{i}]"), why))
            })
            .collect::<Result<_, _>>()?;
        let dns = policy
            .dns
            .iter()
            .enumerate()
            .map(|(i, server)| {
                compile_dns(server).map_err(|why| PolicyError::invalid(format!("network.dns[{i}]"), why))
            })
            .collect::<Result<_, _>>()?;
        for (i, path) in policy.upstream_ca.iter().enumerate() {
            if path.is_empty() || path.contains('\0') {
                return Err(PolicyError::invalid(
                    format!("network.upstream_ca[{i}]"),
                    "must name a PEM file",
                ));
            }
        }
        let budgets = Budgets {
            requests: budget("network.max_requests", policy.max_requests, u64::MAX)?,
            bytes_out: budget("network.max_bytes_out", policy.max_bytes_out, u64::MAX)?,
            bytes_in: budget("network.max_bytes_in", policy.max_bytes_in, u64::MAX)?,
            idle_timeout_ms: budget("network.idle_timeout_ms", policy.idle_timeout_ms, MAX_WALL_MS)?,
        };
        Ok(Rules { allow, deny, budgets, dns })
    }

    /// The verdict on `host` at `port`. Deny rules win over allow rules.
    ///
    /// The first deny rule that covers the host decides; a deny rule
    /// without a port covers every port (an allow rule without one covers
    /// 80 and 443 only). Else the first allow rule that matches decides;
    /// else nothing allows it.
    pub fn decide(&self, host: &Host, port: u16) -> Verdict {
        let denied = |pattern: &Pattern| pattern.covers(host) && pattern.port.is_none_or(|own| own == port);
        if let Some(by) = self.deny.iter().position(denied) {
            return Verdict::Denied { by: Some(by) };
        }
        match self.allow.iter().position(|rule| rule.pattern.matches(host, port)) {
            Some(rule) => Verdict::Allowed { rule },
            None => Verdict::Denied { by: None },
        }
    }

    /// Whether allow rule `rule` admits `method` on `path` (a request
    /// target's path, before any `?`): its methods and path prefixes, each
    /// admitting anything when empty.
    ///
    /// Methods compare without regard to case. The path is compared in its
    /// normal form ([`normalize_path`]), at a segment boundary (`/v1`
    /// admits `/v1/x`, not `/v10`), and a path that has none is refused
    /// wherever the rule lists paths. A rule that does not exist admits
    /// nothing.
    pub fn admits(&self, rule: usize, method: &str, path: &str) -> bool {
        let Some(rule) = self.allow.get(rule) else { return false };
        let method_ok =
            rule.methods.is_empty() || rule.methods.iter().any(|m| m.eq_ignore_ascii_case(method));
        let path_ok = rule.paths.is_empty()
            || normalize_path(path).is_ok_and(|path| rule.paths.iter().any(|prefix| within(&path, prefix)));
        method_ok && path_ok
    }

    /// Whether no allow rule exists: then there is no network at all.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty()
    }

    /// The DNS servers of `network.dns`; empty: the host's own.
    pub fn dns(&self) -> &[SocketAddr] {
        &self.dns
    }
}

fn invalid(rule_key: &str, list: &str, index: usize, why: String) -> PolicyError {
    PolicyError::invalid(format!("{rule_key}.{list}[{index}]"), why)
}

/// An HTTP method, upper-cased; it must be a token (RFC 9110).
fn compile_method(method: &str) -> Result<String, String> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if method.is_empty() || !method.bytes().all(tchar) {
        return Err(format!("`{}` is not an HTTP method (a token, like `GET`)", method.escape_debug()));
    }
    Ok(method.to_ascii_uppercase())
}

/// A path prefix in its normal form; it may not climb with `..` at all.
fn compile_path(path: &str) -> Result<String, String> {
    let refuse = |why: &str| format!("`{}` is not a path prefix: {why}", path.escape_debug());
    if !path.starts_with('/') {
        return Err(refuse("it must start with `/`"));
    }
    if has_dot_dot(path) {
        return Err(refuse("it holds a `..` segment"));
    }
    normalize_path(path).map_err(|why| refuse(&format!("it holds {why}")))
}

/// Whether `path` has a `..` segment, escaped (`%2e`) or not.
fn has_dot_dot(path: &str) -> bool {
    path.split('/').any(|segment| segment.to_ascii_lowercase().replace("%2e", ".") == "..")
}

fn compile_dns(server: &str) -> Result<SocketAddr, String> {
    match server.parse::<SocketAddr>() {
        Ok(address) if address.port() != 0 => Ok(address),
        _ => Err(format!(
            "`{}` is not a DNS server's address and port, like `127.0.0.1:53` or `[::1]:53`",
            server.escape_debug()
        )),
    }
}

/// A budget, if set: at least 1 (0 would allow nothing; leaving the key
/// out is no limit) and at most `max`.
fn budget(key: &str, value: Option<u64>, max: u64) -> Result<Option<u64>, PolicyError> {
    match value {
        Some(0) => Err(PolicyError::invalid(key, "must be ≥ 1, got 0; leave the key out for no limit")),
        Some(value) => range(key, value, 1, max).map(|()| Some(value)),
        None => Ok(None),
    }
}
