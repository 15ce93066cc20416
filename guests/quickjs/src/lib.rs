//! The JavaScript guest of stockade: QuickJS (through rquickjs) compiled to
//! `wasm32-wasip1`.
//!
//! The host drives it through three exports, the guest half of the "door"
//! described in `crates/stockade-wasm/src/door.rs`:
//!
//! - `wizer-initialize` builds the runtime, the context and the globals. The
//!   host runs it once and snapshots the result with wasmtime-wizer, so every
//!   fresh instance starts with an initialised interpreter.
//! - `stockade_alloc(len) -> ptr` reserves `len` bytes for the source code.
//! - `stockade_run(ptr, len) -> (ptr << 32 | len)` evaluates the code and
//!   returns a JSON result frame: `{"ok":true,"value":...}` or
//!   `{"ok":false,"error":{"type":..,"message":..,"stack":..}}`.
//!
//! An instance may serve many runs (a session keeps its globals between
//! them), so each run frees what the last one handed to the host.

use rquickjs::context::EvalOptions;
use rquickjs::promise::PromiseState;
use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Function, Object, Persistent, Promise, Runtime, Value,
};
use std::cell::RefCell;
use std::io::Write;

mod digest;
mod fs;
mod random;

/// Defines `console` on top of the one native function `__stockade_write`.
const PRELUDE: &str = include_str!("prelude.js");

struct Engine {
    /// Owns the heap; kept alive for as long as the context.
    _runtime: Runtime,
    context: Context,
    /// The prelude's tool installer, kept out of the guest's reach and
    /// called at the start of every run.
    install_tools: Persistent<Function<'static>>,
    /// The prelude's timer queue (`wait`, `fire`, `clear`), which the
    /// event loop drives; also out of the guest's reach.
    timers: Persistent<Object<'static>>,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// The result frame of the last run, freed when the next one ends.
    static LAST_FRAME: RefCell<Option<Box<[u8]>>> = const { RefCell::new(None) };
}

/// Runs once, before the snapshot is taken.
#[unsafe(export_name = "wizer-initialize")]
pub extern "C" fn initialize() {
    let runtime = Runtime::new().expect("QuickJS runtime");
    let context = Context::full(&runtime).expect("QuickJS context");
    let (install_tools, timers) = context.with(|ctx| {
        install_globals(&ctx).expect("stockade globals");
        let install: Function = ctx.globals().get("__stockade_install_tools").expect("the tool installer");
        ctx.globals().remove("__stockade_install_tools").expect("hide the tool installer");
        let timers: Object = ctx.globals().get("__stockade_timers").expect("the timer queue");
        ctx.globals().remove("__stockade_timers").expect("hide the timer queue");
        (Persistent::save(&ctx, install), Persistent::save(&ctx, timers))
    });
    let engine_state = Engine { _runtime: runtime, context, install_tools, timers };
    ENGINE.with(|engine| *engine.borrow_mut() = Some(engine_state));
}

fn install_globals(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let write = Function::new(ctx.clone(), |fd: i32, text: String| {
        // A failed write means the host closed the stream (output cap in
        // "kill" mode); there is nobody to report it to but the host.
        let _ = match fd {
            2 => std::io::stderr().write_all(text.as_bytes()),
            _ => std::io::stdout().write_all(text.as_bytes()),
        };
    })?;
    ctx.globals().set("__stockade_write", write)?;
    let host = Function::new(ctx.clone(), |frame: String| host_call(frame.as_bytes()))?;
    ctx.globals().set("__stockade_host", host)?;
    ctx.globals().set("__stockade_fs", Function::new(ctx.clone(), fs::call)?)?;
    ctx.globals().set("__stockade_promise_state", Function::new(ctx.clone(), promise_state)?)?;
    random::install(ctx)?;
    digest::install(ctx)?;
    ctx.eval::<(), _>(PRELUDE)?;
    Ok(())
}

