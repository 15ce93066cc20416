//! `Math.random`, drawn from a generator reseeded from the host's entropy
//! at the start of every run.
//!
//! QuickJS seeds its own generator when the context is made, and the
//! context is made before the snapshot is taken: every fresh instance would
//! start from the same state and draw the same numbers, so any id or token
//! a guest drew would be predictable, across the tenants of one server too.
//! This generator's state is never touched before the snapshot (it is
//! zero there) and is reseeded through WASI's `random_get`, which the host
//! serves from its CSPRNG, before each run's code starts.
//!
//! It is xorshift128+, as in V8 and SpiderMonkey: `Math.random` is not meant
//! to be a cryptographic generator, only an unpredictable one. What must be
//! (`crypto.getRandomValues`, `crypto.randomUUID`) reads `random_get`
//! directly, each time.

use rquickjs::{ArrayBuffer, Ctx, Function, Object};
use std::cell::Cell;

thread_local! {
    static STATE: Cell<[u64; 2]> = const { Cell::new([0, 0]) };
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    /// WASI's `random_get(buf, len) -> errno`.
    #[link_name = "random_get"]
    fn wasi_random_get(buf: *mut u8, len: usize) -> i32;
}

/// Replaces QuickJS's `Math.random` with this module's generator, and
/// gives the prelude `__stockade_random_bytes(n)`: an `ArrayBuffer` of `n`
/// bytes from the host's CSPRNG, for `crypto` (which hides it).
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let math: Object = ctx.globals().get("Math")?;
    math.set("random", Function::new(ctx.clone(), next)?.with_name("random")?)?;
    let bytes = Function::new(ctx.clone(), random_bytes)?.with_name("randomBytes")?;
    ctx.globals().set("__stockade_random_bytes", bytes)?;
    Ok(())
}

/// `len` bytes from the host's CSPRNG.
fn random_bytes<'js>(ctx: Ctx<'js>, len: u32) -> rquickjs::Result<ArrayBuffer<'js>> {
    let mut buffer = vec![0u8; len as usize];
    // SAFETY: `buffer` is a live, writable buffer of exactly `buffer.len()` bytes.
    let errno = unsafe { wasi_random_get(buffer.as_mut_ptr(), buffer.len()) };
    if errno != 0 {
        return Err(rquickjs::Exception::throw_internal(&ctx, "the host's random_get failed"));
    }
    ArrayBuffer::new(ctx, buffer)
}

/// Seeds the generator afresh from the host's entropy.
pub fn reseed() {
    let mut seed = [0u8; 16];
    // SAFETY: `seed` is a live, writable buffer of exactly `seed.len()` bytes.
    let errno = unsafe { wasi_random_get(seed.as_mut_ptr(), seed.len()) };
    let word = |at: usize| u64::from_le_bytes(std::array::from_fn(|i| seed[at + i]));
    let state = [word(0), word(8)];
    // No entropy: stop the guest rather than hand out a fixed sequence.
    assert!(errno == 0 && state != [0, 0], "random_get failed (errno {errno}): Math.random has no seed");
    STATE.set(state);
}

/// The next number in [0, 1), with 53 random bits.
fn next() -> f64 {
    if STATE.get() == [0, 0] {
        reseed();
    }
    let [mut s1, s0] = STATE.get();
    s1 ^= s1 << 23;
    s1 ^= s1 >> 17;
    s1 ^= s0;
    s1 ^= s0 >> 26;
    STATE.set([s0, s1]);
    (s0.wrapping_add(s1) >> 11) as f64 / (1u64 << 53) as f64
}
