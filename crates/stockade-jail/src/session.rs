//! A jailed shell session: one jail whose shell reads commands from the
//! host, so its variables, working directory and `/tmp` carry over from
//! one command to the next.
//!
//! Each command is sent as `command eval 'COMMAND' </dev/null` (quoted
//! whole, and through `command` so that a syntax error is the command's own
//! failure rather than the shell's exit), followed by two end markers, one
//! per stream, that carry a random nonce and the exit status. A command
//! past its wall time, past an output cap with `output_overflow = "kill"`,
//! or cancelled, kills the jail and ends the session, as a trap ends a
//! WebAssembly session. A guest that forges a marker only garbles its own
//! output: the budgets are the host's.

use crate::background::{Channel, Process};
use crate::capture::{Capped, TapSlot, Written};
use crate::plan::Plan;
use crate::run::{Started, outcome, start};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use stockade_core::output::{OutputSink, Tap};
use stockade_core::{
    Cancel, CommandError, CommandLog, Egress, JailError, Language, Limit, LiveGuest, Outcome, SandboxError,
    Spawned, Status, ToolHost, Turn, Workspace,
};
use stockade_policy::{Limits, OutputOverflow, Policy};

const TICK: Duration = Duration::from_millis(5);
/// The most the shell may take to start a background command: it only forks.
const LAUNCH_WALL: Duration = Duration::from_secs(10);
/// Starts each end marker: ASCII record separator.
const MARK: u8 = 0x1e;

/// A live jailed shell.
pub struct ShellSession {
    started: Started,
    commands: std::fs::File,
    stdout: Stream,
    stderr: Stream,
    nonce: String,
    limits: Limits,
    ended: Option<String>,
    /// The jail's `/tmp`, opened for the host (the session's files).
    tmp: Option<std::fs::File>,
    /// Its `tool` command's bridge and what it offers, when the session has
    /// tools: each turn's calls go through that turn's host.
    tools: Option<(Arc<crate::tools::Offered>, crate::tools::Bridge)>,
    /// The shell, as its background commands are started with (`sh`).
    shell: &'static str,
    /// The sandbox's workspace, when it keeps one: handed to the guest's
    /// user before each turn ([`crate::workspace::hand_over`]).
    workspace: Option<Workspace>,
}

impl ShellSession {
    /// Starts a shell (`sh` or `bash`) in a new jail under `policy`, its
    /// proxy served by `egress` (the session's engine) when it has a network.
    pub fn open(
        language: Language,
        policy: &Policy,
        tools: Option<&Arc<dyn ToolHost>>,
        egress: Option<&Arc<dyn Egress>>,
        workspace: Option<&Workspace>,
    ) -> Result<ShellSession, SandboxError> {
        let mut plan = Plan::shell_session(language, policy, egress.map(|egress| &**egress))?;
        let workspace = match workspace {
            Some(workspace) => {
                crate::workspace::hand_over(workspace)?;
                plan = plan.with_workspace(workspace)?;
                let mount = workspace.mount().try_clone_to_owned().map_err(io)?;
                Some(Workspace::new(mount, workspace.bytes()))
            }
            None => None,
        };
        let shell = if language == Language::Bash { "bash" } else { "sh" };
        let (tools, channel) = match tools.and_then(crate::tools::Offered::of) {
            Some(offered) => {
                let offered = Arc::new(offered);
                // No turn yet: calls wait for one.
                offered.answer_with(None);
                let (channel, bridge) = crate::tools::Bridge::start(offered.clone())
                    .map_err(|e| JailError::setup("open the channel to the host's tools", e))?;
                (Some((offered, bridge)), Some(channel))
            }
            None => (None, None),
        };
        if let Some(channel) = &channel {
            plan = plan.with_tools(std::os::fd::AsRawFd::as_raw_fd(channel))?;
        }
        let mut started = start(&plan, &policy.limits)?;
        drop(channel);
        if let (Some(egress), Some(listener)) = (egress, started.proxy.take())
            && let Err(e) = egress.serve_proxy(listener)
        {
            started.child.kill();
            started.child.reap();
            return Err(e);
        }
        let stdin =
            started.stdin.take().ok_or_else(|| io(std::io::Error::other("the shell has no stdin")))?;
        let nonce = nonce()?;
        let limits = &policy.limits;
        let stdout = Stream::read(started.stdout.try_clone().map_err(io)?, &nonce, limits.stdout_bytes);
        let stderr = Stream::read(started.stderr.try_clone().map_err(io)?, &nonce, limits.stderr_bytes);
        // The shell has called `execve`: its root is the jail's.
        let tmp = Some(started.child.open_inside("/tmp").map_err(io)?);
        Ok(ShellSession {
            tmp,
            started,
            commands: std::fs::File::from(stdin),
            stdout,
            stderr,
            nonce,
            limits: policy.limits.clone(),
            ended: None,
            tools,
            shell,
            workspace,
        })
    }

