//! Exit codes and hints for host errors, by the error's class.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | the code ran to the end |
//! | 1 | the code raised an uncaught error |
//! | 2 | bad invocation, request or policy (nothing ran) |
//! | 3 | stockade or this machine could not run it: an engine, jail, guest artifact or audit log failure, or an ended session |
//! | 75 | busy: every slot that could take the run is in use; try again |
//! | 124 | wall time exceeded |
//! | 125 | fuel exhausted |
//! | 137 | memory limit exceeded |
//! | 141 | output limit exceeded (`output_overflow = "kill"`) |

use stockade::{ErrorClass, SandboxError};

/// Bad invocation, request or policy.
pub const USAGE: i32 = 2;
/// The sandbox failed, or cannot run here.
pub const ENGINE: i32 = 3;
/// Busy: try again (`EX_TEMPFAIL`).
pub const BUSY: i32 = 75;

/// The exit code for a host error.
pub fn for_error(error: &anyhow::Error) -> i32 {
    match error.downcast_ref::<SandboxError>().map(SandboxError::class) {
        Some(ErrorClass::Busy) => BUSY,
        Some(ErrorClass::Unavailable | ErrorClass::Internal | ErrorClass::Ended) => ENGINE,
        _ => USAGE,
    }
}

/// A hint for a host error, when there is a useful one.
pub fn hint(error: &anyhow::Error) -> Option<&'static str> {
    match error.downcast_ref::<SandboxError>()? {
        SandboxError::Policy(_) => Some("`stockade policy check FILE` explains a policy file"),
        SandboxError::LanguageRefused { .. } => Some("the policy's `languages` lists what it runs"),
        error if matches!(error.class(), ErrorClass::Unavailable | ErrorClass::Internal) => {
            Some("`stockade doctor` shows what is missing")
        }
        _ => None,
    }
}
