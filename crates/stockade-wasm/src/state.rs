//! What each store carries.

use crate::clock::RunClock;
use crate::door::{FrameError, ResultFrame};
use crate::limiter::MemoryLimiter;
use std::sync::Arc;
use std::time::Instant;
use stockade_core::{Cancel, ToolHost};
use wasmtime_wasi::p1::WasiP1Ctx;

/// The host state of one guest instance.
pub struct State {
    /// The guest's WASI view: its stdio, environment and (none) files.
    pub wasi: WasiP1Ctx,
    /// Memory accounting.
    pub limiter: MemoryLimiter,
    /// Who answers `host::call`; `None` when the run has no tools.
    pub tools: Option<Arc<dyn ToolHost>>,
    /// The guest's monotonic clock.
    pub clock: RunClock,
    /// When the run's wall time ends: a guest sleep stops here.
    pub deadline: Option<Instant>,
    /// The result frame a guest sent through the door (CPython's hooks
    /// report the last expression's value or the uncaught exception so).
    pub report: Option<Result<ResultFrame, FrameError>>,
    /// The largest result frame accepted.
    pub report_cap: u64,
    /// Stops the current run when made; checked every epoch tick and in sleeps.
    pub cancel: Option<Cancel>,
    /// The guest's linear memory once its instance exists: what
    /// [`crate::store::GuestStore`] forgets before the pool reuses it.
    pub memory: Option<wasmtime::Memory>,
    /// The guest's function table, which that store empties likewise.
    pub table: Option<wasmtime::Table>,
}

impl State {
    /// A state with no tools, no deadline and no report yet.
    pub fn new(wasi: WasiP1Ctx, limiter: MemoryLimiter, clock: RunClock) -> State {
        State {
            wasi,
            limiter,
            tools: None,
            clock,
            deadline: None,
            report: None,
            report_cap: 0,
            cancel: None,
            memory: None,
            table: None,
        }
    }
}
