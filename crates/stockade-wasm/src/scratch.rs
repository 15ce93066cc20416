//! The guest's scratch `/tmp`: a private tmpfs of `files.tmp_bytes`, in
//! memory, that the kernel itself holds to its size.
//!
//! A tmpfs cannot be mounted where the host would see it without
//! privileges, so a short-lived child process makes it: it enters a new
//! user and mount namespace (unprivileged where the kernel allows user
//! namespaces, as root everywhere), mounts a tmpfs of the capped size over
//! its own private `/tmp`, and hands the host an open descriptor of its
//! root before it exits. The mount is visible to no other process, and it
//! lives exactly as long as descriptors refer to it: the run's WASI view
//! holds the last one, so the files go when the run (or session) does.
//!
//! The child is forked from a multi-threaded process, so between `fork` and
//! `_exit` it makes only raw system calls on buffers prepared beforehand.

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use stockade_core::{SandboxError, WasmError};

/// Inodes a scratch folder may hold per MiB of size (at least 64, at most
/// 65 536): files cost kernel memory beyond their bytes.
const INODES_PER_MIB: u64 = 1024;

/// A mounted scratch folder, reachable through the descriptor it holds.
pub struct Scratch {
    root: OwnedFd,
}

impl Scratch {
    /// Mounts a private tmpfs of `bytes`.
    pub fn mount(bytes: u64) -> Result<Scratch, SandboxError> {
        let inodes = (bytes >> 20).saturating_mul(INODES_PER_MIB).clamp(64, 65_536);
        let options = format!("size={bytes},nr_inodes={inodes},mode=0700");
        let request = Request::new(&options)?;
        let root = request.run().map_err(|why| WasmError::ScratchRefused { why })?;
        Ok(Scratch { root })
    }

    /// A host path that opens the scratch folder's root (through `/proc`,
    /// which reaches into the child's namespace).
    pub fn path(&self) -> std::path::PathBuf {
        use std::os::fd::AsRawFd;
        format!("/proc/self/fd/{}", self.root.as_raw_fd()).into()
    }
}

/// Everything the child needs, made before `fork` so the child allocates
/// nothing.
struct Request {
    options: CString,
    uid_map: CString,
    gid_map: CString,
}

impl Request {
    fn new(options: &str) -> Result<Request, SandboxError> {
        // SAFETY: geteuid and getegid cannot fail and touch no memory. The
        // kernel maps the effective ids, so those are the ones to name.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let text = |s: String| {
            CString::new(s).map_err(|e| WasmError::engine("write the scratch /tmp's mount options", e))
        };
        Ok(Request {
            options: text(options.to_string())?,
            uid_map: text(format!("0 {uid} 1"))?,
            gid_map: text(format!("0 {gid} 1"))?,
        })
    }

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
            use std::os::fd::AsRawFd;
            // SAFETY: see above; `child` never returns.
            unsafe { child(self, theirs.as_raw_fd()) }
        }
        drop(theirs);
        let received = receive(&ours);
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
            (Some(fd), _) => Ok(fd),
            (None, Ok(())) if libc::WIFEXITED(status) => Err(step_name(libc::WEXITSTATUS(status))),
            (None, Ok(())) => Err("the helper process died".into()),
            (None, Err(e)) => Err(format!("the helper process sent nothing, and its status is lost ({e})")),
        }
    }
}

/// The steps of the child, numbered as its exit status.
const STEPS: [&str; 8] = [
    "done",
    "unshare(user, mount)",
    "setgroups deny",
    "uid_map",
    "gid_map",
    "making the mounts private",
    "mounting the tmpfs",
    "opening and sending it",
];

fn step_name(status: i32) -> String {
    let step = usize::try_from(status).ok().and_then(|i| STEPS.get(i)).unwrap_or(&"unknown step");
    format!("failed at {step}")
}

/// The child: new namespaces, a tmpfs over its private `/tmp`, the root's
/// descriptor sent over `socket`, then `_exit`. Its exit status names the
/// step that failed.
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
        if !write_file(c"/proc/self/setgroups", c"deny") {
            libc::_exit(2);
        }
        if !write_file(c"/proc/self/uid_map", &request.uid_map) {
            libc::_exit(3);
        }
        if !write_file(c"/proc/self/gid_map", &request.gid_map) {
            libc::_exit(4);
        }
        let none = std::ptr::null();
        if libc::mount(none, c"/".as_ptr(), none, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) != 0 {
            libc::_exit(5);
        }
        let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        let options = request.options.as_ptr().cast();
        if libc::mount(c"tmpfs".as_ptr(), c"/tmp".as_ptr(), c"tmpfs".as_ptr(), flags, options) != 0 {
            libc::_exit(6);
        }
        let root = libc::open(c"/tmp".as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC);
        if root < 0 || !send(socket, root) {
            libc::_exit(7);
        }
        libc::_exit(0)
    }
}