/// A promise's state and, once settled, its value or reason, for
/// `console.log` to show as node does (`Promise { 1 }`, `Promise { <pending> }`).
fn promise_state<'js>(ctx: Ctx<'js>, promise: Promise<'js>) -> rquickjs::Result<rquickjs::Array<'js>> {
    let shown = rquickjs::Array::new(ctx.clone())?;
    match promise.state() {
        PromiseState::Pending => shown.set(0, "pending")?,
        PromiseState::Resolved => {
            shown.set(0, "fulfilled")?;
            if let Some(value) = promise.result::<Value>() {
                shown.set(1, value?)?;
            }
        }
        PromiseState::Rejected => {
            shown.set(0, "rejected")?;
            // `result` throws the reason; catching it takes it back.
            if let Some(Err(_)) = promise.result::<Value>() {
                shown.set(1, ctx.catch())?;
            }
        }
    }
    Ok(shown)
}

/// Defines `process.env` and `process.argv` from this run's WASI view,
/// which holds exactly what the policy's `[env]` grants. It is read here, at
/// run time, never at snapshot time.
fn install_process(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let env = Object::new(ctx.clone())?;
    for (name, value) in std::env::vars() {
        env.set(name, value)?;
    }
    let argv = rquickjs::Array::new(ctx.clone())?;
    for (i, arg) in std::env::args().enumerate() {
        argv.set(i, arg)?;
    }
    let process = Object::new(ctx.clone())?;
    process.set("env", env)?;
    process.set("argv", argv)?;
    process.set("platform", "wasi")?;
    ctx.globals().set("process", process)?;
    Ok(())
}

#[link(wasm_import_module = "host")]
unsafe extern "C" {
    /// The door for host tools: see `crates/stockade-wasm/src/host_call.rs`.
    #[link_name = "call"]
    fn host_door(ptr: *const u8, len: usize, out_ptr: *mut *mut u8, out_len: *mut usize) -> i32;
}

/// Sends one tool-protocol frame to the host and returns its answer, or
/// `None` when the run has no tools (or the host could not answer).
fn host_call(frame: &[u8]) -> Option<String> {
    let mut out_ptr: *mut u8 = std::ptr::null_mut();
    let mut out_len: usize = 0;
    // SAFETY: `frame` is a live buffer of `frame.len()` bytes for the whole
    // call, and the two out-pointers point at locals of the right types.
    let status = unsafe { host_door(frame.as_ptr(), frame.len(), &mut out_ptr, &mut out_len) };
    if status != 0 || out_ptr.is_null() {
        return None;
    }
    // SAFETY: on success the host wrote `out_len` bytes into a buffer it
    // reserved with `host_alloc(out_len)`, which is a `Vec` of that capacity
    // handed over to us.
    let answer = unsafe { Vec::from_raw_parts(out_ptr, out_len, out_len) };
    String::from_utf8(answer).ok()
}

/// Defines `tools` and one global function per host tool, from the host's
/// list for this run (none when the run has no tools).
fn install_tools<'js>(ctx: &Ctx<'js>, engine: &Engine) -> rquickjs::Result<()> {
    let install = engine.install_tools.clone().restore(ctx)?;
    install.call::<_, ()>(())
}

/// Reserves `len` bytes for the host to write an answer frame into.
#[unsafe(no_mangle)]
pub extern "C" fn host_alloc(len: u32) -> *mut u8 {
    stockade_alloc(len)
}

/// Reserves `len` bytes for the host to write the source code into.
#[unsafe(no_mangle)]
pub extern "C" fn stockade_alloc(len: u32) -> *mut u8 {
    let mut buffer = Vec::<u8>::with_capacity(len as usize);
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
}

