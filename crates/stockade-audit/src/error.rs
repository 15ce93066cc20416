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
    /// Another writer held the log for longer than the opener would wait;
    /// two writers at once would fork the chain.
    #[error(
        "audit log {path} is in use by another writer, still after {} ms (a writer holds its log while it \
         is open; wait longer with STOCKADE_AUDIT_LOCK_TIMEOUT_MS, or give each a log of its own)",
        waited.as_millis()
    )]
    Busy {
        /// The log file.
        path: PathBuf,
        /// How long the opener waited for the lock.
        waited: std::time::Duration,
    },
    /// A log this process already writes was asked for again with other
    /// settings (`fsync`, or the signing key): one writer cannot keep both.
    #[error(
        "audit log {path} is already open in this process (as {open}) with another audit.fsync or \
         audit.signing_key; give every policy that names it the same ones, or each a log of its own"
    )]
    Conflict {
        /// The log file, as this request named it.
        path: PathBuf,
        /// The same file, as the writer already open named it.
        open: PathBuf,
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
