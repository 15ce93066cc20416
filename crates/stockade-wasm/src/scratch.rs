//! The guest's scratch `/tmp`: a private tmpfs of `files.tmp_bytes`, in
//! memory, that the kernel itself holds to its size. It is a detached mount
//! ([`stockade_jail::tmpfs`]), reachable only through its descriptor: the
//! run's WASI view holds the last one, so the files go when the run (or
//! session) does.

use std::os::fd::OwnedFd;
use stockade_core::{SandboxError, WasmError};

/// A mounted scratch folder, reachable through the descriptor it holds.
pub struct Scratch {
    mount: OwnedFd,
}

impl Scratch {
    /// Mounts a private tmpfs of `bytes`.
    pub fn mount(bytes: u64) -> Result<Scratch, SandboxError> {
        let mount = stockade_jail::tmpfs::detached(bytes, 0o700, false)
            .map_err(|why| WasmError::ScratchRefused { why })?;
        Ok(Scratch { mount })
    }

    /// A host path that opens the scratch folder's root.
    pub fn path(&self) -> std::path::PathBuf {
        stockade_jail::tmpfs::path_of(&self.mount)
    }
}
