//! Guests ready to instantiate: snapshotted, compiled for an engine, linked.

use crate::cache::{self, Cache};
use crate::engine::{self, Metering};
use crate::state::State;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wasmtime::{Engine, InstancePre, Linker, Module, Result};

/// A guest program embedded in this build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Guest {
    /// QuickJS, for JavaScript.
    QuickJs,
}

impl Guest {
    /// Short name, used in cache entry names.
    pub fn name(self) -> &'static str {
        match self {
            Guest::QuickJs => "quickjs",
        }
    }

    /// The SHA-256 (hex) of [`Guest::wasm`], computed at build time.
    pub fn digest(self) -> &'static str {
        match self {
            Guest::QuickJs => stockade_guests::QUICKJS_SHA256,
        }
    }

    /// The guest's wasm before its snapshot.
    pub fn wasm(self) -> &'static [u8] {
        match self {
            Guest::QuickJs => stockade_guests::QUICKJS,
        }
    }
}

/// A guest compiled for one engine and linked to WASI.
pub struct Compiled {
    /// The engine it was compiled for.
    pub engine: &'static Engine,
    /// Linked and ready: instantiating costs tens of microseconds.
    pub pre: InstancePre<State>,
}

type Memo = Mutex<HashMap<(Guest, Metering), Arc<Compiled>>>;
static COMPILED: std::sync::OnceLock<Memo> = std::sync::OnceLock::new();

/// The compiled `guest` for `metering`: from memory, else from the disk
/// cache, else snapshotted and compiled now (and cached).
pub fn compiled(guest: Guest, metering: Metering) -> Result<Arc<Compiled>> {
    let memo = COMPILED.get_or_init(Memo::default);
    // Holding the lock while compiling makes concurrent first runs wait for
    // one compile instead of each doing their own.
    let mut memo = memo.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = memo.get(&(guest, metering)) {
        return Ok(found.clone());
    }
    let engine = engine::engine(metering)?;
    let module = load_or_compile(&Cache::open()?, guest, engine)?;
    let mut linker: Linker<State> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut State| &mut state.wasi)?;
    crate::host_call::add_to_linker(&mut linker)?;
    let pre = linker.instantiate_pre(&module)?;
    let compiled = Arc::new(Compiled { engine, pre });
    memo.insert((guest, metering), compiled.clone());
    Ok(compiled)
}

/// Whether the disk cache holds an intact compiled `guest` for `metering`.
pub fn is_cached(guest: Guest, metering: Metering) -> Result<bool> {
    let engine = engine::engine(metering)?;
    Ok(Cache::open()?.open_entry(&cwasm_entry(guest, engine)).is_some())
}

fn cwasm_entry(guest: Guest, engine: &Engine) -> String {
    format!("{}-{}.cwasm", guest.name(), cwasm_key(engine, guest.digest()))
}

fn load_or_compile(cache: &Cache, guest: Guest, engine: &Engine) -> Result<Module> {
    let entry = cwasm_entry(guest, engine);
    if let Some(file) = cache.open_entry(&entry) {
        // SAFETY: `Cache::open_entry` only returns entries from this user's private
        // (0700) cache directory whose BLAKE3 digest matches, checked on this
        // same open file, and every `.cwasm` entry was written by
        // `Module::serialize` below for an engine with this exact
        // configuration (it is part of the name). Mapping the file in place
        // spares copying (and faulting in) megabytes of code per process.
        match unsafe { Module::deserialize_open_file(engine, file) } {
            Ok(module) => return Ok(module),
            Err(e) => tracing::warn!(%entry, "cached module refused ({e}); recompiling"),
        }
    }
    let snapshot = crate::snapshot::snapshot(cache, guest.name(), guest.wasm())?;
    let module = Module::new(engine, &snapshot)?;
    cache.store(&entry, &module.serialize()?)?;
    Ok(module)
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
