//! A run's egress engine, with every decision it makes written to the
//! sandbox's audit log.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use stockade_audit::{AuditLog, Decision, Event};
use stockade_core::SandboxError;
use stockade_net::{Engine, NetEvent, SecretError, Secrets};
use stockade_policy::{Policy, PolicyError};

/// Network records one run may write; past them, decisions are counted
/// ([`Event::NetUnrecorded`]): a guest that floods refused requests cannot
/// grow the log by it.
pub(crate) const MAX_NET_RECORDS_PER_RUN: u64 = 1000;

/// Refuses a sandbox whose secrets the host cannot supply (a variable that
/// is not set, a value too short to tell apart), when it is built rather
/// than at its first run. Each run reads the values again.
pub(crate) fn check_secrets(policy: &Policy) -> Result<(), SandboxError> {
    match Secrets::new(&policy.secrets, |variable| std::env::var(variable).ok()) {
        Ok(_) => Ok(()),
        Err(e) => {
            let (key, reason) = match e {
                SecretError::Missing { name, variable } => (
                    format!("secrets.{name}.from_env"),
                    format!("the host has no variable {variable} (or it is not UTF-8)"),
                ),
                SecretError::Unusable { name, variable, why } => {
                    (format!("secrets.{name}.from_env"), format!("the value of {variable} {why}"))
                }
                SecretError::Hosts { name, why } => (format!("secrets.{name}.hosts"), why),
                SecretError::Headers { name, why } => (format!("secrets.{name}.headers"), why),
            };
            Err(PolicyError::invalid(key, reason).into())
        }
    }
}

/// A run's network: its engine, and what it recorded.
pub(crate) struct RunNetwork {
    pub engine: Arc<Engine>,
    audit: Option<(Arc<AuditLog>, String, Arc<AtomicU64>)>,
}

impl RunNetwork {
    /// The engine for run `run` of a sandbox under `policy`, or `None`
    /// when the policy allows no network.
    pub fn start(
        policy: &Policy,
        audit: Option<&Arc<AuditLog>>,
        run: &str,
    ) -> Result<Option<RunNetwork>, SandboxError> {
        if policy.network.allow.is_empty() {
            return Ok(None);
        }
        let recorded = Arc::new(AtomicU64::new(0));
        let sink = audit.map(|log| {
            let (log, run, recorded) = (log.clone(), run.to_string(), recorded.clone());
            Arc::new(move |event: NetEvent| {
                if recorded.fetch_add(1, Ordering::Relaxed) >= MAX_NET_RECORDS_PER_RUN {
                    return;
                }
                let decision = if event.allowed { Decision::Allowed } else { Decision::Denied };
                // The log reports its own failures at the run's end.
                let _ = log.append(&Event::NetRequest {
                    run: run.clone(),
                    destination: event.destination,
                    method: event.method,
                    decision,
                    rule: event.rule,
                    bytes_out: event.bytes_out,
                    bytes_in: event.bytes_in,
                    secrets: event.secrets,
                });
            }) as stockade_net::Sink
        });
        // The real values are read now, from the host's environment, and
        // live in the engine only.
        let secrets =
            Secrets::new(&policy.secrets, |variable| std::env::var(variable).ok()).map_err(|e| {
                SandboxError::Network { step: "read its secrets", source: std::io::Error::other(e) }
            })?;
        let engine = Arc::new(Engine::new(&policy.network, secrets, sink)?);
        let audit = audit.map(|log| (log.clone(), run.to_string(), recorded));
        Ok(Some(RunNetwork { engine, audit }))
    }

    /// Closes every connection of the run and records the decisions that
    /// were only counted.
    pub fn finish(self) {
        self.engine.finish();
        if let Some((log, run, recorded)) = self.audit {
            let count = recorded.load(Ordering::Relaxed).saturating_sub(MAX_NET_RECORDS_PER_RUN);
            if count > 0 {
                let _ = log.append(&Event::NetUnrecorded { run, count });
            }
        }
    }
}
