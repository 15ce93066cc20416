//! The pseudo-terminal of a run that asked for one (`jail.tty`).
//!
//! The host opens a new pair: the program gets the terminal side as its
//! stdin, stdout, stderr and controlling terminal; the host keeps the
//! controller side, reads everything the program shows from it, and types
//! one end-of-file into it, so a program that reads its input sees none
//! (once: a second read waits, as at a terminal nobody types into).
//! Output post-processing is off (no `\r` before each `\n`) and so is echo,
//! so the output reads as the program wrote it. Pushing input into the
//! terminal (`TIOCSTI`) stays refused by seccomp, as it is without a tty.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use stockade_core::{JailError, SandboxError};

/// A new pseudo-terminal pair.
pub(crate) struct Terminal {
    /// The host's side: read for the output, written for input.
    pub controller: OwnedFd,
    /// The program's side.
    pub terminal: OwnedFd,
}

impl Terminal {
    /// Opens a pair, both ends close-on-exec from the start (another
    /// thread's `fork` + `exec` must not inherit the terminal side, or the
    /// output would never end), the program's side set for plain output.
    pub fn open() -> Result<Terminal, SandboxError> {
        let failed = |step: &'static str| SandboxError::from(JailError::last_os_error(step));
        let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
        // SAFETY: posix_openpt returns a new descriptor or -1.
        let controller = unsafe { libc::posix_openpt(flags) };
        if controller < 0 {
            return Err(failed("cannot open a pseudo-terminal"));
        }
        // SAFETY: a descriptor just opened, now owned here.
        let controller = unsafe { OwnedFd::from_raw_fd(controller) };
        // SAFETY: unlockpt and the TIOCGPTPEER ioctl on the controller we
        // own; the ioctl returns a new descriptor for the terminal side, or -1.
        let terminal = unsafe {
            if libc::unlockpt(controller.as_raw_fd()) != 0 {
                return Err(failed("cannot unlock the pseudo-terminal"));
            }
            libc::ioctl(controller.as_raw_fd(), libc::TIOCGPTPEER, flags)
        };
        if terminal < 0 {
            return Err(failed("cannot open the pseudo-terminal's terminal side"));
        }
        // SAFETY: a descriptor just opened, now owned here.
        let terminal = unsafe { OwnedFd::from_raw_fd(terminal) };
        // SAFETY: tcgetattr/tcsetattr on a descriptor we own, with a
        // termios struct that lives across the calls.
        unsafe {
            let mut modes: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(terminal.as_raw_fd(), &mut modes) != 0 {
                return Err(failed("cannot read the pseudo-terminal's modes"));
            }
            modes.c_oflag &= !libc::ONLCR;
            modes.c_lflag &= !(libc::ECHO | libc::ECHONL);
            if libc::tcsetattr(terminal.as_raw_fd(), libc::TCSANOW, &modes) != 0 {
                return Err(failed("cannot set the pseudo-terminal's modes"));
            }
        }
        Ok(Terminal { controller, terminal })
    }

    /// Types end-of-file (the `VEOF` key, Ctrl-D) into the terminal.
    pub fn end_input(controller: &OwnedFd) {
        let eof = [4u8];
        // SAFETY: one byte from a live buffer to a descriptor we own; a
        // failure only means the program reads no end-of-file.
        unsafe { libc::write(controller.as_raw_fd(), eof.as_ptr().cast(), 1) };
    }
}
