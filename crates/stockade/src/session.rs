//! Sessions: runs that share one live guest, so its globals persist (REPL
//! semantics), under each run's `[limits]` and the session's own lifetime
//! and totals (`[session]`).
//!
//! A session closes, and its guest is dropped, when it is closed or
//! dropped, when it has been idle for `session.idle_timeout_ms` or alive for
//! `session.lifetime_ms` (checked when the next run asks, and by
//! [`Session::expired`]), when a total budget is spent, or when a run stops
//! its guest mid-run (a wall, fuel or memory trap), since the interpreter's
//! state may then be half-updated. A closed session refuses every run with
//! [`SandboxError::SessionEnded`].
//!
//! A session with a network has one egress engine for its whole life: its
//! `network.max_*` budgets count over all its runs (a jailed shell's
//! background job may use the network between them), each run's outcome
//! says what that run used, and closing the session ends every connection.

use crate::audit::{RunRecord, audit_error, new_run_id};
use crate::network::RunNetwork;
use crate::sandbox::Sandbox;
use crate::session_commands::{Command, Commands};
use crate::session_files::SessionFiles;
use crate::tools::gate::SessionCalls;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use stockade_audit::Event;
use stockade_core::{
    Cancel, CommandError, Egress, Enforcement, Language, LiveGuest, Outcome, OutputSink, Request,
    SandboxError, ToolHost, Turn,
};

/// How often a run waiting for its session's guest looks at its cancel request.
const WAIT_CHECK: Duration = Duration::from_millis(2);

/// How long a close waits for its background commands' readers to see
/// the jail gone.
const SETTLE: Duration = Duration::from_secs(2);

/// Runs that share one guest. `Send + Sync`; its runs take turns.
///
/// ```no_run
/// use stockade::{Language, Policy, Sandbox};
///
/// let sandbox = Sandbox::new(Policy::default())?;
/// let session = sandbox.session(Language::Python)?;
/// session.run("x = 20")?;
/// assert_eq!(session.run("x * 2 + 2")?.value, Some(42.into()));
/// # Ok::<(), stockade::SandboxError>(())
/// ```
pub struct Session {
    sandbox: Sandbox,
    language: Language,
    id: String,
    calls: Arc<SessionCalls>,
    /// Made by [`Session::close`], so that it stops a run in progress.
    closing: Cancel,
    /// The layers its guest has, for each run's record and outcome.
    layers: Enforcement,
    /// Its network, when the policy allows one: one engine for the
    /// session's life (its budgets count over all its runs), ended with it.
    network: Option<RunNetwork>,
    inner: Mutex<Inner>,
}

struct Inner {
    guest: Option<Box<dyn LiveGuest>>,
    opened: Instant,
    last_used: Instant,
    runs: u64,
    wall: Duration,
    fuel: u64,
    closed: Option<String>,
    /// Its background commands, which outlive its close as records.
    commands: Commands,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens a session: starts its guest and records it in the audit log.
    pub(crate) fn open(sandbox: &Sandbox, language: Language) -> Result<Session, SandboxError> {
        let id = new_run_id()?;
        let calls = sandbox.session_calls();
        let wall = Duration::from_millis(sandbox.policy().limits.wall_ms);
        let lister = sandbox.gate(&id, Some(&calls), None, wall).map(|gate| gate as Arc<dyn ToolHost>);
        let backend = sandbox.backend(language)?;
        let layers = backend.layers(sandbox.policy())?;
        let network = RunNetwork::start(sandbox.policy(), sandbox.audit(), &id)?;
        let egress = network.as_ref().map(|network| network.engine.clone() as Arc<dyn Egress>);
        // The guest's environment holds each secret's placeholder, fresh
        // for the session.
        let with_placeholders = network.as_ref().and_then(|network| network.guest_policy(sandbox.policy()));
        let policy = with_placeholders.as_ref().unwrap_or(sandbox.policy());
        let guest = backend.open(language, policy, lister.as_ref(), egress.as_ref(), sandbox.workspace())?;
        if let Some(log) = sandbox.audit() {
            let event = Event::SessionOpen {
                session: id.clone(),
                language: language.to_string(),
                policy_sha256: sandbox.policy_sha256().to_string(),
                principal: sandbox.principal().map(String::from),
                layers: layers.names(),
            };
            log.append(&event).map_err(audit_error)?;
            log.end_batch().map_err(audit_error)?;
        }
        let now = Instant::now();
        let inner = Inner {
            guest: Some(guest),
            opened: now,
            last_used: now,
            runs: 0,
            wall: Duration::ZERO,
            fuel: 0,
            closed: None,
            commands: Commands::default(),
        };
        let closing = Cancel::new();
        Ok(Session {
            sandbox: sandbox.clone(),
            language,
            id,
            calls,
            closing,
            layers,
            network,
            inner: Mutex::new(inner),
        })
    }

