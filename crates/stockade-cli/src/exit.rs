//! Exit codes and hints for host errors.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | the code ran to the end |
//! | 1 | the code raised an uncaught error |
//! | 2 | bad invocation, policy or code (nothing ran) |
//! | 3 | engine, guest artifact or audit log failure |
//! | 124 | wall time exceeded |
//! | 125 | fuel exhausted |
//! | 137 | memory limit exceeded |
//! | 141 | output limit exceeded (`output_overflow = "kill"`) |

use stockade::SandboxError;

/// Bad invocation, policy or code.
pub const USAGE: i32 = 2;
/// Engine, artifact or audit log failure.
pub const ENGINE: i32 = 3;

/// The exit code for a host error.
pub fn for_error(error: &anyhow::Error) -> i32 {
    match error.downcast_ref::<SandboxError>() {
        Some(SandboxError::Engine(_) | SandboxError::Artifact { .. } | SandboxError::Audit(_)) => ENGINE,
        _ => USAGE,
    }
}

/// A hint for a host error, when there is a useful one.
pub fn hint(error: &anyhow::Error) -> Option<&'static str> {
    match error.downcast_ref::<SandboxError>() {
        Some(SandboxError::Policy(_)) => Some("`stockade policy check FILE` explains a policy file"),
        Some(SandboxError::Engine(_) | SandboxError::Artifact { .. }) => {
            Some("`stockade doctor` shows what is missing")
        }
        _ => None,
    }
}
