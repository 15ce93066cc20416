//! The one trait every backend implements.

use crate::{Language, Outcome, SandboxError};
use stockade_policy::{Policy, Requirement};

/// One run: what to execute and under which policy.
#[derive(Clone, Copy, Debug)]
pub struct RunRequest<'a> {
    /// The language, and so the guest.
    pub language: Language,
    /// The source code, already checked to be within `limits.code_bytes`.
    pub code: &'a str,
    /// The policy, validated.
    pub policy: &'a Policy,
}

/// A way to run guests: WebAssembly today, a process jail and others later.
pub trait Backend: Send + Sync {
    /// A short name for errors and reports (`wasm`).
    fn name(&self) -> &'static str;

    /// The languages this backend runs.
    fn languages(&self) -> &'static [Language];

    /// Whether this backend enforces `requirement`.
    fn enforces(&self, requirement: Requirement) -> bool;

    /// Runs `request` in a fresh guest; nothing is shared with other runs.
    fn run(&self, request: RunRequest<'_>) -> Result<Outcome, SandboxError>;
}
