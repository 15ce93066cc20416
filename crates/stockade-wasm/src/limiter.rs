//! Memory accounting for one store: the policy's limit, the peak, and
//! whether the guest was refused memory (so an out-of-memory error can be
//! reported as the limit it is).

use wasmtime::{ResourceLimiter, Result};

/// Table elements a guest may have. QuickJS's function table is fixed-size;
/// this only stops a hostile module from growing one without bound.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Per-store memory limits.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    peak: usize,
    denied: bool,
}

impl MemoryLimiter {
    /// A limiter that allows `limit` bytes of linear memory.
    pub fn new(limit: u64) -> Self {
        MemoryLimiter { limit: usize::try_from(limit).unwrap_or(usize::MAX), peak: 0, denied: false }
    }

    /// The largest linear memory granted so far.
    pub fn peak(&self) -> u64 {
        self.peak as u64
    }

    /// Whether a growth was refused because of the limit.
    pub fn denied(&self) -> bool {
        self.denied
    }

    /// Starts a new turn: a refusal in an earlier one says nothing of this.
    pub fn forget_denial(&mut self) {
        self.denied = false;
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> Result<bool> {
        if desired > self.limit {
            self.denied = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }

    fn memories(&self) -> usize {
        1
    }
}
