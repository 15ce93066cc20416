//! What the engine tells the audit log: one record per decision.

/// One decision of the engine, with what it carried once it is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetEvent {
    /// `host:port` as the guest asked for it (canonical when it parsed).
    pub destination: String,
    /// The request's method, or `CONNECT` for a tunnel.
    pub method: String,
    /// Whether it went out.
    pub allowed: bool,
    /// What decided: `network.allow[0]`, `network.deny[1]`, `no
    /// network.allow rule`, `non-public address 10.0.0.1 (private)`, or the
    /// budget that ended it.
    pub rule: String,
    /// Bytes sent to the destination.
    pub bytes_out: u64,
    /// Bytes received from it.
    pub bytes_in: u64,
    /// What happened to the secrets the request carried: `NAME swapped
    /// in`, `NAME withheld: why`. Never a value.
    pub secrets: Vec<String>,
}

/// Where the engine sends its events: the facade's audit log.
pub type Sink = std::sync::Arc<dyn Fn(NetEvent) + Send + Sync>;
