//! Commands a session runs in the background: started in a turn, they run
//! on between turns while the host reads their output, writes to their
//! stdin, waits for them and signals them.
//!
//! A backend that can start them hands back a [`Spawned`]: a
//! [`CommandLog`] that its reader fills (capped, like a run's output) and
//! that every surface reads, waits on and follows the same way, and a
//! [`CommandControl`] for what goes the other way.

use crate::{Cancel, OutputSink, SandboxError, Stream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often a wait looks at its cancel request.
const TICK: Duration = Duration::from_millis(20);

/// A signal the host may send a background command.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Signal {
    /// `SIGHUP`.
    Hup,
    /// `SIGINT`, as Ctrl-C sends.
    Int,
    /// `SIGQUIT`.
    Quit,
    /// `SIGKILL`: cannot be caught.
    Kill,
    /// `SIGUSR1`.
    Usr1,
    /// `SIGUSR2`.
    Usr2,
    /// `SIGTERM`: asks it to end.
    Term,
    /// `SIGCONT`: resumes a stopped command.
    Cont,
    /// `SIGSTOP`: pauses it; cannot be caught.
    Stop,
}

impl Signal {
    /// Every signal, in the order of their numbers.
    pub const ALL: [Signal; 9] = [
        Signal::Hup,
        Signal::Int,
        Signal::Quit,
        Signal::Kill,
        Signal::Usr1,
        Signal::Usr2,
        Signal::Term,
        Signal::Cont,
        Signal::Stop,
    ];

    /// Its name without the `SIG` (`TERM`).
    pub fn name(self) -> &'static str {
        match self {
            Signal::Hup => "HUP",
            Signal::Int => "INT",
            Signal::Quit => "QUIT",
            Signal::Kill => "KILL",
            Signal::Usr1 => "USR1",
            Signal::Usr2 => "USR2",
            Signal::Term => "TERM",
            Signal::Cont => "CONT",
            Signal::Stop => "STOP",
        }
    }
}

impl std::str::FromStr for Signal {
    type Err = CommandError;

    /// `TERM`, `SIGTERM` or `term`.
    fn from_str(name: &str) -> Result<Signal, CommandError> {
        let upper = name.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        Signal::ALL
            .into_iter()
            .find(|signal| signal.name() == bare)
            .ok_or_else(|| CommandError::UnknownSignal(name.to_string()))
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SIG{}", self.name())
    }
}

/// Why a background command could not be started or reached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The session has no command of that id.
    #[error("the session has no command {0:?}")]
    Missing(String),
    /// Its stdin was closed, by the host or because the command ended.
    #[error("its stdin is closed")]
    StdinClosed,
    /// It read nothing of what was written for as long as the host waited.
    #[error("its stdin took no more bytes within {} ms (the command is not reading it)", .0.as_millis())]
    StdinFull(Duration),
    /// A signal name that is not one of [`Signal`]'s.
    #[error("{0:?} is not a signal the host sends (HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT or STOP)")]
    UnknownSignal(String),
    /// As many commands as a session may have at once are running.
    #[error("the session already runs {0} background commands, as many as it may at once")]
    TooMany(usize),
    /// A step of the host's side failed.
    #[error("could not {step}: {source}")]
    Io {
        /// What the host was doing.
        step: &'static str,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The session refused it: closed, ended, or not a shell.
    #[error(transparent)]
    Session(#[from] SandboxError),
}

impl CommandError {
    /// The error's class, for the surfaces to map ([`Missing`](CommandError::Missing) aside).
    pub fn class(&self) -> crate::ErrorClass {
        match self {
            CommandError::Session(e) => e.class(),
            CommandError::Io { .. } => crate::ErrorClass::Internal,
            CommandError::TooMany(_) => crate::ErrorClass::Busy,
            _ => crate::ErrorClass::InvalidRequest,
        }
    }
}

/// What a background command has written so far, and whether it has ended.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct CommandOutput {
    /// Its standard output so far, up to `limits.stdout_bytes` (invalid
    /// UTF-8 replaced).
    pub stdout: String,
    /// Its standard error so far, up to `limits.stderr_bytes`.
    pub stderr: String,
    /// Whether it wrote more to stdout than was kept.
    pub stdout_truncated: bool,
    /// Whether it wrote more to stderr than was kept.
    pub stderr_truncated: bool,
    /// Whether it is still running.
    pub running: bool,
    /// Its exit status once it has ended (`128 + n` for signal `n`); none
    /// while it runs, or when it ended without one (its session closed).
    pub exit_code: Option<i32>,
}

/// A background command's output and end, as the backend's reader sees
/// them: capped per stream, and waited on by any number of threads.
#[derive(Debug)]
pub struct CommandLog {
    state: Mutex<LogState>,
    changed: Condvar,
}

#[derive(Debug)]
struct LogState {
    stdout: Kept,
    stderr: Kept,
    ended: bool,
    exit_code: Option<i32>,
}

/// One stream's kept bytes.
#[derive(Debug)]
struct Kept {
    bytes: Vec<u8>,
    written: u64,
    cap: u64,
    open: bool,
}

