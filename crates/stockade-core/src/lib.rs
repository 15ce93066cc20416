//! The types every stockade backend and surface shares.
//!
//! A run goes one way: a surface (CLI, Python, HTTP, MCP) builds a
//! [`RunRequest`], the facade hands it to a [`Backend`], and an [`Outcome`]
//! comes back. Guest failures are values ([`Status`]); host failures are
//! [`SandboxError`]s.
#![deny(missing_docs)]

mod backend;
mod cancel;
mod error;
mod language;
mod outcome;
pub mod protocol;

pub use backend::{Backend, LiveGuest, RunRequest, ToolHost, Turn};
pub use cancel::Cancel;
pub use error::SandboxError;
pub use language::Language;
pub use outcome::{AuditRange, Limit, Outcome, Status, Usage};
