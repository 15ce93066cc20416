//! A sandbox's workspace: files that outlive its runs, shared by all of its
//! guests.
//!
//! A workspace is one size-capped tmpfs that no host path names: a detached
//! mount, reachable only through the descriptor this holds. Its root holds
//! one folder per guest path in [`FOLDERS`]. Every run and session of a
//! sandbox that has one sees those folders at the same guest paths, so a
//! file one language writes, another reads: a WebAssembly guest through
//! WASI preopens of them, a jailed program through bind mounts of them in
//! its own root. The files go when the workspace and every run using it do.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

/// The workspace's folders: `(name in its root, guest path)`. Both are
/// writable; `/tmp` replaces the guest's own scratch `/tmp`.
pub const FOLDERS: [(&str, &str); 2] = [("workspace", "/workspace"), ("tmp", "/tmp")];

/// A workspace, as the backends are handed it.
#[derive(Debug)]
pub struct Workspace {
    mount: OwnedFd,
    bytes: u64,
}

impl Workspace {
    /// The workspace whose files are on `mount`: a detached mount of a
    /// tmpfs of `bytes`, whose root already holds the [`FOLDERS`].
    pub fn new(mount: OwnedFd, bytes: u64) -> Workspace {
        Workspace { mount, bytes }
    }

    /// The mount's descriptor, for a jail to attach its folders.
    pub fn mount(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.mount.as_fd()
    }

    /// Its size: what all of its files together may hold.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// A host path that opens the folder `name` (one of [`FOLDERS`]).
    /// Opening it resolves through this process's descriptor table, so it
    /// holds only while this workspace does. What lies beneath it was
    /// made by guests: open it without following links.
    pub fn host_path(&self, name: &str) -> PathBuf {
        format!("/proc/self/fd/{}/{name}", self.mount.as_raw_fd()).into()
    }
}
