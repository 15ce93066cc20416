//! The JavaScript guest: QuickJS, built for WASI by `guests/quickjs`, and
//! its calling convention. Per turn, `p = alloc(len)`, the UTF-8 code at
//! `p`, then `run(p, len)`, which returns the result frame's place and
//! length packed in a `u64` ([`door::read_frame`]). The CPython guest's
//! convention is beside it, in [`crate::python`].

use crate::door::{self, FrameError, ResultFrame};
use crate::guest::Compiled;
use crate::run::{Ending, engine_error};
use crate::state::State;
use stockade_core::{SandboxError, WasmError};
use wasmtime::{Store, Trap, TypedFunc};

/// A QuickJS instance's exports that a turn calls.
pub(crate) struct Interpreter {
    instance: wasmtime::Instance,
    alloc: TypedFunc<u32, u32>,
    run: TypedFunc<(u32, u32), u64>,
}

/// Instantiates QuickJS and finds its exports.
pub(crate) async fn open(
    compiled: &Compiled,
    store: &mut Store<State>,
) -> Result<Result<(Interpreter, wasmtime::Memory), Ending>, SandboxError> {
    let instance = match compiled.pre.instantiate_async(&mut *store).await {
        Ok(instance) => instance,
        // As for CPython: a limit below what the module starts with is the
        // policy's mistake, before any code ran, not a run that hit it.
        Err(_) if store.data().limiter.denied() => {
            let needed_mib = crate::guest::initial_memory(compiled).div_ceil(1 << 20);
            return Err(WasmError::MemoryTooSmall { guest: "QuickJS", needed_mib }.into());
        }
        Err(e)
            if e.downcast_ref::<Trap>().is_some() || e.downcast_ref::<crate::run::Cancelled>().is_some() =>
        {
            return Ok(Err(Ending::Trap(e)));
        }
        Err(e) => return Err(engine_error(e)),
    };
    crate::store::remember_exports(&instance, store);
    let alloc = instance.get_typed_func::<u32, u32>(&mut *store, door::ALLOC).map_err(engine_error)?;
    let run = instance.get_typed_func::<(u32, u32), u64>(&mut *store, door::RUN).map_err(engine_error)?;
    let memory = instance.get_memory(&mut *store, door::MEMORY).ok_or(WasmError::Abi("exports no memory"))?;
    Ok(Ok((Interpreter { instance, alloc, run }, memory)))
}

impl Interpreter {
    /// Hands QuickJS the code, runs it and reads the result frame. Traps
    /// are endings, not errors; only host failures are `Err`.
    pub(crate) async fn turn(
        &self,
        store: &mut Store<State>,
        memory: wasmtime::Memory,
        code: &str,
        frame_cap: u64,
    ) -> Result<Ending, SandboxError> {
        let len = u32::try_from(code.len())
            .map_err(|_| SandboxError::Request("the code is larger than 4 GiB".into()))?;
        let ptr = match self.alloc.call_async(&mut *store, len).await {
            Ok(ptr) => ptr,
            Err(e) => return Ok(Ending::Trap(e)),
        };
        if memory.write(&mut *store, ptr as usize, code.as_bytes()).is_err() {
            return Ok(Ending::Trap(wasmtime::format_err!("the guest gave an invalid code buffer")));
        }
        let packed = match self.run.call_async(&mut *store, (ptr, len)).await {
            Ok(packed) => packed,
            Err(_) if stack_exhausted(&self.instance, store) => return Ok(Ending::StackExhausted),
            Err(e) => return Ok(Ending::Trap(e)),
        };
        Ok(match door::read_frame(memory.data(&*store), packed, frame_cap) {
            Ok(frame) => Ending::Frame(frame),
            Err(FrameError::TooLarge(_)) => Ending::FrameTooLarge,
            Err(FrameError::Malformed(why)) => Ending::Frame(ResultFrame::protocol_error(format!(
                "the guest returned a malformed result: {why}"
            ))),
        })
    }
}

/// Whether the guest's shadow stack ran out. Guests are linked with the
/// stack first in memory, so an overflow moves `__stack_pointer` below
/// address 0 (wrapping to the top of the 32-bit space) or into the last
/// few kilobytes before it, and the next access traps.
fn stack_exhausted(instance: &wasmtime::Instance, store: &mut Store<State>) -> bool {
    const RED_ZONE: u32 = 64 * 1024;
    match instance.get_global(&mut *store, door::STACK_POINTER).map(|g| g.get(&mut *store)) {
        Some(wasmtime::Val::I32(sp)) => (sp as u32) < RED_ZONE || (sp as u32) > u32::MAX - (16 << 20),
        _ => false,
    }
}
