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
//! per run or session ([`crate::scratch`]).
//!
//! A hard link the *host* placed in a grant is, by what a hard link is,
//! the file itself; nothing inside the sandbox can tell it apart.

use stockade_core::SandboxError;
use stockade_policy::{FileMode, FilesPolicy, PolicyError};
use wasmtime::{Caller, Linker, Result};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::state::State;

/// WASI's `EPERM`.
const ERRNO_PERM: i32 = 63;

/// Where the scratch folder appears in the guest.
const SCRATCH: &str = "/tmp";

/// Mounts the policy's grants, and its scratch `/tmp` when it asks for one
/// ([`crate::scratch`]), into the guest's view. `reserved` are guest paths
/// the guest's runtime needs for itself; a grant at or under one is refused.
pub(crate) fn mount(
    wasi: &mut WasiCtxBuilder,
    files: &FilesPolicy,
    reserved: &[&str],
) -> Result<(), SandboxError> {
    if files.tmp_bytes > 0 {
        let scratch = crate::scratch::Scratch::mount(files.tmp_bytes)?;
        // The preopen opens its own descriptor; `scratch` may go after.
        wasi.preopened_dir(scratch.path(), SCRATCH, FsPerms::ReadWrite)
            .map_err(|e| SandboxError::Engine(format!("cannot open the guest's /tmp: {e:#}")))?;
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
    Ok(())
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
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_paths_cover_their_insides() {
        assert!(within("/usr/local/lib", "/usr/local/lib"));
        assert!(within("/usr/local/lib/python", "/usr/local/lib"));
        assert!(!within("/usr/local/library", "/usr/local/lib"));
        let files = |guest: &str| FilesPolicy {
            grants: vec![stockade_policy::FileGrant {
                host: ".".into(),
                guest: guest.into(),
                mode: FileMode::Ro,
            }],
            tmp_bytes: 0,
        };
        let refused =
            |guest: &str| mount(&mut WasiCtxBuilder::new(), &files(guest), &["/usr/local/lib"]).is_err();
        assert!(refused("/usr/local/lib") && refused("/usr/local/lib/x"));
        // A parent is harmless: the guest resolves a path by its longest preopen.
        assert!(!refused("/data") && !refused("/usr"));
    }

    #[test]
    fn a_missing_host_folder_is_named() {
        let error = host_dir("files.grants[0]", "/no/such/folder").expect_err("missing");
        assert!(error.to_string().contains("files.grants[0].host"), "{error}");
        let file = tempfile::NamedTempFile::new().expect("file");
        let error = host_dir("files.grants[0]", file.path().to_str().expect("utf-8")).expect_err("a file");
        assert!(error.to_string().contains("not a directory"), "{error}");
    }
}
