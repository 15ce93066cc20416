//! A live guest: one instance, opened once and then given turns.
//!
//! A fresh run is a live guest that takes one turn and is dropped; a
//! session keeps it and takes many, so its globals persist. Each turn gets
//! its own deadline, fuel, output capture, tool host and result; memory is
//! the instance's own and only grows. A trap (a wall or fuel limit that
//! stops the guest mid-run, a crash) can leave the interpreter's state
//! half-updated, so it ends the live guest: it takes no more turns.

use crate::clock::RunClock;
use crate::engine::Slot;
use crate::guest::{Compiled, Guest};
use crate::limiter::MemoryLimiter;
use crate::pipe::CappedPipe;
use crate::python::Interpreter;
use crate::run::{Ending, engine_error, outcome};
use crate::state::State;
use crate::store::GuestStore;
use std::sync::Arc;
use std::time::Instant;
use stockade_core::output::{OutputSink, Stream, Tap};
use stockade_core::{Cancel, Outcome, SandboxError, Status, ToolHost, Turn, WasmError, Workspace};
use stockade_policy::Policy;
use wasmtime::Store;
use wasmtime_wasi::WasiCtxBuilder;

/// Smallest cap on the result frame, so a small stdout cap still leaves room
/// for an error message.
const MIN_FRAME_CAP: u64 = 64 * 1024;

/// How long opening a session waits for a free instance slot.
const SLOT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The exports a turn calls.
enum Exports {
    QuickJs(crate::quickjs::Interpreter),
    Python(Interpreter),
}

/// One guest instance and what it was given.
pub(crate) struct Live {
    store: GuestStore,
    exports: Exports,
    memory: wasmtime::Memory,
    stdout: CappedPipe,
    stderr: CappedPipe,
    frame_cap: u64,
    metered: bool,
    ended: Option<String>,
    /// The root of its scratch `/tmp`, for the host (a session's files);
    /// `None` when the policy gives it none.
    scratch: Option<std::fs::File>,
    /// Keeps the module (and its engine) alive for as long as the instance.
    _compiled: Arc<Compiled>,
    /// Declared after the store, so dropped after it: the slot is free again
    /// only once the instance is gone.
    _slot: Slot,
}

/// What opening a guest came to: a guest ready for turns, or how it failed
/// as a guest would (a trap while starting, which a fresh run reports as its
/// outcome).
pub(crate) enum Opened {
    Ready(Box<Live>),
    Failed(Ending, Box<LiveParts>),
}

/// What is left of a guest that failed to start, to describe its failure.
pub(crate) struct LiveParts {
    store: GuestStore,
    stdout: CappedPipe,
    stderr: CappedPipe,
}

impl Live {
    /// Instantiates `compiled` under `policy` and, for CPython, runs
    /// stockade's runtime turn (which asks `tools` for the tool list).
    /// `deadline` bounds the start; `slot` is the instance slot it may use.
    pub async fn open(
        compiled: &Arc<Compiled>,
        policy: &Policy,
        tools: Option<&Arc<dyn ToolHost>>,
        cancel: Option<&Cancel>,
        deadline: Instant,
        slot: Slot,
        workspace: Option<&Workspace>,
    ) -> Result<Opened, SandboxError> {
        let limits = &policy.limits;
        let stdout = CappedPipe::new(limits.stdout_bytes, limits.output_overflow);
        let stderr = CappedPipe::new(limits.stderr_bytes, limits.output_overflow);
        let clock = RunClock { zero: Instant::now() };
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
            .monotonic_clock(clock)
            .allow_blocking_current_thread(true);
        let mut packages = false;
        let reserved: &[&str] = match compiled.guest {
            Guest::QuickJs => {
                wasi.args(&["sandbox"]);
                &[]
            }
            Guest::Python(_) => {
                crate::python::configure(&mut wasi, compiled)?;
                packages = crate::python::packages::mount(&mut wasi, &policy.python)?;
                &[crate::python::GUEST_LIB, crate::python::packages::GUEST_PATH]
            }
        };
        let scratch = crate::files::mount(&mut wasi, &policy.files, reserved, workspace)?;
        for (name, value) in &policy.env {
            wasi.env(name, value);
        }
        let mut state = State::new(wasi.build_p1(), MemoryLimiter::new(limits.memory_bytes), clock);
        state.tools = tools.cloned();
        state.cancel = cancel.cloned();
        let mut store = GuestStore::new(Store::new(compiled.engine, state));
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(on_epoch_deadline);
        set_deadline(&mut store, deadline);
        if let Some(fuel) = limits.fuel {
            store.set_fuel(fuel).map_err(engine_error)?;
        }
        let started = match compiled.guest {
            Guest::QuickJs => crate::quickjs::open(compiled, &mut store)
                .await?
                .map(|(interpreter, memory)| (Exports::QuickJs(interpreter), memory)),
            Guest::Python(_) => {
                let mounts = crate::files::mounts(&policy.files);
                crate::python::open(
                    compiled,
                    &mut store,
                    &policy.env,
                    &mounts,
                    !policy.network.allow.is_empty(),
                    packages,
                )
                .await?
                .map(|interpreter| {
                    let memory = interpreter.memory;
                    (Exports::Python(interpreter), memory)
                })
            }
        };
        let (exports, memory) = match started {
            Ok(started) => started,
            Err(ending) => return Ok(Opened::Failed(ending, Box::new(LiveParts { store, stdout, stderr }))),
        };
        // Whatever the start wrote is stockade's, not the guest's.
        stdout.take();
        stderr.take();
        Ok(Opened::Ready(Box::new(Live {
            store,
            exports,
            memory,
            stdout,
            stderr,
            frame_cap: limits.stdout_bytes.max(MIN_FRAME_CAP),
            metered: limits.fuel.is_some(),
            ended: None,
            scratch,
            _compiled: compiled.clone(),
            _slot: slot,
        })))
    }

