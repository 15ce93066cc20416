//! stockade runs code an LLM wrote apart from the agent, with nothing it was
//! not explicitly granted.
//!
//! A [`Sandbox`] holds a [`Policy`]. Every [`Sandbox::run`] starts a fresh
//! guest, so nothing carries over between runs. Guest failures (an uncaught
//! error, a limit hit) come back as an [`Outcome`] whose [`Status`] says
//! what happened; only host failures (a refused policy, a broken cache) are
//! `Err`.
//!
//! ```no_run
//! use stockade::{Language, Policy, Sandbox, Status};
//! use std::time::Duration;
//!
//! let policy = Policy::builder().wall_time(Duration::from_secs(2)).build()?;
//! let sandbox = Sandbox::new(policy)?;
//! let outcome = sandbox.run(Language::JavaScript, "console.log('hi'); 6 * 7")?;
//! assert_eq!(outcome.stdout, "hi\n");
//! assert_eq!(outcome.value, Some(serde_json::json!(42)));
//!
//! let outcome = sandbox.run(Language::JavaScript, "while (true) {}")?;
//! assert!(matches!(outcome.status, Status::LimitExceeded { .. }));
//! # Ok::<(), stockade::SandboxError>(())
//! ```
#![deny(missing_docs)]

mod audit;
pub mod diagnostics;
mod grants;
mod network;
pub mod progress;
pub mod rate;
pub mod remote;
mod sandbox;
mod session;
pub mod session_commands;
pub mod session_files;
pub mod tools;

pub use sandbox::{Sandbox, SandboxBuilder};
pub use session::Session;
pub use session_commands::Command;
pub use session_files::{Entry, EntryKind, FileError, SessionFiles, Transfer};
pub use stockade_audit as audit_log;
pub use stockade_core::{
    AuditRange, Backend, BoxError, Cancel, CommandError, CommandOutput, ErrorClass, JailError, JailLayer,
    Language, Limit, LiveGuest, NetworkUsage, Outcome, OutputSink, Request, RunRequest, SandboxError,
    SessionRequest, Signal, Status, Stream, ToolHost, Turn, Usage, WasmError, id, protocol, render,
};
pub use stockade_policy as policy;
pub use stockade_policy::{Policy, PolicyError};
pub use tools::{Tool, ToolError};
