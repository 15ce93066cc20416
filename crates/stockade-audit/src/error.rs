//! Errors of the audit log.

use std::path::PathBuf;

/// Why the audit log could not be opened or written.
///
/// A run whose decisions cannot be recorded must not go ahead, so callers
/// treat every one of these as a host failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The log file could not be opened, read or written.
    #[error("audit log {path}: {source}")]
    Io {
        /// The log file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Another process holds the log; two writers would fork the chain.
    #[error("audit log {path} is in use by another process (each writer needs a log of its own)")]
    Busy {
        /// The log file.
        path: PathBuf,
    },
    /// The last complete line of an existing log is not a record, so the
    /// chain cannot be continued.
    #[error(
        "audit log {path} ends with a line that is not a record ({why}); run `stockade audit verify` on it"
    )]
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// What is wrong with the line.
        why: String,
    },
}