/// Evaluates `len` bytes of source at `ptr` and returns the result frame.
///
/// # Safety
/// `ptr` must come from `stockade_alloc(len)` and hold `len` initialised bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stockade_run(ptr: *mut u8, len: u32) -> u64 {
    // SAFETY: the host allocated this buffer with `stockade_alloc(len)` and
    // wrote exactly `len` bytes into it; the buffer is owned by this call.
    let source = unsafe { Vec::from_raw_parts(ptr, len as usize, len as usize) };
    let frame = ENGINE.with(|engine| {
        let engine = engine.borrow();
        match engine.as_ref() {
            Some(engine) => evaluate(engine, source),
            None => error_frame_plain("InternalError", "the guest was not initialised"),
        }
    });
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let frame = frame.into_bytes().into_boxed_slice();
    let len = frame.len() as u64;
    let ptr = frame.as_ptr() as usize as u64;
    // Kept until the next run, so the host can read it after this returns.
    LAST_FRAME.with(|last| *last.borrow_mut() = Some(frame));
    (ptr << 32) | len
}

fn evaluate(engine: &Engine, source: Vec<u8>) -> String {
    if source.contains(&0) {
        return error_frame_plain("SyntaxError", "source code contains a NUL byte");
    }
    random::reseed();
    engine.context.with(|ctx| {
        if let Err(err) = install_process(&ctx).catch(&ctx) {
            return error_frame(&ctx, err);
        }
        if let Err(err) = install_tools(&ctx, engine).catch(&ctx) {
            return error_frame(&ctx, err);
        }
        let mut options = EvalOptions::default();
        options.strict = false;
        options.promise = true;
        options.filename = Some("<sandbox>".into());
        let first = ctx.eval_with_options::<Promise, _>(source.clone(), options);
        let (promise, wrapped) = match first.catch(&ctx) {
            Ok(promise) => (promise, false),
            // A top-level `return` is a syntax error in a script, and syntax
            // errors are raised before anything runs, so evaluating again as
            // the body of an async function cannot run any code twice.
            Err(CaughtError::Exception(e))
                if e.message().is_some_and(|m| m.contains("return not in a function")) =>
            {
                let mut body = b"(async () => {".to_vec();
                body.extend_from_slice(&source);
                body.extend_from_slice(b"\n})()");
                let mut options = EvalOptions::default();
                options.strict = false;
                options.filename = Some("<sandbox>".into());
                match ctx.eval_with_options::<Promise, _>(body, options).catch(&ctx) {
                    Ok(promise) => (promise, true),
                    Err(err) => return error_frame(&ctx, err),
                }
            }
            Err(err) => return error_frame(&ctx, err),
        };
        let timers = match engine.timers.clone().restore(&ctx) {
            Ok(timers) => timers,
            Err(e) => return error_frame_plain("InternalError", &e.to_string()),
        };
        let frame = settle(&ctx, promise, wrapped, &timers);
        // A run that ended early (an error) leaves no timer to a session's next run.
        if let Ok(clear) = timers.get::<_, Function>("clear") {
            let _ = clear.call::<_, ()>(());
        }
        frame
    })
}

/// The event loop: runs the job queue, then the timers as they fall due,
/// until the top-level promise has settled and no timer keeps the run
/// alive. Sleeping for a timer is the host's sleep, which ends the run at
/// its wall time.
fn settle<'js>(ctx: &Ctx<'js>, promise: Promise<'js>, wrapped: bool, timers: &Object<'js>) -> String {
    let (wait, fire) = match (timers.get::<_, Function>("wait"), timers.get::<_, Function>("fire")) {
        (Ok(wait), Ok(fire)) => (wait, fire),
        _ => return error_frame_plain("InternalError", "the timer queue is missing"),
    };
    loop {
        // A job that throws rejects its own promise; the loop picks that
        // up through `promise.state()`.
        while ctx.execute_pending_job() {}
        let settled = match promise.state() {
            PromiseState::Rejected => return rejected_frame(ctx, &promise),
            PromiseState::Resolved => true,
            PromiseState::Pending => false,
        };
        let due = match wait.call::<_, f64>((settled,)).catch(ctx) {
            Ok(due) => due,
            Err(err) => return error_frame(ctx, err),
        };
        if due >= 0.0 {
            if due > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(due / 1000.0));
            }
            if let Err(err) = fire.call::<_, bool>(()).catch(ctx) {
                return error_frame(ctx, err);
            }
        } else if settled {
            return resolved_frame(ctx, &promise, wrapped);
        } else {
            return error_frame_plain(
                "DeadlockError",
                "the top-level promise never settled: nothing is left to run",
            );
        }
    }
}

