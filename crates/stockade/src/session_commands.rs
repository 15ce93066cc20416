//! A shell session's background commands: started from the session's
//! shell, they run on between its runs, in the same jail and under the
//! same budgets (its memory, processes and output caps, its lifetime and
//! idle time), and the session's close kills every one of them.
//!
//! A command runs as `sh -c COMMAND` (or `bash -c`) started by the
//! session's shell, so it sees the shell's working directory and exported
//! variables. Its stdout and stderr are kept up to `limits.stdout_bytes`
//! and `limits.stderr_bytes`, like a run's, and can be read so far, waited
//! for, or followed as they come. Its start and every signal the host
//! sends it are audit records.

use crate::session::Session;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use stockade_audit::Event;
use stockade_core::{Cancel, CommandControl, CommandError, CommandLog, CommandOutput, OutputSink, Signal};

/// How many of a session's background commands may run at once.
pub const MAX_COMMANDS: usize = 16;

/// How long a write to a command's stdin waits for it to read, by default.
pub const STDIN_WAIT: Duration = Duration::from_secs(5);

/// A background command of a session. Cheap to clone; every clone is the
/// same command. It stays readable once it has ended, and once its session
/// has closed.
#[derive(Clone)]
pub struct Command {
    inner: Arc<Inner>,
}

struct Inner {
    id: String,
    command: String,
    started: SystemTime,
    session: String,
    audit: Option<Arc<stockade_audit::AuditLog>>,
    log: Arc<CommandLog>,
    control: Arc<dyn CommandControl>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("id", &self.inner.id)
            .field("command", &self.inner.command)
            .field("running", &self.running())
            .finish_non_exhaustive()
    }
}

impl Command {
    /// Its id, unique within its session (`c1`, `c2`...).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The command line it was started with.
    pub fn command(&self) -> &str {
        &self.inner.command
    }

    /// When it was started.
    pub fn started(&self) -> SystemTime {
        self.inner.started
    }

    /// Whether it is still running.
    pub fn running(&self) -> bool {
        self.inner.log.running()
    }

    /// What it has written so far, and whether it has ended.
    pub fn output(&self) -> CommandOutput {
        self.inner.log.output()
    }

    /// Waits until it ends, at most `timeout` (none: as long as it takes,
    /// which its session's lifetime bounds), or until `cancel` is made; then
    /// what it has written (`running` says whether it ended).
    pub fn wait(&self, timeout: Option<Duration>, cancel: Option<&Cancel>) -> CommandOutput {
        self.inner.log.wait(timeout, cancel)
    }

    /// Hands `sink` its output from the first byte, then as it comes, until
    /// it has ended and its streams are closed, `timeout` passes, or
    /// `cancel` is made; then what it has written.
    pub fn follow(
        &self,
        sink: &dyn OutputSink,
        timeout: Option<Duration>,
        cancel: Option<&Cancel>,
    ) -> CommandOutput {
        self.inner.log.follow(sink, timeout, cancel)
    }

    /// Writes `bytes` to its stdin, waiting up to [`STDIN_WAIT`] for it to
    /// read them.
    pub fn write_stdin(&self, bytes: &[u8]) -> Result<(), CommandError> {
        self.inner.control.write_stdin(bytes, STDIN_WAIT)
    }

    /// Closes its stdin, so that it reads end-of-file.
    pub fn close_stdin(&self) {
        self.inner.control.close_stdin();
    }

    /// Sends `signal` to it and every process it started; one that has
    /// ended is left alone.
    pub fn signal(&self, signal: Signal) -> Result<(), CommandError> {
        record(
            self.inner.audit.as_deref(),
            &self.inner.session,
            &self.inner.id,
            "signal",
            None,
            Some(signal.to_string()),
        )?;
        self.inner.control.signal(signal)
    }

    /// Kills it and every process it started (`SIGKILL`), and waits up to
    /// `timeout` for it to end; then what it wrote.
    pub fn kill(&self, timeout: Duration) -> Result<CommandOutput, CommandError> {
        self.signal(Signal::Kill)?;
        Ok(self.wait(Some(timeout), None))
    }
}

/// The commands a session has started, in order.
#[derive(Default)]
pub(crate) struct Commands {
    started: Vec<Command>,
}

impl Commands {
    pub(crate) fn all(&self) -> Vec<Command> {
        self.started.clone()
    }

    pub(crate) fn get(&self, id: &str) -> Option<Command> {
        self.started.iter().find(|command| command.id() == id).cloned()
    }

    /// Starts `command` in `guest`, once the session may: at most
    /// [`MAX_COMMANDS`] run at once, and each start is recorded first.
    pub(crate) fn start(
        &mut self,
        session: &Session,
        guest: &mut dyn stockade_core::LiveGuest,
        command: &str,
    ) -> Result<Command, CommandError> {
        if command.contains('\0') {
            return Err(
                stockade_core::SandboxError::Request("a command may not hold a NUL byte".into()).into()
            );
        }
        if command.trim().is_empty() {
            return Err(stockade_core::SandboxError::Request("the command is empty".into()).into());
        }
        session.sandbox().check_code(command)?;
        let running = self.started.iter().filter(|command| command.running()).count();
        if running >= MAX_COMMANDS {
            return Err(CommandError::TooMany(running));
        }
        let id = format!("c{}", self.started.len() + 1);
        let audit = session.sandbox().audit().cloned();
        let sha256 = stockade_audit::sha256_hex(command.as_bytes());
        record(audit.as_deref(), session.id(), &id, "start", Some(sha256), None)?;
        let spawned = guest.spawn(command)?;
        let inner = Inner {
            id,
            command: command.to_string(),
            started: SystemTime::now(),
            session: session.id().to_string(),
            audit,
            log: spawned.log,
            control: spawned.control,
        };
        let command = Command { inner: Arc::new(inner) };
        self.started.push(command.clone());
        Ok(command)
    }

    /// Waits, up to `within`, for every command to have finished (their
    /// session's guest is gone, so they all do, at once).
    pub(crate) fn settle(&self, within: Duration) {
        let deadline = Instant::now() + within;
        for command in &self.started {
            let left = deadline.saturating_duration_since(Instant::now());
            command.wait(Some(left), None);
        }
    }
}

fn record(
    log: Option<&stockade_audit::AuditLog>,
    session: &str,
    command: &str,
    op: &str,
    code_sha256: Option<String>,
    signal: Option<String>,
) -> Result<(), CommandError> {
    let Some(log) = log else { return Ok(()) };
    let event = Event::SessionCommand {
        session: session.to_string(),
        command: command.to_string(),
        op: op.to_string(),
        code_sha256,
        signal,
    };
    log.append(&event)
        .and_then(|_| log.end_batch())
        .map_err(|e| crate::audit::audit_error(e).into())
        .map(drop)
}
