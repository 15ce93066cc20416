//! The sandbox facade: one policy, a backend per language, fresh runs.

use std::sync::Arc;
use stockade_core::{Backend, Language, Outcome, RunRequest, SandboxError};
use stockade_policy::{Policy, PolicyError};
use stockade_wasm::WasmBackend;

/// Runs untrusted code under one policy.
///
/// `Sandbox` is `Send + Sync` and cheap to clone; many threads may call
/// [`Sandbox::run`] at once, and each call gets its own fresh guest.
#[derive(Clone)]
pub struct Sandbox {
    policy: Arc<Policy>,
    wasm: Arc<WasmBackend>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox for `policy`.
    ///
    /// Fails if the policy is invalid, or grants or limits anything the
    /// backends cannot enforce: a sandbox never runs with a silently ignored
    /// grant or limit.
    pub fn new(policy: Policy) -> Result<Sandbox, SandboxError> {
        policy.validate()?;
        let sandbox = Sandbox { policy: Arc::new(policy), wasm: Arc::new(WasmBackend) };
        enforceable(sandbox.wasm.as_ref(), &sandbox.policy)?;
        Ok(sandbox)
    }

    /// The policy this sandbox enforces.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Runs `code` in a fresh guest for `language`.
    pub fn run(&self, language: Language, code: &str) -> Result<Outcome, SandboxError> {
        let backend = self.backend(language);
        enforceable(backend, &self.policy)?;
        let limit = self.policy.limits.code_bytes;
        if code.len() as u64 > limit {
            return Err(SandboxError::Code(format!(
                "the code is {} bytes; limits.code_bytes allows {limit}",
                code.len()
            )));
        }
        backend.run(RunRequest { language, code, policy: &self.policy })
    }

    /// Makes the guest for `language` ready (snapshot and compile, cached on
    /// disk), so the first [`Sandbox::run`] does not pay for it.
    pub fn prepare(&self, language: Language) -> Result<(), SandboxError> {
        self.wasm.prepare(language, self.policy.limits.fuel.is_some())
    }

    fn backend(&self, _language: Language) -> &dyn Backend {
        // Every language this build knows runs in WebAssembly; the process
        // jail will take shell and native languages.
        self.wasm.as_ref()
    }
}

/// Refuses a policy that asks `backend` for something it cannot enforce.
fn enforceable(backend: &dyn Backend, policy: &Policy) -> Result<(), SandboxError> {
    match policy.requirements().into_iter().find(|r| !backend.enforces(*r)) {
        None => Ok(()),
        Some(requirement) => Err(PolicyError::Unsupported {
            key: requirement.key().into(),
            backend: backend.name().into(),
            hint: Some("remove it from the policy; this build cannot enforce it yet".into()),
        }
        .into()),
    }
}
