//! Appending to a log: one writer per file, one `write` per line.

use crate::record::{GENESIS, Record, now, open_sealed};
use crate::{AuditError, Event, Signer};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use stockade_policy::Fsync;

/// The logs [`AuditLog::shared`] has open in this process, by the device
/// and inode of their file. Weak: a log closes when its last user lets go.
type OpenLogs = HashMap<(u64, u64), Weak<AuditLog>>;

/// Lines written between two syncs under [`Fsync::Batch`], at most.
const BATCH_LINES: u32 = 256;

/// How long [`AuditLog::open`] and [`AuditLog::open_signed`] wait for
/// another writer (another process, or another `AuditLog` on the same file)
/// to close the log, unless [`LOCK_TIMEOUT_ENV`] says otherwise.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The environment variable that overrides [`DEFAULT_LOCK_TIMEOUT`], in
/// milliseconds (`0`: do not wait). A value that is not a number is ignored.
pub const LOCK_TIMEOUT_ENV: &str = "STOCKADE_AUDIT_LOCK_TIMEOUT_MS";

/// How often a writer waiting for the lock tries again.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// An open audit log. `Send + Sync`: threads share one and their lines are
/// chained in the order they are appended.
///
/// The file is locked (`flock`) while it is open, because two writers would
/// each continue the chain from the same line and fork it. A second writer
/// waits for the lock (up to [`DEFAULT_LOCK_TIMEOUT`]) and reads where the
/// chain ends only once it holds it.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    fsync: Fsync,
    signer: Option<Signer>,
    inner: Mutex<Tail>,
}

#[derive(Debug)]
struct Tail {
    file: File,
    /// Length of the file: where the next line starts.
    len: u64,
    seq: u64,
    prev: String,
    unsynced: u32,
    /// Records since the last checkpoint.
    unsigned: u64,
}

impl AuditLog {
    /// Opens the log at `path` (creating it, mode 0600), continues its chain,
    /// and records that it did.
    ///
    /// A partial last line (left by a crash mid-write) is removed first and
    /// its size recorded in the `log_opened` event. A log whose last complete
    /// line is not an intact record is refused: the chain cannot continue
    /// from a line that was tampered with.
    pub fn open(path: impl AsRef<Path>, fsync: Fsync) -> Result<AuditLog, AuditError> {
        AuditLog::open_signed(path, fsync, None)
    }

    /// [`AuditLog::open`], with signed checkpoints when `signer` is given:
    /// each [`AuditLog::end_batch`] (and closing the log) first appends a
    /// `checkpoint` record signing the chain so far.
    pub fn open_signed(
        path: impl AsRef<Path>,
        fsync: Fsync,
        signer: Option<Signer>,
    ) -> Result<AuditLog, AuditError> {
        AuditLog::open_waiting(path, fsync, signer, lock_timeout())
    }

