//! Descriptors the host holds of the jail: those passed over a Unix
//! socket (`SCM_RIGHTS`), such as the proxy's listener and each `tool`
//! call's socket, and pidfds of the jail's processes.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// A pidfd of process `pid`: it keeps naming that process (or its end)
/// even once the pid is reused.
pub(crate) fn pidfd(pid: libc::pid_t) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as RawFd;
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pidfd_open succeeded; the descriptor is ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The descriptors of one message on `channel`; `None` at its end.
pub(crate) fn receive(channel: RawFd) -> std::io::Result<Option<Vec<OwnedFd>>> {
    const MOST: usize = 16;
    let mut byte = [0u8; 1];
    let mut space = [0u64; (MOST * 4 + 16) / 8 + 2];
    let mut io = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    // SAFETY: a zeroed msghdr is a valid empty one; the buffers it points to
    // are locals that outlive the call.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &raw mut io;
    message.msg_iovlen = 1;
    message.msg_control = space.as_mut_ptr().cast();
    message.msg_controllen = std::mem::size_of_val(&space) as _;
    let received = loop {
        // SAFETY: as above; MSG_CMSG_CLOEXEC keeps the descriptors from any child.
        let n = unsafe { libc::recvmsg(channel, &raw mut message, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    };
    if received == 0 {
        return Ok(None);
    }
    let mut fds = Vec::new();
    // SAFETY: the kernel filled `message`; each header lies inside `space`.
    let mut header = unsafe { libc::CMSG_FIRSTHDR(&raw const message) };
    while !header.is_null() {
        // SAFETY: non-null headers from CMSG_FIRSTHDR/NXTHDR are inside `space`.
        unsafe {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(header).cast::<RawFd>();
                let count =
                    ((*header).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<RawFd>();
                for at in 0..count {
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(at))));
                }
            }
            header = libc::CMSG_NXTHDR(&raw const message, header);
        }
    }
    Ok(Some(fds))
}
