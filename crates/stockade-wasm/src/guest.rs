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
    /// CPython 3.15 with numpy and pandas (`python-snapshot.wasm`), with
    /// these modules imported in its start-up snapshot.
    Python(Preload),
}

impl Guest {
    /// Short name, used in cache entry names.
    pub fn name(self) -> &'static str {
        match self {
            Guest::QuickJs => "quickjs",
            Guest::Python(_) => "python",
        }
    }

    /// What the guest's module needs from its engine.
    pub fn profile(self) -> Profile {
        match self {
            Guest::QuickJs => Profile::Small,
            Guest::Python(_) => Profile::Large,
        }
    }
}

/// A policy's `python.preload` list (with its `python.packages`, which
/// those imports may need), kept once per process so that a [`Guest`]
/// stays a small `Copy` key. Each distinct list is a snapshot and a
/// compiled module of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Preload(Option<&'static PreloadSet>);

/// What one [`Preload`] imports, and from which packages.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PreloadSet {
    modules: Vec<String>,
    packages: Vec<String>,
    packages_bytes: u64,
}

impl Preload {
    /// No modules beyond the snapshot's common set.
    pub const NONE: Preload = Preload(None);

    /// The interned preload of `python`. Its packages count only when it
    /// preloads something: a snapshot that imports none of them does not
    /// depend on them.
    pub fn of(python: &stockade_policy::PythonPolicy) -> Preload {
        static KEPT: Mutex<Vec<&'static PreloadSet>> = Mutex::new(Vec::new());
        if python.preload.is_empty() {
            return Preload::NONE;
        }
        let set = PreloadSet {
            modules: python.preload.clone(),
            packages: python.packages.clone(),
            packages_bytes: crate::python::packages::cap(python),
        };
        let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = kept.iter().find(|kept| ***kept == set) {
            return Preload(Some(found));
        }
        // Leaked on purpose: one small list per distinct policy setting,
        // which each costs a minutes-long compile anyway.
        let leaked: &'static PreloadSet = Box::leak(Box::new(set));
        kept.push(leaked);
        Preload(Some(leaked))
    }

    /// The modules.
    pub fn modules(self) -> &'static [String] {
        self.0.map_or(&[], |set| &set.modules)
    }

    /// The packages' requirements and their cap, when there are any.
    fn packages(self) -> Option<(&'static [String], u64)> {
        self.0.filter(|set| !set.packages.is_empty()).map(|set| (&set.packages[..], set.packages_bytes))
    }
}

/// The unpacked `python.packages` a snapshot imports from.
struct SnapshotPackages {
    site: PathBuf,
    /// What was unpacked, file by file, as its `READY` listing records.
    digest: String,
}

/// Where a guest's module comes from, found once per compile.
enum Source {
    /// Embedded; snapshotted with wizer before it is compiled.
    Embedded { wasm: &'static [u8], sha256: &'static str },
    /// Fetched and verified on this machine; snapshotted again by stockade
    /// ([`crate::python::snapshot`]) before it is compiled, with the
    /// packages its preload imports from.
    Fetched(PythonArtifacts, Option<SnapshotPackages>),
}

impl Source {
    fn find(guest: Guest, cache: &Cache) -> Result<Source> {
        match guest {
            Guest::QuickJs => Ok(Source::Embedded {
                wasm: stockade_guests::QUICKJS,
                sha256: stockade_guests::QUICKJS_SHA256,
            }),
            Guest::Python(preload) => {
                let artifacts = stockade_artifacts::locate(cache.dir()).map_err(|e| format_err!("{e}"))?;
                let packages = match preload.packages() {
                    Some((requirements, cap)) => {
                        let (site, digest) =
                            stockade_artifacts::locate_packages_listed(cache.dir(), requirements, cap)
                                .map_err(|e| format_err!("{e}"))?;
                        Some(SnapshotPackages { site, digest })
                    }
                    None => None,
                };
                Ok(Source::Fetched(artifacts, packages))
            }
        }
    }