    /// The session's id (as its runs and the audit log name it).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The session's language.
    pub fn language(&self) -> Language {
        self.language
    }

    /// The session's files: its guest's `/tmp`, which the host can write
    /// into and read out of between runs (see [`SessionFiles`]).
    pub fn files(&self) -> SessionFiles<'_> {
        SessionFiles::new(self)
    }

    /// The root of the guest's private space, opened for the host; `None`
    /// when it has none. Fails once the session is closed.
    pub(crate) fn files_root(&self) -> Result<Option<stockade_core::GuestFiles>, SandboxError> {
        let inner = self.lock();
        if let Some(why) = &inner.closed {
            return Err(SandboxError::SessionEnded(why.clone()));
        }
        Ok(inner.guest.as_ref().and_then(|guest| guest.files()))
    }

    /// Starts `command` in the background of a shell session (see
    /// [`crate::session_commands`]): it runs on between runs until it ends,
    /// is killed, or the session closes. It counts as use of the session
    /// (its idle time starts again), not as a run.
    ///
    /// ```no_run
    /// use stockade::{Language, Policy, Sandbox};
    /// use std::time::Duration;
    ///
    /// let sandbox = Sandbox::new(Policy::default())?;
    /// let session = sandbox.session(Language::Shell)?;
    /// let server = session.spawn("read line; echo got $line")?;
    /// server.write_stdin(b"hello\n")?;
    /// assert_eq!(server.wait(Some(Duration::from_secs(5)), None).stdout, "got hello\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn(&self, command: &str) -> Result<Command, CommandError> {
        let mut inner = self.lock();
        self.budget(&mut inner)?;
        let Inner { guest, commands, .. } = &mut *inner;
        let guest = guest.as_mut().ok_or_else(|| SandboxError::SessionEnded("closed".into()))?;
        let command = commands.start(self, guest.as_mut(), command);
        inner.last_used = Instant::now();
        if let Some(why) = inner.guest.as_ref().and_then(|guest| guest.ended()).map(String::from) {
            self.close_locked(&mut inner, &why);
        }
        command
    }

    /// The background commands the session has started, running or not, in order.
    pub fn commands(&self) -> Vec<Command> {
        self.lock().commands.all()
    }

    /// The background command `id`.
    pub fn command(&self, id: &str) -> Result<Command, CommandError> {
        self.lock().commands.get(id).ok_or_else(|| CommandError::Missing(id.to_string()))
    }

    pub(crate) fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Runs `code` in the session's guest, which keeps what earlier runs
    /// defined. The value of a trailing expression comes back as with
    /// [`Sandbox::run`].
    ///
    /// Fails with [`SandboxError::SessionEnded`] once the session is closed
    /// (the error says why).
    pub fn run(&self, code: &str) -> Result<Outcome, SandboxError> {
        self.run_inner(code, &self.closing, None, None)
    }

    /// [`Session::run`], stopped early when `cancel` is made. A cancelled
    /// run ends the session, since its guest stopped mid-run.
    pub fn run_cancellable(&self, code: &str, cancel: &Cancel) -> Result<Outcome, SandboxError> {
        self.run_inner(code, &self.closing.or(cancel), None, None)
    }

    /// Runs `request` in the session: what every surface calls. The
    /// request may leave its language out; if it names one, it must be the
    /// session's. Its `session` is the surface's name for this session and
    /// is not looked at here.
    pub fn run_request(&self, request: &Request, cancel: Option<&Cancel>) -> Result<Outcome, SandboxError> {
        self.run_request_inner(request, cancel, None)
    }

    /// [`Session::run_request`], with the output handed to `output` as the
    /// guest writes it, as [`Sandbox::run_with`] does.
    pub fn run_with(
        &self,
        request: &Request,
        cancel: Option<&Cancel>,
        output: Arc<dyn OutputSink>,
    ) -> Result<Outcome, SandboxError> {
        self.run_request_inner(request, cancel, Some(&output))
    }

    fn run_request_inner(
        &self,
        request: &Request,
        cancel: Option<&Cancel>,
        output: Option<&Arc<dyn OutputSink>>,
    ) -> Result<Outcome, SandboxError> {
        request.check_session_language(self.language)?;
        if !request.env.is_empty() {
            return Err(SandboxError::Request(
                "env: a session's environment is set when it opens; set variables in its code instead".into(),
            ));
        }
        match cancel {
            Some(cancel) => self.run_inner(&request.code, &self.closing.or(cancel), Some(request), output),
            None => self.run_inner(&request.code, &self.closing, Some(request), output),
        }
    }

    fn run_inner(
        &self,
        code: &str,
        cancel: &Cancel,
        request: Option<&Request>,
        output: Option<&Arc<dyn OutputSink>>,
    ) -> Result<Outcome, SandboxError> {
        let asked = Instant::now();
        // Another thread's run may hold the guest; this one waits, but can
        // still be cancelled (Ctrl-C) or closed while it does.
        let mut inner = loop {
            match self.inner.try_lock() {
                Ok(inner) => break inner,
                // A run panicked (a tool handler, say) with the guest
                // mid-turn: its state may be half-updated, as after a trap.
                Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                    let mut inner = poisoned.into_inner();
                    self.close_locked(&mut inner, "a run panicked, so its guest's state may be half-updated");
                    break inner;
                }
                Err(std::sync::TryLockError::WouldBlock) if self.closing.is_cancelled() => {
                    return Err(SandboxError::SessionEnded("closed".into()));
                }
                Err(std::sync::TryLockError::WouldBlock) if cancel.is_cancelled() => {
                    return Ok(Outcome::cancelled_before_start(asked.elapsed()));
                }
                Err(std::sync::TryLockError::WouldBlock) => std::thread::sleep(WAIT_CHECK),
            }
        };
        let mut budget = self.budget(&mut inner)?;
        if let Some(request) = request {
            let asked = request.wall_within(budget.wall, budget.wall_from)?;
            if asked < budget.wall {
                (budget.wall, budget.wall_from) = (asked, "timeout_ms");
            }
        }
        let (wall, fuel) = (budget.wall, budget.fuel);
        self.sandbox.check_code(code)?;
        let audit = self.sandbox.audit();
        let layers = self.layers.clone();
        let record = RunRecord::start(audit, self.language, code, &self.sandbox, Some(&self.id), layers)?;
        if let Some(network) = &self.network {
            network.begin(record.run_id());
        }
        let engine = self.network.as_ref().map(|network| &network.engine);
        let gate = self.sandbox.gate(record.run_id(), Some(&self.calls), engine, wall);
        let tools = gate.clone().map(|gate| gate as Arc<dyn ToolHost>);
        let guest = inner.guest.as_mut().ok_or_else(|| SandboxError::SessionEnded("closed".into()))?;
        let mut result =
            guest.run(Turn { code, tools: tools.as_ref(), wall, fuel, cancel: Some(cancel), output });
        let ended = guest.ended().map(String::from);
        if let (Some(network), Ok(outcome)) = (&self.network, &mut result) {
            outcome.usage.network = Some(network.end_run());
        }
        if let Ok(outcome) = &result {
            inner.runs += 1;
            inner.wall = inner.wall.saturating_add(outcome.usage.wall);
            inner.fuel = inner.fuel.saturating_add(outcome.usage.fuel.unwrap_or(0));
        }
        inner.last_used = Instant::now();
        let outcome = record.finish(result, gate.as_ref().map_or(0, |gate| gate.finish()));
        if let Some(why) = ended {
            let why = if self.closing.is_cancelled() {
                "closed".to_string()
            } else {
                cut_short(&outcome, &budget).unwrap_or(why)
            };
            self.close_locked(&mut inner, &why);
        }
        outcome
    }

    /// Closes the session and drops its guest. A run in progress is
    /// cancelled first (it stops within a tick, or when a tool it is
    /// calling returns). Closing twice is harmless.
    pub fn close(&self) {
        self.closing.cancel();
        let mut inner = self.lock();
        self.close_locked(&mut inner, "closed");
    }

    /// Whether the session is closed, or would be closed by the next run
    /// (idle or past its lifetime); an expired session is closed now, which
    /// frees its guest. A server calls this to reap idle sessions. It never
    /// waits: a session in the middle of a run is not idle.
    pub fn expired(&self) -> bool {
        let mut inner = match self.inner.try_lock() {
            Ok(inner) => inner,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return false,
        };
        if inner.closed.is_none()
            && let Some(why) = self.lapsed(&inner)
        {
            self.close_locked(&mut inner, &why);
        }
        inner.closed.is_some()
    }

    /// Why the session was closed, once it is.
    pub fn closed_because(&self) -> Option<String> {
        self.lock().closed.clone()
    }

    /// Checks the session may take another run and returns that run's wall
    /// time and fuel: the policy's per-run limits, cut to what is left of
    /// the session's totals and lifetime, with the setting that decided.
    fn budget(&self, inner: &mut Inner) -> Result<Budget, SandboxError> {
        if let Some(why) = &inner.closed {
            return Err(SandboxError::SessionEnded(why.clone()));
        }
        let policy = self.sandbox.policy();
        let session = &policy.session;
        let spent = match self.lapsed(inner) {
            Some(why) => Some(why),
            None if session.max_runs.is_some_and(|max| inner.runs >= max) => {
                Some(format!("it took all {} runs session.max_runs allows", inner.runs))
            }
            None if session.wall_ms.is_some_and(|ms| inner.wall >= Duration::from_millis(ms)) => {
                Some("its runs used all the wall time session.wall_ms allows".into())
            }
            None if session.fuel.is_some_and(|fuel| inner.fuel >= fuel) => {
                Some("its runs burned all the fuel session.fuel allows".into())
            }
            None => None,
        };
        if let Some(why) = spent {
            self.close_locked(inner, &why);
            return Err(SandboxError::SessionEnded(why));
        }
        let mut budget = Budget {
            wall: Duration::from_millis(policy.limits.wall_ms),
            wall_from: "limits.wall_ms",
            fuel: policy.limits.fuel,
            fuel_from: "limits.fuel",
        };
        let lifetime_left = Duration::from_millis(session.lifetime_ms).saturating_sub(inner.opened.elapsed());
        if lifetime_left < budget.wall {
            (budget.wall, budget.wall_from) = (lifetime_left, "session.lifetime_ms");
        }
        if let Some(total) = session.wall_ms {
            let left = Duration::from_millis(total).saturating_sub(inner.wall);
            if left < budget.wall {
                (budget.wall, budget.wall_from) = (left, "session.wall_ms");
            }
        }
        if let (Some(per_run), Some(total)) = (budget.fuel, session.fuel) {
            let left = total.saturating_sub(inner.fuel);
            if left < per_run {
                (budget.fuel, budget.fuel_from) = (Some(left), "session.fuel");
            }
        }
        Ok(budget)
    }

    /// Why the session has lapsed (idle too long, or past its lifetime).
    fn lapsed(&self, inner: &Inner) -> Option<String> {
        let session = &self.sandbox.policy().session;
        if inner.last_used.elapsed() >= Duration::from_millis(session.idle_timeout_ms) {
            return Some(format!("it was idle for session.idle_timeout_ms ({} ms)", session.idle_timeout_ms));
        }
        if inner.opened.elapsed() >= Duration::from_millis(session.lifetime_ms) {
            return Some(format!("it reached session.lifetime_ms ({} ms)", session.lifetime_ms));
        }
        None
    }

    fn close_locked(&self, inner: &mut Inner, why: &str) {
        close(&self.sandbox, &self.id, inner, self.network.as_ref(), why);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic mid-run poisons the lock; the state is still consistent
        // enough to close the session.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        close(&self.sandbox, &self.id, inner, self.network.as_ref(), "dropped");
    }
}

