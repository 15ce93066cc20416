//! Host-side failures: the sandbox could not run the code at all.

use stockade_policy::PolicyError;

/// Why the host could not run a request. Guest failures are not errors: they
/// come back as an [`crate::Outcome`] with a [`crate::Status`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The policy is invalid, or asks for something the backend cannot enforce.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The code was refused before it reached the guest.
    #[error("code refused: {0}")]
    Code(String),
    /// A guest artifact is missing or damaged.
    #[error("guest artifact problem: {message} (hint: {hint})")]
    Artifact {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The engine failed (compile, instantiate, cache I/O).
    #[error("engine failure: {0}")]
    Engine(String),
    /// The audit log could not record the run, so it did not go ahead (or
    /// its end could not be recorded).
    #[error("audit log failure: {0}")]
    Audit(String),
    /// The session is closed and takes no more runs: it was closed, it
    /// expired, spent a budget, or its guest was stopped mid-run.
    #[error("session ended: {0}")]
    SessionEnded(String),
}