impl Kept {
    fn new(cap: u64) -> Kept {
        Kept { bytes: Vec::new(), written: 0, cap, open: true }
    }

    fn truncated(&self) -> bool {
        self.written > self.cap
    }
}

impl CommandLog {
    /// An empty log for a command that has just started, keeping at most
    /// `stdout_cap` and `stderr_cap` bytes.
    pub fn new(stdout_cap: u64, stderr_cap: u64) -> CommandLog {
        let state = LogState {
            stdout: Kept::new(stdout_cap),
            stderr: Kept::new(stderr_cap),
            ended: false,
            exit_code: None,
        };
        CommandLog { state: Mutex::new(state), changed: Condvar::new() }
    }

    /// Keeps what fits of `bytes` written to `stream`; counts them all.
    pub fn push(&self, stream: Stream, bytes: &[u8]) {
        let mut state = self.lock();
        let kept = state.stream(stream);
        kept.written = kept.written.saturating_add(bytes.len() as u64);
        let room = usize::try_from(kept.cap.saturating_sub(kept.bytes.len() as u64)).unwrap_or(usize::MAX);
        kept.bytes.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.changed.notify_all();
    }

    /// `stream` reached its end: every process holding it has closed it.
    pub fn close(&self, stream: Stream) {
        self.lock().stream(stream).open = false;
        self.changed.notify_all();
    }

    /// The command ended, with `exit_code` when it had one. Its streams
    /// may still be open, held by a process it left behind.
    pub fn end(&self, exit_code: Option<i32>) {
        let mut state = self.lock();
        if !state.ended {
            state.ended = true;
            state.exit_code = exit_code;
        }
        self.changed.notify_all();
    }

    /// The command, its streams and all it left behind are gone (its
    /// session closed): nothing more will come.
    pub fn finish(&self, exit_code: Option<i32>) {
        self.end(exit_code);
        let mut state = self.lock();
        state.stdout.open = false;
        state.stderr.open = false;
        self.changed.notify_all();
    }

    /// What it has written so far, and whether it has ended.
    pub fn output(&self) -> CommandOutput {
        let state = self.lock();
        CommandOutput {
            stdout: String::from_utf8_lossy(&state.stdout.bytes).into_owned(),
            stderr: String::from_utf8_lossy(&state.stderr.bytes).into_owned(),
            stdout_truncated: state.stdout.truncated(),
            stderr_truncated: state.stderr.truncated(),
            running: !state.ended,
            exit_code: state.exit_code,
        }
    }

    /// Whether it is still running.
    pub fn running(&self) -> bool {
        !self.lock().ended
    }

    /// Waits until it ends, at most `timeout` (none: as long as it takes),
    /// or until `cancel` is made; then what it has written.
    pub fn wait(&self, timeout: Option<Duration>, cancel: Option<&Cancel>) -> CommandOutput {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let mut state = self.lock();
        while !state.ended && !gone(deadline, cancel) {
            state = self.pause(state, deadline);
        }
        drop(state);
        self.output()
    }

    /// Hands `sink` what the command has written, from its first byte, and
    /// then each write as it comes, until it has ended and its streams are
    /// closed, `timeout` passes, or `cancel` is made; then what it has
    /// written. The caps apply: `sink.cut` says a stream was cut.
    pub fn follow(
        &self,
        sink: &dyn OutputSink,
        timeout: Option<Duration>,
        cancel: Option<&Cancel>,
    ) -> CommandOutput {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let mut sent = [Sent::default(), Sent::default()];
        loop {
            let mut state = self.lock();
            let news: Vec<(Stream, Vec<u8>, bool)> = [Stream::Stdout, Stream::Stderr]
                .into_iter()
                .zip(sent.iter_mut())
                .filter_map(|(stream, sent)| {
                    let kept = state.stream(stream);
                    let fresh = kept.bytes[sent.bytes..].to_vec();
                    let cut = kept.truncated() && !sent.cut;
                    sent.bytes = kept.bytes.len();
                    sent.cut |= cut;
                    (!fresh.is_empty() || cut).then_some((stream, fresh, cut))
                })
                .collect();
            let done = state.ended && !state.stdout.open && !state.stderr.open;
            if news.is_empty() && !done && !gone(deadline, cancel) {
                drop(self.pause(state, deadline));
                continue;
            }
            drop(state);
            // The sink is called without the lock held: it may be slow.
            for (stream, bytes, cut) in news {
                if !bytes.is_empty() {
                    sink.chunk(stream, &bytes);
                }
                if cut {
                    sink.cut(stream);
                }
            }
            if done || gone(deadline, cancel) {
                return self.output();
            }
        }
    }

    /// Waits for a change, a tick at most (to see a cancel), or the deadline.
    fn pause<'a>(
        &self,
        state: MutexGuard<'a, LogState>,
        deadline: Option<Instant>,
    ) -> MutexGuard<'a, LogState> {
        let wait =
            deadline.map_or(TICK, |deadline| deadline.saturating_duration_since(Instant::now()).min(TICK));
        self.changed.wait_timeout(state, wait).unwrap_or_else(|p| p.into_inner()).0
    }

    fn lock(&self) -> MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How far a follower has got in one stream.