/// The frame of a top level that resolved: its value.
fn resolved_frame<'js>(ctx: &Ctx<'js>, promise: &Promise<'js>, wrapped: bool) -> String {
    let value = match promise.result::<Value>() {
        Some(Ok(value)) => value,
        Some(Err(err)) => return error_frame(ctx, Err::<(), _>(err).catch(ctx).unwrap_err()),
        None => return ok_frame(ctx, Value::new_undefined(ctx.clone())),
    };
    // Async script evaluation resolves to `{ value }`; the wrapped
    // function resolves to the returned value itself.
    let value = if wrapped {
        value
    } else {
        value
            .as_object()
            .and_then(|o| o.get::<_, Value>("value").ok())
            .unwrap_or_else(|| Value::new_undefined(ctx.clone()))
    };
    ok_frame(ctx, value)
}

/// The frame of a top level that rejected: its reason.
fn rejected_frame<'js>(ctx: &Ctx<'js>, promise: &Promise<'js>) -> String {
    let reason = match promise.result::<Value>() {
        Some(Err(err)) => Err::<(), _>(err).catch(ctx).unwrap_err(),
        Some(Ok(value)) => CaughtError::Value(value),
        None => CaughtError::Value(Value::new_undefined(ctx.clone())),
    };
    error_frame(ctx, reason)
}

fn ok_frame<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> String {
    let json = if value.is_undefined() {
        None
    } else {
        match ctx.json_stringify(value.clone()).catch(ctx) {
            Ok(Some(text)) => text.to_string().ok(),
            Ok(None) => None,
            // BigInt and other values JSON cannot encode: their string form.
            Err(_) => Some(json_string(&describe(ctx, &value))),
        }
    };
    match json {
        Some(json) => format!("{{\"ok\":true,\"value\":{json}}}"),
        None => "{\"ok\":true}".to_string(),
    }
}

fn describe<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    ctx.globals()
        .get::<_, Function>("String")
        .and_then(|f| f.call::<_, String>((value.clone(),)))
        .unwrap_or_else(|_| "<unprintable value>".to_string())
}

fn error_frame<'js>(ctx: &Ctx<'js>, err: CaughtError<'js>) -> String {
    let (kind, message, stack) = match err {
        CaughtError::Exception(e) => {
            let kind = e.get::<_, String>("name").unwrap_or_else(|_| "Error".to_string());
            (kind, e.message().unwrap_or_default(), e.stack())
        }
        CaughtError::Value(value) => {
            let kind = value
                .as_object()
                .and_then(|o| o.get::<_, String>("name").ok())
                .unwrap_or_else(|| "UncaughtValue".to_string());
            (kind, describe(ctx, &value), None)
        }
        CaughtError::Error(e) => ("InternalError".to_string(), e.to_string(), None),
    };
    let build = || -> rquickjs::Result<Option<String>> {
        let error = Object::new(ctx.clone())?;
        error.set("type", kind.as_str())?;
        error.set("message", message.as_str())?;
        if let Some(stack) = &stack {
            error.set("stack", stack.as_str())?;
        }
        let frame = Object::new(ctx.clone())?;
        frame.set("ok", false)?;
        frame.set("error", error)?;
        Ok(ctx.json_stringify(frame)?.and_then(|s| s.to_string().ok()))
    };
    match build() {
        Ok(Some(frame)) => frame,
        _ => error_frame_plain(&kind, "the error could not be described (out of memory?)"),
    }
}

/// An error frame built without the JS engine, for when it cannot help.
fn error_frame_plain(kind: &str, message: &str) -> String {
    format!(
        "{{\"ok\":false,\"error\":{{\"type\":{},\"message\":{}}}}}",
        json_string(kind),
        json_string(message)
    )
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
