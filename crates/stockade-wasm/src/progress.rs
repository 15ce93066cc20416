//! Progress of long compiles, for a progress bar.
//!
//! Compiling CPython takes a minute or more, and wasmtime offers no
//! progress callback. Cranelift's incremental-compilation cache is the one
//! place that sees each function as it is compiled, so the large engines
//! get a cache store that keeps nothing and counts every function handed to
//! it. Whoever shows progress (the CLI's bar) installs an [`Observer`]; a
//! library user who installs none sees nothing.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use wasmtime::CacheStore;

/// Told about long compiles as they happen. Called from compiler threads.
pub trait Observer: Send + Sync {
    /// A compile of `total` functions of `what` (a guest's name) began.
    fn started(&self, what: &str, total: u64);
    /// `done` of the functions are compiled.
    fn advanced(&self, done: u64);
    /// The compile ended (it may have failed).
    fn finished(&self);
}

static OBSERVER: RwLock<Option<Arc<dyn Observer>>> = RwLock::new(None);
static DONE: AtomicU64 = AtomicU64::new(0);

/// Installs the process's observer, replacing any earlier one.
pub fn set_observer(observer: Arc<dyn Observer>) {
    *OBSERVER.write().unwrap_or_else(|p| p.into_inner()) = Some(observer);
}

fn observer() -> Option<Arc<dyn Observer>> {
    OBSERVER.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Held by the one compile that may run at a time in this process: a
/// CPython compile takes 2.2 GB and every core, so a second one (its fuel
/// variant, say) waits rather than double both; and the count above then
/// belongs to one compile.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Waits for any other compile to end, then reports a compile of `wasm`
/// (named `what`) for as long as the returned guard lives.
pub(crate) fn compiling(what: &str, wasm: &[u8]) -> Compiling {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    DONE.store(0, Ordering::Relaxed);
    if let Some(observer) = observer() {
        observer.started(what, function_count(wasm));
    }
    Compiling(turn)
}

/// Ends the report when dropped, on success or failure alike, and lets the
/// next compile start.
pub(crate) struct Compiling(#[expect(dead_code, reason = "held, not read")] MutexGuard<'static, ()>);

impl Drop for Compiling {
    fn drop(&mut self) {
        if let Some(observer) = observer() {
            observer.finished();
        }
    }
}

/// Functions defined in `wasm`: the length of its code section.
fn function_count(wasm: &[u8]) -> u64 {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::CodeSectionStart { count, .. }) => return u64::from(count),
            Ok(_) => {}
            Err(_) => return 0,
        }
    }
    0
}

/// The cache store the large engines compile through.
pub(crate) fn store() -> Arc<dyn CacheStore> {
    static STORE: OnceLock<Arc<dyn CacheStore>> = OnceLock::new();
    STORE.get_or_init(|| Arc::new(Counter)).clone()
}

/// A cache that keeps nothing: every lookup misses, so cranelift compiles
/// each function and then offers it here, which is what is counted.
#[derive(Debug)]
struct Counter;

impl CacheStore for Counter {
    fn get(&self, _key: &[u8]) -> Option<Cow<'_, [u8]>> {
        None
    }

    fn insert(&self, _key: &[u8], _value: Vec<u8>) -> bool {
        let done = DONE.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(observer) = observer() {
            observer.advanced(done);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_functions_a_module_defines() {
        let wasm = wat::parse_str("(module (func) (func (param i32)) (func (result i32) i32.const 1))")
            .expect("wat");
        assert_eq!(function_count(&wasm), 3);
        assert_eq!(function_count(b"not wasm"), 0);
    }
}
