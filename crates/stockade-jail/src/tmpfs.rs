//! Private tmpfs mounts that no path on the host reaches: the WebAssembly
//! guests' scratch `/tmp` and a sandbox's workspace.
//!
//! Mounting a tmpfs needs `CAP_SYS_ADMIN` over a mount namespace, which an
//! unprivileged host has only in a namespace of its own. So a short-lived
//! child enters new user and mount namespaces (unprivileged where the
//! kernel allows user namespaces, as root everywhere), makes the tmpfs with
//! the new mount API (`fsopen`, `fsconfig`, `fsmount`) and sends the host
//! the *detached* mount's descriptor before it exits. A detached mount is
//! in no namespace's tree, so no path names it: it is reachable only
//! through that descriptor and what is opened from it, and it goes when the
//! last of them does. The kernel holds its files to its size.
//!
//! A jail attaches a detached mount into its own tree with `open_tree`
//! (`OPEN_TREE_CLONE`) and `move_mount` ([`crate::plan::Step::Attach`]);
//! Linux clones a mount of another namespace only when it is detached,
//! which is why these are made detached and not mounted over a path.
//!
//! The child is forked from a multi-threaded process, so between `fork` and
//! `_exit` it makes only raw system calls on buffers prepared beforehand.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Inodes a tmpfs may hold per MiB of size (at least 64, at most 65 536):
/// files cost kernel memory beyond their bytes.
const INODES_PER_MIB: u64 = 1024;

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;
const MOUNT_ATTR_NOEXEC: libc::c_uint = 0x8;

/// A detached tmpfs of `bytes`, its root of mode `mode`, as the descriptor
/// of its mount (an `O_PATH` descriptor: open `/proc/self/fd/N` to use it).
/// Programs on it may be run only when `exec` is set (a jail's folders);
/// never set-user-id ones, and never device nodes.
/// The error says which step failed and why.
pub fn detached(bytes: u64, mode: u32, exec: bool) -> Result<OwnedFd, String> {
    let inodes = (bytes >> 20).saturating_mul(INODES_PER_MIB).clamp(64, 65_536);
    let text = |s: String| CString::new(s).map_err(|_| "a NUL in the mount's options".to_string());
    // SAFETY: geteuid and getegid cannot fail and touch no memory. The
    // kernel maps the effective ids, so those are the ones to name.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let noexec = if exec { 0 } else { MOUNT_ATTR_NOEXEC };
    let request = Request {
        options: [
            (c"size", text(bytes.to_string())?),
            (c"nr_inodes", text(inodes.to_string())?),
            (c"mode", text(format!("{mode:o}"))?),
        ],
        attributes: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | noexec,
        uid_map: text(id_map(uid))?,
        gid_map: text(id_map(gid))?,
    };
    request.run()
}

/// The helper's id map: the host's own id as its root. A root host's jail
/// runs its guest as [`ROOT_MAPS_TO`](crate::plan::ROOT_MAPS_TO), which must
/// be mapped too: a tmpfs refuses to make a file for an owner its user
/// namespace does not map (`EOVERFLOW`), and a workspace's files are
/// made by the jail's guest as well as by the host.
fn id_map(id: u32) -> String {
    match id {
        0 => format!("0 0 1\n{n} {n} 1\n", n = crate::plan::ROOT_MAPS_TO),
        id => format!("0 {id} 1\n"),
    }
}

/// A host path that opens the root of the detached mount `mount` (through
/// `/proc`, which reaches it by the descriptor).
pub fn path_of(mount: &OwnedFd) -> std::path::PathBuf {
    format!("/proc/self/fd/{}", mount.as_raw_fd()).into()
}

/// Everything the child needs, made before `fork` so the child allocates
/// nothing.
struct Request {
    options: [(&'static std::ffi::CStr, CString); 3],
    attributes: libc::c_uint,
    uid_map: CString,
    gid_map: CString,
}

impl Request {
    /// Forks the child, receives the descriptor it sends, and reaps it.
    fn run(&self) -> Result<OwnedFd, String> {
        let mut pair = [0 as RawFd; 2];
        // SAFETY: `pair` is a two-element array, as socketpair writes.
        if unsafe {
            libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, pair.as_mut_ptr())
        } != 0
        {
            return Err(format!("socketpair: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: socketpair succeeded, so both descriptors are ours to own.
        let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(pair[0]), OwnedFd::from_raw_fd(pair[1])) };
        // SAFETY: the child runs only `child`, which makes raw system calls
        // on memory prepared before the fork and ends in `_exit`.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: see above; `child` never returns.
            unsafe { child(self, theirs.as_raw_fd()) }
        }
        drop(theirs);
        let received = self.map(pid, &ours).and_then(|()| {
            crate::descriptors::receive(ours.as_raw_fd())
                .map_err(|e| format!("receiving the mount: {e}"))?
                .and_then(|fds| fds.into_iter().next())
                .ok_or_else(|| "the helper sent no mount".to_string())
        });
        // A helper still waiting for its maps reads the end and exits.
        drop(ours);
        let mut status = 0;
        let reaped = loop {
            // SAFETY: `pid` is our child; `status` is a valid out-pointer.
            if unsafe { libc::waitpid(pid, &mut status, 0) } >= 0 {
                break Ok(());
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                // ECHILD when the embedding process ignores SIGCHLD: the
                // child is gone, but its status with it.
                break Err(error);
            }
        };
        match (received, reaped) {
            (Ok(fd), _) => Ok(fd),
            (Err(_), Ok(())) if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) != 0 => {
                Err(step_name(libc::WEXITSTATUS(status)))
            }
            (Err(why), Ok(())) if libc::WIFEXITED(status) => Err(why),
            (Err(_), Ok(())) => Err("the helper process died".into()),
            (Err(why), Err(e)) => Err(format!("{why}, and the helper's status is lost ({e})")),
        }
    }

