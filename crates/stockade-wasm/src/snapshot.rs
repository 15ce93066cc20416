//! Pre-initialised guests: run a guest's `wizer-initialize` once, snapshot
//! its memory with wasmtime-wizer, and keep the result in the cache, so
//! every fresh instance starts with a ready interpreter.

use crate::cache::{self, Cache};
use crate::limiter::MemoryLimiter;
use crate::state::State;
use wasmtime::{Linker, Result, Store};
use wasmtime_wasi::WasiCtxBuilder;

/// Version of the snapshot pipeline; bump it to invalidate old snapshots.
pub(crate) const PIPELINE: &[u8] = b"wizer-48.0.8/stockade-3";

/// Memory the initialisation run may use.
const INIT_MEMORY: u64 = 512 << 20;

/// The snapshot of `wasm`, from the cache or made now.
pub fn snapshot(cache: &Cache, name: &str, wasm: &[u8]) -> Result<Vec<u8>> {
    let entry = format!("{name}-{}.wasm", cache::key(&[PIPELINE, wasm]));
    if let Some(bytes) = cache.load(&entry) {
        return Ok(bytes);
    }
    let snapshot = make(wasm)?;
    cache.store(&entry, &snapshot)?;
    Ok(snapshot)
}

fn make(wasm: &[u8]) -> Result<Vec<u8>> {
    let engine = crate::engine::scratch_engine(crate::engine::Profile::Small)?;
    let mut linker: Linker<State> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut State| &mut state.wasi)?;
    crate::host_call::add_to_linker(&mut linker)?;
    // The initialiser sees nothing of the host: no env, no files, no stdio, no tools.
    let clock = crate::clock::RunClock { zero: std::time::Instant::now() };
    let state = State::new(WasiCtxBuilder::new().build_p1(), MemoryLimiter::new(INIT_MEMORY), clock);
    let mut store = Store::new(&engine, state);
    store.limiter(|state| &mut state.limiter);
    let wizer = wasmtime_wizer::Wizer::new();
    pollster::block_on(
        wizer.run(&mut store, wasm, async |store, module| linker.instantiate_async(store, module).await),
    )
}