    /// Runs one turn: `code` until `deadline`, with `fuel` (when metered).
    pub async fn turn(
        &mut self,
        code: &str,
        tools: Option<&Arc<dyn ToolHost>>,
        cancel: Option<&Cancel>,
        deadline: Instant,
        fuel: Option<u64>,
        output: Option<&Arc<dyn OutputSink>>,
    ) -> Result<Outcome, SandboxError> {
        if let Some(why) = &self.ended {
            return Err(SandboxError::SessionEnded(why.clone()));
        }
        self.stdout.set_tap(output.map(|sink| Tap::new(sink, Stream::Stdout)));
        self.stderr.set_tap(output.map(|sink| Tap::new(sink, Stream::Stderr)));
        let state = self.store.data_mut();
        state.tools = tools.cloned();
        state.cancel = cancel.cloned();
        state.report = None;
        state.report_cap = self.frame_cap;
        state.limiter.forget_denial();
        set_deadline(&mut self.store, deadline);
        let budget = if self.metered { fuel } else { None };
        if let Some(fuel) = budget {
            self.store.set_fuel(fuel).map_err(engine_error)?;
        }
        let started = Instant::now();
        let ending = match &self.exports {
            Exports::QuickJs(interpreter) => {
                interpreter.turn(&mut self.store, self.memory, code, self.frame_cap).await?
            }
            Exports::Python(interpreter) => crate::python::turn(interpreter, &mut self.store, code).await,
        };
        let wall = started.elapsed();
        if matches!(ending, Ending::Trap(_) | Ending::StackExhausted) {
            self.ended = Some("its guest was stopped mid-run, so its state may be half-updated".into());
        }
        let fuel_used = budget.map(|budget| budget.saturating_sub(self.store.get_fuel().unwrap_or(0)));
        let outcome = outcome(ending, &self.store, &self.stdout, &self.stderr, wall, fuel_used);
        match &outcome.status {
            Status::LimitExceeded { which } if self.ended.is_some() => {
                self.ended = Some(format!("its last run hit {}, which stops the guest mid-run", which.key()));
            }
            Status::Cancelled => self.ended = Some("its last run was cancelled mid-run".into()),
            _ => {}
        }
        Ok(outcome)
    }

    /// Why this guest takes no more turns, once it does not.
    pub fn ended(&self) -> Option<&str> {
        self.ended.as_deref()
    }
}

impl LiveParts {
    /// The outcome of a guest that failed while starting.
    pub fn outcome(self, ending: Ending, wall: std::time::Duration) -> Outcome {
        outcome(ending, &self.store, &self.stdout, &self.stderr, wall, None)
    }
}

/// A session's guest: a [`Live`] behind the backend-neutral trait.
pub(crate) struct Session {
    live: Box<Live>,
}

