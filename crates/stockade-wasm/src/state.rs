//! What each store carries.

use crate::limiter::MemoryLimiter;
use std::sync::Arc;
use stockade_core::ToolHost;
use wasmtime_wasi::p1::WasiP1Ctx;

/// The host state of one guest instance.
pub struct State {
    /// The guest's WASI view: its stdio, environment and (none) files.
    pub wasi: WasiP1Ctx,
    /// Memory accounting.
    pub limiter: MemoryLimiter,
    /// Who answers `host::call`; `None` when the run has no tools.
    pub tools: Option<Arc<dyn ToolHost>>,
}