/// One run's wall time and fuel, and the setting each comes from.
struct Budget {
    wall: Duration,
    wall_from: &'static str,
    fuel: Option<u64>,
    fuel_from: &'static str,
}

/// When a run stopped at a limit that a session setting (its lifetime or a
/// total) had cut below the per-run one, why the session ended, naming it.
fn cut_short(outcome: &Result<Outcome, SandboxError>, budget: &Budget) -> Option<String> {
    let from = match outcome.as_ref().ok()?.status {
        stockade_core::Status::LimitExceeded { which: stockade_core::Limit::Wall } => budget.wall_from,
        stockade_core::Status::LimitExceeded { which: stockade_core::Limit::Fuel } => budget.fuel_from,
        _ => return None,
    };
    from.starts_with("session.").then(|| format!("its last run used what was left of {from}"))
}

/// Drops the session's guest, then ends its network (every connection and
/// tunnel with it), and records why, once.
fn close(sandbox: &Sandbox, id: &str, inner: &mut Inner, network: Option<&RunNetwork>, why: &str) {
    if inner.closed.is_some() {
        return;
    }
    inner.guest = None;
    // The guest's jail is gone, and its commands with it: their records
    // say so before the close returns.
    inner.commands.settle(SETTLE);
    if let Some(network) = network {
        network.finish();
    }
    inner.closed = Some(why.to_string());
    if let Some(log) = sandbox.audit() {
        // The guest is gone whether or not the log can say so.
        let event =
            Event::SessionClose { session: id.to_string(), reason: why.to_string(), runs: inner.runs };
        let _ = log.append(&event).and_then(|_| log.end_batch());
    }
}
