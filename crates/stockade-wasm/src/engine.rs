//! The process-wide wasmtime engines and the epoch ticker.
//!
//! An engine is made per [`Profile`] (what the guest's module needs) and per
//! [`Metering`] (fuel changes the compiled code), each with its own `.cwasm`
//! files, and only when first used. All use epoch interruption (driven by
//! one ticker thread), the pooling allocator and copy-on-write memory
//! images, so a fresh instance costs tens of microseconds.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. A wall-time limit fires at most this late.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Deepest native wasm stack a guest may use. The guest's shadow stack (in
/// its linear memory) normally runs out first; either way the run ends with
/// a stack-overflow error.
const MAX_WASM_STACK: usize = 8 << 20;

/// Instances that may exist at once, per engine, unless
/// `STOCKADE_MAX_INSTANCES` says otherwise. Each slot costs the engine's
/// creation a guard-page `mprotect` and address space, so a short-lived
/// process pays for every slot; runs beyond the limit wait for a free slot
/// ([`Slot::acquire`]) rather than fail.
const DEFAULT_POOL_SLOTS: u32 = 64;

/// How often a run waiting for a slot looks at its cancel request.
const CANCEL_CHECK: Duration = Duration::from_millis(20);

/// Fiber stacks one run may hold at once: its own call into the guest, and
/// the guest's `host_alloc` that a host call (a tool's answer) calls while
/// the first is suspended in it. A pool with only one stack per slot ran
/// out of fibers, not slots, and concurrent runs failed as guest crashes
/// instead of waiting for a slot.
const STACKS_PER_RUN: u32 = 2;

/// Largest funcref table of the large profile: CPython's has 47 157 entries.
const LARGE_TABLE_ELEMENTS: usize = 50_000;

/// Largest linear memory the pool reserves per slot (wasm32's whole space).
const MAX_MEMORY_BYTES: usize = 4 << 30;

/// What a guest's module needs from its engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// QuickJS: a small module, a small table, plain wasm.
    Small,
    /// CPython: wasm exception handling (which needs GC heaps), a 47 157
    /// entry table, a 1.5 MB instance context, and a 100 MB module whose
    /// compile reports its progress ([`crate::progress`]).
    Large,
}

impl Profile {
    /// Bytes of a slot's linear memory kept resident between instances.
    /// The reset scans this whole range on every run. For QuickJS, 8 MiB
    /// saved about 2 µs on a trivial run, but a heavier run's heap grows
    /// past it and then faults its pages in again on every run, so the
    /// budget leaves room for one. CPython's fresh interpreter alone
    /// dirties several MiB.
    fn keep_resident(self) -> usize {
        match self {
            Profile::Small => 16 << 20,
            Profile::Large => 64 << 20,
        }
    }
}

/// Whether an engine meters fuel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metering {
    /// No fuel: the fast default.
    Off,
    /// Fuel consumed per instruction; used only when the policy sets `limits.fuel`.
    Fuel,
}

/// The pool size: `STOCKADE_MAX_INSTANCES` (1 to 4096), else the default.
fn pool_slots() -> u32 {
    static SLOTS: OnceLock<u32> = OnceLock::new();
    *SLOTS.get_or_init(|| {
        std::env::var("STOCKADE_MAX_INSTANCES")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map_or(DEFAULT_POOL_SLOTS, |n| n.clamp(1, 4096))
    })
}

/// A claim on one instance slot of an engine's pool, held for a run's
/// lifetime. Both engines share one count, bounded by the smaller pool.
pub struct Slot(SlotKind);

/// Who holds a slot.
enum SlotKind {
    Run,
    Session,
}

static IN_USE: Mutex<u32> = Mutex::new(0);
static FREED: Condvar = Condvar::new();
/// Slots held by sessions.
static SESSIONS: AtomicU32 = AtomicU32::new(0);

/// Why a run got no slot.
#[derive(Debug, PartialEq, Eq)]
pub enum NoSlot {
    /// Its cancel was made while it waited.
    Cancelled,
    /// None came free in time.
    TimedOut,
}

