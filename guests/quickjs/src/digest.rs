//! `crypto.subtle.digest`'s hashing: SHA-1 and the SHA-2 family, by the
//! RustCrypto crates rather than by hand. The prelude wraps it in the
//! Promise-returning Web Crypto shape and hides this function.

use rquickjs::{ArrayBuffer, Ctx, Exception, Function, TypedArray};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// Gives the prelude `__stockade_digest(name, bytes)`: the digest of a
/// `Uint8Array` under `SHA-1`, `SHA-256`, `SHA-384` or `SHA-512`, as an
/// `ArrayBuffer`.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    ctx.globals().set("__stockade_digest", Function::new(ctx.clone(), digest)?.with_name("digest")?)
}

fn digest<'js>(ctx: Ctx<'js>, name: String, data: TypedArray<'js, u8>) -> rquickjs::Result<ArrayBuffer<'js>> {
    // SAFETY: no JavaScript runs while the slice is alive, so nothing can
    // detach or resize the array under it (and the prelude hands over a
    // copy of the guest's bytes, which nothing else refers to).
    let bytes: &[u8] = unsafe { data.as_slice() };
    let hash = match name.as_str() {
        "SHA-1" => Sha1::digest(bytes).to_vec(),
        "SHA-256" => Sha256::digest(bytes).to_vec(),
        "SHA-384" => Sha384::digest(bytes).to_vec(),
        "SHA-512" => Sha512::digest(bytes).to_vec(),
        other => return Err(Exception::throw_type(&ctx, &format!("no digest named {other}"))),
    };
    ArrayBuffer::new(ctx, hash)
}
