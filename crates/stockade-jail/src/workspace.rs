//! Workspaces ([`stockade_core::workspace`]): made here, where the jail's
//! mount code lives, and attached into each jailed run that has one.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use stockade_core::workspace::FOLDERS;
use stockade_core::{JailError, SandboxError, Workspace};

/// A workspace of `bytes`: a detached tmpfs whose folders belong to the
/// jail's guest user, so that jailed programs may write in them as the
/// WebAssembly guests (the host process itself) may.
pub fn create(bytes: u64) -> Result<Workspace, SandboxError> {
    let setup = |step, source| SandboxError::from(JailError::setup(step, source));
    let mount = crate::tmpfs::detached(bytes, 0o755, true)
        .map_err(|why| setup("make a workspace (a private tmpfs)", std::io::Error::other(why)))?;
    let workspace = Workspace::new(mount, bytes);
    let (uid, gid) = crate::run::guest_host_ids();
    for (name, guest) in FOLDERS {
        let path = workspace.host_path(name);
        let mode = if guest == "/tmp" { 0o1777 } else { 0o755 };
        std::fs::create_dir(&path).map_err(|e| setup("make a workspace's folder", e))?;
        std::os::unix::fs::chown(&path, Some(uid), Some(gid))
            .map_err(|e| setup("give a workspace's folder to the guest", e))?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .map_err(|e| setup("set a workspace's folder's mode", e))?;
    }
    Ok(workspace)
}

/// Gives everything in `workspace` to the jail's guest user, when the
/// host is root. A root host's jail maps its guest to `nobody`, and what
/// the WebAssembly guests made there (as the host process, so as root) it
/// could read but not change. An ordinary user's jail maps its guest to
/// that user, who owns all of it already.
///
/// The walk goes by descriptors, each opened with `O_NOFOLLOW` beneath
/// the last, so a link a guest left never leads it out of the workspace.
pub(crate) fn hand_over(workspace: &Workspace) -> Result<(), SandboxError> {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let owner = crate::run::guest_host_ids();
    let root = open_beneath(workspace.mount().as_raw_fd(), c".")
        .map_err(|e| JailError::setup("open the workspace", e))?;
    chown_beneath(&root, owner, 0)
        .map_err(|e| JailError::setup("give the workspace to the jail's user", e).into())
}

/// Folders deeper than this are left as they are (a tmpfs of 65 536 inodes
/// could nest that deep, and the walk must not run out of stack).
const MOST_DEPTH: usize = 64;

fn chown_beneath(folder: &OwnedFd, (uid, gid): (u32, u32), depth: usize) -> std::io::Result<()> {
    let listing = format!("/proc/self/fd/{}", folder.as_raw_fd());
    for entry in std::fs::read_dir(listing)? {
        let entry = entry?;
        let name = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(entry.file_name().as_os_str()))
            .map_err(std::io::Error::other)?;
        // SAFETY: `folder` is open; `name` is a NUL-terminated name in it.
        let changed =
            unsafe { libc::fchownat(folder.as_raw_fd(), name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) };
        if changed != 0 {
            let error = std::io::Error::last_os_error();
            // Gone since it was listed: a guest of another run removed it.
            if error.raw_os_error() == Some(libc::ENOENT) {
                continue;
            }
            return Err(error);
        }
        if depth < MOST_DEPTH && entry.file_type()?.is_dir() {
            match open_beneath(folder.as_raw_fd(), &name) {
                Ok(inner) => chown_beneath(&inner, (uid, gid), depth + 1)?,
                // Replaced by a link or removed since it was listed.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR | libc::ENOENT)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn open_beneath(folder: std::os::fd::RawFd, name: &std::ffi::CStr) -> std::io::Result<OwnedFd> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: openat takes a descriptor, a NUL-terminated name and flags.
    let fd = unsafe { libc::openat(folder, name.as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openat succeeded; the descriptor is ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
