//! The process-wide wasmtime engines and the epoch ticker.
//!
//! There are two engines because fuel metering changes the compiled code:
//! one meters fuel, one does not, and each has its own `.cwasm` files. Both
//! use epoch interruption (driven by one ticker thread), the pooling
//! allocator and copy-on-write memory images, so a fresh instance costs tens
//! of microseconds.

use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. A wall-time limit fires at most this late.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Deepest native wasm stack a guest may use. The guest's shadow stack (in
/// its linear memory) normally runs out first; either way the run ends with
/// a stack-overflow error.
const MAX_WASM_STACK: usize = 8 << 20;

/// Instances that may exist at once, per engine.
const POOL_SLOTS: u32 = 512;

/// Largest linear memory the pool reserves per slot (wasm32's whole space).
const MAX_MEMORY_BYTES: usize = 4 << 30;

/// Whether an engine meters fuel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metering {
    /// No fuel: the fast default.
    Off,
    /// Fuel consumed per instruction; used only when the policy sets `limits.fuel`.
    Fuel,
}

static PLAIN: OnceLock<Engine> = OnceLock::new();
static METERED: OnceLock<Engine> = OnceLock::new();
static TICKER: OnceLock<Result<(), String>> = OnceLock::new();

/// The shared engine for `metering`, created on first use, with the ticker
/// that drives its wall-time deadlines.
pub fn engine(metering: Metering) -> wasmtime::Result<&'static Engine> {
    let cell = match metering {
        Metering::Off => &PLAIN,
        Metering::Fuel => &METERED,
    };
    let engine = match cell.get() {
        Some(engine) => engine,
        None => {
            let created = Engine::new(&config(metering))?;
            cell.get_or_init(|| created)
        }
    };
    TICKER.get_or_init(start_ticker).clone().map_err(wasmtime::Error::msg)?;
    Ok(engine)
}

/// An engine for one-off work that is run once and thrown away (the wizer
/// initialisation run): no pool, fast compilation.
pub fn scratch_engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config
        .cranelift_opt_level(wasmtime::OptLevel::None)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(MAX_WASM_STACK + (1 << 20));
    Engine::new(&config)
}

fn config(metering: Metering) -> Config {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(POOL_SLOTS)
        .total_memories(POOL_SLOTS)
        .total_tables(POOL_SLOTS)
        .total_stacks(POOL_SLOTS)
        .total_component_instances(0)
        .max_memory_size(MAX_MEMORY_BYTES)
        .max_core_instance_size(4 << 20)
        // Keep the pages a guest touched mapped, so the next instance in the
        // slot does not fault them in again; the pool resets their contents.
        .linear_memory_keep_resident(1 << 20)
        .async_stack_keep_resident(64 << 10);

    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .consume_fuel(metering == Metering::Fuel)
        .memory_init_cow(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(MAX_WASM_STACK + (1 << 20))
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Without the ticker no wall-time limit could fire, so failing to start it
/// fails every run.
fn start_ticker() -> Result<(), String> {
    std::thread::Builder::new()
        .name("stockade-epoch".into())
        .spawn(|| {
            loop {
                std::thread::sleep(EPOCH_TICK);
                for engine in [PLAIN.get(), METERED.get()].into_iter().flatten() {
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
