//! stockade's own snapshot of the CPython guest.
//!
//! PyPI's `python-snapshot.wasm` stops before CPython's start-up is done:
//! its first turn still imports modules and fills caches, which cost a
//! fresh run about 1.6 ms and 300 page faults. This module runs that first
//! turn once per machine instead: it instruments the module with
//! wasmtime-wizer, runs stockade's runtime, imports the common modules (and
//! the policy's `python.preload` list) and exercises the paths a run takes
//! (a trailing value, a traceback), then writes the instance's memory and
//! globals back into a new module. Every fresh instance then starts where
//! that turn ended.
//!
//! What a snapshot must not freeze, and how each is kept per run:
//! - **file grants**: wasi-libc reads the WASI preopens once and keeps them
//!   in guest memory; the snapshot would keep the initialising run's
//!   (none but the library). wasi-libc's `__wasilibc_reset_preopens`
//!   forgets them, and this module exports it (by its index in the name
//!   section, as the original does not) and calls it last;
//! - **the environment**: CPython builds `os.environ` from the initialising
//!   run's, so the runtime's start function applies the policy's `[env]`;
//! - **randomness**: a module that seeded itself while initialising (`random`,
//!   numpy's global generator) would repeat the same numbers in every run;
//!   the start function reseeds them from the run's own entropy. (CPython's
//!   string hash seed was fixed by `python-snapshot.wasm` already.)

use crate::cache::Cache;
use crate::clock::RunClock;
use crate::limiter::MemoryLimiter;
use crate::state::State;
use std::path::Path;
use wasmtime::{Linker, Result, Store, format_err};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Version of this snapshot recipe; bump it to invalidate old snapshots.
pub(crate) const VERSION: &[u8] = b"stockade-python-snapshot-3";

/// The export added for wasi-libc's function that forgets its preopens.
const RESET_PREOPENS: &str = "stockade_reset_preopens";

/// The wasi-libc function behind [`RESET_PREOPENS`].
const LIBC_RESET_PREOPENS: &str = "__wasilibc_reset_preopens";

/// Memory the initialising run may use (pandas takes about 100 MiB).
const INIT_MEMORY: u64 = 1 << 30;

/// Modules every snapshot imports: what a run's result and error paths
/// use (the `traceback` import alone costs a fresh run 38 ms) and what
/// short scripts reach for most.
const COMMON_MODULES: &[&str] = &[
    "traceback",
    "linecache",
    "json",
    "re",
    "math",
    "collections",
    "functools",
    "itertools",
    "datetime",
    "random",
    "string",
    "textwrap",
    "dataclasses",
    "typing",
    "statistics",
    "decimal",
    "fractions",
    "base64",
    "hashlib",
];