impl Session {
    /// Opens a guest for a session: waits (boundedly) for an instance slot
    /// of the sessions' half,
    /// then starts it; a guest that cannot start is an error here. `tools`
    /// answers the tool list a guest asks for as it starts.
    pub fn open(
        compiled: &Arc<Compiled>,
        policy: &Policy,
        tools: Option<&Arc<dyn ToolHost>>,
        workspace: Option<&Workspace>,
    ) -> Result<Session, SandboxError> {
        let slot = Slot::acquire_for_session(SLOT_WAIT).ok_or_else(|| SandboxError::Busy {
            what: format!(
                "no instance slot for a session: sessions may hold half of them \
                 (STOCKADE_MAX_INSTANCES), and none came free within {} s; close a session",
                SLOT_WAIT.as_secs()
            ),
            retry_after: std::time::Duration::from_secs(1),
        })?;
        let deadline = deadline_after(std::time::Duration::from_millis(policy.limits.wall_ms));
        match pollster::block_on(Live::open(compiled, policy, tools, None, deadline, slot, workspace))? {
            Opened::Ready(live) => Ok(Session { live }),
            Opened::Failed(ending, parts) => {
                let outcome = parts.outcome(ending, std::time::Duration::ZERO);
                Err(WasmError::GuestStart { status: format!("{:?}", outcome.status) }.into())
            }
        }
    }
}

impl stockade_core::LiveGuest for Session {
    fn run(&mut self, turn: Turn<'_>) -> Result<Outcome, SandboxError> {
        let deadline = deadline_after(turn.wall);
        pollster::block_on(self.live.turn(
            turn.code,
            turn.tools,
            turn.cancel,
            deadline,
            turn.fuel,
            turn.output,
        ))
    }

    fn ended(&self) -> Option<&str> {
        self.live.ended()
    }

    fn files(&self) -> Option<stockade_core::GuestFiles> {
        let root = self.live.scratch.as_ref()?.try_clone().ok()?;
        Some(stockade_core::GuestFiles { root, owner: None })
    }
}

/// `now + wall`, or far in the future when that overflows.
pub(crate) fn deadline_after(wall: std::time::Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wall).unwrap_or_else(|| now + std::time::Duration::from_secs(365 * 24 * 3600))
}

fn set_deadline(store: &mut Store<State>, deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    store.set_epoch_deadline(next_check(store.data(), left));
    store.data_mut().deadline = Some(deadline);
}

/// Ticks until the next look at the run: every tick while it can be
/// cancelled, else at its deadline.
fn next_check(state: &State, left: std::time::Duration) -> u64 {
    if state.cancel.is_some() { 1 } else { crate::engine::ticks_for(left) }
}

