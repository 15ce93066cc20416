//! The stockade policy: everything a sandboxed run is granted, in one document.
//!
//! A [`Policy`] is parsed once at the edge (TOML or JSON), validated into typed
//! values, and handed to a backend. Backends never see raw TOML.
//!
//! An empty policy denies everything and still has safe limits:
//!
//! | key | default |
//! |---|---|
//! | `languages` | every language for the CLI and the Rust API; `js` and `python` for the MCP server and a Python `SandboxTool` |
//! | `limits.wall_ms` | 30 000 (30 s) |
//! | `limits.fuel` | none (no instruction budget) |
//! | `limits.memory_bytes` | 256 MiB |
//! | `limits.stdout_bytes`, `limits.stderr_bytes` | 1 MiB each |
//! | `limits.output_overflow` | `truncate` (keep the first bytes, flag the rest) |
//! | `limits.code_bytes` | 4 MiB of source code |
//! | `session.idle_timeout_ms` | 600 000 (a session unused for 10 minutes closes) |
//! | `session.lifetime_ms` | 3 600 000 (a session closes an hour after it opened) |
//! | `session.max_runs`, `session.wall_ms`, `session.fuel` | none (only each run's `limits`) |
//! | `env` | empty: the guest sees no environment variables |
//! | `files` | no grants: the guest sees no host files |
//! | `network` | no destinations: the guest has no network |
//! | `tools` | none callable; `allow_unlisted_tools = false`; a listed tool without `max_calls` takes [`defaults::DEFAULT_MAX_CALLS`] (100) calls per run |
//! | `files.tmp_bytes` | 0: no `/tmp` for a WebAssembly guest; the process jail's is [`defaults::JAIL_TMP_BYTES`] (64 MiB); a sandbox's workspace, [`defaults::WORKSPACE_BYTES`] (64 MiB) |
//! | `limits.processes` | none: one for a WebAssembly guest; [`defaults::JAIL_PROCESSES`] (256) in the process jail |
//! | `secrets` | none; a secret goes over TLS only (`allow_plain_http = false`), in the headers [`defaults::SECRET_HEADERS`] (`authorization`, `x-api-key`) |
//! | `audit` | no log |
//! | `jail.require`, `jail.require_landlock` | none: Landlock and cgroups best effort (each outcome's `enforcement` says which were on) |
//! | `jail.tty` | false: no terminal |
//! | `jail.unix_sockets` | false: a native program makes no Unix-domain sockets (stream `socketpair`s only) |
//! | `jail.inotify` | false: no inotify (a side channel on the host's files) |
//!
//! ```
//! use stockade_policy::Policy;
//!
//! let policy = Policy::from_toml_str(r#"
//!     [limits]
//!     wall_ms = 2000
//!     memory_bytes = 67108864
//! "#)?;
//! assert_eq!(policy.limits.wall_ms, 2000);
//! assert!(policy.env.is_empty());
//! # Ok::<(), stockade_policy::PolicyError>(())
//! ```
#![deny(missing_docs)]

mod builder;
mod constraint;
pub mod defaults;
mod document;
mod error;
mod language;
pub mod network;
#[doc(hidden)]
pub mod oracle;
mod packages;
mod parse;
mod requirement;
mod validate;

pub use builder::{PolicyBuilder, parse_rate};
pub use constraint::{Constraint, Rule};
pub use document::{
    AuditPolicy, FileGrant, FileMode, FilesPolicy, Fsync, JailLayer, JailPolicy, Limits, NetworkPolicy,
    NetworkRule, OutputOverflow, Policy, PythonPolicy, SecretPolicy, SessionPolicy, ToolPolicy,
};
pub use error::PolicyError;
pub use language::{Language, UnknownLanguage};
pub use packages::check_requirement;
pub use requirement::Requirement;
pub use validate::{check_identifier, check_tool_name, check_tool_namespaces};

/// One mebibyte, the unit most limits are written in.
pub const MIB: u64 = 1024 * 1024;
