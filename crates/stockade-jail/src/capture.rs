//! A jailed program's output, captured under the policy's caps: what is
//! kept, what is counted past the cap, and the tap a streamed run or a
//! session's turn passes it to as it is read.

use crate::process::Child;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stockade_core::output::{OutputSink, Stream, Tap};
use stockade_core::{JailError, SandboxError};

/// What a native program wrote on one stream.
pub(crate) struct Written {
    /// The bytes kept (up to the cap), as text.
    pub text: String,
    /// Whether the cap cut it.
    pub truncated: bool,
    /// Every byte written, kept or not.
    pub bytes: u64,
}

/// Where a stream's kept output also goes as it is read: set for a run,
/// or for each turn of a session (whose reader thread holds the other end).
pub(crate) type TapSlot = Arc<Mutex<Option<Tap>>>;

/// Output kept up to a cap, and counted past it.
pub(crate) struct Capped {
    cap: u64,
    kept: Vec<u8>,
    written: u64,
    tap: TapSlot,
}

impl Capped {
    pub(crate) fn new(cap: u64, tap: TapSlot) -> Capped {
        Capped { cap, kept: Vec::new(), written: 0, tap }
    }

    /// Keeps what fits of `bytes`, and passes it to the tap; counts all of them.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let already = self.over();
        self.written = self.written.saturating_add(bytes.len() as u64);
        let room = usize::try_from(self.cap.saturating_sub(self.kept.len() as u64)).unwrap_or(usize::MAX);
        let kept = &bytes[..bytes.len().min(room)];
        self.kept.extend_from_slice(kept);
        let tap = self.tap.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(tap) = tap {
            tap.pass(kept, kept.len() < bytes.len(), already);
        }
    }

    /// Whether more was written than the cap keeps.
    pub(crate) fn over(&self) -> bool {
        self.written > self.cap
    }

    /// What was written, and starts afresh (a session's next command).
    pub(crate) fn take(&mut self) -> Written {
        let written = Written {
            text: String::from_utf8_lossy(&self.kept).into_owned(),
            truncated: self.over(),
            bytes: self.written,
        };
        (self.kept, self.written) = (Vec::new(), 0);
        written
    }
}

/// The two output streams, read on the thread that watches the child: one
/// `poll` over both pipes and the pidfd, so that a run starts no thread of
/// its own, and its end has one thread to wake, not three.
pub(crate) struct Streams {
    /// stdout and stderr, until each reads end-of-file (or fails).
    open: [Option<std::fs::File>; 2],
    kept: [Capped; 2],
    chunk: Vec<u8>,
}

impl Streams {
    pub(crate) fn new(
        stdout: OwnedFd,
        stderr: OwnedFd,
        caps: [u64; 2],
        output: Option<&Arc<dyn OutputSink>>,
    ) -> Streams {
        let tap = |stream| Arc::new(Mutex::new(output.map(|sink| Tap::new(sink, stream))));
        let [out_cap, err_cap] = caps;
        Streams {
            open: [Some(stdout.into()), Some(stderr.into())],
            kept: [Capped::new(out_cap, tap(Stream::Stdout)), Capped::new(err_cap, tap(Stream::Stderr))],
            chunk: vec![0u8; 64 << 10],
        }
    }

    /// Waits at most `wait` for output or for `child` to end, and reads the
    /// output there is; whether the child has ended.
    pub(crate) fn wait(&mut self, child: &Child, wait: Duration) -> Result<bool, SandboxError> {
        let watch = |fd: RawFd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        let stream = |file: &Option<std::fs::File>| file.as_ref().map_or(-1, AsRawFd::as_raw_fd);
        // A negative descriptor (a stream at its end) is skipped by poll.
        let mut polls =
            [watch(child.pidfd_raw()), watch(stream(&self.open[0])), watch(stream(&self.open[1]))];
        let millis = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: three valid pollfds, in an array that outlives the call.
        let ready = unsafe { libc::poll(polls.as_mut_ptr(), 3, millis) };
        if ready < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(JailError::setup("wait for its program's output", error).into());
        }
        for at in 0..2 {
            if polls[at + 1].revents != 0 {
                self.read(at);
            }
        }
        Ok(polls[0].revents != 0)
    }

    /// One read of stream `at`, which poll said is ready (or which is at its
    /// end: every writer is gone).
    fn read(&mut self, at: usize) {
        let Some(file) = &mut self.open[at] else { return };
        match file.read(&mut self.chunk) {
            Ok(0) => self.open[at] = None,
            Ok(n) => self.kept[at].push(&self.chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A terminal whose other side has closed reads EIO.
            Err(_) => self.open[at] = None,
        }
    }

    /// Whether either stream is past its cap.
    pub(crate) fn over(&self) -> bool {
        self.kept.iter().any(Capped::over)
    }

    /// Reads both streams to their end, once the jail has ended (its
    /// processes die with the first one, and with them the write ends).
    pub(crate) fn finish(mut self) -> (Written, Written) {
        for at in 0..2 {
            while self.open[at].is_some() {
                self.read(at);
            }
        }
        let [out, err] = &mut self.kept;
        (out.take(), err.take())
    }
}
