//! One fresh run, and how a guest's ending becomes an [`Outcome`].

use crate::door::ResultFrame;
use crate::engine::NoSlot;
use crate::guest::Compiled;
use crate::live::{Live, Opened, deadline_after};
use crate::pipe::{CappedPipe, OutputCapReached};
use crate::state::State;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stockade_core::{Limit, Outcome, RunRequest, SandboxError, Status, Usage, WasmError};
use wasmtime::{Store, Trap};

/// How the guest call ended, before it is turned into an [`Outcome`].
pub(crate) enum Ending {
    Frame(ResultFrame),
    Trap(wasmtime::Error),
    StackExhausted,
    FrameTooLarge,
    /// The guest asked to exit with this non-zero status (`sys.exit(n)`).
    Exit(i32),
}

/// The trap a run ends with when its [`stockade_core::Cancel`] is made.
#[derive(Debug)]
pub(crate) struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the run was cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// Runs `code` in a fresh instance of `compiled` under `policy`: a live
/// guest that takes one turn and is dropped.
pub fn run(compiled: &Arc<Compiled>, request: RunRequest<'_>) -> Result<Outcome, SandboxError> {
    let limits = &request.policy.limits;
    let started = Instant::now();
    let deadline = deadline_after(Duration::from_millis(limits.wall_ms));
    let until = started + Duration::from_millis(limits.wall_ms);
    let slot = match crate::engine::Slot::acquire_until(request.cancel, until) {
        Ok(slot) => slot,
        Err(NoSlot::Cancelled) => return Ok(Outcome::cancelled_before_start(started.elapsed())),
        Err(NoSlot::TimedOut) => {
            return Err(SandboxError::Busy {
                what: format!(
                    "every instance slot (STOCKADE_MAX_INSTANCES) stayed in use for the run's whole \
                     wall time ({} ms)",
                    limits.wall_ms
                ),
                retry_after: Duration::from_secs(1),
            });
        }
    };
    let opened = pollster::block_on(Live::open(
        compiled,
        request.policy,
        request.tools,
        request.cancel,
        deadline,
        slot,
        request.workspace,
    ))?;
    let mut outcome = match opened {
        Opened::Ready(mut live) => pollster::block_on(live.turn(
            request.code,
            request.tools,
            request.cancel,
            deadline,
            limits.fuel,
            request.output,
        ))?,
        Opened::Failed(ending, parts) => parts.outcome(ending, started.elapsed()),
    };
    // The run's wall time includes starting its instance.
    outcome.usage.wall = started.elapsed();
    Ok(outcome)
}

/// The outcome of one turn that ended so.
pub(crate) fn outcome(
    ending: Ending,
    store: &Store<State>,
    stdout: &CappedPipe,
    stderr: &CappedPipe,
    wall: Duration,
    fuel_used: Option<u64>,
) -> Outcome {
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
    Outcome {
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
            network: None,
        },
        status,
        audit: None,
        enforcement: stockade_core::Enforcement::default(),
    }
}

fn classify_trap(error: &wasmtime::Error, memory_denied: bool) -> Status {
    if error.downcast_ref::<OutputCapReached>().is_some() {
        return Status::LimitExceeded { which: Limit::Output };
    }
    if error.downcast_ref::<Cancelled>().is_some() {
        return Status::Cancelled;
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

fn root_cause(error: &wasmtime::Error) -> String {
    error.chain().last().map(ToString::to_string).unwrap_or_else(|| error.to_string())
}

fn exit_code(status: &Status) -> i32 {
    status.exit_code().unwrap_or(1)
}

pub(crate) fn engine_error(error: wasmtime::Error) -> SandboxError {
    WasmError::engine("run the guest", error).into()
}