impl Slot {
    /// Waits until a slot is free and takes it.
    #[cfg(test)]
    pub fn acquire() -> Slot {
        let far = std::time::Instant::now() + Duration::from_secs(24 * 60 * 60);
        Slot::acquire_until(None, far).unwrap_or_else(|_| unreachable!("a day passed"))
    }

    /// Waits until a slot is free and takes it, giving up at `until` or as
    /// soon as `cancel` is made: a run waiting for a slot can still be
    /// stopped (Ctrl-C), and one that waited out its own wall time has
    /// nothing left to run with.
    pub fn acquire_until(
        cancel: Option<&stockade_core::Cancel>,
        until: std::time::Instant,
    ) -> Result<Slot, NoSlot> {
        let mut in_use = IN_USE.lock().unwrap_or_else(|p| p.into_inner());
        while *in_use >= pool_slots() {
            if cancel.is_some_and(stockade_core::Cancel::is_cancelled) {
                return Err(NoSlot::Cancelled);
            }
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(NoSlot::TimedOut);
            }
            in_use = FREED.wait_timeout(in_use, left.min(CANCEL_CHECK)).unwrap_or_else(|p| p.into_inner()).0;
        }
        *in_use += 1;
        Ok(Slot(SlotKind::Run))
    }

    /// A slot for a session, which holds it for as long as it lives: waits
    /// at most `wait`, and `None` if none came free or sessions already
    /// hold half the slots (the other half stays for fresh runs, which
    /// wait for a slot as long as their wall time).
    pub fn acquire_for_session(wait: std::time::Duration) -> Option<Slot> {
        let in_use = IN_USE.lock().unwrap_or_else(|p| p.into_inner());
        let (mut in_use, _) = FREED
            .wait_timeout_while(in_use, wait, |in_use| *in_use >= pool_slots())
            .unwrap_or_else(|p| p.into_inner());
        let session_share = (pool_slots() / 2).max(1);
        if *in_use >= pool_slots() || SESSIONS.load(Ordering::Relaxed) >= session_share {
            return None;
        }
        *in_use += 1;
        SESSIONS.fetch_add(1, Ordering::Relaxed);
        Some(Slot(SlotKind::Session))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if matches!(self.0, SlotKind::Session) {
            SESSIONS.fetch_sub(1, Ordering::Relaxed);
        }
        let mut in_use = IN_USE.lock().unwrap_or_else(|p| p.into_inner());
        *in_use = in_use.saturating_sub(1);
        FREED.notify_one();
    }
}

/// One cell per (profile, metering) pair; see [`cell`].
static ENGINES: [OnceLock<Engine>; 4] = [const { OnceLock::new() }; 4];
static TICKER: OnceLock<Result<(), String>> = OnceLock::new();

fn cell(profile: Profile, metering: Metering) -> &'static OnceLock<Engine> {
    let index = match (profile, metering) {
        (Profile::Small, Metering::Off) => 0,
        (Profile::Small, Metering::Fuel) => 1,
        (Profile::Large, Metering::Off) => 2,
        (Profile::Large, Metering::Fuel) => 3,
    };
    &ENGINES[index]
}

/// The shared engine for `profile` and `metering`, created on first use,
/// with the ticker that drives its wall-time deadlines.
pub fn engine(profile: Profile, metering: Metering) -> wasmtime::Result<&'static Engine> {
    let cell = cell(profile, metering);
    let engine = match cell.get() {
        Some(engine) => engine,
        None => {
            let created = Engine::new(&config(profile, metering)?)?;
            cell.get_or_init(|| created)
        }
    };
    TICKER.get_or_init(start_ticker).clone().map_err(wasmtime::Error::msg)?;
    Ok(engine)
}

/// An engine for one-off work that is run once and thrown away (the wizer
/// initialisation runs): no pool, no deadlines, fast compilation, and what
/// `profile`'s modules need.
pub fn scratch_engine(profile: Profile) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config
        .cranelift_opt_level(wasmtime::OptLevel::None)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(MAX_WASM_STACK + (1 << 20))
        .wasm_gc(false);
    if profile == Profile::Large {
        config.wasm_exceptions(true);
        config.enable_incremental_compilation(crate::progress::store())?;
    }
    Engine::new(&config)
}

