//! What the facade writes to the audit log around each run.

use crate::sandbox::Sandbox;
use std::sync::Arc;
use stockade_audit::{AuditLog, Event};
use stockade_core::{AuditRange, Enforcement, Language, Outcome, SandboxError, Status};
use stockade_policy::FileMode;

/// A run's audit records, from `run_start` to `run_end`.
pub(crate) struct RunRecord<'a> {
    log: Option<&'a Arc<AuditLog>>,
    run: String,
    first: Option<u64>,
    /// The layers planned for the run, for its outcome where the backend
    /// did not report its own.
    layers: Enforcement,
}

impl<'a> RunRecord<'a> {
    /// Records the start of a run (when there is a log) and names the run,
    /// then the file grants mounted for it (file accesses themselves happen
    /// inside WASI, unseen; a grant is recorded as in use for the run).
    pub fn start(
        log: Option<&'a Arc<AuditLog>>,
        language: Language,
        code: &str,
        sandbox: &Sandbox,
        session: Option<&str>,
        layers: Enforcement,
    ) -> Result<RunRecord<'a>, SandboxError> {
        let policy_sha256 = sandbox.policy_sha256();
        // Only a log (and the tool gate, which records into it) needs the id.
        let run = if log.is_some() { new_run_id()? } else { String::new() };
        let first = match log {
            Some(log) => Some(
                log.append(&Event::RunStart {
                    run: run.clone(),
                    language: language.to_string(),
                    code_sha256: stockade_audit::sha256_hex(code.as_bytes()),
                    policy_sha256: policy_sha256.to_string(),
                    principal: sandbox.principal().map(String::from),
                    session: session.map(String::from),
                    layers: layers.names(),
                })
                .map_err(audit_error)?,
            ),
            None => None,
        };
        if let Some(log) = log {
            for (i, grant) in sandbox.policy().files.grants.iter().enumerate() {
                let mode = match grant.mode {
                    FileMode::Ro => "read-only",
                    FileMode::Rw => "read-write",
                };
                let event = Event::GrantUsed {
                    run: run.clone(),
                    grant: format!("files.grants[{i}]"),
                    detail: format!("{} mounted {mode} at {}", grant.host, grant.guest),
                };
                if let Err(e) = log.append(&event) {
                    // The run will not start: say so, so its start has an end.
                    let end = Event::RunEnd {
                        run: run.clone(),
                        status: "host_error".into(),
                        exit_code: -1,
                        wall_us: 0,
                        tool_calls: 0,
                    };
                    let _ = log.append(&end).and_then(|_| log.end_batch());
                    return Err(audit_error(e));
                }
            }
        }
        Ok(RunRecord { log, run, first, layers })
    }

    /// The run's id in the log.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// Records how the run ended, flushes the batch, and puts the run's
    /// sequence numbers into the outcome.
    pub fn finish(
        self,
        result: Result<Outcome, SandboxError>,
        tool_calls: u64,
    ) -> Result<Outcome, SandboxError> {
        let layers = self.layers;
        let result = result.map(|mut outcome| {
            if outcome.enforcement.is_empty() {
                outcome.enforcement = layers;
            }
            outcome.usage.tool_calls = tool_calls;
            outcome
        });
        let (Some(log), Some(first)) = (self.log, self.first) else {
            return result;
        };
        let (status, exit_code, wall_us) = match &result {
            Ok(outcome) => {
                if let Status::LimitExceeded { which } = &outcome.status {
                    let limit = serde_json::to_value(which).ok().and_then(|v| v.as_str().map(String::from));
                    let limit = limit.unwrap_or_default();
                    log.append(&Event::LimitHit { run: self.run.clone(), limit }).map_err(audit_error)?;
                }
                let wall = u64::try_from(outcome.usage.wall.as_micros()).unwrap_or(u64::MAX);
                (status_name(&outcome.status), outcome.exit_code, wall)
            }
            Err(_) => ("host_error".to_string(), -1, 0),
        };
        let end = Event::RunEnd { run: self.run.clone(), status, exit_code, wall_us, tool_calls };
        let last = log.append(&end).map_err(audit_error)?;
        log.end_batch().map_err(audit_error)?;
        let mut outcome = result?;
        outcome.audit = Some(AuditRange { first, last });
        Ok(outcome)
    }
}

fn status_name(status: &Status) -> String {
    let value = serde_json::to_value(status).unwrap_or_default();
    value["kind"].as_str().unwrap_or("unknown").to_string()
}

/// A run or session id: 16 random hex digits, unique within a log.
pub(crate) fn new_run_id() -> Result<String, SandboxError> {
    stockade_core::id::random_hex(8).map_err(|e| SandboxError::Audit(format!("cannot draw a run id: {e}")))
}

pub(crate) fn audit_error(error: stockade_audit::AuditError) -> SandboxError {
    SandboxError::Audit(error.to_string())
}
