//! A run's egress engine, with every decision it makes written to the
//! sandbox's audit log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use stockade_audit::{AuditLog, Decision, Event};
use stockade_core::{NetworkUsage, SandboxError};
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

/// A run's network (or a session's, whose runs share it): its engine, and
/// what it recorded.
pub(crate) struct RunNetwork {
    pub engine: Arc<Engine>,
    /// The log, and the run its records name now (a session's current run).
    audit: Option<(Arc<AuditLog>, Arc<Mutex<String>>)>,
    /// Records the current run has made, against [`MAX_NET_RECORDS_PER_RUN`].
    recorded: Arc<AtomicU64>,
    /// What the engine had used when the current run began.
    began: Mutex<NetworkUsage>,
}

impl RunNetwork {
    /// The engine for run `run` (or a session, named by its id) of a
    /// sandbox under `policy`, or `None` when the policy allows no network.
    pub fn start(
        policy: &Policy,
        audit: Option<&Arc<AuditLog>>,
        run: &str,
    ) -> Result<Option<RunNetwork>, SandboxError> {
        if policy.network.allow.is_empty() {
            return Ok(None);
        }
        let recorded = Arc::new(AtomicU64::new(0));
        let audit = audit.map(|log| (log.clone(), Arc::new(Mutex::new(run.to_string()))));
        let sink = audit.clone().map(|(log, run)| {
            let recorded = recorded.clone();
            Arc::new(move |event: NetEvent| {
                if recorded.fetch_add(1, Ordering::Relaxed) >= MAX_NET_RECORDS_PER_RUN {
                    return;
                }
                let decision = if event.allowed { Decision::Allowed } else { Decision::Denied };
                let run = run.lock().unwrap_or_else(|p| p.into_inner()).clone();
                // The log reports its own failures at the run's end.
                let _ = log.append(&Event::NetRequest {
                    run,
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
        Ok(Some(RunNetwork { engine, audit, recorded, began: Mutex::new(NetworkUsage::default()) }))
    }

    /// `policy` with each secret's placeholder, fresh for this engine, in
    /// its `[env]` under the secret's name (what every backend gives the
    /// guest); `None` when there are no secrets.
    pub fn guest_policy(&self, policy: &Policy) -> Option<Policy> {
        let env = self.engine.guest_env();
        (!env.is_empty()).then(|| {
            let mut policy = policy.clone();
            policy.env.extend(env);
            policy
        })
    }

    /// Begins run `run` of a session on this engine: its records name it,
    /// and its usage and record count start from here.
    pub fn begin(&self, run: &str) {
        if let Some((_, current)) = &self.audit {
            *current.lock().unwrap_or_else(|p| p.into_inner()) = run.to_string();
        }
        self.recorded.store(0, Ordering::Relaxed);
        *self.began.lock().unwrap_or_else(|p| p.into_inner()) = self.engine.usage();
    }

    /// Ends the current run: records the decisions that were only counted,
    /// and returns what the run used.
    pub fn end_run(&self) -> NetworkUsage {
        if let Some((log, run)) = &self.audit {
            let count = self.recorded.load(Ordering::Relaxed).saturating_sub(MAX_NET_RECORDS_PER_RUN);
            if count > 0 {
                let run = run.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let _ = log.append(&Event::NetUnrecorded { run, count });
            }
        }
        let (now, began) = (self.engine.usage(), *self.began.lock().unwrap_or_else(|p| p.into_inner()));
        NetworkUsage {
            requests: now.requests.saturating_sub(began.requests),
            bytes_out: now.bytes_out.saturating_sub(began.bytes_out),
            bytes_in: now.bytes_in.saturating_sub(began.bytes_in),
        }
    }

    /// Closes every connection, ending the current run (see
    /// [`RunNetwork::end_run`]), whose usage it returns.
    pub fn finish(&self) -> NetworkUsage {
        self.engine.finish();
        self.end_run()
    }
}
