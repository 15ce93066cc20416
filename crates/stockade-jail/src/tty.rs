//! The pseudo-terminal of a run that asked for one (`jail.tty`).
//!
//! The host opens a new pair: the program gets the terminal side as its
//! stdin, stdout, stderr and controlling terminal; the host keeps the
//! controller side, reads everything the program shows from it, and types
//! one end-of-file into it, so a program that reads its input sees none.
//! Output post-processing is off (no `\r` before each `\n`) and so is echo,
//! so the output reads as the program wrote it. Pushing input into the
//! terminal (`TIOCSTI`) stays refused by seccomp, as it is without a tty.

use std::os::fd::{FromRawFd, OwnedFd};
use stockade_core::SandboxError;

/// A new pseudo-terminal pair.
pub(crate) struct Terminal {
    /// The host's side: read for the output, written for input.
    pub controller: OwnedFd,
    /// The program's side.
    pub terminal: OwnedFd,
}

impl Terminal {
    /// Opens a pair, both ends close-on-exec, the program's side set for
    /// plain output.
    pub fn open() -> Result<Terminal, SandboxError> {
        let failed =
            |what: &str| SandboxError::Engine(format!("{what}: {}", std::io::Error::last_os_error()));
        let (mut controller, mut terminal) = (-1, -1);
        // SAFETY: openpty writes two descriptors into the two integers; the
        // name, termios and window-size pointers may be null.
        let opened = unsafe {
            libc::openpty(
                &mut controller,
                &mut terminal,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if opened != 0 {
            return Err(failed("cannot open a pseudo-terminal"));
        }
        // SAFETY: openpty succeeded, so both descriptors are new and ours.
        let pair = unsafe {
            Terminal {
                controller: OwnedFd::from_raw_fd(controller),
                terminal: OwnedFd::from_raw_fd(terminal),
            }
        };
        // SAFETY: fcntl and tcgetattr/tcsetattr on descriptors we own, with
        // a termios struct that lives across the calls.
        unsafe {
            for fd in [controller, terminal] {
                if libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) != 0 {
                    return Err(failed("cannot set close-on-exec on the pseudo-terminal"));
                }
            }
            let mut modes: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(terminal, &mut modes) != 0 {
                return Err(failed("cannot read the pseudo-terminal's modes"));
            }
            modes.c_oflag &= !libc::ONLCR;
            modes.c_lflag &= !(libc::ECHO | libc::ECHONL);
            if libc::tcsetattr(terminal, libc::TCSANOW, &modes) != 0 {
                return Err(failed("cannot set the pseudo-terminal's modes"));
            }
        }
        Ok(pair)
    }

    /// Types end-of-file (the `VEOF` key, Ctrl-D) into the terminal.
    pub fn end_input(controller: &OwnedFd) {
        use std::os::fd::AsRawFd;
        let eof = [4u8];
        // SAFETY: one byte from a live buffer to a descriptor we own; a
        // failure only means the program reads no end-of-file.
        unsafe { libc::write(controller.as_raw_fd(), eof.as_ptr().cast(), 1) };
    }
}