    /// Starts `command` in the background (see [`crate::background`]): a
    /// short turn of the shell that starts it and says its pid.
    fn start_command(&mut self, command: &str) -> Result<Spawned, CommandError> {
        if let Some(why) = &self.ended {
            return Err(SandboxError::SessionEnded(why.clone()).into());
        }
        let io = |step| move |source| CommandError::Io { step, source };
        let tmp = self
            .tmp
            .as_ref()
            .ok_or_else(|| io("reach the jail's /tmp")(std::io::ErrorKind::NotFound.into()))?;
        let id = stockade_core::id::random_hex(8).map_err(io("draw the command's id"))?;
        let channel =
            Channel::make(tmp, &id, crate::run::guest_host_ids()).map_err(io("make the command's FIFOs"))?;
        let tmp = tmp.try_clone().map_err(io("reach the jail's /tmp"))?;
        let jail = self.started.child.pidfd().map_err(io("watch the jail"))?;
        let started = self.turn(&channel.launcher(self.shell, command), LAUNCH_WALL, None)?;
        let guest_pid = match (&started.status, started.stdout.trim().parse::<libc::pid_t>()) {
            (Status::Ok, Ok(pid)) => pid,
            _ => {
                return Err(io("start it")(std::io::Error::other(format!(
                    "the session's shell did not start it ({:?}): {}",
                    started.status,
                    started.stderr.trim()
                ))));
            }
        };
        let list = Process::find(self.started.child.pid(), guest_pid).map_err(io("find its process"))?;
        let log = Arc::new(CommandLog::new(self.limits.stdout_bytes, self.limits.stderr_bytes));
        let control = channel.start(log.clone(), list, jail, tmp);
        Ok(Spawned { log, control: Arc::new(control) })
    }

