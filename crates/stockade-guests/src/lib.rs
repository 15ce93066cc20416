//! The guest programs stockade runs inside WebAssembly.
//!
//! They are built for `wasm32-wasip1` by this crate's build script from the
//! crates under `guests/`, and embedded here so a stockade binary carries
//! everything it needs to run JavaScript.
#![deny(missing_docs)]

/// The QuickJS guest (`guests/quickjs`), before its wizer snapshot.
///
/// Its exports are `wizer-initialize`, `stockade_alloc` and `stockade_run`;
/// see `guests/quickjs/src/lib.rs` for the calling convention.
pub static QUICKJS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/quickjs.wasm"));

/// The SHA-256 of [`QUICKJS`], hex, computed when it was built.
pub static QUICKJS_SHA256: &str = include_str!(concat!(env!("OUT_DIR"), "/quickjs.sha256"));
