//! The jail's first process as the host holds it: a pidfd, so that
//! waiting, signalling and reaping never race a reused pid.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;
use stockade_core::{JailError, SandboxError};

/// The jail's first process, watched through a pidfd (no pid reuse races).
pub(crate) struct Child {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    /// The status once reaped: a pid is waited for once, never again (it
    /// may belong to another process by then).
    reaped: std::cell::Cell<Option<(libc::c_int, libc::rusage)>>,
}

impl Child {
    /// Opens `path` (absolute, as the jail sees it) for the host, through
    /// the process's root: a descriptor into the jail's own mounts. The pid
    /// is this child's, unreaped, so it names no other process.
    pub fn open_inside(&self, path: &str) -> std::io::Result<std::fs::File> {
        std::fs::File::open(format!("/proc/{}/root{path}", self.pid))
    }

    /// Watches `pid`, a child of this process just started.
    pub(crate) fn new(pid: libc::pid_t) -> Result<Child, SandboxError> {
        let pidfd = crate::descriptors::pidfd(pid).map_err(|error| {
            // SAFETY: `pid` is our child; killing and reaping it is ours to do.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            JailError::setup("open a pidfd for its first process", error)
        })?;
        Ok(Child { pid, pidfd, reaped: std::cell::Cell::new(None) })
    }

    /// Its pid, in this process's pid namespace.
    pub(crate) fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Its pidfd, readable once it has exited.
    pub(crate) fn pidfd_raw(&self) -> RawFd {
        self.pidfd.as_raw_fd()
    }

    /// Another descriptor of its pidfd, readable once it has exited.
    pub(crate) fn pidfd(&self) -> std::io::Result<OwnedFd> {
        self.pidfd.try_clone()
    }

    /// Whether the process has exited, waiting at most `wait`.
    pub(crate) fn exited_within(&self, wait: Duration) -> Result<bool, SandboxError> {
        let mut poll = libc::pollfd { fd: self.pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let millis = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, millis) };
        if ready < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Err(JailError::last_os_error("wait for its first process").into());
        }
        Ok(ready > 0)
    }

    pub(crate) fn kill(&self) {
        // SAFETY: the pidfd names our child, even if its pid were reused.
        unsafe {
            libc::syscall(libc::SYS_pidfd_send_signal, self.pidfd.as_raw_fd(), libc::SIGKILL, 0usize, 0u32)
        };
    }

    /// Waits for the process (once); its status and resource use.
    pub(crate) fn reap(&self) -> (libc::c_int, libc::rusage) {
        if let Some(reaped) = self.reaped.get() {
            return reaped;
        }
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it.
        let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: `pid` is our child, not yet reaped; the out-pointers are valid.
            let reaped = unsafe { libc::wait4(self.pid, &mut status, 0, &mut rusage) };
            if reaped >= 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                self.reaped.set(Some((status, rusage)));
                return (status, rusage);
            }
        }
    }
}

impl Drop for Child {
    /// An early return or a panic never leaves a jail running: it is killed
    /// (the whole namespace with it) and reaped.
    fn drop(&mut self) {
        if self.reaped.get().is_none() {
            self.kill();
            self.reap();
        }
    }
}
