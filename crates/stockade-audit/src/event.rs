//! What gets recorded.

use serde::{Deserialize, Serialize};

/// Whether a tool call went ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The handler ran.
    Allowed,
    /// The call was refused before the handler ran.
    Denied,
}

/// One audited event. Serialised with its variant name in `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A writer opened the log. `dropped_bytes` is the size of a partial
    /// last line (a crash mid-write) it removed first, if there was one.
    LogOpened {
        /// Bytes of the partial last line removed, 0 if none.
        dropped_bytes: u64,
    },
    /// A run started.
    RunStart {
        /// The run's id, unique within the log.
        run: String,
        /// The guest language.
        language: String,
        /// SHA-256 of the source code.
        code_sha256: String,
        /// SHA-256 of the policy (its canonical JSON form).
        policy_sha256: String,
        /// Who asked for the run (an API token's id), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        principal: Option<String>,
        /// The session the run belongs to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// The layers of enforcement the run has on this machine
        /// (`user_namespace`, `landlock:6`, `cgroup_memory`, `epoch_deadline`...).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        layers: Vec<String>,
    },
    /// A session (runs that share one guest) opened.
    SessionOpen {
        /// The session's id, unique within the log.
        session: String,
        /// The guest language.
        language: String,
        /// SHA-256 of the policy (its canonical JSON form).
        policy_sha256: String,
        /// Who opened it (an API token's id), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        principal: Option<String>,
        /// The layers of enforcement its guest has on this machine.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        layers: Vec<String>,
    },
    /// A file went into or out of a session's private space, or was
    /// removed from it, through the host's API (not the guest's own writes).
    SessionFile {
        /// The session's id.
        session: String,
        /// `write`, `read` or `remove`.
        op: String,
        /// The path, as the guest sees it (`/tmp/...`).
        path: String,
        /// Bytes moved (0 for a removal).
        bytes: u64,
        /// Lower-case hex BLAKE3 of what moved, as `b3sum` prints it (none
        /// for a removal).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        blake3: Option<String>,
    },
    /// The host started a background command in a session, or sent one a
    /// signal.
    SessionCommand {
        /// The session's id.
        session: String,
        /// The command's id, unique within the session.
        command: String,
        /// `start` or `signal`.
        op: String,
        /// SHA-256 of the command's text, for a start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code_sha256: Option<String>,
        /// The signal sent (`SIGTERM`), for a signal.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
    },
    /// A session closed; its guest is gone.
    SessionClose {
        /// The session's id.
        session: String,
        /// Why: `closed`, `idle`, `lifetime`, a spent budget, or a run that
        /// stopped the guest.
        reason: String,
        /// Runs the session took.
        runs: u64,
    },
    /// A run ended.
    RunEnd {
        /// The run's id.
        run: String,
        /// `ok`, `guest_error`, `limit_exceeded`.
        status: String,
        /// The exit code reported to the caller.
        exit_code: i32,
        /// Wall time, in microseconds.
        wall_us: u64,
        /// Tool calls attempted, allowed or not.
        tool_calls: u64,
    },
    /// The guest called a host tool.
    ToolCall {
        /// The run's id.
        run: String,
        /// The tool's name, as the guest gave it.
        tool: String,
        /// Whether the handler ran.
        decision: Decision,
        /// What decided: `allowed`, or the rule that refused the call
        /// (`constraints.amount: <= 1000`, `max_calls`).
        rule: String,
        /// SHA-256 of the argument document.
        args_sha256: String,
        /// The arguments in clear, only if the policy says `log_arguments`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        args: Option<serde_json::Value>,
    },
    /// The same refusal as an earlier `tool_call` record of the run (the
    /// same tool and rule), made `repeats` more times. Written once, at the
    /// run's end, instead of once per call: a guest that repeats a refused
    /// call cannot grow the log by it.
    RefusalsRepeated {
        /// The run's id.
        run: String,
        /// The tool, as its `tool_call` record names it.
        tool: String,
        /// The rule, as its `tool_call` record names it.
        rule: String,
        /// Refusals after the recorded one.
        repeats: u64,
    },
    /// Refusals of a run past the number of distinct ones a run may record
    /// (a `limit_hit` of `audit_records` marks where that began): counted,
    /// not recorded. Written once, at the run's end.
    RefusalsUnrecorded {
        /// The run's id.
        run: String,
        /// Refusals not recorded one by one.
        count: u64,
    },
    /// A run hit a limit and was stopped or truncated.
    LimitHit {
        /// The run's id.
        run: String,
        /// `wall`, `fuel`, `memory` or `output`.
        limit: String,
    },
    /// A signature over the chain up to the record before this one.
    Checkpoint {
        /// The `seq` of the record signed (the one before this).
        upto_seq: u64,
        /// Its hash.
        upto_hash: String,
        /// The writer's Ed25519 public key, hex.
        public_key: String,
        /// The signature, hex (see `Signer::sign`).
        signature: String,
    },
    /// The egress engine decided on a request or tunnel of the guest's
    /// (written when an allowed one is done, with what it carried).
    NetRequest {
        /// The run's id.
        run: String,
        /// `host:port`, as the guest asked for it.
        destination: String,
        /// The method, `CONNECT` for a tunnel.
        method: String,
        /// Whether it went out.
        decision: Decision,
        /// What decided: `network.allow[0]`, `network.deny[1]`, `no
        /// network.allow rule`, `non-public address ...`, a budget.
        rule: String,
        /// Bytes sent to the destination.
        bytes_out: u64,
        /// Bytes received from it.
        bytes_in: u64,
        /// What happened to the secrets the request carried (`NAME swapped
        /// in`, `NAME withheld: not one of its hosts`); never a value.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        secrets: Vec<String>,
    },
    /// Network decisions of a run past the number one run may record:
    /// counted, not recorded. Written once, at the run's end.
    NetUnrecorded {
        /// The run's id.
        run: String,
        /// Decisions not recorded one by one.
        count: u64,
    },
    /// A file or network grant was used.
    GrantUsed {
        /// The run's id.
        run: String,
        /// The grant (`files.grants[0]`, `network.allow[1]`).
        grant: String,
        /// What was done with it (a path, a host).
        detail: String,
    },
}