#[derive(Default)]
struct Sent {
    bytes: usize,
    cut: bool,
}

impl LogState {
    fn stream(&mut self, stream: Stream) -> &mut Kept {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }
}

fn gone(deadline: Option<Instant>, cancel: Option<&Cancel>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline) || cancel.is_some_and(Cancel::is_cancelled)
}

/// What the host sends a background command: its stdin and signals.
pub trait CommandControl: Send + Sync {
    /// Writes all of `bytes` to its stdin, waiting at most `timeout` for
    /// the command to read enough of them.
    fn write_stdin(&self, bytes: &[u8], timeout: Duration) -> Result<(), CommandError>;

    /// Closes its stdin: the command reads end-of-file. Closing twice is
    /// harmless.
    fn close_stdin(&self);

    /// Sends `signal` to the command and every process it has started. A
    /// command that has ended is left alone.
    fn signal(&self, signal: Signal) -> Result<(), CommandError>;
}

/// A command a backend started in the background.
pub struct Spawned {
    /// Its output and end, filled by the backend.
    pub log: Arc<CommandLog>,
    /// Its stdin and signals.
    pub control: Arc<dyn CommandControl>,
}

impl std::fmt::Debug for Spawned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawned").field("log", &self.log).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_with_or_without_sig_and_in_any_case() {
        assert_eq!("TERM".parse::<Signal>().expect("a signal"), Signal::Term);
        assert_eq!("sigkill".parse::<Signal>().expect("a signal"), Signal::Kill);
        assert_eq!(" Int ".parse::<Signal>().expect("a signal"), Signal::Int);
        assert!(matches!("SIGSEGV".parse::<Signal>(), Err(CommandError::UnknownSignal(_))));
        assert!("".parse::<Signal>().is_err());
        for signal in Signal::ALL {
            assert_eq!(signal.to_string().parse::<Signal>().expect("a signal"), signal);
        }
    }

    #[test]
    fn a_log_keeps_each_stream_to_its_cap_and_counts_the_rest() {
        let log = CommandLog::new(4, 100);
        log.push(Stream::Stdout, b"abc");
        log.push(Stream::Stdout, b"defg");
        log.push(Stream::Stderr, b"err");
        let output = log.output();
        assert_eq!((output.stdout.as_str(), output.stdout_truncated), ("abcd", true));
        assert_eq!((output.stderr.as_str(), output.stderr_truncated), ("err", false));
        assert!(output.running);
        log.end(Some(3));
        log.end(Some(9));
        let output = log.output();
        assert_eq!((output.running, output.exit_code), (false, Some(3)), "the first end stands");
    }

    #[test]
    fn a_follower_gets_every_kept_byte_once_then_the_cut_then_returns_at_the_end() {
        let log = Arc::new(CommandLog::new(6, 100));
        log.push(Stream::Stdout, b"one\n");
        type Chunks = Arc<Mutex<Vec<(Stream, Vec<u8>)>>>;
        let seen: Chunks = Arc::default();
        let cuts = Arc::new(Mutex::new(Vec::new()));
        struct Sink(Chunks, Arc<Mutex<Vec<Stream>>>);
        impl OutputSink for Sink {
            fn chunk(&self, stream: Stream, bytes: &[u8]) {
                self.0.lock().expect("lock").push((stream, bytes.to_vec()));
            }
            fn cut(&self, stream: Stream) {
                self.1.lock().expect("lock").push(stream);
            }
        }
        let follower = {
            let (log, sink) = (log.clone(), Sink(seen.clone(), cuts.clone()));
            std::thread::spawn(move || log.follow(&sink, None, None))
        };
        // The follower has the first line before anything more is written.
        while seen.lock().expect("lock").is_empty() {
            std::thread::yield_now();
        }
        log.push(Stream::Stdout, b"two\n");
        log.push(Stream::Stderr, b"oops");
        log.end(Some(0));
        assert!(!follower.is_finished(), "its streams are still open");
        log.close(Stream::Stdout);
        log.close(Stream::Stderr);
        let output = follower.join().expect("follower");
        let seen = seen.lock().expect("lock");
        let stdout: Vec<u8> =
            seen.iter().filter(|(s, _)| *s == Stream::Stdout).flat_map(|(_, b)| b.clone()).collect();
        let stderr: Vec<u8> =
            seen.iter().filter(|(s, _)| *s == Stream::Stderr).flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(stdout, b"one\ntw");
        assert_eq!(stderr, b"oops");
        assert_eq!(*cuts.lock().expect("lock"), vec![Stream::Stdout]);
        assert_eq!((output.running, output.exit_code), (false, Some(0)));
    }

    #[test]
    fn a_wait_returns_at_its_timeout_or_cancel_with_the_command_still_running() {
        let log = CommandLog::new(10, 10);
        assert!(log.wait(Some(Duration::from_millis(30)), None).running);
        let cancel = Cancel::new();
        cancel.cancel();
        assert!(log.wait(None, Some(&cancel)).running);
        log.finish(Some(137));
        let output = log.wait(None, None);
        assert_eq!((output.running, output.exit_code), (false, Some(137)));
    }
}