    fn turn(&mut self, code: &str, wall: Duration, cancel: Option<&Cancel>) -> Result<Outcome, SandboxError> {
        if let Some(why) = &self.ended {
            return Err(SandboxError::SessionEnded(why.clone()));
        }
        let begun = Instant::now();
        let deadline = begun + wall;
        let quoted = code.replace('\'', r"'\''");
        let nonce = &self.nonce;
        let script = format!(
            "command eval '{quoted}' </dev/null\n__stockade_status=$?\nprintf '\\036{nonce} %d\\n' \"$__stockade_status\"\n\
             printf '\\036{nonce}\\n' >&2\n"
        );
        if self.commands.write_all(script.as_bytes()).and_then(|()| self.commands.flush()).is_err() {
            return Err(self.end("its shell has exited"));
        }
        let kill_on_overflow = self.limits.output_overflow == OutputOverflow::Kill;
        let watch = Watch { deadline, cancel };
        let out = self.stdout.until(kill_on_overflow, &watch);
        let err = match &out {
            Ok(_) => self.stderr.until(kill_on_overflow, &watch),
            Err(_) => Err(Stop::Eof),
        };
        let (status, exit_code, ended) = match (&out, &err) {
            (Ok(out), Ok(_)) => {
                let code = out.status.unwrap_or(1);
                let status = if code == 0 { Status::Ok } else { Status::Exited { code } };
                (status, code, None)
            }
            (Err(Stop::Wall), _) | (_, Err(Stop::Wall)) => (
                Status::LimitExceeded { which: Limit::Wall },
                Limit::Wall.exit_code(),
                Some("its last command ran past limits.wall_ms"),
            ),
            (Err(Stop::Output), _) | (_, Err(Stop::Output)) => (
                Status::LimitExceeded { which: Limit::Output },
                Limit::Output.exit_code(),
                Some("its last command's output passed its cap, with output_overflow = \"kill\""),
            ),
            (Err(Stop::Cancelled), _) | (_, Err(Stop::Cancelled)) => {
                (Status::Cancelled, Status::CANCELLED_EXIT_CODE, Some("its last command was cancelled"))
            }
            (Err(Stop::Eof), _) | (_, Err(Stop::Eof)) => {
                let code = self.exit_status();
                (Status::Exited { code }, code, Some("its shell exited"))
            }
        };
        // A command that did not finish leaves no output: it is still in
        // the reader's hands, and the session ends with it.
        let take = |captured: Result<Captured, Stop>| match captured {
            Ok(captured) => captured.written,
            Err(_) => Written { text: String::new(), truncated: false, bytes: 0 },
        };
        let out = take(out);
        let err = take(err);
        if let Some(why) = ended {
            self.end(why);
        }
        let peak = self.started.cgroup.as_ref().and_then(|c| c.peak_memory()).unwrap_or(0);
        Ok(outcome(status, exit_code, out, err, begun.elapsed(), peak))
    }

    /// Kills the jail, with why the session ends; the error later turns get.
    fn end(&mut self, why: &str) -> SandboxError {
        if self.ended.is_none() {
            self.started.child.kill();
            self.ended = Some(why.to_string());
        }
        SandboxError::SessionEnded(why.to_string())
    }

    /// The shell's exit status; a shell that closed its output but lives on
    /// is killed first, so this never waits long.
    fn exit_status(&self) -> i32 {
        if !self.started.child.exited_within(Duration::from_millis(200)).unwrap_or(false) {
            self.started.child.kill();
        }
        let (status, _) = self.started.child.reap();
        if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) }
    }
}

impl LiveGuest for ShellSession {
    fn run(&mut self, turn: Turn<'_>) -> Result<Outcome, SandboxError> {
        if turn.fuel.is_some() {
            return Err(JailError::Unsupported("meters no fuel".into()).into());
        }
        self.stdout.tap(turn.output, stockade_core::Stream::Stdout);
        self.stderr.tap(turn.output, stockade_core::Stream::Stderr);
        if let Some((offered, _)) = &self.tools {
            offered.answer_with(turn.tools);
        }
        if let Some(workspace) = &self.workspace {
            crate::workspace::hand_over(workspace)?;
        }
        let outcome = self.turn(turn.code, turn.wall, turn.cancel);
        if let Some((offered, _)) = &self.tools {
            offered.answer_with(None);
        }
        self.stdout.tap(None, stockade_core::Stream::Stdout);
        self.stderr.tap(None, stockade_core::Stream::Stderr);
        outcome
    }

    fn ended(&self) -> Option<&str> {
        self.ended.as_deref()
    }

    fn spawn(&mut self, command: &str) -> Result<Spawned, CommandError> {
        self.start_command(command)
    }

    fn files(&self) -> Option<stockade_core::GuestFiles> {
        let root = self.tmp.as_ref()?.try_clone().ok()?;
        Some(stockade_core::GuestFiles { root, owner: Some(crate::run::guest_host_ids()) })
    }
}

impl Drop for ShellSession {
    fn drop(&mut self) {
        self.started.child.kill();
        self.started.child.reap();
        if let Some((_, bridge)) = self.tools.take() {
            bridge.stop();
        }
    }
}

/// Why reading a stream stopped short of its marker.
enum Stop {
    Wall,
    Output,
    Cancelled,
    Eof,
}

/// What one command wrote on one stream.
struct Captured {
    written: Written,
    /// The exit status the stdout marker carries.
    status: Option<i32>,
}

