//! Guests ready to instantiate: snapshotted, compiled for an engine, linked.

use crate::cache::{self, Cache};
use crate::engine::{self, Metering, Profile};
use crate::state::State;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use stockade_artifacts::PythonArtifacts;
use wasmtime::{Engine, InstancePre, Linker, Module, Result, format_err};

/// A guest program: QuickJS is embedded in this build, CPython is fetched
/// from PyPI ([`stockade_artifacts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Guest {
    /// QuickJS, for JavaScript.
    QuickJs,
    /// CPython 3.15 with numpy and pandas (`python-snapshot.wasm`).
    Python,
}

impl Guest {
    /// Short name, used in cache entry names.
    pub fn name(self) -> &'static str {
        match self {
            Guest::QuickJs => "quickjs",
            Guest::Python => "python",
        }
    }

    /// What the guest's module needs from its engine.
    pub fn profile(self) -> Profile {
        match self {
            Guest::QuickJs => Profile::Small,
            Guest::Python => Profile::Large,
        }
    }
}

/// Where a guest's module comes from, found once per compile.
enum Source {
    /// Embedded; snapshotted with wizer before it is compiled.
    Embedded { wasm: &'static [u8], sha256: &'static str },
    /// Fetched and verified on this machine, already snapshotted.
    Fetched(PythonArtifacts),
}

impl Source {
    fn find(guest: Guest, cache: &Cache) -> Result<Source> {
        match guest {
            Guest::QuickJs => Ok(Source::Embedded {
                wasm: stockade_guests::QUICKJS,
                sha256: stockade_guests::QUICKJS_SHA256,
            }),
            Guest::Python => {
                stockade_artifacts::locate(cache.dir()).map(Source::Fetched).map_err(|e| format_err!("{e}"))
            }
        }
    }

    fn sha256(&self) -> &str {
        match self {
            Source::Embedded { sha256, .. } => sha256,
            Source::Fetched(artifacts) => &artifacts.module_sha256,
        }
    }

    /// The module's bytes, ready to compile.
    fn module_wasm(&self, guest: Guest, cache: &Cache) -> Result<Vec<u8>> {
        match self {
            Source::Embedded { wasm, .. } => crate::snapshot::snapshot(cache, guest.name(), wasm),
            Source::Fetched(artifacts) => {
                let wasm = std::fs::read(&artifacts.module)
                    .map_err(|e| format_err!("cannot read {}: {e}", artifacts.module.display()))?;
                // Only the file's size was checked when it was located; its
                // bytes are about to become machine code, so check them all.
                let actual = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&wasm));
                if actual != artifacts.module_sha256 {
                    return Err(format_err!(
                        "{} does not match the digest recorded when it was fetched; \
                         run `stockade fetch python` to fetch it again",
                        artifacts.module.display()
                    ));
                }
                Ok(wasm)
            }
        }
    }

    fn lib_dir(&self) -> Option<PathBuf> {
        match self {
            Source::Embedded { .. } => None,
            Source::Fetched(artifacts) => Some(artifacts.lib_dir.clone()),
        }
    }
}

/// A guest compiled for one engine and linked to WASI.
pub struct Compiled {
    /// Which guest this is.
    pub guest: Guest,
    /// The engine it was compiled for.
    pub engine: &'static Engine,
    /// Linked and ready: instantiating costs tens of microseconds.
    pub pre: InstancePre<State>,
    /// The host folder the guest's standard library is read from (CPython).
    pub lib_dir: Option<PathBuf>,
    /// CPython: stockade's runtime turn as a precompiled code object, once
    /// made ([`crate::python::prepare`]); until then runs use its source.
    pub prelude: std::sync::OnceLock<String>,
}

/// One slot per (guest, metering): its own lock, so compiling one guest
/// (a minute, for CPython) never holds up runs of another.
type Slot = Arc<Mutex<Option<Arc<Compiled>>>>;
static COMPILED: std::sync::OnceLock<Mutex<HashMap<(Guest, Metering), Slot>>> = std::sync::OnceLock::new();

