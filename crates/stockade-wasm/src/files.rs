//! File grants: the host folders a guest may see, read-only or read-write,
//! for every guest alike.
//!
//! Each `[[files.grants]]` becomes a WASI preopen. wasmtime-wasi resolves
//! every guest path inside its preopen with cap-std, which refuses `..`
//! past the grant's root, absolute paths, and symlinks that lead out of it;
//! a read-only grant refuses every write, including metadata, renames and
//! links into or out of it. Beyond that, stockade refuses:
//! - **symlink creation**: a link the guest leaves in a read-write grant
//!   would still be there after the run, pointing wherever the guest chose,
//!   and the host's next read of the guest's output (an agent reading a
//!   result file) would follow it to the host's own secrets;
//! - grants at or under the guest's reserved paths (CPython's library),
//!   which would replace what the guest's runtime reads.
//!
//! `files.tmp_bytes` adds a scratch `/tmp`: a private, size-capped tmpfs
//! per run or session ([`crate::scratch`]). A sandbox with a workspace
//! ([`stockade_core::workspace`]) gives its folders instead, `/workspace`
//! and `/tmp`, the same for every run.
//!
//! A hard link the *host* placed in a grant is, by what a hard link is,
//! the file itself; nothing inside the sandbox can tell it apart.

use stockade_core::{SandboxError, WasmError};
use stockade_policy::{FileMode, FilesPolicy, PolicyError};
use wasmtime::{Caller, Linker, Result};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::state::State;

/// WASI's `EPERM`.
const ERRNO_PERM: i32 = 63;
/// WASI's `EXDEV`.
const ERRNO_XDEV: i32 = 75;
/// WASI's `EIO`.
const ERRNO_IO: i32 = 29;

/// Where the scratch folder appears in the guest.
const SCRATCH: &str = "/tmp";

/// Mounts the policy's grants, and the workspace's folders or else its
/// scratch `/tmp` when it asks for one ([`crate::scratch`]), into the
/// guest's view. `reserved` are guest paths the guest's runtime needs for
/// itself; a grant at or under one is refused. Returns the `/tmp` folder,
/// opened for the host (a session's files), when there is one.
pub(crate) fn mount(
    wasi: &mut WasiCtxBuilder,
    files: &FilesPolicy,
    reserved: &[&str],
    workspace: Option<&stockade_core::Workspace>,
) -> Result<Option<std::fs::File>, SandboxError> {
    let mut root = None;
    if let Some(workspace) = workspace {
        for (folder, guest) in stockade_core::workspace::FOLDERS {
            let path = workspace.host_path(folder);
            wasi.preopened_dir(&path, guest, FsPerms::ReadWrite)
                .map_err(|e| WasmError::engine("open the workspace's folders", e))?;
            if guest == SCRATCH {
                root = Some(
                    std::fs::File::open(&path)
                        .map_err(|e| WasmError::engine("open the workspace's /tmp for the host", e))?,
                );
            }
        }
    } else if files.tmp_bytes > 0 {
        let scratch = crate::scratch::Scratch::mount(files.tmp_bytes)?;
        // The preopen opens its own descriptor; `scratch` may go after.
        wasi.preopened_dir(scratch.path(), SCRATCH, FsPerms::ReadWrite)
            .map_err(|e| WasmError::engine("open the guest's /tmp", e))?;
        root = Some(
            std::fs::File::open(scratch.path())
                .map_err(|e| WasmError::engine("open the guest's /tmp for the host", e))?,
        );
    }
    for (i, grant) in files.grants.iter().enumerate() {
        let key = format!("files.grants[{i}]");
        if let Some(taken) = reserved.iter().find(|r| within(&grant.guest, r)) {
            return Err(PolicyError::invalid(
                format!("{key}.guest"),
                format!("{taken} is where this guest keeps its own runtime; grant the folder elsewhere"),
            )
            .into());
        }
        let perms = match grant.mode {
            FileMode::Ro => FsPerms::ReadOnly,
            FileMode::Rw => FsPerms::ReadWrite,
        };
        // The facade resolved and checked the folder when the sandbox was
        // built ([`host_dir`]); here it is only opened.
        wasi.preopened_dir(&grant.host, &grant.guest, perms).map_err(|e| {
            PolicyError::invalid(format!("{key}.host"), format!("cannot open {}: {e:#}", grant.host))
        })?;
    }
    Ok(root)
}

/// Each grant's guest path and whether it is read-only, for the guest
/// runtimes to refuse what WASI cannot say no to (a `chmod`, which it has
/// no call for).
pub(crate) fn mounts(files: &FilesPolicy) -> Vec<(&str, bool)> {
    files.grants.iter().map(|grant| (grant.guest.as_str(), grant.mode == FileMode::Ro)).collect()
}

/// The grant's host folder as an absolute path (a relative one is taken
/// from the current directory), which must be an existing directory.
pub fn host_dir(key: &str, host: &str) -> Result<std::path::PathBuf, SandboxError> {
    let path = std::path::absolute(host)
        .map_err(|e| PolicyError::invalid(format!("{key}.host"), format!("{host}: {e}")))?;
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => Ok(path),
        Ok(_) => {
            Err(PolicyError::invalid(format!("{key}.host"), format!("{} is not a directory", path.display()))
                .into())
        }
        Err(e) => Err(PolicyError::invalid(format!("{key}.host"), format!("{}: {e}", path.display())).into()),
    }
}

/// Whether `path` is `root` or inside it.
fn within(path: &str, root: &str) -> bool {
    path == root || path.strip_prefix(root).is_some_and(|rest| rest.starts_with('/'))
}

/// Replaces WASI's `path_symlink` and `path_link` in `linker` (which must
/// already hold WASI) with ones that refuse.
pub(crate) fn add_to_linker(linker: &mut Linker<State>) -> Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "path_symlink",
        |_caller: Caller<'_, State>, _old: u32, _old_len: u32, _fd: u32, _new: u32, _new_len: u32| ERRNO_PERM,
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "path_link",
        |_caller: Caller<'_, State>, _: u32, _: u32, _: u32, _: u32, _: u32, _: u32, _: u32| ERRNO_PERM,
    )?;
    linker.func_wrap("wasi_snapshot_preview1", "path_rename", rename)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// WASI's `path_rename`, answering `EXDEV` for a rename between two
/// preopens (the scratch `/tmp` and a grant, or two grants) that failed
/// with `EIO`: wasmtime-wasi 48 maps the kernel's `EXDEV` to `EIO` (and
/// reports every folder's device as 1, so the devices cannot be compared
/// first). A program that copies on `EXDEV` (a `mv`, Python's
/// `shutil.move`) then does; a rename within one folder keeps its `EIO`.
fn rename(
    mut caller: Caller<'_, State>,
    fd: i32,
    old: i32,
    old_len: i32,
    new_fd: i32,
    new: i32,
    new_len: i32,
) -> Result<i32> {
    let Some(memory) = crate::door::guest_memory(&mut caller) else { return Ok(ERRNO_PERM) };
    let (bytes, state) = memory.data_and_store_mut(&mut caller);
    let mut guest = wiggle::GuestMemory::Unshared(bytes);
    let renamed = wasmtime_wasi::runtime::in_tokio(wasmtime_wasi::p1::wasi_snapshot_preview1::path_rename(
        &mut state.wasi,
        &mut guest,
        fd,
        old,
        old_len,
        new_fd,
        new,
        new_len,
    ))?;
    Ok(if renamed == ERRNO_IO && fd != new_fd { ERRNO_XDEV } else { renamed })
}
