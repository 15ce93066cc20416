//! One run: a fresh instance, the code in, the outcome out.

use crate::clock::RunClock;
use crate::door::{self, FrameError, ResultFrame};
use crate::guest::{Compiled, Guest};
use crate::limiter::MemoryLimiter;
use crate::pipe::{CappedPipe, OutputCapReached};
use crate::state::State;
use std::time::{Duration, Instant};
use stockade_core::{Limit, Outcome, RunRequest, SandboxError, Status, Usage};
use wasmtime::{Store, Trap};
use wasmtime_wasi::WasiCtxBuilder;

/// Smallest cap on the result frame, so a small stdout cap still leaves room
/// for an error message.
const MIN_FRAME_CAP: u64 = 64 * 1024;

/// How the guest call ended, before it is turned into an [`Outcome`].
pub(crate) enum Ending {
    Frame(ResultFrame),
    Trap(wasmtime::Error),
    StackExhausted,
    FrameTooLarge,
    /// The guest asked to exit with this non-zero status (`sys.exit(n)`).
    Exit(i32),
}

/// Runs `code` in a fresh instance of `compiled` under `policy`.
pub fn run(compiled: &Compiled, request: RunRequest<'_>) -> Result<Outcome, SandboxError> {
    let (code, policy) = (request.code, request.policy);
    let limits = &policy.limits;
    let stdout = CappedPipe::new(limits.stdout_bytes, limits.output_overflow);
    let stderr = CappedPipe::new(limits.stderr_bytes, limits.output_overflow);
    let clock = RunClock { zero: Instant::now() };
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(stdout.clone())
        .stderr(stderr.clone())
        .monotonic_clock(clock)
        .allow_blocking_current_thread(true);
    match compiled.guest {
        Guest::QuickJs => {
            wasi.args(&["sandbox"]);
        }
        Guest::Python => crate::python::configure(&mut wasi, compiled)?,
    }
    for (name, value) in &policy.env {
        wasi.env(name, value);
    }
    let frame_cap = limits.stdout_bytes.max(MIN_FRAME_CAP);
    let mut state = State::new(wasi.build_p1(), MemoryLimiter::new(limits.memory_bytes), clock);
    state.tools = request.tools.cloned();
    state.report_cap = frame_cap;
    // Declared before the store, so dropped after it: the slot is free
    // again only once the instance is gone.
    let _slot = crate::engine::Slot::acquire();
    let mut store = Store::new(compiled.engine, state);
    store.limiter(|state| &mut state.limiter);
    let wall = Duration::from_millis(limits.wall_ms);
    store.set_epoch_deadline(crate::engine::ticks_for(wall));
    store.epoch_deadline_trap();
    if let Some(fuel) = limits.fuel {
        store.set_fuel(fuel).map_err(engine_error)?;
    }

    let started = Instant::now();
    store.data_mut().deadline = started.checked_add(wall);
    let ending = match compiled.guest {
        Guest::QuickJs => pollster::block_on(call_guest(compiled, &mut store, code, frame_cap))?,
        Guest::Python => pollster::block_on(crate::python::call(compiled, &mut store, code))?,
    };
    let wall = started.elapsed();

    let fuel_used = limits.fuel.map(|budget| budget.saturating_sub(store.get_fuel().unwrap_or(0)));
    let limiter = &store.data().limiter;
    let (peak, memory_denied) = (limiter.peak(), limiter.denied());
    let out = stdout.take();
    let err = stderr.take();
    let (status, value) = match ending {
        Ending::Frame(ResultFrame { ok: true, value, .. }) => (Status::Ok, value),
        Ending::Frame(ResultFrame { error, .. }) => {
            let error = error.unwrap_or_default();
            let out_of_memory = error.message.contains("out of memory") || error.kind == "MemoryError";
            if memory_denied && out_of_memory {
                (Status::LimitExceeded { which: Limit::Memory }, None)
            } else {
                let stack = error.stack.map(|stack| without_prelude_frames(&stack));
                (Status::GuestError { kind: error.kind, message: error.message, stack }, None)
            }
        }
        Ending::StackExhausted => (stack_overflow(), None),
        Ending::FrameTooLarge => (Status::LimitExceeded { which: Limit::Output }, None),
        Ending::Trap(error) => (classify_trap(&error, memory_denied), None),
        // Status 1 without a report: the exception hook itself failed,
        // which after a refused growth means it ran out of memory too.
        Ending::Exit(1) if memory_denied => (Status::LimitExceeded { which: Limit::Memory }, None),
        Ending::Exit(code) => (Status::Exited { code }, None),
    };
    Ok(Outcome {
        exit_code: exit_code(&status),
        value,
        stdout: String::from_utf8_lossy(&out.bytes).into_owned(),
        stderr: String::from_utf8_lossy(&err.bytes).into_owned(),
        stdout_truncated: out.truncated,
        stderr_truncated: err.truncated,
        usage: Usage {
            wall,
            fuel: fuel_used,
            peak_memory_bytes: peak,
            output_bytes: out.written.saturating_add(err.written),
            tool_calls: 0,
        },
        status,
        audit: None,
    })
}