    /// The one writer of this process for the log at `path`: the one
    /// already open if another part of the process (another sandbox) opened
    /// this file with `shared`, by whatever path, or else a new one, opened
    /// as [`AuditLog::open_signed`] opens it. The file's lock keeps out other
    /// processes; within one, sharing the writer is what keeps the chain
    /// whole, since two writers of one process would wait on each other's
    /// lock.
    ///
    /// The file is known by its device and inode, so two paths to it (a
    /// relative one, a symbolic link) name one writer. A writer is shared
    /// only with the same settings: asking for a log already open with
    /// another `fsync` or another signing key is [`AuditError::Conflict`].
    /// When the last `Arc` goes, the log is closed, and a later `shared`
    /// opens it anew.
    pub fn shared(
        path: impl AsRef<Path>,
        fsync: Fsync,
        signer: Option<Signer>,
    ) -> Result<Arc<AuditLog>, AuditError> {
        static OPEN: OnceLock<Mutex<OpenLogs>> = OnceLock::new();
        let path = path.as_ref();
        let io = |source| AuditError::Io { path: path.to_path_buf(), source };
        let file = open_file(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        let key = (meta.dev(), meta.ino());
        // Held while a new writer opens (which may wait for another
        // process): two sandboxes opening one log at once get one writer.
        let mut open = OPEN.get_or_init(Mutex::default).lock().unwrap_or_else(|p| p.into_inner());
        if let Some(log) = open.get(&key).and_then(Weak::upgrade) {
            let key_of = |signer: Option<&Signer>| signer.map(Signer::public_key_hex);
            if log.fsync != fsync || key_of(log.signer.as_ref()) != key_of(signer.as_ref()) {
                return Err(AuditError::Conflict { path: path.to_path_buf(), open: log.path.clone() });
            }
            return Ok(log);
        }
        let log =
            Arc::new(AuditLog::open_file_waiting(path.to_path_buf(), file, fsync, signer, lock_timeout())?);
        open.retain(|_, log| log.strong_count() > 0);
        open.insert(key, Arc::downgrade(&log));
        Ok(log)
    }

    /// [`AuditLog::open_signed`], waiting at most `lock_timeout` for another
    /// writer to release the log before giving up with [`AuditError::Busy`].
    pub fn open_waiting(
        path: impl AsRef<Path>,
        fsync: Fsync,
        signer: Option<Signer>,
        lock_timeout: Duration,
    ) -> Result<AuditLog, AuditError> {
        let path = path.as_ref().to_path_buf();
        let file = open_file(&path).map_err(|source| AuditError::Io { path: path.clone(), source })?;
        AuditLog::open_file_waiting(path, file, fsync, signer, lock_timeout)
    }

    /// [`AuditLog::open_waiting`] of `file`, already open (by [`open_file`]) at `path`.
    fn open_file_waiting(
        path: PathBuf,
        mut file: File,
        fsync: Fsync,
        signer: Option<Signer>,
        lock_timeout: Duration,
    ) -> Result<AuditLog, AuditError> {
        let io = |source| AuditError::Io { path: path.clone(), source };
        lock(&file, lock_timeout).map_err(|e| match e {
            Locking::TimedOut => AuditError::Busy { path: path.clone(), waited: lock_timeout },
            Locking::Failed(e) => io(e),
        })?;
        // Only now, holding the lock, is the end of the chain settled: the
        // previous writer may have appended up to the moment it let go.
        let (complete, last_line) = read_tail(&mut file).map_err(io)?;
        let total = file.metadata().map_err(io)?.len();
        if complete < total {
            file.set_len(complete).map_err(io)?;
        }
        let (seq, prev) = match last_line {
            None => (0, GENESIS.to_string()),
            Some(line) => {
                resume_from(&line).map_err(|why| AuditError::Corrupt { path: path.clone(), why })?
            }
        };
        let tail = Tail { file, len: complete, seq, prev, unsynced: 0, unsigned: 0 };
        let log = AuditLog { path, fsync, signer, inner: Mutex::new(tail) };
        log.append(&Event::LogOpened { dropped_bytes: total - complete })?;
        Ok(log)
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `event` and returns its sequence number. Under
    /// [`Fsync::Always`] the line is on disk when this returns.
    pub fn append(&self, event: &Event) -> Result<u64, AuditError> {
        let mut tail = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.append_to(&mut tail, event)
    }

    fn append_to(&self, tail: &mut Tail, event: &Event) -> Result<u64, AuditError> {
        let seq = tail.seq;
        let (line, hash) = Record { seq, time: now(), prev: &tail.prev, event }.seal();
        if let Err(source) = tail.file.write_all(line.as_bytes()) {
            // Take back a partial line so the chain stays continuable.
            let _ = tail.file.set_len(tail.len);
            return Err(AuditError::Io { path: self.path.clone(), source });
        }
        tail.len += line.len() as u64;
        tail.seq += 1;
        tail.prev = hash;
        tail.unsynced += 1;
        tail.unsigned += 1;
        let due = match self.fsync {
            Fsync::Always => true,
            Fsync::Batch => tail.unsynced >= BATCH_LINES,
            Fsync::Never => false,
        };
        if due {
            self.sync_tail(tail)?;
        }
        Ok(seq)
    }

    /// Ends a batch: signs a checkpoint if the log has a signer and lines
    /// since the last one, and (unless [`Fsync::Never`]) puts every line
    /// written so far on disk. Called at the end of each run.
    pub fn end_batch(&self) -> Result<(), AuditError> {
        let mut tail = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(signer) = &self.signer
            && tail.unsigned > 0
        {
            let upto_seq = tail.seq - 1;
            let checkpoint = Event::Checkpoint {
                upto_seq,
                upto_hash: tail.prev.clone(),
                public_key: signer.public_key_hex(),
                signature: signer.sign(upto_seq, &tail.prev),
            };
            self.append_to(&mut tail, &checkpoint)?;
            tail.unsigned = 0;
        }
        if self.fsync == Fsync::Never {
            return Ok(());
        }
        self.sync_tail(&mut tail)
    }

    /// The sequence number the next line will get.
    pub fn next_seq(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).seq
    }

    fn sync_tail(&self, tail: &mut Tail) -> Result<(), AuditError> {
        if tail.unsynced > 0 {
            tail.file.sync_data().map_err(|source| AuditError::Io { path: self.path.clone(), source })?;
            tail.unsynced = 0;
        }
        Ok(())
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let _ = self.end_batch();
    }
}

/// Opens (creating it, mode 0600) the log at `path` for reading and appending.
fn open_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).append(true).create(true).mode(0o600).open(path)
}

