//! The defaults a policy leaves to the backends, in one place (the crate's
//! table of defaults lists them too).

use crate::MIB;

/// Calls per run per tool when the policy lists the tool without `max_calls`.
pub const DEFAULT_MAX_CALLS: u64 = 100;

/// Size of the process jail's `/tmp` when `files.tmp_bytes` is 0. A
/// WebAssembly guest then has no `/tmp`; a native program expects one.
pub const JAIL_TMP_BYTES: u64 = 64 * MIB;

/// Size of a sandbox's workspace (its `/workspace` and `/tmp` together,
/// kept across its runs) when `files.tmp_bytes` is 0.
pub const WORKSPACE_BYTES: u64 = 64 * MIB;

/// Most bytes `python.packages` may unpack to when `python.packages_bytes`
/// is 0.
pub const PACKAGES_BYTES: u64 = 64 * MIB;

/// Processes (threads included) a native program may have at once when
/// `limits.processes` is not set: enough for shell pipelines and thread
/// pools, not for a fork bomb.
pub const JAIL_PROCESSES: u64 = 256;

/// The request headers a secret's real value may go into when its policy
/// names none: the two that carry API keys, which a server reads and does
/// not keep (`Authorization: Bearer …`, `x-api-key: …`).
pub const SECRET_HEADERS: [&str; 2] = ["authorization", "x-api-key"];
