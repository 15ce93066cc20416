//! Guest sleeps that end at the run's deadline.
//!
//! A guest sleeps through WASI's `poll_oneoff`, and wasmtime-wasi's
//! `poll_oneoff` blocks the thread where no epoch can interrupt it, so a
//! `time.sleep(3600)` would outlive any wall-time limit. This module
//! replaces it: the host sleeps for the guest, never past the run's
//! deadline, and a sleep that reaches the deadline ends the run as an
//! epoch interrupt would. The guest's monotonic clock ([`RunClock`]) counts
//! from an instant the host knows, so absolute timeouts convert exactly.
//!
//! Only clocks can be waited on: the guest has no sockets, and its other
//! descriptors (stdio and files) are always ready, so a subscription to one
//! is answered at once without sleeping.

use crate::state::State;
use std::time::{Duration, Instant, SystemTime};
use wasmtime::{Caller, Linker, Result, Trap};
use wasmtime_wasi::HostMonotonicClock;

const SUBSCRIPTION_BYTES: usize = 48;
const EVENT_BYTES: usize = 32;
const TAG_CLOCK: u8 = 0;
const CLOCK_REALTIME: u32 = 0;
const FLAG_ABSOLUTE: u16 = 1;
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;
/// Subscriptions read per call at most: more than any libc asks for.
const MAX_SUBSCRIPTIONS: u32 = 4096;

/// The guest's monotonic clock: nanoseconds since `zero`.
#[derive(Clone, Copy, Debug)]
pub struct RunClock {
    /// The instant the clock reads 0.
    pub zero: Instant,
}

impl HostMonotonicClock for RunClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        u64::try_from(self.zero.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Replaces WASI's `poll_oneoff` in `linker` (which must already hold WASI).
pub fn add_to_linker(linker: &mut Linker<State>) -> Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "poll_oneoff",
        |mut caller: Caller<'_, State>, subs: u32, events: u32, count: u32, out_count: u32| {
            poll_oneoff(&mut caller, subs, events, count, out_count)
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// One subscription, decoded.
struct Subscription {
    userdata: [u8; 8],
    tag: u8,
    /// When a clock subscription fires; `None` for descriptors.
    due: Option<Instant>,
}

fn poll_oneoff(
    caller: &mut Caller<'_, State>,
    subs: u32,
    events: u32,
    count: u32,
    out_count: u32,
) -> Result<i32> {
    if count == 0 || count > MAX_SUBSCRIPTIONS {
        return Ok(ERRNO_INVAL);
    }
    let Some(memory) = crate::door::guest_memory(caller) else { return Ok(ERRNO_FAULT) };
    let zero = caller.data().clock.zero;
    let deadline = caller.data().deadline;
    let n = count as usize;
    let subscriptions: Vec<Subscription> = {
        let Some(bytes) = slice(memory.data(&*caller), subs, n * SUBSCRIPTION_BYTES) else {
            return Ok(ERRNO_FAULT);
        };
        bytes.chunks_exact(SUBSCRIPTION_BYTES).map(|sub| decode(sub, zero)).collect()
    };

    // A descriptor is always ready, so any wait ends at once.
    let ready_now = subscriptions.iter().any(|s| s.due.is_none());
    if !ready_now {
        let due = subscriptions.iter().filter_map(|s| s.due).min().unwrap_or_else(Instant::now);
        let until = deadline.map_or(due, |deadline| due.min(deadline));
        sleep_until(until, caller.data().cancel.as_ref())?;
        if deadline.is_some_and(|deadline| due > deadline) {
            return Err(Trap::Interrupt.into());
        }
    }

    let now = Instant::now();
    let fired: Vec<&Subscription> =
        subscriptions.iter().filter(|s| s.due.is_none_or(|due| due <= now)).collect();
    let data = memory.data_mut(&mut *caller);
    let Some(out) = slice_mut(data, events, fired.len() * EVENT_BYTES) else { return Ok(ERRNO_FAULT) };
    for (event, sub) in out.chunks_exact_mut(EVENT_BYTES).zip(&fired) {
        event.fill(0);
        event[0..8].copy_from_slice(&sub.userdata);
        event[10] = sub.tag;
    }
    let Some(slot) = slice_mut(data, out_count, 4) else { return Ok(ERRNO_FAULT) };
    slot.copy_from_slice(&(fired.len() as u32).to_le_bytes());
    Ok(ERRNO_SUCCESS)
}

/// Sleeps until `until`, looking at `cancel` every epoch tick.
fn sleep_until(until: Instant, cancel: Option<&stockade_core::Cancel>) -> Result<()> {
    loop {
        let Some(left) = until.checked_duration_since(Instant::now()) else { return Ok(()) };
        let Some(cancel) = cancel else {
            std::thread::sleep(left);
            return Ok(());
        };
        if cancel.is_cancelled() {
            return Err(crate::run::Cancelled.into());
        }
        std::thread::sleep(left.min(crate::engine::EPOCH_TICK));
    }
}

fn decode(sub: &[u8], zero: Instant) -> Subscription {
    let u64_at = |at: usize| u64::from_le_bytes(sub[at..at + 8].try_into().unwrap_or_default());
    let mut userdata = [0; 8];
    userdata.copy_from_slice(&sub[0..8]);
    let tag = sub[8];
    if tag != TAG_CLOCK {
        return Subscription { userdata, tag, due: None };
    }
    let id = u32::from_le_bytes(sub[16..20].try_into().unwrap_or_default());
    let timeout = u64_at(24);
    let flags = u16::from_le_bytes(sub[40..42].try_into().unwrap_or_default());
    let now = Instant::now();
    let relative = if flags & FLAG_ABSOLUTE == 0 {
        Duration::from_nanos(timeout)
    } else if id == CLOCK_REALTIME {
        let since_epoch = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        Duration::from_nanos(timeout).saturating_sub(since_epoch)
    } else {
        // Every other clock the guest can read is `RunClock`.
        (zero + Duration::from_nanos(timeout)).saturating_duration_since(now)
    };
    // A timeout too far to represent is a sleep past any deadline.
    let due = now.checked_add(relative).unwrap_or(now + Duration::from_secs(100 * 365 * 86_400));
    Subscription { userdata, tag, due: Some(due) }
}

fn slice(memory: &[u8], at: u32, len: usize) -> Option<&[u8]> {
    memory.get(at as usize..(at as usize).checked_add(len)?)
}

fn slice_mut(memory: &mut [u8], at: u32, len: usize) -> Option<&mut [u8]> {
    memory.get_mut(at as usize..(at as usize).checked_add(len)?)
}