/// Instantiates, hands over the code, runs it and reads the result frame.
/// Traps are endings, not errors; only host failures are `Err`.
async fn call_guest(
    compiled: &Compiled,
    store: &mut Store<State>,
    code: &str,
    frame_cap: u64,
) -> Result<Ending, SandboxError> {
    let len =
        u32::try_from(code.len()).map_err(|_| SandboxError::Code("the code is larger than 4 GiB".into()))?;
    let instance = match compiled.pre.instantiate_async(&mut *store).await {
        Ok(instance) => instance,
        Err(e) if e.downcast_ref::<Trap>().is_some() => return Ok(Ending::Trap(e)),
        Err(e) => return Err(engine_error(e)),
    };
    let alloc = instance.get_typed_func::<u32, u32>(&mut *store, door::ALLOC).map_err(engine_error)?;
    let run = instance.get_typed_func::<(u32, u32), u64>(&mut *store, door::RUN).map_err(engine_error)?;
    let memory = instance
        .get_memory(&mut *store, door::MEMORY)
        .ok_or_else(|| SandboxError::Engine("the guest exports no memory".into()))?;
    let ptr = match alloc.call_async(&mut *store, len).await {
        Ok(ptr) => ptr,
        Err(e) => return Ok(Ending::Trap(e)),
    };
    if memory.write(&mut *store, ptr as usize, code.as_bytes()).is_err() {
        return Ok(Ending::Trap(wasmtime::format_err!("the guest gave an invalid code buffer")));
    }
    let packed = match run.call_async(&mut *store, (ptr, len)).await {
        Ok(packed) => packed,
        Err(_) if stack_exhausted(&instance, store) => return Ok(Ending::StackExhausted),
        Err(e) => return Ok(Ending::Trap(e)),
    };
    match door::read_frame(memory.data(&*store), packed, frame_cap) {
        Ok(frame) => Ok(Ending::Frame(frame)),
        Err(FrameError::TooLarge(_)) => Ok(Ending::FrameTooLarge),
        Err(FrameError::Malformed(why)) => Ok(Ending::Frame(ResultFrame {
            ok: false,
            value: None,
            error: Some(door::GuestErrorFrame {
                kind: "ProtocolError".into(),
                message: format!("the guest returned a malformed result: {why}"),
                stack: None,
            }),
        })),
    }
}

fn classify_trap(error: &wasmtime::Error, memory_denied: bool) -> Status {
    if error.downcast_ref::<OutputCapReached>().is_some() {
        return Status::LimitExceeded { which: Limit::Output };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Status::LimitExceeded { which: Limit::Wall },
        Some(Trap::OutOfFuel) => Status::LimitExceeded { which: Limit::Fuel },
        Some(Trap::StackOverflow) => stack_overflow(),
        _ if memory_denied => Status::LimitExceeded { which: Limit::Memory },
        Some(trap) => Status::GuestError {
            kind: "Trap".into(),
            message: format!("the guest crashed: {trap}"),
            stack: None,
        },
        None => Status::GuestError {
            kind: "Trap".into(),
            message: format!("the guest crashed: {}", root_cause(error)),
            stack: None,
        },
    }
}

/// The guest's stack trace without the frames of stockade's own prelude
/// (`console`, the tool wrappers), which QuickJS names `eval_script`: the
/// reader of an error (often a model) should see only its own code.
fn without_prelude_frames(stack: &str) -> String {
    stack.lines().filter(|line| !line.contains("(eval_script:")).collect::<Vec<_>>().join("\n")
}

fn stack_overflow() -> Status {
    Status::GuestError {
        kind: "StackOverflow".into(),
        message: "the guest exhausted its stack (too much recursion)".into(),
        stack: None,
    }
}

/// Whether the guest's shadow stack ran out. Guests are linked with the
/// stack first in memory, so an overflow moves `__stack_pointer` below
/// address 0 (wrapping to the top of the 32-bit space) or into the last
/// few kilobytes before it, and the next access traps.
fn stack_exhausted(instance: &wasmtime::Instance, store: &mut Store<State>) -> bool {
    const RED_ZONE: u32 = 64 * 1024;
    match instance.get_global(&mut *store, door::STACK_POINTER).map(|g| g.get(&mut *store)) {
        Some(wasmtime::Val::I32(sp)) => (sp as u32) < RED_ZONE || (sp as u32) > u32::MAX - (16 << 20),
        _ => false,
    }
}

fn root_cause(error: &wasmtime::Error) -> String {
    error.chain().last().map(ToString::to_string).unwrap_or_else(|| error.to_string())
}

fn exit_code(status: &Status) -> i32 {
    match status {
        Status::Ok => 0,
        Status::Exited { code } => *code,
        Status::LimitExceeded { which } => which.exit_code(),
        _ => 1,
    }
}

pub(crate) fn engine_error(error: wasmtime::Error) -> SandboxError {
    SandboxError::Engine(format!("{error:#}"))
}