/// Runs the guest's first turn and returns `wasm` with the resulting state
/// as its initial state. `runtime` is stockade's runtime turn, `lib_dir`
/// the folder of the guest's standard library, and `preload` more modules
/// to import (an import that fails fails the snapshot, with its error),
/// some perhaps from the unpacked `python.packages` in `packages`.
pub(crate) fn make(
    cache: &Cache,
    wasm: &[u8],
    lib_dir: &Path,
    runtime: &str,
    preload: &[String],
    packages: Option<&Path>,
) -> Result<Vec<u8>> {
    let wasm = with_export(wasm, LIBC_RESET_PREOPENS, RESET_PREOPENS)?;
    let wizer = wasmtime_wizer::Wizer::new();
    let (cx, instrumented) = wizer.instrument(&wasm)?;
    let engine = crate::engine::scratch_engine(crate::engine::Profile::Large)?;
    // The instrumented module is the same for every recipe (only the turns
    // run in it differ), so its compile is cached too.
    let digest = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&instrumented));
    let entry = format!("python-instrumented-{}.cwasm", crate::guest::cwasm_key(&engine, &digest));
    let module = crate::guest::compile_cached(cache, &entry, &engine, "python (start-up snapshot)", || {
        Ok(instrumented)
    })?;
    let mut linker: Linker<State> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut State| &mut state.wasi)?;
    crate::host_call::add_to_linker(&mut linker)?;
    crate::clock::add_to_linker(&mut linker)?;
    crate::files::add_to_linker(&mut linker)?;

    // The same view a run has, less everything a policy adds: no grants,
    // no /tmp, no tools, no `[env]`; only the packages it preloads from,
    // where each run of this snapshot sees them too.
    let mut wasi = WasiCtxBuilder::new();
    let clock = RunClock { zero: std::time::Instant::now() };
    wasi.monotonic_clock(clock).allow_blocking_current_thread(true);
    super::view(&mut wasi, lib_dir).map_err(|e| format_err!("{e}"))?;
    if let Some(site) = packages {
        wasi.preopened_dir(site, super::packages::GUEST_PATH, FsPerms::ReadOnly)
            .map_err(|e| format_err!("cannot open {}: {e:#}", site.display()))?;
    }
    let mut state = State::new(wasi.build_p1(), MemoryLimiter::new(INIT_MEMORY), clock);
    state.report_cap = 1 << 20;
    let mut store = Store::new(&engine, state);
    store.limiter(|state| &mut state.limiter);

    pollster::block_on(async {
        let instance = linker.instantiate_async(&mut store, &module).await?;
        let interpreter = super::Interpreter::find(&instance, &mut store)?;
        for (what, code) in [
            ("stockade's runtime", super::runtime_turn(runtime)),
            ("the warm-up", warm_up(preload, packages.is_some())),
        ] {
            let status = interpreter.turn(&mut store, &code).await?;
            let report = store.data_mut().report.take();
            if status != 0 {
                let why = match report {
                    Some(Ok(frame)) => frame.error.map(|e| format!("{}: {}", e.kind, e.message)),
                    _ => None,
                };
                return Err(format_err!(
                    "{what} failed while making the CPython snapshot (status {status}): {}",
                    why.unwrap_or_else(|| "no report".into())
                ));
            }
        }
        instance.get_typed_func::<(), ()>(&mut store, RESET_PREOPENS)?.call_async(&mut store, ()).await?;
        let snapshot =
            wizer.snapshot(&cx, &mut wasmtime_wizer::WasmtimeWizer { store: &mut store, instance }).await?;
        without_names(&snapshot)
    })
}

/// `wasm` without its name section. wasmtime keeps the names of all of
/// CPython's 89 000 functions in the compiled module's metadata, and every
/// process that loads it decodes them: about a millisecond of each
/// `stockade run`. They only name wasm frames in a crash's backtrace, which
/// a run reports by its cause alone.
fn without_names(wasm: &[u8]) -> Result<Vec<u8>> {
    rewrite(wasm, |payload| match payload {
        wasmparser::Payload::CustomSection(section) if section.name() == "name" => Ok(Some(None)),
        _ => Ok(None),
    })
}

/// `wasm` re-encoded section by section: `change` returns `None` to copy a
/// section as it is, `Some(None)` to drop it, `Some(Some(section))` to put
/// another in its place.
fn rewrite(
    wasm: &[u8],
    mut change: impl FnMut(&wasmparser::Payload<'_>) -> Result<Option<Option<wasm_encoder::ExportSection>>>,
) -> Result<Vec<u8>> {
    let mut module = wasm_encoder::Module::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match change(&payload)? {
            Some(Some(replacement)) => {
                module.section(&replacement);
            }
            Some(None) => {}
            None => {
                if let Some((id, range)) = payload.as_section() {
                    module.section(&wasm_encoder::RawSection { id, data: &wasm[range] });
                }
            }
        }
    }
    Ok(module.finish())
}

/// The warm-up turn: imports, a value and a traceback through the
/// runtime's hooks, then every trace of itself removed, so a run's
/// `__main__` and `builtins` are as the runtime left them. With
/// `packages`, their folder goes on `sys.path` first, where a run's start
/// would put it.
pub(crate) fn warm_up(preload: &[String], packages: bool) -> String {
    let modules: Vec<&str> =
        COMMON_MODULES.iter().copied().chain(preload.iter().map(String::as_str)).collect();
    let modules = serde_json::to_string(&modules).unwrap_or_default();
    let path = if packages {
        format!("sys.path.insert(0, {:?})", super::packages::GUEST_PATH)
    } else {
        String::new()
    };
    format!(
        r#"def _stockade_warm_up():
    import builtins, importlib, sys
    {path}
    for name in {modules}:
        importlib.import_module(name)
    sys.displayhook({{"warm": [1, 2.5, None, "x"]}})
    try:
        raise ValueError("warm-up")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    if hasattr(builtins, "_"):
        del builtins._
_stockade_warm_up()
del _stockade_warm_up
import gc
gc.collect()
gc.freeze()
del gc
"#
    )
}

