//! The types every stockade backend and surface shares.
//!
//! A run goes one way: a surface (CLI, Python, HTTP, MCP) builds a
//! [`Request`], the facade checks it against the policy and hands a
//! [`RunRequest`] to a [`Backend`], and an [`Outcome`] comes back. Guest failures are values ([`Status`]); host failures are
//! [`SandboxError`]s.
#![deny(missing_docs)]

mod backend;
mod cancel;
pub mod command;
mod error;
pub mod id;
mod outcome;
pub mod output;
pub mod protocol;
pub mod render;
pub mod request;
pub mod workspace;

pub use backend::{Backend, Egress, GuestFiles, LiveGuest, RunRequest, ToolHost, Turn};
pub use cancel::Cancel;
pub use command::{CommandControl, CommandError, CommandLog, CommandOutput, Signal, Spawned};
pub use error::{BoxError, ErrorClass, JailError, SandboxError, WasmError};
pub use outcome::{AuditRange, Enforcement, Layer, Limit, NetworkUsage, Outcome, Status, Usage};
pub use output::{OutputSink, Stream};
pub use request::{Request, SessionRequest};
pub use stockade_policy::{JailLayer, Language};
pub use workspace::Workspace;