    /// Writes the id maps of child `pid` once it says it has its
    /// namespaces, then lets it go on. The host writes them, not the child:
    /// only a writer with `CAP_SETUID` over the parent namespace may map
    /// more than its own id (a root host's two lines).
    fn map(&self, pid: libc::pid_t, socket: &OwnedFd) -> Result<(), String> {
        let mut byte = [0u8; 1];
        // SAFETY: reads one byte into a local buffer.
        if unsafe { libc::read(socket.as_raw_fd(), byte.as_mut_ptr().cast(), 1) } != 1 {
            return Err("the helper ended before its namespaces were made".into());
        }
        let proc = format!("/proc/{pid}");
        let write = |file: &str, text: &[u8]| {
            std::fs::write(format!("{proc}/{file}"), text).map_err(|e| format!("writing its {file}: {e}"))
        };
        write("setgroups", b"deny")?;
        write("uid_map", self.uid_map.as_bytes())?;
        write("gid_map", self.gid_map.as_bytes())?;
        // SAFETY: writes one byte from a local buffer.
        if unsafe { libc::write(socket.as_raw_fd(), byte.as_ptr().cast(), 1) } != 1 {
            return Err("the helper ended before its ids were mapped".into());
        }
        Ok(())
    }
}

/// The steps of the child, numbered as its exit status.
const STEPS: [&str; 8] = [
    "done",
    "unshare(user, mount)",
    "saying it has its namespaces",
    "waiting for its id maps",
    "fsopen(tmpfs)",
    "fsconfig (size, inodes, mode)",
    "fsmount",
    "sending the mount",
];

fn step_name(status: i32) -> String {
    let step = usize::try_from(status).ok().and_then(|i| STEPS.get(i)).unwrap_or(&"unknown step");
    format!("failed at {step}")
}

/// The child: new namespaces, a detached tmpfs, its descriptor sent over
/// `socket`, then `_exit`. Its exit status names the step that failed.
///
/// # Safety
/// Only to be called in a freshly forked child; it never returns.
unsafe fn child(request: &Request, socket: RawFd) -> ! {
    // SAFETY: every pointer passed (in this whole body) is to a NUL-terminated
    // string or buffer prepared before the fork, or a local of the right
    // type; the calls are plain system calls, safe after fork.
    unsafe {
        if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
            libc::_exit(1);
        }
        // The host maps the ids ([`Request::map`]) between these two bytes.
        let mut byte = [0u8; 1];
        if libc::write(socket, byte.as_ptr().cast(), 1) != 1 {
            libc::_exit(2);
        }
        if libc::read(socket, byte.as_mut_ptr().cast(), 1) != 1 {
            libc::_exit(3);
        }
        let context = libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), FSOPEN_CLOEXEC) as RawFd;
        if context < 0 {
            libc::_exit(4);
        }
        for (key, value) in &request.options {
            let set = libc::syscall(
                libc::SYS_fsconfig,
                context,
                FSCONFIG_SET_STRING,
                key.as_ptr(),
                value.as_ptr(),
                0 as libc::c_int,
            );
            if set != 0 {
                libc::_exit(5);
            }
        }
        let null = std::ptr::null::<libc::c_char>();
        if libc::syscall(libc::SYS_fsconfig, context, FSCONFIG_CMD_CREATE, null, null, 0 as libc::c_int) != 0
        {
            libc::_exit(5);
        }
        let mount = libc::syscall(libc::SYS_fsmount, context, FSMOUNT_CLOEXEC, request.attributes) as RawFd;
        if mount < 0 {
            libc::_exit(6);
        }
        if !send(socket, mount) {
            libc::_exit(7);
        }
        libc::_exit(0)
    }
}

/// Sends descriptor `fd` over `socket` (SCM_RIGHTS), with buffers on the
/// stack, so the forked child allocates nothing.
///
/// # Safety
/// A plain system call on stack buffers; safe in a forked child.
unsafe fn send(socket: RawFd, fd: RawFd) -> bool {
    let mut byte = [0u8; 1];
    // One cmsg with an int fits in 32 bytes, 8-aligned.
    let mut control = [0u64; 4];
    // SAFETY: iovec and msghdr are plain data; all-zero is a valid value of
    // each. The header points at locals that outlive the call, and the
    // control buffer has room for one cmsg with an int.
    unsafe {
        let mut iov: libc::iovec = std::mem::zeroed();
        iov.iov_base = byte.as_mut_ptr().cast();
        iov.iov_len = 1;
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = &raw mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = libc::CMSG_SPACE(size_of::<RawFd>() as u32) as _;
        let header = libc::CMSG_FIRSTHDR(&message);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<RawFd>(), fd);
        libc::sendmsg(socket, &message, 0) == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detached_tmpfs_is_private_and_holds_to_its_size() {
        let mount = detached(1 << 20, 0o700, false).expect("a detached tmpfs");
        let dir = path_of(&mount);
        std::fs::write(dir.join("small"), b"hello").expect("a small file fits");
        assert_eq!(std::fs::read(dir.join("small")).expect("read"), b"hello");
        let error = std::fs::write(dir.join("big"), vec![0u8; 2 << 20]).expect_err("2 MiB does not fit in 1");
        assert_eq!(error.raw_os_error(), Some(libc::ENOSPC), "{error}");
        // It is in no namespace's tree: no mount of this process is it.
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        assert!(!mounts.contains("size=1024k"), "{mounts}");
        let other = detached(1 << 20, 0o700, false).expect("another");
        assert!(!path_of(&other).join("small").exists(), "each tmpfs is its own");
    }
}