/// The compiled `guest` for `metering`: from memory, else from the disk
/// cache, else snapshotted and compiled now (and cached).
pub fn compiled(guest: Guest, metering: Metering) -> Result<Arc<Compiled>> {
    let slot = {
        let mut memo = COMPILED.get_or_init(Mutex::default).lock().unwrap_or_else(|p| p.into_inner());
        memo.entry((guest, metering)).or_default().clone()
    };
    // Holding the slot's lock while compiling makes concurrent first runs
    // wait for one compile instead of each doing their own.
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = slot.as_ref() {
        return Ok(found.clone());
    }
    let engine = engine::engine(guest.profile(), metering)?;
    let cache = Cache::open()?;
    let source = Source::find(guest, &cache)?;
    let module = load_or_compile(&cache, guest, &source, engine)?;
    let mut linker: Linker<State> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut State| &mut state.wasi)?;
    crate::host_call::add_to_linker(&mut linker)?;
    crate::clock::add_to_linker(&mut linker)?;
    crate::files::add_to_linker(&mut linker)?;
    let pre = linker.instantiate_pre(&module)?;
    let compiled =
        Arc::new(Compiled { guest, engine, pre, lib_dir: source.lib_dir(), prelude: Default::default() });
    if guest == Guest::Python {
        crate::python::prepare(&compiled, &cache, source.sha256());
    }
    *slot = Some(compiled.clone());
    Ok(compiled)
}

/// Whether the disk cache holds an intact compiled `guest` for `metering`.
pub fn is_cached(guest: Guest, metering: Metering) -> Result<bool> {
    let engine = engine::engine(guest.profile(), metering)?;
    let cache = Cache::open()?;
    let source = Source::find(guest, &cache)?;
    Ok(cache.open_entry(&cwasm_entry(guest, &source, engine)).is_some())
}

fn cwasm_entry(guest: Guest, source: &Source, engine: &Engine) -> String {
    format!("{}-{}.cwasm", guest.name(), cwasm_key(engine, source.sha256()))
}

fn load_or_compile(cache: &Cache, guest: Guest, source: &Source, engine: &Engine) -> Result<Module> {
    let entry = cwasm_entry(guest, source, engine);
    if let Some(module) = load(cache, &entry, engine) {
        return Ok(module);
    }
    // Another process may be compiling the same entry: wait for it, then
    // use its work rather than compile again.
    let _lock = cache.lock(&entry)?;
    if let Some(module) = load(cache, &entry, engine) {
        return Ok(module);
    }
    let wasm = source.module_wasm(guest, cache)?;
    let module = {
        let _report = crate::progress::compiling(guest.name(), &wasm);
        Module::new(engine, &wasm)?
    };
    cache.store(&entry, &module.serialize()?)?;
    Ok(module)
}

fn load(cache: &Cache, entry: &str, engine: &Engine) -> Option<Module> {
    let file = cache.open_entry(entry)?;
    // SAFETY: `Cache::open_entry` only returns entries from this user's private
    // (0700) cache directory whose BLAKE3 digest matched on this same open
    // file (or matched before and its inode, size and change times have not
    // moved since, which any write would do), and every `.cwasm` entry was written by
    // `Module::serialize` in `load_or_compile` for an engine with this exact
    // configuration (it is part of the name). Mapping the file in place
    // spares copying (and faulting in) megabytes of code per process.
    match unsafe { Module::deserialize_open_file(engine, file) } {
        Ok(module) => Some(module),
        Err(e) => {
            tracing::warn!(%entry, "cached module refused ({e}); recompiling");
            None
        }
    }
}

/// The cache key of a module compiled by `engine`: wasmtime's own
/// compatibility hash of the engine configuration plus the module's digest.
fn cwasm_key(engine: &Engine, wasm_digest: &str) -> String {
    use std::hash::{Hash, Hasher};
    struct Sha(sha2::Sha256);
    impl Hasher for Sha {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            sha2::Digest::update(&mut self.0, bytes);
        }
    }
    let mut config = Sha(<sha2::Sha256 as sha2::Digest>::new());
    engine.precompile_compatibility_hash().hash(&mut config);
    let config = sha2::Digest::finalize(config.0);
    cache::key(&[b"wasmtime-48.0.8", crate::snapshot::PIPELINE, &config, wasm_digest.as_bytes()])
}