struct Watch<'a> {
    deadline: Instant,
    cancel: Option<&'a Cancel>,
}

/// What a stream's reader thread reports.
enum Event {
    /// A command's output, up to its end marker.
    Done(Captured),
    /// The command's output passed the cap (sent once per command).
    Overflow,
}

/// One output stream of the shell. Its reader thread splits the stream at
/// the end markers and keeps at most `cap` bytes of each command's output,
/// so host memory stays bounded whatever the guest writes, in a turn or
/// between turns.
struct Stream {
    events: Receiver<Event>,
    /// Where this turn's output also goes as it is read.
    tap: TapSlot,
}

impl Stream {
    fn read(fd: OwnedFd, nonce: &str, cap: u64) -> Stream {
        let marker: Vec<u8> = std::iter::once(MARK).chain(nonce.bytes()).collect();
        let (send, events) = std::sync::mpsc::channel();
        let tap = TapSlot::default();
        let output = Capped::new(cap, tap.clone());
        std::thread::spawn(move || {
            let mut file = std::fs::File::from(fd);
            let mut chunk = vec![0u8; 64 << 10];
            let mut split = Splitter { marker, pending: Vec::new(), output, said: false };
            loop {
                let n = match file.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if split.feed(&chunk[..n], &send).is_err() {
                    break;
                }
            }
        });
        Stream { events, tap }
    }

    /// Sends the output read from now on to `output` as well (or no more).
    fn tap(&self, output: Option<&Arc<dyn OutputSink>>, stream: stockade_core::Stream) {
        *self.tap.lock().unwrap_or_else(|p| p.into_inner()) = output.map(|sink| Tap::new(sink, stream));
    }

    /// Waits for this command's output, up to its marker.
    fn until(&mut self, kill_on_overflow: bool, watch: &Watch<'_>) -> Result<Captured, Stop> {
        loop {
            let left = watch.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Stop::Wall);
            }
            if watch.cancel.is_some_and(Cancel::is_cancelled) {
                return Err(Stop::Cancelled);
            }
            match self.events.recv_timeout(left.min(TICK)) {
                Ok(Event::Done(captured)) => return Ok(captured),
                Ok(Event::Overflow) if kill_on_overflow => return Err(Stop::Output),
                Ok(Event::Overflow) | Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Err(Stop::Eof),
            }
        }
    }
}

/// Splits a stream at end markers, keeping at most its cap per command.
struct Splitter {
    marker: Vec<u8>,
    /// Bytes not yet known to be output: a marker may start in them.
    pending: Vec<u8>,
    output: Capped,
    /// Whether this command's overflow was reported.
    said: bool,
}

impl Splitter {
    fn feed(&mut self, bytes: &[u8], send: &std::sync::mpsc::Sender<Event>) -> Result<(), ()> {
        self.pending.extend_from_slice(bytes);
        while let Some(at) = find(&self.pending, &self.marker) {
            let Some(newline) = self.pending[at..].iter().position(|b| *b == b'\n') else { break };
            self.output.push(&self.pending[..at]);
            let line: Vec<u8> = self.pending.drain(..at + newline + 1).skip(at).collect();
            let status = std::str::from_utf8(&line[self.marker.len()..])
                .ok()
                .and_then(|tail| tail.trim().parse().ok());
            self.said = false;
            send.send(Event::Done(Captured { written: self.output.take(), status })).map_err(drop)?;
        }
        // All but what could be the start of a marker (or a marker whose
        // line is incomplete) is output now, so that a caller streaming it
        // sees it as it comes.
        let safe = match find(&self.pending, &self.marker) {
            // A marker line longer than any real one is the guest's, not ours.
            Some(at) if self.pending.len() - at < 64 => at,
            _ => self.pending.len() - marker_start(&self.pending, &self.marker),
        };
        self.output.push(&self.pending[..safe]);
        self.pending.drain(..safe);
        if self.output.over() && !self.said {
            self.said = true;
            send.send(Event::Overflow).map_err(drop)?;
        }
        Ok(())
    }
}