/// Writes `text` to `path`, without allocating.
///
/// # Safety
/// A plain system call sequence; safe in a forked child.
unsafe fn write_file(path: &std::ffi::CStr, text: &std::ffi::CStr) -> bool {
    // SAFETY: both are valid NUL-terminated strings.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let len = text.to_bytes().len();
        let written = libc::write(fd, text.as_ptr().cast(), len);
        libc::close(fd);
        written == len as isize
    }
}

/// The buffers of a one-byte message that carries one descriptor: made on
/// the stack, so the forked child allocates nothing.
struct Carrier {
    byte: [u8; 1],
    iov: libc::iovec,
    control: [u64; 4],
    message: libc::msghdr,
}

impl Carrier {
    fn new() -> Carrier {
        // SAFETY: iovec and msghdr are plain data; all-zero is a valid value
        // of each (null pointers, zero lengths), filled in by `message`.
        unsafe {
            Carrier { byte: [0], iov: std::mem::zeroed(), control: [0; 4], message: std::mem::zeroed() }
        }
    }

    /// The message header, pointing at this carrier's buffers (which must
    /// not move while it is in use). The control buffer (32 bytes,
    /// 8-aligned) holds one cmsg with an int.
    fn message(&mut self) -> &mut libc::msghdr {
        self.iov = libc::iovec { iov_base: self.byte.as_mut_ptr().cast(), iov_len: 1 };
        self.message.msg_iov = &mut self.iov;
        self.message.msg_iovlen = 1;
        self.message.msg_control = self.control.as_mut_ptr().cast();
        self.message.msg_controllen = std::mem::size_of_val(&self.control) as _;
        &mut self.message
    }
}

/// Sends descriptor `fd` over `socket` (SCM_RIGHTS), without allocating.
///
/// # Safety
/// A plain system call on stack buffers; safe in a forked child.
unsafe fn send(socket: RawFd, fd: RawFd) -> bool {
    let mut carrier = Carrier::new();
    let message = carrier.message();
    // SAFETY: the header points at the carrier's buffers, which outlive the
    // call, and the control buffer has room for one cmsg with an int.
    unsafe {
        message.msg_controllen = libc::CMSG_SPACE(size_of::<RawFd>() as u32) as _;
        let header = libc::CMSG_FIRSTHDR(message);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<RawFd>(), fd);
        libc::sendmsg(socket, message, 0) == 1
    }
}

/// Receives one descriptor from `socket`; `None` if the child sent none.
fn receive(socket: &OwnedFd) -> Option<OwnedFd> {
    use std::os::fd::AsRawFd;
    let mut carrier = Carrier::new();
    let message = carrier.message();
    // SAFETY: as in `send`; the kernel writes at most `msg_controllen` bytes
    // of control data, and a descriptor it passes is new and ours to own.
    unsafe {
        loop {
            let got = libc::recvmsg(socket.as_raw_fd(), &mut *message, libc::MSG_CMSG_CLOEXEC);
            if got == 1 {
                break;
            }
            if got < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return None;
        }
        let header = libc::CMSG_FIRSTHDR(message);
        if header.is_null()
            || (*header).cmsg_level != libc::SOL_SOCKET
            || (*header).cmsg_type != libc::SCM_RIGHTS
        {
            return None;
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<RawFd>());
        (fd >= 0).then(|| OwnedFd::from_raw_fd(fd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_folder_is_private_and_holds_to_its_size() {
        let scratch = Scratch::mount(1 << 20).expect("scratch");
        let dir = scratch.path();
        std::fs::write(dir.join("small"), b"hello").expect("a small file fits");
        assert_eq!(std::fs::read(dir.join("small")).expect("read"), b"hello");
        let error = std::fs::write(dir.join("big"), vec![0u8; 2 << 20]).expect_err("2 MiB does not fit in 1");
        assert_eq!(error.raw_os_error(), Some(libc::ENOSPC), "{error}");
        // It is no folder of the host's: the host's /tmp has no `small`.
        assert!(!std::path::Path::new("/tmp/small").exists());
        let other = Scratch::mount(1 << 20).expect("another");
        assert!(!other.path().join("small").exists(), "each scratch folder is its own");
    }
}
