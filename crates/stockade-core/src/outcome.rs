//! What a run produced.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The result of one run. Guest failures live in `status`; the host only
/// returns an error when it could not run the code at all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Outcome {
    /// How the run ended.
    pub status: Status,
    /// The guest's exit code: 0 when it finished, 1 for an uncaught error,
    /// and the codes documented on [`Limit::exit_code`] for limits.
    pub exit_code: i32,
    /// Standard output, lossily decoded as UTF-8, at most `limits.stdout_bytes`.
    pub stdout: String,
    /// Standard error, lossily decoded as UTF-8, at most `limits.stderr_bytes`.
    pub stderr: String,
    /// The stdout cap was reached and later bytes were dropped.
    pub stdout_truncated: bool,
    /// The stderr cap was reached and later bytes were dropped.
    pub stderr_truncated: bool,
    /// The value of the last expression (or of a top-level `return`), as JSON.
    pub value: Option<serde_json::Value>,
    /// What the run consumed.
    pub usage: Usage,
    /// The run's records in the audit log, when the policy keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditRange>,
    /// The layers that held this run, as the backend applied them.
    #[serde(default, skip_serializing_if = "Enforcement::is_empty")]
    pub enforcement: Enforcement,
}

/// The layers that held a run: what the backend actually applied on this
/// machine, so that a run that went without one (a kernel without
/// Landlock, a caller that may not make cgroups) says so in its outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Enforcement {
    /// The layers, in the order they are set up.
    pub layers: Vec<Layer>,
    /// Landlock's ABI version, when [`Layer::Landlock`] is among them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landlock_abi: Option<u32>,
}

impl Enforcement {
    /// Whether nothing is recorded (an outcome made before any backend ran).
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Whether `layer` held the run.
    pub fn has(&self, layer: Layer) -> bool {
        self.layers.contains(&layer)
    }

    /// The layers by name, for the audit log: `landlock` carries its ABI
    /// (`landlock:6`).
    pub fn names(&self) -> Vec<String> {
        self.layers
            .iter()
            .map(|layer| match (layer, self.landlock_abi) {
                (Layer::Landlock, Some(abi)) => format!("landlock:{abi}"),
                _ => layer.name().to_string(),
            })
            .collect()
    }
}

/// One layer of enforcement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Layer {
    /// WebAssembly: the epoch deadline that stops the guest at its wall time.
    EpochDeadline,
    /// WebAssembly: fuel metering (`limits.fuel`).
    Fuel,
    /// WebAssembly: the limiter that caps linear memory and tables.
    MemoryLimiter,
    /// WebAssembly: the private, size-capped tmpfs behind `/tmp`.
    ScratchTmpfs,
    /// The jail: its own user namespace (and with it mount, pid, net, ipc,
    /// uts and cgroup namespaces).
    UserNamespace,
    /// The jail: Landlock's confinement of file access by path.
    Landlock,
    /// The jail: the seccomp filters.
    Seccomp,
    /// The jail: a cgroup's memory controller bounds the whole run's memory.
    CgroupMemory,
    /// The jail: a cgroup's pids controller bounds the whole run's processes.
    CgroupPids,
    /// The jail without cgroups: `RLIMIT_AS` bounds each process's memory.
    RlimitMemory,
    /// The jail without cgroups: `RLIMIT_NPROC` bounds the processes.
    RlimitProcesses,
}

impl Layer {
    /// The layer's name in JSON (`cgroup_memory`).
    pub fn name(self) -> &'static str {
        match self {
            Layer::EpochDeadline => "epoch_deadline",
            Layer::Fuel => "fuel",
            Layer::MemoryLimiter => "memory_limiter",
            Layer::ScratchTmpfs => "scratch_tmpfs",
            Layer::UserNamespace => "user_namespace",
            Layer::Landlock => "landlock",
            Layer::Seccomp => "seccomp",
            Layer::CgroupMemory => "cgroup_memory",
            Layer::CgroupPids => "cgroup_pids",
            Layer::RlimitMemory => "rlimit_memory",
            Layer::RlimitProcesses => "rlimit_processes",
        }
    }
}

impl Outcome {
    /// The outcome of a run cancelled before its guest started (while it
    /// waited for an instance slot or for its session), `wall` after it
    /// was asked for.
    pub fn cancelled_before_start(wall: std::time::Duration) -> Outcome {
        Outcome {
            status: Status::Cancelled,
            exit_code: Status::CANCELLED_EXIT_CODE,
            usage: Usage { wall, ..Usage::default() },
            ..Outcome::default()
        }
    }
}