    /// What the module to compile is made from: the source module's digest
    /// and, for CPython, the recipe of stockade's snapshot of it.
    fn recipe(&self, guest: Guest) -> String {
        match (self, guest) {
            (Source::Fetched(artifacts, packages), Guest::Python(preload)) => cache::key(&[
                artifacts.module_sha256.as_bytes(),
                crate::snapshot::PIPELINE,
                crate::python::snapshot::VERSION,
                crate::python::view_digest().as_bytes(),
                crate::python::RUNTIME.as_bytes(),
                crate::python::snapshot::warm_up(preload.modules(), packages.is_some()).as_bytes(),
                packages.as_ref().map_or(&b""[..], |packages| packages.digest.as_bytes()),
            ]),
            _ => self.sha256().to_string(),
        }
    }

    fn sha256(&self) -> &str {
        match self {
            Source::Embedded { sha256, .. } => sha256,
            Source::Fetched(artifacts, _) => &artifacts.module_sha256,
        }
    }

    /// The module's bytes, ready to compile.
    fn module_wasm(&self, guest: Guest, cache: &Cache) -> Result<Vec<u8>> {
        match self {
            Source::Embedded { wasm, .. } => crate::snapshot::snapshot(cache, guest.name(), wasm),
            Source::Fetched(artifacts, packages) => {
                let entry = format!("{}-{}.wasm", guest.name(), self.recipe(guest));
                if let Some(bytes) = cache.load(&entry) {
                    return Ok(bytes);
                }
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
                let preload = match guest {
                    Guest::Python(preload) => preload.modules(),
                    Guest::QuickJs => &[],
                };
                let snapshot = crate::python::snapshot::make(
                    cache,
                    &wasm,
                    &artifacts.lib_dir,
                    crate::python::RUNTIME,
                    preload,
                    packages.as_ref().map(|packages| packages.site.as_path()),
                )?;
                cache.store(&entry, &snapshot)?;
                Ok(snapshot)
            }
        }
    }

    fn lib_dir(&self) -> Option<PathBuf> {
        match self {
            Source::Embedded { .. } => None,
            Source::Fetched(artifacts, _) => Some(artifacts.lib_dir.clone()),
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
    let compiled = Arc::new(Compiled { guest, engine, pre, lib_dir: source.lib_dir() });
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
    format!("{}-{}.cwasm", guest.name(), cwasm_key(engine, &source.recipe(guest)))
}

fn load_or_compile(cache: &Cache, guest: Guest, source: &Source, engine: &Engine) -> Result<Module> {
    compile_cached(cache, &cwasm_entry(guest, source, engine), engine, guest.name(), || {
        source.module_wasm(guest, cache)
    })
}

/// The module cached as `entry` (a `.cwasm` of `engine`), else `wasm()`
/// compiled now, with its progress reported as `what`, and cached.
pub(crate) fn compile_cached(
    cache: &Cache,
    entry: &str,
    engine: &Engine,
    what: &str,
    wasm: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<Module> {
    if let Some(module) = load(cache, entry, engine) {
        return Ok(module);
    }
    // Another process may be compiling the same entry: wait for it, then
    // use its work rather than compile again.
    let _lock = cache.lock(entry)?;
    if let Some(module) = load(cache, entry, engine) {
        return Ok(module);
    }
    let wasm = wasm()?;
    let module = {
        let _report = crate::progress::compiling(what, &wasm);
        Module::new(engine, &wasm)?
    };
    cache.store(entry, &module.serialize()?)?;
    Ok(module)
}

fn load(cache: &Cache, entry: &str, engine: &Engine) -> Option<Module> {
    let file = cache.open_entry(entry)?;
    // SAFETY: `Cache::open_entry` only returns entries from this user's private
    // (0700) cache directory whose BLAKE3 digest matched on this same open
    // file (or matched before and its inode, size and change times have not
    // moved since, which any write would do), and every `.cwasm` entry was written by
    // `Module::serialize` in `load_or_compile` for an engine with this exact
    // configuration (it is part of the name; [`compile_cached`] writes them
    // all). Mapping the file in place
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
pub(crate) fn cwasm_key(engine: &Engine, wasm_digest: &str) -> String {
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

/// The bytes of memory a guest module starts with: a smaller
/// `limits.memory_bytes` cannot even instantiate it.
pub(crate) fn initial_memory(compiled: &Compiled) -> u64 {
    compiled
        .pre
        .module()
        .exports()
        .find_map(|export| export.ty().memory().map(|memory| memory.minimum() << 16))
        .unwrap_or(0)
}
