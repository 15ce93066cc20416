//! Why the engine refused a destination or a request: one typed error,
//! said to the guest (as a 403 from the proxy, or an error in `fetch`) and
//! recorded in the audit log as the rule that decided.

use std::net::IpAddr;
use stockade_policy::network::HostError;

/// A refusal, before or during a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The host is not a name or address at all (NUL, `%zone`, an empty
    /// label...); nothing was looked up.
    #[error("{0}")]
    InvalidHost(#[from] HostError),
    /// No `network.allow` rule covers the destination; nothing was looked up.
    #[error("{destination} is not allowed by the policy (no network.allow rule covers it)")]
    NotAllowed {
        /// `host:port`.
        destination: String,
    },
    /// A `network.deny` rule covers the destination (or one of its addresses).
    #[error("{destination} is refused by network.deny[{rule}]")]
    Denied {
        /// `host:port`, or the address that was denied.
        destination: String,
        /// The index of the deny rule.
        rule: usize,
    },
    /// The name resolved to an address that is not public (loopback, a
    /// private range, cloud metadata...), which no rule names: the whole
    /// answer is refused.
    #[error("{destination} resolves to {address}, a {class} address, which no rule names")]
    NonPublic {
        /// `host:port`.
        destination: String,
        /// The address that was not public.
        address: IpAddr,
        /// Its class, as the classifier says it.
        class: &'static str,
    },
    /// The host's resolver had no address for the name, or failed.
    #[error("{destination} could not be resolved: {why}")]
    Unresolved {
        /// `host:port`.
        destination: String,
        /// The resolver's answer.
        why: String,
    },
    /// The request's `Host` header, or its TLS server name, names another
    /// host than the one it was sent to (domain fronting).
    #[error("{what} `{claimed}` does not match the destination {destination}")]
    Mismatch {
        /// `the Host header`, `the TLS server name (SNI)`.
        what: &'static str,
        /// What the request claimed, escaped.
        claimed: String,
        /// The destination it was sent to.
        destination: String,
    },
    /// A tunnel (CONNECT) whose first bytes are not a TLS ClientHello with
    /// a server name: the engine cannot tell where it really goes.
    #[error("a tunnel to {destination} must start with a TLS ClientHello that names the host ({why})")]
    OpaqueTunnel {
        /// `host:port`.
        destination: String,
        /// What was wrong with its first bytes.
        why: &'static str,
    },
    /// The rule that allows the destination does not admit this method or
    /// path.
    #[error(
        "{method} {path} on {destination} is not admitted by network.allow[{rule}] (its methods and paths)"
    )]
    MethodOrPath {
        /// The request's method.
        method: String,
        /// The request's path, escaped.
        path: String,
        /// `host:port`.
        destination: String,
        /// The index of the allow rule.
        rule: usize,
    },
    /// A budget of the run is spent.
    #[error("the run's network budget is spent: {0}")]
    Budget(Budget),
    /// The connection moved nothing either way for `network.idle_timeout_ms`.
    #[error("the connection was idle for {ms} ms (network.idle_timeout_ms)")]
    Idle {
        /// The timeout.
        ms: u64,
    },
    /// Not a request the engine forwards (a malformed one, an absolute URI
    /// of another scheme, an upgrade it cannot follow).
    #[error("{0}")]
    Unsupported(String),
}

/// The run's network budgets, as a refusal names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// `network.max_requests`.
    Requests(u64),
    /// `network.max_bytes_out`.
    BytesOut(u64),
    /// `network.max_bytes_in`.
    BytesIn(u64),
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Budget::Requests(n) => write!(f, "network.max_requests ({n} requests)"),
            Budget::BytesOut(n) => write!(f, "network.max_bytes_out ({n} bytes)"),
            Budget::BytesIn(n) => write!(f, "network.max_bytes_in ({n} bytes)"),
        }
    }
}

impl Refusal {
    /// What the audit log records as the rule that decided.
    pub fn rule(&self) -> String {
        match self {
            Refusal::InvalidHost(_) => "invalid host".into(),
            Refusal::NotAllowed { .. } => "no network.allow rule".into(),
            Refusal::Denied { rule, .. } => format!("network.deny[{rule}]"),
            Refusal::NonPublic { address, class, .. } => format!("non-public address {address} ({class})"),
            Refusal::Unresolved { .. } => "unresolved".into(),
            Refusal::Mismatch { what, .. } => format!("{what} mismatch"),
            Refusal::OpaqueTunnel { why, .. } => format!("opaque tunnel: {why}"),
            Refusal::MethodOrPath { rule, .. } => format!("network.allow[{rule}] methods and paths"),
            Refusal::Budget(budget) => match budget {
                Budget::Requests(_) => "network.max_requests".into(),
                Budget::BytesOut(_) => "network.max_bytes_out".into(),
                Budget::BytesIn(_) => "network.max_bytes_in".into(),
            },
            Refusal::Idle { .. } => "network.idle_timeout_ms".into(),
            Refusal::Unsupported(_) => "unsupported request".into(),
        }
    }
}

/// A request that ended in a refusal, and whether its audit record is
/// written already (by the request's own tally, with what it counted and
/// what happened to its secrets), so that each request has one record.
#[derive(Debug)]
pub(crate) struct Failed {
    pub refusal: Refusal,
    pub recorded: bool,
}

impl From<Refusal> for Failed {
    fn from(refusal: Refusal) -> Failed {
        Failed { refusal, recorded: false }
    }
}