/// How many of the last bytes of `pending` could begin `marker`.
fn marker_start(pending: &[u8], marker: &[u8]) -> usize {
    (1..marker.len()).rev().find(|&n| pending.ends_with(&marker[..n])).unwrap_or(0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn nonce() -> Result<String, SandboxError> {
    stockade_core::id::random_hex(16)
        .map_err(|e| JailError::setup("draw a marker for the shell's output", e).into())
}

fn io(error: std::io::Error) -> SandboxError {
    JailError::setup("use the shell's pipes", error).into()
}

/// Properties of the splitter for the fuzz target `jail_output` and the
/// seeded tests. The first byte picks the cap, the second how the rest is
/// cut into reads; the rest is what the shell wrote. Whatever the bytes:
/// nothing panics, no command's kept output passes the cap, the bytes held
/// back for a possible marker stay bounded, and output that holds no marker
/// comes out whole (up to the cap) however the reads were cut.
#[doc(hidden)]
pub fn splitter_oracle(bytes: &[u8]) {
    let [cap, cut, written @ ..] = bytes else { return };
    let cap = u64::from(*cap) * 4;
    let cut = usize::from(*cut % 32) + 1;
    let marker: Vec<u8> = std::iter::once(MARK).chain(*b"0123456789abcdef").collect();
    let split = |reads: &mut dyn Iterator<Item = &[u8]>| {
        let (send, events) = std::sync::mpsc::channel();
        let mut splitter = Splitter {
            marker: marker.clone(),
            pending: Vec::new(),
            output: Capped::new(cap, TapSlot::default()),
            said: false,
        };
        for read in reads {
            splitter.feed(read, &send).expect("the receiver is alive");
            assert!(splitter.pending.len() < marker.len() + 64, "held back {} bytes", splitter.pending.len());
        }
        drop(send);
        let done: Vec<Written> = events
            .into_iter()
            .filter_map(|event| match event {
                Event::Done(captured) => Some(captured.written),
                Event::Overflow => None,
            })
            .collect();
        for written in &done {
            assert!(written.text.len() as u64 <= cap.saturating_mul(3), "a command kept past its cap");
        }
        (done, splitter.output.take(), splitter.pending)
    };
    let (whole_done, whole_rest, whole_pending) = split(&mut std::iter::once(written));
    let (cut_done, cut_rest, cut_pending) = split(&mut written.chunks(cut));
    if find(written, &marker).is_none() {
        assert!(whole_done.is_empty() && cut_done.is_empty(), "no marker, no command's end");
        let total = |rest: &Written, pending: &[u8]| rest.bytes + pending.len() as u64;
        assert_eq!(total(&whole_rest, &whole_pending), written.len() as u64);
        assert_eq!(total(&cut_rest, &cut_pending), written.len() as u64);
        assert_eq!((whole_rest.text, whole_pending), (cut_rest.text, cut_pending), "the reads' cut mattered");
    }
}

#[cfg(test)]
mod oracle_tests {
    #[test]
    fn the_splitter_oracle_holds_for_seeds() {
        let marker = "\u{1e}0123456789abcdef";
        let seeds: Vec<Vec<u8>> = vec![
            b"\x10\x03hello\n".to_vec(),
            format!("\x02\x01out{marker}0\nmore{marker}17\n").into_bytes(),
            format!("\x00\x05{marker}").into_bytes(),
            format!("\x01\x07{}{marker}{}\n", "x".repeat(300), "y".repeat(100)).into_bytes(),
            b"\xff\x1f\x1e\x1e\x1e0123\xff\xfe".to_vec(),
        ];
        for seed in &seeds {
            super::splitter_oracle(seed);
            // And every prefix, and every single-byte change of each.
            for end in 0..seed.len() {
                super::splitter_oracle(&seed[..end]);
            }
            for at in 0..seed.len() {
                for byte in [0u8, b'\n', 0x1e, b'0', 0xff] {
                    let mut mutated = seed.clone();
                    mutated[at] = byte;
                    super::splitter_oracle(&mutated);
                }
            }
        }
    }
}