/// `wasm` with more exports: the function the name section calls
/// `function`, exported as `export`, and its function table (when it has
/// one of its own) as [`crate::door::TABLE`].
fn with_export(wasm: &[u8], function: &str, export: &str) -> Result<Vec<u8>> {
    use wasmparser::{ExternalKind, KnownCustom, Name, Parser, Payload};
    let mut index = None;
    let mut has_table = false;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        if let Payload::TableSection(tables) = &payload {
            has_table |= tables.count() > 0;
        }
        if let Payload::CustomSection(section) = payload
            && let KnownCustom::Name(names) = section.as_known()
        {
            for name in names {
                if let Name::Function(map) = name? {
                    for naming in map {
                        let naming = naming?;
                        if naming.name == function {
                            index = Some(naming.index);
                        }
                    }
                }
            }
        }
    }
    let index = index.ok_or_else(|| format_err!("the CPython guest names no function `{function}`"))?;
    rewrite(wasm, |payload| {
        let Payload::ExportSection(reader) = payload else { return Ok(None) };
        let mut exports = wasm_encoder::ExportSection::new();
        for existing in reader.clone() {
            let existing = existing?;
            let kind = match existing.kind {
                ExternalKind::Func | ExternalKind::FuncExact => wasm_encoder::ExportKind::Func,
                ExternalKind::Table => wasm_encoder::ExportKind::Table,
                ExternalKind::Memory => wasm_encoder::ExportKind::Memory,
                ExternalKind::Global => wasm_encoder::ExportKind::Global,
                ExternalKind::Tag => wasm_encoder::ExportKind::Tag,
            };
            exports.export(existing.name, kind, existing.index);
        }
        exports.export(export, wasm_encoder::ExportKind::Func, index);
        if has_table {
            exports.export(crate::door::TABLE, wasm_encoder::ExportKind::Table, 0);
        }
        Ok(Some(Some(exports)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::Module;

    #[test]
    fn adds_an_export_by_the_name_section() {
        let engine = wasmtime::Engine::default();
        let exports = |wat: &str| {
            let wasm = wat::parse_str(wat).expect("wat");
            let out = with_export(&wasm, LIBC_RESET_PREOPENS, RESET_PREOPENS).expect("export");
            let module = Module::new(&engine, &out).expect("valid");
            module.exports().map(|e| e.name().to_string()).collect::<Vec<_>>()
        };
        let plain = r#"(module (func $a) (func $__wasilibc_reset_preopens (nop)) (export "a" (func $a)))"#;
        assert_eq!(exports(plain), ["a", RESET_PREOPENS]);
        let with_table = r#"(module (table 2 funcref) (func $a) (func $__wasilibc_reset_preopens (nop))
            (export "a" (func $a)))"#;
        assert_eq!(exports(with_table), ["a", RESET_PREOPENS, crate::door::TABLE]);
        let missing = wat::parse_str("(module (func $other))").expect("wat");
        assert!(with_export(&missing, LIBC_RESET_PREOPENS, RESET_PREOPENS).is_err());
    }

    #[test]
    fn drops_the_name_section_and_nothing_else() {
        let wasm =
            wat::parse_str(r#"(module (func $named (export "f") (result i32) i32.const 7))"#).expect("wat");
        let has_names = |wasm: &[u8]| {
            wasmparser::Parser::new(0)
                .parse_all(wasm)
                .any(|p| matches!(p, Ok(wasmparser::Payload::CustomSection(s)) if s.name() == "name"))
        };
        assert!(has_names(&wasm));
        let out = without_names(&wasm).expect("strip");
        assert!(!has_names(&out));
        let engine = wasmtime::Engine::default();
        let module = Module::new(&engine, &out).expect("valid");
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instance");
        let f = instance.get_typed_func::<(), i32>(&mut store, "f").expect("export");
        assert_eq!(f.call(&mut store, ()).expect("call"), 7);
    }
}
