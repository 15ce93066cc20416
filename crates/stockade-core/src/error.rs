//! Host-side failures: the sandbox could not run the code at all.
//!
//! Every failure has one [`ErrorClass`], and each surface maps the classes
//! once: to an HTTP status, a CLI exit code, a Python exception class, an
//! MCP tool error.

use crate::Language;
use std::time::Duration;
use stockade_policy::{JailLayer, PolicyError};

/// A boxed error from a library the backends use (wasmtime's, an I/O one).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the host could not run a request. Guest failures are not errors: they
/// come back as an [`crate::Outcome`] with a [`crate::Status`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The policy is invalid, or asks for something the backend cannot enforce.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The policy does not run this language (its `languages`, or the
    /// surface's default where it lists none).
    #[error("this sandbox does not run {language}: it runs {} (the policy's `languages`)", Language::list(.allowed))]
    LanguageRefused {
        /// The language asked for.
        language: Language,
        /// The languages it runs.
        allowed: Vec<Language>,
    },
    /// The request was refused before it reached the guest: code too long,
    /// a NUL byte where none may be, a field out of range.
    #[error("request refused: {0}")]
    Request(String),
    /// A guest artifact is missing or damaged.
    #[error("guest artifact problem: {message} (hint: {hint})")]
    Artifact {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The WebAssembly backend failed.
    #[error(transparent)]
    Wasm(#[from] WasmError),
    /// The process jail failed.
    #[error(transparent)]
    Jail(#[from] JailError),
    /// Every slot that could take the run is in use; trying again later
    /// may succeed.
    #[error("busy: {what}; try again in {} s", .retry_after.as_secs().max(1))]
    Busy {
        /// What is held, and by whom.
        what: String,
        /// When trying again is worth it.
        retry_after: Duration,
    },
    /// The audit log could not record the run, so it did not go ahead (or
    /// its end could not be recorded).
    #[error("audit log failure: {0}")]
    Audit(String),
    /// The egress engine could not start for this sandbox (no resolver
    /// configuration, no runtime).
    #[error("the network engine could not {step}: {source}")]
    Network {
        /// What it was doing.
        step: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The session is closed and takes no more runs: it was closed, it
    /// expired, spent a budget, or its guest was stopped mid-run.
    #[error("session ended: {0}")]
    SessionEnded(String),
    /// A remote `stockade serve` refused, with an error of its own class
    /// (or none, for a refusal such as a bad token).
    #[error("the server refused (HTTP {status}): {message}")]
    Remote {
        /// The HTTP status.
        status: u16,
        /// The error's class, as the server said it.
        class: Option<ErrorClass>,
        /// What it said.
        message: String,
    },
}

/// What kind of failure a [`SandboxError`] is, for the surfaces to map.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorClass {
    /// All capacity is in use: retry later (HTTP 503 with `Retry-After`).
    Busy,
    /// The request itself is wrong (HTTP 400).
    InvalidRequest,
    /// The policy refuses it, or is itself invalid (HTTP 400).
    Policy,
    /// The session asked for has ended (HTTP 410).
    Ended,
    /// This machine or build cannot do it: a missing guest artifact, a
    /// kernel without a required layer (HTTP 503, no point retrying soon).
    Unavailable,
    /// A failure of stockade or its host (HTTP 500).
    Internal,
}

impl ErrorClass {
    /// The class's name, as the surfaces report it (`busy`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Busy => "busy",
            ErrorClass::InvalidRequest => "invalid_request",
            ErrorClass::Policy => "policy",
            ErrorClass::Ended => "ended",
            ErrorClass::Unavailable => "unavailable",
            ErrorClass::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl SandboxError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            SandboxError::Policy(_) | SandboxError::LanguageRefused { .. } => ErrorClass::Policy,
            SandboxError::Request(_) => ErrorClass::InvalidRequest,
            SandboxError::Artifact { .. } => ErrorClass::Unavailable,
            SandboxError::Wasm(error) => error.class(),
            SandboxError::Jail(error) => error.class(),
            SandboxError::Busy { .. } => ErrorClass::Busy,
            SandboxError::Audit(_) => ErrorClass::Internal,
            SandboxError::Network { .. } => ErrorClass::Unavailable,
            SandboxError::SessionEnded(_) => ErrorClass::Ended,
            SandboxError::Remote { class: Some(class), .. } => *class,
            SandboxError::Remote { status, .. } if *status < 500 => ErrorClass::InvalidRequest,
            SandboxError::Remote { .. } => ErrorClass::Internal,
        }
    }

    /// When a retry is worth it, for a [`ErrorClass::Busy`] error.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SandboxError::Busy { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// A failure of the WebAssembly backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WasmError {
    /// A step of the engine failed: compiling, instantiating, reading or
    /// writing the cache, making the scratch `/tmp`.
    #[error("{step}: {}", chain(.source.as_ref()))]
    Engine {
        /// What the engine was doing.
        step: &'static str,
        /// Why it failed.
        #[source]
        source: BoxError,
    },
    /// The guest could not start: its start-up ended before its first turn
    /// (memory refused, a trap), as the status says.
    #[error("the guest could not start: {status}")]
    GuestStart {
        /// How its start-up ended.
        status: String,
    },
    /// The guest module breaks stockade's ABI (an export missing).
    #[error("the guest module {0}")]
    Abi(&'static str),
    /// `limits.memory_bytes` is below what the guest needs to start.
    #[error(
        "the {guest} guest needs at least {needed_mib} MiB of memory to start; raise limits.memory_bytes"
    )]
    MemoryTooSmall {
        /// The guest (`CPython`).
        guest: &'static str,
        /// What it needs, in MiB.
        needed_mib: u64,
    },
    /// stockade's runtime inside the guest failed (not the code it ran).
    #[error("stockade's runtime failed in the {guest} guest (status {status}){why}")]
    Runtime {
        /// The guest (`CPython`).
        guest: &'static str,
        /// The status it returned.
        status: i64,
        /// What it said, `: `-prefixed, or nothing.
        why: String,
    },
    /// The scratch `/tmp` (`files.tmp_bytes`) could not be made here.
    #[error(
        "files.tmp_bytes: cannot make the guest's private /tmp ({why}); it needs user namespaces \
         (sysctl kernel.unprivileged_userns_clone=1, or user.max_user_namespaces > 0) or root"
    )]
    ScratchRefused {
        /// What failed.
        why: String,
    },
}