/// Called when the epoch passes the store's deadline: stops a cancelled run
/// or one past its wall time, and lets any other go on to its next check.
fn on_epoch_deadline(
    store: wasmtime::StoreContextMut<'_, State>,
) -> wasmtime::Result<wasmtime::UpdateDeadline> {
    let state = store.data();
    if state.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
        return Err(crate::run::Cancelled.into());
    }
    let left =
        state.deadline.map_or(std::time::Duration::ZERO, |d| d.saturating_duration_since(Instant::now()));
    if left.is_zero() {
        return Err(wasmtime::Trap::Interrupt.into());
    }
    Ok(wasmtime::UpdateDeadline::Continue(next_check(state, left)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Metering;
    use crate::store::test_swap;

    fn open(compiled: &Arc<Compiled>) -> Box<Live> {
        let deadline = deadline_after(std::time::Duration::from_secs(30));
        let opened = pollster::block_on(Live::open(
            compiled,
            &Policy::default(),
            None,
            None,
            deadline,
            Slot::acquire(),
            None,
        ));
        match opened.expect("open") {
            Opened::Ready(live) => live,
            Opened::Failed(..) => panic!("the guest did not start"),
        }
    }

    fn value(live: &mut Live, code: &str) -> Option<serde_json::Value> {
        let deadline = deadline_after(std::time::Duration::from_secs(30));
        pollster::block_on(live.turn(code, None, None, deadline, None, None)).expect("turn").value
    }

    #[test]
    fn a_guest_swapped_out_leaves_nothing_to_the_next_in_its_slot() {
        let Some(_swap) = test_swap::on() else {
            eprintln!("skipped: no swap, and only root may enable a swap file");
            return;
        };
        let cases = [
            (
                Guest::QuickJs,
                "globalThis.secret = 'hunter2-' + 'x'.repeat(100000); 1",
                "typeof globalThis.secret",
                serde_json::json!("undefined"),
            ),
            (
                Guest::Python(crate::Preload::NONE),
                "secret = 'hunter2-' + 'x' * 100000",
                "'secret' in globals()",
                serde_json::json!(false),
            ),
        ];
        for (guest, plant, look, clean) in cases {
            let compiled = crate::guest::compiled(guest, Metering::Off).expect("compiled guest");
            assert!(
                swapped_run_is_forgotten(&compiled, plant, look, clean),
                "{guest:?}: the pool never reused a slot"
            );
        }
    }

    #[test]
    fn forgetting_a_guest_empties_its_table_and_drops_its_written_pages() {
        for guest in [Guest::QuickJs, Guest::Python(crate::Preload::NONE)] {
            let compiled = crate::guest::compiled(guest, Metering::Off).expect("compiled guest");
            let mut live = open(&compiled);
            value(&mut live, "1 + 1");
            let store = &mut *live.store;
            let table = store.data().table.expect("the guest exports its table");
            let size = table.size(&*store);
            let entries = |store: &mut Store<State>| {
                (0..size)
                    .filter(|&i| matches!(table.get(&mut *store, i), Some(wasmtime::Ref::Func(Some(_)))))
                    .count()
            };
            assert!(entries(store) > 0, "{guest:?}: no function in the table to begin with");
            let memory = store.data().memory.expect("memory");
            assert!(crate::pagemap::written_runs(memory.data(&*store)).is_none_or(|runs| !runs.is_empty()));
            crate::store::forget(store);
            assert_eq!(entries(store), 0, "{guest:?}: functions left in the table");
            if let Some(runs) = crate::pagemap::written_runs(memory.data(&*store)) {
                assert!(runs.is_empty(), "{guest:?}: written pages left: {runs:?}");
            }
        }
    }

    #[test]
    fn joining_a_guests_runs_of_written_pages_changes_none_of_its_memory() {
        let compiled =
            crate::guest::compiled(Guest::Python(crate::Preload::NONE), Metering::Off).expect("CPython");
        let mut live = open(&compiled);
        value(&mut live, "print('hello')");
        let memory = live.memory;
        let data = memory.data_mut(&mut *live.store);
        // Many more runs than the pool resets in place: every fourth page of
        // the upper half written with the byte it holds.
        let page = 4096;
        for at in (data.len() / 2..data.len()).step_by(4 * page).take(120) {
            // SAFETY: `at` is inside the slice; a volatile write of the byte
            // read keeps the contents and still makes the page a written one.
            unsafe { std::ptr::write_volatile(&mut data[at], std::ptr::read_volatile(&data[at])) };
        }
        let before = data.to_vec();
        let Some(runs) = crate::pagemap::written_runs(data) else {
            eprintln!("skipped: this kernel has no PAGEMAP_SCAN");
            return;
        };
        assert!(runs.len() > 120, "{}", runs.len());
        assert_eq!(crate::store::join_runs(data), Some(true));
        let after = crate::pagemap::written_runs(data).expect("scan");
        assert!(after.len() <= 32, "{} runs", after.len());
        assert!(
            runs.iter()
                .all(|run| after.iter().any(|joined| joined.start <= run.start && run.end <= joined.end))
        );
        assert!(data == before.as_slice(), "joining changed the guest's memory");
        assert_eq!(crate::store::join_runs(data), Some(false));
        // The guest goes on as before.
        assert_eq!(value(&mut live, "6 * 7"), Some(serde_json::json!(42)));
    }

    /// Whether, twice, a guest that ran `plant` and was swapped out gave its
    /// slot to a fresh one that found `look` to be `clean`.
    fn swapped_run_is_forgotten(
        compiled: &Arc<Compiled>,
        plant: &str,
        look: &str,
        clean: serde_json::Value,
    ) -> bool {
        let mut same_slot = 0;
        for _ in 0..8 {
            let mut first = open(compiled);
            value(&mut first, plant);
            let memory = first.memory;
            let data = memory.data_mut(&mut *first.store);
            let base = data.as_ptr() as usize;
            assert!(test_swap::page_out(data) > 0, "nothing of the guest was swapped out");
            drop(first);

            let mut next = open(compiled);
            let next_base = next.memory.data_ptr(&*next.store) as usize;
            assert_eq!(value(&mut next, look).as_ref(), Some(&clean));
            // Another test may take the slot in between; the check counts
            // only when the next instance reused the first one's memory.
            if next_base == base {
                same_slot += 1;
                if same_slot == 2 {
                    return true;
                }
            }
        }
        false
    }
}