/// The lock wait [`LOCK_TIMEOUT_ENV`] asks for, or the default.
fn lock_timeout() -> Duration {
    std::env::var(LOCK_TIMEOUT_ENV)
        .ok()
        .and_then(|ms| ms.trim().parse().ok())
        .map_or(DEFAULT_LOCK_TIMEOUT, Duration::from_millis)
}

/// Why [`lock`] did not take the lock.
enum Locking {
    TimedOut,
    Failed(std::io::Error),
}

/// Takes `file`'s exclusive `flock`, trying again every [`LOCK_POLL`] until
/// `timeout` has passed. Polling, not a blocking `flock`, because a blocking
/// one cannot be given a deadline without a signal.
fn lock(file: &File, timeout: Duration) -> Result<(), Locking> {
    let deadline = Instant::now() + timeout;
    loop {
        match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Locking::Failed(e.into())),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Locking::TimedOut);
        }
        std::thread::sleep(LOCK_POLL.min(deadline - now));
    }
}

/// Finds the end of the last complete line and that line's text, reading
/// backwards from the end in growing chunks.
fn read_tail(file: &mut File) -> std::io::Result<(u64, Option<Vec<u8>>)> {
    let len = file.metadata()?.len();
    let mut chunk = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(chunk);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::with_capacity((len - start) as usize);
        Read::by_ref(file).take(len - start).read_to_end(&mut bytes)?;
        let Some(last_newline) = bytes.iter().rposition(|&b| b == b'\n') else {
            if start == 0 {
                return Ok((0, None)); // no complete line at all
            }
            chunk *= 2;
            continue;
        };
        let complete = start + last_newline as u64 + 1;
        match bytes[..last_newline].iter().rposition(|&b| b == b'\n') {
            Some(before) => return Ok((complete, Some(bytes[before + 1..last_newline].to_vec()))),
            None if start == 0 => return Ok((complete, Some(bytes[..last_newline].to_vec()))),
            None => chunk *= 2,
        }
    }
}

/// The sequence number and hash that follow `line`, if it is intact.
fn resume_from(line: &[u8]) -> Result<(u64, String), String> {
    let (hash, _, seq) = open_sealed(line)?;
    Ok((seq + 1, hash))
}
