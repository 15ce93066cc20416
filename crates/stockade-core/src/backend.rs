//! The one trait every backend implements, and what it is handed.

use crate::protocol::{self, ErrorKind};
use crate::{Cancel, Language, Outcome, OutputSink, SandboxError};
use std::sync::Arc;
use std::time::Duration;
use stockade_policy::{Policy, Requirement};

/// One run: what to execute and under which policy.
#[derive(Clone, Copy)]
pub struct RunRequest<'a> {
    /// The language, and so the guest.
    pub language: Language,
    /// The source code, already checked to be within `limits.code_bytes`.
    pub code: &'a str,
    /// The policy, validated.
    pub policy: &'a Policy,
    /// Who answers the guest's tool calls; `None` when the run has no tools
    /// (the door then tells the guest there is no host).
    pub tools: Option<&'a Arc<dyn ToolHost>>,
    /// Stops the run early when made; `None` when nobody can.
    pub cancel: Option<&'a Cancel>,
    /// The run's way out, when its policy allows some network; `None`
    /// means none at all.
    pub egress: Option<&'a Arc<dyn Egress>>,
    /// Who sees the output as the guest writes it; `None` when only the
    /// outcome will.
    pub output: Option<&'a Arc<dyn OutputSink>>,
    /// The sandbox's workspace, when it keeps one: the run's `/workspace`
    /// and `/tmp` are its folders, not a fresh scratch `/tmp`.
    pub workspace: Option<&'a crate::Workspace>,
}

impl std::fmt::Debug for RunRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunRequest")
            .field("language", &self.language)
            .field("code_bytes", &self.code.len())
            .field("tools", &self.tools.is_some())
            .field("workspace", &self.workspace.is_some())
            .finish_non_exhaustive()
    }
}

/// Answers a guest's tool-protocol frames ([`crate::protocol`]) for one run.
///
/// The interface is bytes in, bytes out, so that it can cross a process
/// boundary when backends move into worker processes.
pub trait ToolHost: Send + Sync {
    /// The answer to one request frame (hostile bytes from the guest).
    fn answer(&self, frame: &[u8]) -> Vec<u8>;

    /// The answer to a frame the backend refused without reading it (one
    /// over [`protocol::MAX_REQUEST_BYTES`]).
    fn refuse(&self, kind: ErrorKind, message: &str) -> Vec<u8> {
        protocol::answer_error(None, kind, message)
    }
}

/// The run's network: the egress engine (`stockade-net`) that every request
/// of the guest goes through, with the policy's rules, budgets and audit.
pub trait Egress: Send + Sync {
    /// Serves the HTTP proxy on `listener`, a loopback socket in the jail's
    /// own network namespace, until the run ends.
    fn serve_proxy(&self, listener: std::net::TcpListener) -> Result<(), SandboxError>;

    /// The certificate (PEM) of the authority the engine terminates TLS
    /// with, which the guest's programs must trust; `None` when it
    /// terminates none.
    fn authority_pem(&self) -> Option<String>;
}

/// A way to run guests: WebAssembly today, a process jail and others later.
pub trait Backend: Send + Sync {
    /// A short name for errors and reports (`wasm`).
    fn name(&self) -> &'static str;

    /// The languages this backend runs.
    fn languages(&self) -> &'static [Language];

    /// Whether this backend enforces `requirement`.
    fn enforces(&self, requirement: Requirement) -> bool;

    /// The layers a run under `policy` gets from this backend on this
    /// machine, as its audit record and outcome report them; or the
    /// refusal of a policy that requires one the machine cannot give
    /// (`jail.require`).
    fn layers(&self, policy: &Policy) -> Result<crate::Enforcement, SandboxError>;

    /// Runs `request` in a fresh guest; nothing is shared with other runs.
    fn run(&self, request: RunRequest<'_>) -> Result<Outcome, SandboxError>;

    /// Starts a guest for `language` that keeps its state between runs (a
    /// session). `policy` gives its memory and output caps; each
    /// [`Turn`] gives its own time and fuel. `tools` answers the tool list
    /// a guest may ask for as it starts (each turn brings its own host).
    /// `egress` is the session's network when the policy allows one: one
    /// engine for the session's whole life, serving a native guest's proxy
    /// (a WebAssembly guest's requests go through each turn's host).
    /// `workspace` is the sandbox's workspace when it keeps one, as in
    /// [`RunRequest::workspace`].
    fn open(
        &self,
        language: Language,
        policy: &Policy,
        tools: Option<&Arc<dyn ToolHost>>,
        egress: Option<&Arc<dyn Egress>>,
        workspace: Option<&crate::Workspace>,
    ) -> Result<Box<dyn LiveGuest>, SandboxError>;
}

/// One run in a [`LiveGuest`].
#[derive(Clone, Copy)]
pub struct Turn<'a> {
    /// The source code, already checked to be within `limits.code_bytes`.
    pub code: &'a str,
    /// Who answers this run's tool calls.
    pub tools: Option<&'a Arc<dyn ToolHost>>,
    /// Wall time this run may take.
    pub wall: Duration,
    /// Fuel this run may burn; `None` when the policy meters none.
    pub fuel: Option<u64>,
    /// Stops the turn early when made (a cancelled turn ends the guest).
    pub cancel: Option<&'a Cancel>,
    /// Who sees this turn's output as the guest writes it.
    pub output: Option<&'a Arc<dyn OutputSink>>,
}

impl std::fmt::Debug for Turn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn")
            .field("code_bytes", &self.code.len())
            .field("tools", &self.tools.is_some())
            .field("wall", &self.wall)
            .field("fuel", &self.fuel)
            .finish()
    }
}

/// A guest kept alive between runs: its globals, imports and heap persist.
pub trait LiveGuest: Send {
    /// Runs one turn. A guest error leaves the guest usable; a trap (a
    /// limit that stops the guest mid-run, a crash) ends it.
    fn run(&mut self, turn: Turn<'_>) -> Result<Outcome, SandboxError>;

    /// Why the guest can take no more turns, once it cannot.
    fn ended(&self) -> Option<&str>;

    /// The guest's private space (its `/tmp`), opened for the host, which
    /// reads and writes the session's files beneath it; `None` when the
    /// guest has none.
    fn files(&self) -> Option<GuestFiles> {
        None
    }

    /// Starts `command` in the background, where it runs on between turns
    /// (see [`crate::command`]). Only a shell can; other guests refuse.
    fn spawn(&mut self, command: &str) -> Result<crate::Spawned, crate::CommandError> {
        let _ = command;
        Err(SandboxError::Request(
            "background commands run only in a session of a shell (sh or bash) in the process jail".into(),
        )
        .into())
    }
}

/// A live guest's private space, as the host reaches it.
#[derive(Debug)]
pub struct GuestFiles {
    /// Its root folder, open.
    pub root: std::fs::File,
    /// The host user and group that what the host makes there must belong
    /// to (a jail's space belongs to its user namespace, which maps only
    /// its guest's ids); `None` when anyone's will do.
    pub owner: Option<(u32, u32)>,
}
