//! The WebAssembly backend of stockade.
//!
//! Guests (QuickJS for JavaScript, CPython for Python) run in wasmtime with:
//! - one process-wide engine per fuel setting, with epoch interruption, the
//!   pooling allocator and copy-on-write memory images ([`engine`]);
//! - modules snapshotted with wasmtime-wizer and compiled once per machine
//!   into a private, verified on-disk cache ([`cache`]);
//! - a fresh instance per run, or one kept for a session's runs (`live`),
//!   with a memory limit, a wall-time deadline, an optional fuel budget and
//!   capped stdout/stderr per run;
//! - a WASI context built from the policy: its environment and its file
//!   grants (`files`), and nothing else (no sockets, no host environment);
//! - one import beyond WASI, `host::call`, the door for host tools ([`host_call`]).
#![deny(missing_docs)]

pub mod cache;
mod clock;
mod door;
pub mod engine;
pub mod files;
mod guest;
pub mod host_call;
mod limiter;
mod live;
mod pagemap;
mod pipe;
pub mod progress;
mod python;
pub use python::packages::fetch as fetch_packages;
mod quickjs;
mod run;
pub mod scratch;
mod snapshot;
mod state;
mod store;

pub use guest::{Guest, Preload};

use stockade_core::{Backend, Language, LiveGuest, Outcome, RunRequest, SandboxError};
use stockade_policy::{Policy, Requirement};

/// Runs guests in WebAssembly.
#[derive(Clone, Copy, Debug, Default)]
pub struct WasmBackend;

impl WasmBackend {
    /// Snapshots and compiles the guest that runs `language` under `policy`
    /// now (if the cache does not already hold it), so the first run does
    /// not pay for it.
    /// With `python.packages`, they are downloaded here too.
    pub fn prepare(&self, language: Language, policy: &Policy) -> Result<(), SandboxError> {
        if language == Language::Python {
            python::packages::fetch(&policy.python, &|step| eprintln!("stockade: {step}"))?;
        }
        guest::compiled(guest_for(language, policy)?, metering(policy)).map(drop).map_err(prepare_error)
    }
}

impl WasmBackend {
    /// Whether the guest that runs `language` under `policy` is compiled and
    /// cached on disk.
    pub fn is_prepared(&self, language: Language, policy: &Policy) -> Result<bool, SandboxError> {
        guest::is_cached(guest_for(language, policy)?, metering(policy)).map_err(prepare_error)
    }

    /// The directory compiled guests are cached in.
    pub fn cache_dir(&self) -> Result<std::path::PathBuf, SandboxError> {
        cache::Cache::open().map(|c| c.dir().to_path_buf()).map_err(prepare_error)
    }
}

impl Backend for WasmBackend {
    fn name(&self) -> &'static str {
        "wasm"
    }

    fn languages(&self) -> &'static [Language] {
        &[Language::JavaScript, Language::Python]
    }

    /// Every run has its epoch deadline and memory limiter; fuel and the
    /// scratch `/tmp` where the policy asks for them (a scratch `/tmp` this
    /// machine cannot make fails the run, never silently goes).
    fn layers(&self, policy: &Policy) -> Result<stockade_core::Enforcement, SandboxError> {
        use stockade_core::Layer;
        let mut layers = vec![Layer::EpochDeadline, Layer::MemoryLimiter];
        if policy.limits.fuel.is_some() {
            layers.push(Layer::Fuel);
        }
        if policy.files.tmp_bytes > 0 {
            layers.push(Layer::ScratchTmpfs);
        }
        Ok(stockade_core::Enforcement { layers, landlock_abi: None })
    }

    fn enforces(&self, requirement: Requirement) -> bool {
        matches!(
            requirement,
            Requirement::Fuel
                | Requirement::Tools
                | Requirement::FileGrants
                | Requirement::ScratchTmp
                // The guest's requests are the door's `http` operation, made
                // by the run's egress engine (the facade's gate holds it),
                // which swaps the secrets in.
                | Requirement::Network
                | Requirement::Secrets
        )
    }

    fn run(&self, request: RunRequest<'_>) -> Result<Outcome, SandboxError> {
        let guest = guest_for(request.language, request.policy)?;
        let compiled = guest::compiled(guest, metering(request.policy)).map_err(prepare_error)?;
        run::run(&compiled, request)
    }

    fn open(
        &self,
        language: Language,
        policy: &Policy,
        tools: Option<&std::sync::Arc<dyn stockade_core::ToolHost>>,
        // The guest's requests are each turn's door operations, which the
        // turn's host makes through the session's engine.
        _egress: Option<&std::sync::Arc<dyn stockade_core::Egress>>,
        workspace: Option<&stockade_core::Workspace>,
    ) -> Result<Box<dyn LiveGuest>, SandboxError> {
        let compiled =
            guest::compiled(guest_for(language, policy)?, metering(policy)).map_err(prepare_error)?;
        Ok(Box::new(live::Session::open(&compiled, policy, tools, workspace)?))
    }
}

fn guest_for(language: Language, policy: &Policy) -> Result<Guest, SandboxError> {
    match language {
        Language::JavaScript => Ok(Guest::QuickJs),
        Language::Python => Ok(Guest::Python(guest::Preload::of(&policy.python))),
        other => Err(SandboxError::Request(format!("the wasm backend does not run {other}"))),
    }
}

/// Fuel changes the compiled code: a policy that sets it needs the metered variant.
fn metering(policy: &Policy) -> engine::Metering {
    if policy.limits.fuel.is_some() { engine::Metering::Fuel } else { engine::Metering::Off }
}

pub(crate) fn prepare_error(error: wasmtime::Error) -> SandboxError {
    SandboxError::Artifact {
        message: format!("{error:#}"),
        hint: "run `stockade doctor`; removing the cache directory forces a rebuild".into(),
    }
}