impl WasmError {
    /// A failed `step`, from any error.
    pub fn engine(step: &'static str, source: impl Into<BoxError>) -> WasmError {
        WasmError::Engine { step, source: source.into() }
    }

    fn class(&self) -> ErrorClass {
        match self {
            WasmError::MemoryTooSmall { .. } => ErrorClass::Policy,
            WasmError::ScratchRefused { .. } => ErrorClass::Unavailable,
            _ => ErrorClass::Internal,
        }
    }
}

/// A failure of the process jail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JailError {
    /// A step of the jail's set-up failed in the host.
    #[error("the process jail could not {step}: {source}")]
    Setup {
        /// What the jail was doing (`open a pidfd`).
        step: &'static str,
        /// The system call's error.
        #[source]
        source: std::io::Error,
    },
    /// The jail's first process failed a step of its own set-up before it
    /// could run the program.
    #[error("the process jail could not start: {stage} failed: {source}")]
    Start {
        /// The step in the child (`PivotRoot`).
        stage: String,
        /// Its error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel refuses user namespaces, which the jail is built on.
    #[error(
        "the process jail needs user namespaces, and the kernel refused them ({source}). Allow them \
         (sysctl user.max_user_namespaces=15000; on Ubuntu also \
         kernel.apparmor_restrict_unprivileged_userns=0), or run stockade outside a container that \
         forbids them. stockade never runs native code unjailed."
    )]
    UserNamespacesRefused {
        /// What `clone` said.
        #[source]
        source: std::io::Error,
    },
    /// The policy requires a layer this kernel does not give.
    #[error("jail.require lists {layer}, and {why}")]
    LayerMissing {
        /// The layer.
        layer: JailLayer,
        /// Why it is missing, and what would give it.
        why: String,
    },
    /// The jail does not do what was asked: a language it has no program
    /// for, a session of something other than a shell, an option that
    /// does not apply.
    #[error("the process jail {0}")]
    Unsupported(String),
}

impl JailError {
    /// A failed set-up `step`.
    pub fn setup(step: &'static str, source: std::io::Error) -> JailError {
        JailError::Setup { step, source }
    }

    /// A failed set-up `step`, from the last OS error.
    pub fn last_os_error(step: &'static str) -> JailError {
        JailError::setup(step, std::io::Error::last_os_error())
    }

    fn class(&self) -> ErrorClass {
        match self {
            JailError::Setup { .. } | JailError::Start { .. } => ErrorClass::Internal,
            JailError::UserNamespacesRefused { .. } | JailError::LayerMissing { .. } => {
                ErrorClass::Unavailable
            }
            JailError::Unsupported(_) => ErrorClass::InvalidRequest,
        }
    }
}

/// `error` and its sources, `: `-separated, as anyhow's `{:#}` shows them.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_the_class_its_surfaces_map() {
        let busy = SandboxError::Busy { what: "every slot".into(), retry_after: Duration::from_millis(10) };
        assert_eq!(busy.class(), ErrorClass::Busy);
        assert_eq!(busy.retry_after(), Some(Duration::from_millis(10)));
        assert!(busy.to_string().ends_with("try again in 1 s"), "{busy}");
        let refused =
            SandboxError::LanguageRefused { language: Language::Shell, allowed: Language::WASM.to_vec() };
        assert_eq!(refused.class(), ErrorClass::Policy);
        assert!(refused.to_string().contains("does not run sh: it runs js, python"), "{refused}");
        let userns = SandboxError::from(JailError::UserNamespacesRefused {
            source: std::io::Error::from_raw_os_error(libc_eperm()),
        });
        assert_eq!(userns.class(), ErrorClass::Unavailable);
        assert!(userns.to_string().contains("user.max_user_namespaces"));
        let wasm = SandboxError::from(WasmError::engine("compile the guest", "out of memory"));
        assert_eq!(wasm.class(), ErrorClass::Internal);
        assert_eq!(wasm.to_string(), "compile the guest: out of memory");
        assert_eq!(SandboxError::SessionEnded("closed".into()).class(), ErrorClass::Ended);
        assert_eq!(SandboxError::Request("too long".into()).class(), ErrorClass::InvalidRequest);
        assert_eq!(ErrorClass::InvalidRequest.to_string(), "invalid_request");
    }

    fn libc_eperm() -> i32 {
        1
    }
}
