//! What each store carries.

use crate::limiter::MemoryLimiter;
use wasmtime_wasi::p1::WasiP1Ctx;

/// The host state of one guest instance.
pub struct State {
    /// The guest's WASI view: its stdio, environment and (none) files.
    pub wasi: WasiP1Ctx,
    /// Memory accounting.
    pub limiter: MemoryLimiter,
}