/// The sequence numbers of a run's first and last audit records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuditRange {
    /// The `run_start` record.
    pub first: u64,
    /// The `run_end` record.
    pub last: u64,
}

/// How a run ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// The code ran to the end.
    #[default]
    Ok,
    /// The code raised an error it did not catch.
    GuestError {
        /// The error's type (`TypeError`, `RangeError`, ...).
        #[serde(rename = "type")]
        kind: String,
        /// The error's message.
        message: String,
        /// The guest's stack trace, when it has one.
        stack: Option<String>,
    },
    /// The code asked to exit with a non-zero status (`sys.exit(3)`).
    Exited {
        /// The status, 1 to 255.
        code: i32,
    },
    /// A budget ran out and the guest was stopped.
    LimitExceeded {
        /// Which budget.
        which: Limit,
    },
    /// The run was cancelled from outside (see [`crate::Cancel`]) and the
    /// guest was stopped.
    Cancelled,
}

impl Status {
    /// True when the code ran to the end.
    pub fn is_ok(&self) -> bool {
        matches!(self, Status::Ok)
    }

    /// The exit code a cancelled run reports: 130, as after Ctrl-C.
    pub const CANCELLED_EXIT_CODE: i32 = 130;

    /// The exit code a run that ended so reports: 0, the guest's own, the
    /// limit's, or 130 when cancelled. `None` for an uncaught error, whose
    /// code is the backend's (1 in WebAssembly, the signal's in the jail).
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Status::Ok => Some(0),
            Status::Exited { code } => Some(*code),
            Status::LimitExceeded { which } => Some(which.exit_code()),
            Status::Cancelled => Some(Status::CANCELLED_EXIT_CODE),
            Status::GuestError { .. } => None,
        }
    }
}

/// A budget from `[limits]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Limit {
    /// `limits.wall_ms`.
    Wall,
    /// `limits.fuel`.
    Fuel,
    /// `limits.memory_bytes`.
    Memory,
    /// `limits.stdout_bytes` / `limits.stderr_bytes` with `output_overflow = "kill"`,
    /// or a result value larger than `limits.stdout_bytes`.
    Output,
}

impl Limit {
    /// The exit code a run stopped by this limit reports (and the CLI exits with).
    ///
    /// | limit | code |
    /// |---|---|
    /// | wall | 124 (as `timeout(1)`) |
    /// | fuel | 125 |
    /// | memory | 137 (as an OOM kill) |
    /// | output | 141 (as SIGPIPE) |
    pub fn exit_code(self) -> i32 {
        match self {
            Limit::Wall => 124,
            Limit::Fuel => 125,
            Limit::Memory => 137,
            Limit::Output => 141,
        }
    }

    /// The limit's policy key.
    pub fn key(self) -> &'static str {
        match self {
            Limit::Wall => "limits.wall_ms",
            Limit::Fuel => "limits.fuel",
            Limit::Memory => "limits.memory_bytes",
            Limit::Output => "limits.stdout_bytes",
        }
    }
}

/// What a run consumed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Usage {
    /// Wall-clock time from instantiation to the end of the run, in microseconds.
    #[serde(rename = "wall_us", with = "micros")]
    #[schemars(with = "u64")]
    pub wall: Duration,
    /// Fuel consumed, when the policy set a fuel budget.
    pub fuel: Option<u64>,
    /// Peak linear memory of the guest, in bytes.
    pub peak_memory_bytes: u64,
    /// Bytes the guest wrote to stdout and stderr, including dropped ones.
    pub output_bytes: u64,
    /// Host tool calls the guest attempted, allowed or refused.
    #[serde(default)]
    pub tool_calls: u64,
    /// What the guest used of its network, when the policy allows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkUsage>,
}

/// What a run used of its network: requests and tunnels that went out, and
/// the bytes each way (bodies, heads and tunnelled bytes alike), as its
/// `network.max_*` budgets count them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkUsage {
    /// Requests (and tunnels) that went out.
    pub requests: u64,
    /// Bytes sent upstream.
    pub bytes_out: u64,
    /// Bytes received from upstream.
    pub bytes_in: u64,
}

/// Durations as whole microseconds (`wall_us`) in JSON.
mod micros {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_micros)
    }
}
