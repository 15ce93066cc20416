//! stockade's audit log: one JSON line per event, each chained to the one
//! before it by SHA-256, so that any edit, deletion, insertion or
//! reordering is found by [`verify`].
//!
//! A line looks like this (wrapped here):
//!
//! ```text
//! {"seq":3,"time":"2026-11-25T19:40:00.123Z","prev":"9f2c…","event":{"kind":"tool_call",…},
//!  "hash":"41d0…"}
//! ```
//!
//! `hash` is the SHA-256 of the line's bytes up to it (with the closing
//! brace put back in its place), and `prev` is the previous line's `hash`
//! (64 zeros for the first line). Every line is written with one `write`
//! to a file opened for appending, so a crash leaves at most one partial
//! last line; the verifier reports it and checks everything before it, and
//! the next writer to open the log removes it and records that it did.
//!
//! What a chain cannot show is the loss of its newest lines: cutting a log
//! after any complete line leaves a valid, shorter log. Keep the reported
//! `last_hash` elsewhere (the run's outcome carries its sequence numbers) to
//! detect that. Nor can it show a log rewritten whole, with fresh hashes, by
//! someone who can write the file: for that, give the writer a [`Signer`].
//! At the end of each batch it appends a `checkpoint` record with an Ed25519
//! signature over the hash before it, and [`verify_with`] checks those
//! signatures against a public key kept elsewhere.
//!
//! ```
//! use stockade_audit::{AuditLog, Event, verify};
//! use stockade_policy::Fsync;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("audit.jsonl");
//! let log = AuditLog::open(&path, Fsync::Batch)?;
//! log.append(&Event::LimitHit { run: "r1".into(), limit: "wall".into() })?;
//! drop(log);
//!
//! let report = verify(std::fs::File::open(&path)?)?;
//! assert_eq!(report.records, 2); // the log_opened record and ours
//! assert!(report.broken.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod error;
mod event;
#[doc(hidden)]
pub mod oracle;
mod record;
mod sign;
mod verify;
mod writer;

pub use error::AuditError;
pub use event::{Decision, Event};
pub use record::{GENESIS, Record, sha256_hex};
pub use sign::Signer;
pub use verify::{Broken, Report, verify, verify_with};
pub use writer::{AuditLog, DEFAULT_LOCK_TIMEOUT, LOCK_TIMEOUT_ENV};