fn config(profile: Profile, metering: Metering) -> wasmtime::Result<Config> {
    let mut pool = PoolingAllocationConfig::new();
    let slots = pool_slots();
    pool.total_core_instances(slots)
        .total_tables(slots)
        .total_stacks(slots * STACKS_PER_RUN)
        .total_component_instances(0)
        .max_memory_size(MAX_MEMORY_BYTES)
        .max_core_instance_size(4 << 20)
        // Keep the pages a guest touched mapped, so the next instance in the
        // slot does not fault them in again: page faults, not instructions,
        // are most of a fresh run's cost. With PAGEMAP_SCAN (Linux 6.7+) the
        // pool finds the pages a run dirtied and resets only those; pages
        // past the budget are dropped and fault in again when used.
        .linear_memory_keep_resident(profile.keep_resident())
        // With swap on, the store empties a guest's table and drops its
        // memory before the pool resets them (`crate::store`).
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto)
        .async_stack_keep_resident(64 << 10);

    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .consume_fuel(metering == Metering::Fuel)
        .memory_init_cow(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(MAX_WASM_STACK + (1 << 20))
        .wasm_gc(false);
    match profile {
        Profile::Small => {
            pool.total_memories(slots).total_gc_heaps(0);
            config.wasm_exceptions(false);
        }
        Profile::Large => {
            // Exception objects live in a GC heap, and the pool gives each
            // instance's GC heap a memory slot of its own.
            pool.total_memories(2 * slots).total_gc_heaps(slots).table_elements(LARGE_TABLE_ELEMENTS);
            config.wasm_exceptions(true);
            // Cranelift hands each compiled function to this store: the only
            // place a long compile can be watched from, for its progress bar.
            config.enable_incremental_compilation(crate::progress::store())?;
        }
    }
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Ok(config)
}

/// Without the ticker no wall-time limit could fire, so failing to start it
/// fails every run.
fn start_ticker() -> Result<(), String> {
    std::thread::Builder::new()
        .name("stockade-epoch".into())
        .spawn(|| {
            loop {
                std::thread::sleep(EPOCH_TICK);
                for engine in ENGINES.iter().filter_map(OnceLock::get) {
                    engine.increment_epoch();
                }
            }
        })
        .map(drop)
        .map_err(|e| format!("cannot start the epoch ticker thread: {e}"))
}

/// Epoch ticks that cover at least `wall`.
pub fn ticks_for(wall: Duration) -> u64 {
    let tick = EPOCH_TICK.as_micros().max(1);
    u64::try_from(wall.as_micros().div_ceil(tick)).unwrap_or(u64::MAX).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_hold_at_most_half_the_slots() {
        let mut held = Vec::new();
        while let Some(slot) = Slot::acquire_for_session(Duration::ZERO) {
            held.push(slot);
            assert!(held.len() <= pool_slots() as usize, "sessions took every slot");
        }
        assert!(!held.is_empty() && held.len() <= (pool_slots() / 2).max(1) as usize, "{}", held.len());
        // A fresh run still gets a slot at once.
        let run = Slot::acquire();
        drop(held);
        // And once sessions let go, another can open.
        assert!(Slot::acquire_for_session(Duration::ZERO).is_some());
        drop(run);
    }

    #[test]
    fn a_run_waiting_for_a_slot_stops_when_cancelled_or_out_of_time() {
        let far = std::time::Instant::now() + Duration::from_secs(3600);
        let held: Vec<Slot> = (0..pool_slots()).map(|_| Slot::acquire()).collect();
        let made = stockade_core::Cancel::new();
        made.cancel();
        assert_eq!(Slot::acquire_until(Some(&made), far).err(), Some(NoSlot::Cancelled));
        let later = stockade_core::Cancel::new();
        let canceller = {
            let later = later.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                later.cancel();
            })
        };
        assert_eq!(
            Slot::acquire_until(Some(&later), far).err(),
            Some(NoSlot::Cancelled),
            "it waited past the cancel"
        );
        canceller.join().expect("canceller");
        let soon = std::time::Instant::now() + Duration::from_millis(50);
        assert_eq!(Slot::acquire_until(None, soon).err(), Some(NoSlot::TimedOut), "it waited past its time");
        drop(held);
        assert!(Slot::acquire_until(Some(&stockade_core::Cancel::new()), far).is_ok());
    }
}
