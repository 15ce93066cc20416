//! What `stockade doctor` reports: the state of this machine's guests.

use std::path::PathBuf;
use stockade_core::{Language, SandboxError};
use stockade_wasm::WasmBackend;

/// The private directory compiled guests are cached in (created if missing).
pub fn cache_dir() -> Result<PathBuf, SandboxError> {
    WasmBackend.cache_dir()
}

/// Whether the guest for `language` is compiled and cached, so the next
/// process starts it without compiling.
pub fn is_prepared(language: Language, fuel: bool) -> Result<bool, SandboxError> {
    WasmBackend.is_prepared(language, fuel)
}
