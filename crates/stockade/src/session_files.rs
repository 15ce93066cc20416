//! A session's files: what the host puts into, and takes out of, the
//! session's private space (its guest's `/tmp`), between runs.
//!
//! Paths are the guest's (`/tmp/data.csv`, or `data.csv` under it) and are
//! resolved beneath that space's root with cap-std, which follows no `..`
//! and no symlink out of it; a path with `..`, a NUL, or a root other than
//! `/tmp` is refused before anything is opened, and only regular files are
//! read or replaced. Bodies stream through a fixed buffer both ways. A
//! write goes to a hidden file first and takes the file's name only once
//! every byte is in, so a write that fails (the space's size cap,
//! `files.tmp_bytes`, or a short read of the body) leaves nothing
//! half-written. Every transfer is an audit record with its size and digest.

use crate::session::Session;
use bytes::Bytes;
use cap_std::fs::{Dir, OpenOptions};
use std::io::{Read, Write};
use stockade_audit::Event;
use stockade_core::SandboxError;

/// Where the session's files appear in its guest.
pub const SESSION_ROOT: &str = "/tmp";

/// The largest piece a body is read in: a read, and a hand-over to the
/// other side, per MiB (a quarter of the hand-overs of 256 KiB pieces; a
/// 256 MiB download went from 1.78x to 1.65x nginx's time, in runs one
/// after the other).
const CHUNK: usize = 1024 * 1024;

/// What a write gathers small pieces into before it writes them to the
/// file: a larger buffer made a 256 MiB upload slower (its copy no longer
/// stays in the core's cache).
const WRITE_BUFFER: usize = 256 * 1024;

/// The first piece read from a body: a small body is not given a whole
/// [`CHUNK`] of memory.
const FIRST_CHUNK: usize = 16 * 1024;

/// Pieces a transfer's digest may lag behind its copy.
const HASHED_AHEAD: usize = 8;

/// One file moved into or out of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The path, as the guest sees it.
    pub path: String,
    /// Bytes moved.
    pub bytes: u64,
    /// Lower-case hex BLAKE3 of them (`b3sum`'s digest).
    pub blake3: String,
}

/// A file or folder of a session's space, as [`SessionFiles::list`] and
/// [`SessionFiles::stat`] describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The path, as the guest sees it.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Its size in bytes (0 for a folder).
    pub bytes: u64,
}

/// What an [`Entry`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// Anything else (a symlink, a FIFO, a socket): listed, never followed,
    /// read or replaced.
    Other,
}

/// Why a session file could not be moved, typed for every surface.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The path is not one beneath the session's space.
    #[error("{path:?} is not a path in the session's files ({SESSION_ROOT}/...): {why}")]
    Path {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Nothing is there.
    #[error("{path} does not exist in the session's files")]
    Missing {
        /// The guest's path.
        path: String,
    },
    /// Something is there, but not a regular file (a folder, a symlink, a FIFO).
    #[error("{path} is not a regular file; only regular files are read or replaced")]
    NotAFile {
        /// The guest's path.
        path: String,
    },
    /// The session's space is full: `files.tmp_bytes` caps it.
    #[error("{path}: the session's files are full (files.tmp_bytes); nothing was written")]
    Full {
        /// The guest's path.
        path: String,
    },
    /// The session has no space of its own.
    #[error(
        "this session has no files of its own: a WebAssembly guest's {SESSION_ROOT} needs files.tmp_bytes"
    )]
    NoSpace,
    /// The session refused (it has ended), or its audit log failed.
    #[error(transparent)]
    Session(#[from] SandboxError),
    /// Reading the body, or the file system, failed.
    #[error("{path}: {source}")]
    Io {
        /// The guest's path.
        path: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

impl From<FileError> for SandboxError {
    fn from(error: FileError) -> SandboxError {
        match error {
            FileError::Session(error) => error,
            error => SandboxError::Request(error.to_string()),
        }
    }
}

/// The files of one session: see the module's documentation.
pub struct SessionFiles<'a> {
    session: &'a Session,
}

impl<'a> SessionFiles<'a> {
    pub(crate) fn new(session: &'a Session) -> SessionFiles<'a> {
        SessionFiles { session }
    }

    /// Writes `body` to `path`, replacing a regular file there and making
    /// its folders; returns what was written.
    pub fn write(&self, path: &str, body: impl Read) -> Result<Transfer, FileError> {
        self.write_chunks(path, chunks_of(body))
    }

    /// [`write`](Self::write) from a body that already comes in pieces (an
    /// HTTP body's frames): each is written as it is, copied by no one but
    /// the kernel.
    pub fn write_chunks(
        &self,
        path: &str,
        body: impl Iterator<Item = std::io::Result<Bytes>>,
    ) -> Result<Transfer, FileError> {
        let sent = self.space()?.write(path, body)?;
        self.record("write", &sent.path, sent.bytes, Some(&sent.blake3))?;
        Ok(sent)
    }

    /// Streams the regular file at `path` into `out`; returns what was read.
    pub fn read(&self, path: &str, mut out: impl Write) -> Result<Transfer, FileError> {
        let got = self.space()?.read(path, |chunk| out.write_all(&chunk))?;
        out.flush().map_err(|source| FileError::Io { path: got.path.clone(), source })?;
        self.record("read", &got.path, got.bytes, Some(&got.blake3))?;
        Ok(got)
    }

    /// [`read`](Self::read) into `send`, a piece at a time, each piece a
    /// buffer of its own that `send` may keep (an HTTP body's frame).
    pub fn read_chunks(
        &self,
        path: &str,
        send: impl FnMut(Bytes) -> std::io::Result<()>,
    ) -> Result<Transfer, FileError> {
        let got = self.space()?.read(path, send)?;
        self.record("read", &got.path, got.bytes, Some(&got.blake3))?;
        Ok(got)
    }

    /// The entries of the folder at `path` (`/tmp` itself with `""` or
    /// `/tmp`), sorted by name; stockade's own partial writes are left out.
    pub fn list(&self, path: &str) -> Result<Vec<Entry>, FileError> {
        self.space()?.list(path)
    }

    /// What is at `path`, without following a symlink there.
    pub fn stat(&self, path: &str) -> Result<Entry, FileError> {
        self.space()?.stat(path)
    }

    /// Removes the file (or empty folder) at `path`.
    pub fn remove(&self, path: &str) -> Result<(), FileError> {
        let shown = self.space()?.remove(path)?;
        self.record("remove", &shown, 0, None)
    }

    fn space(&self) -> Result<Space, FileError> {
        let files = self.session.files_root()?.ok_or(FileError::NoSpace)?;
        Ok(Space { root: Dir::from_std_file(files.root), owner: files.owner })
    }

    fn record(&self, op: &str, path: &str, bytes: u64, blake3: Option<&str>) -> Result<(), FileError> {
        let Some(log) = self.session.sandbox().audit() else { return Ok(()) };
        let event = Event::SessionFile {
            session: self.session.id().to_string(),
            op: op.to_string(),
            path: path.to_string(),
            bytes,
            blake3: blake3.map(str::to_string),
        };
        log.append(&event)
            .and_then(|_| log.end_batch())
            .map_err(|e| FileError::Session(crate::audit::audit_error(e)))?;
        Ok(())
    }
}

/// A guest's private space, reached beneath its root.
struct Space {
    root: Dir,
    /// Who what is made here must belong to (see [`stockade_core::GuestFiles`]).
    owner: Option<(u32, u32)>,
}

impl Space {
    fn write(
        &self,
        path: &str,
        body: impl Iterator<Item = std::io::Result<Bytes>>,
    ) -> Result<Transfer, FileError> {
        let (relative, shown) = resolve(path)?;
        let io = |source| FileError::Io { path: shown.clone(), source };
        let (parent, name) = match relative.rsplit_once('/') {
            Some((parent, name)) => (Some(parent), name),
            None => (None, relative.as_str()),
        };
        if let Ok(existing) = self.root.symlink_metadata(&relative)
            && !existing.is_file()
        {
            return Err(FileError::NotAFile { path: shown });
        }
        let partial = match parent {
            Some(parent) => format!("{parent}/.{name}.stockade-partial"),
            None => format!(".{name}.stockade-partial"),
        };
        let file = self.make(|| {
            if let Some(parent) = parent {
                self.root.create_dir_all(parent)?;
            }
            let mut options = OpenOptions::new();
            options.write(true).create(true).truncate(true);
            self.root.open_with(&partial, &options)
        });
        let written = file.map_err(io).and_then(|file| {
            // Small pieces are gathered; a piece as big as the buffer is not copied.
            let mut file = std::io::BufWriter::with_capacity(WRITE_BUFFER, file.into_std());
            let copied = digest(body, |chunk| file.write_all(&chunk), Hashing::Beside)
                .map_err(|e| full_or(e, &shown))?;
            file.flush().map_err(|e| full_or(e, &shown))?;
            Ok(copied)
        });
        let (bytes, blake3) = match written {
            Ok(copied) => copied,
            Err(error) => {
                let _ = self.make(|| self.root.remove_file(&partial));
                return Err(error);
            }
        };
        // Naming a file is making it, as far as the kernel's checks go.
        if let Err(e) = self.make(|| self.root.rename(&partial, &self.root, &relative)) {
            let _ = self.make(|| self.root.remove_file(&partial));
            return Err(io(e));
        }
        Ok(Transfer { path: shown, bytes, blake3 })
    }

    fn read(
        &self,
        path: &str,
        send: impl FnMut(Bytes) -> std::io::Result<()>,
    ) -> Result<Transfer, FileError> {
        let (relative, shown) = resolve(path)?;
        let metadata = self.root.symlink_metadata(&relative).map_err(|e| missing_or(e, &shown))?;
        if !metadata.is_file() {
            return Err(FileError::NotAFile { path: shown });
        }
        let io = |source| FileError::Io { path: shown.clone(), source };
        let file = self.root.open(&relative).map_err(io)?.into_std();
        let (bytes, blake3) = digest(chunks_of(file), send, Hashing::Inline).map_err(io)?;
        Ok(Transfer { path: shown, bytes, blake3 })
    }

    fn list(&self, path: &str) -> Result<Vec<Entry>, FileError> {
        let (relative, shown) = resolve_dir(path)?;
        let io = |source| FileError::Io { path: shown.clone(), source };
        let dir = match relative.is_empty() {
            true => self.root.try_clone().map_err(io)?,
            false => self.root.open_dir(&relative).map_err(|e| missing_or(e, &shown))?,
        };
        let mut entries = Vec::new();
        for entry in dir.entries().map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".stockade-partial") {
                continue;
            }
            let metadata = entry.metadata().map_err(io)?;
            entries.push(entry_of(format!("{}/{name}", shown.trim_end_matches('/')), &metadata));
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    fn stat(&self, path: &str) -> Result<Entry, FileError> {
        let (relative, shown) = resolve_dir(path)?;
        let metadata = match relative.is_empty() {
            true => self.root.dir_metadata(),
            false => self.root.symlink_metadata(&relative),
        };
        let metadata = metadata.map_err(|e| missing_or(e, &shown))?;
        Ok(entry_of(shown, &metadata))
    }

    /// Removes the file (or empty folder) at `path`; returns its guest path.
    fn remove(&self, path: &str) -> Result<String, FileError> {
        let (relative, shown) = resolve(path)?;
        let metadata = self.root.symlink_metadata(&relative).map_err(|e| missing_or(e, &shown))?;
        let removed = self.make(|| match metadata.is_dir() {
            true => self.root.remove_dir(&relative),
            false => self.root.remove_file(&relative),
        });
        removed.map_err(|source| FileError::Io { path: shown.clone(), source })?;
        Ok(shown)
    }

    /// Runs `make` as the space's owner, when it has one.
    fn make<T: Send>(&self, make: impl FnOnce() -> std::io::Result<T> + Send) -> std::io::Result<T> {
        match self.owner {
            Some(owner) => stockade_jail::as_file_owner(owner, make)?,
            None => make(),
        }
    }
}

fn entry_of(path: String, metadata: &cap_std::fs::Metadata) -> Entry {
    let kind = match metadata.file_type() {
        kind if kind.is_file() => EntryKind::File,
        kind if kind.is_dir() => EntryKind::Dir,
        _ => EntryKind::Other,
    };
    Entry { path, kind, bytes: if kind == EntryKind::File { metadata.len() } else { 0 } }
}

/// `path` beneath the session's root, as a relative path, and as the guest
/// sees it; a path to the root itself is refused (it is no file).
fn resolve(path: &str) -> Result<(String, String), FileError> {
    let (relative, shown) = resolve_dir(path)?;
    if relative.is_empty() {
        return Err(FileError::Path { path: path.to_string(), why: "it names the folder itself" });
    }
    Ok((relative, shown))
}

/// The same, allowing the root (for a listing).
fn resolve_dir(path: &str) -> Result<(String, String), FileError> {
    let refuse = |why| FileError::Path { path: path.to_string(), why };
    if path.contains('\0') {
        return Err(refuse("it holds a NUL byte"));
    }
    let rest = match path.strip_prefix('/') {
        Some(absolute) => match absolute.strip_prefix(&SESSION_ROOT[1..]) {
            Some("") => "",
            Some(rest) if rest.starts_with('/') => rest,
            _ => return Err(refuse("an absolute path must be under /tmp")),
        },
        None => path,
    };
    let mut parts = Vec::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(refuse("it climbs with `..`")),
            part => parts.push(part),
        }
    }
    let relative = parts.join("/");
    let shown = match relative.is_empty() {
        true => SESSION_ROOT.to_string(),
        false => format!("{SESSION_ROOT}/{relative}"),
    };
    Ok((relative, shown))
}

/// Passes every piece of `chunks` to `send`, and hashes it where
/// `hashing` says; the bytes and their digest. BLAKE3 runs at about 5 GB/s
/// on one core here, four times SHA-256 with SHA-NI. A piece is shared
/// with the hasher, not copied, and beside the copy at most
/// [`HASHED_AHEAD`] of them wait for it. A body of one piece, as most
/// are, is hashed where it is, without a thread.
fn digest(
    chunks: impl Iterator<Item = std::io::Result<Bytes>>,
    mut send: impl FnMut(Bytes) -> std::io::Result<()>,
    hashing: Hashing,
) -> std::io::Result<(u64, String)> {
    let mut chunks = chunks.peekable();
    let first = chunks.next().transpose()?.unwrap_or_default();
    if hashing == Hashing::Inline || chunks.peek().is_none() {
        let mut hash = blake3::Hasher::new();
        let mut total = 0u64;
        for chunk in std::iter::once(Ok(first)).chain(chunks) {
            let chunk = chunk?;
            if chunk.is_empty() {
                continue;
            }
            total += chunk.len() as u64;
            // Sent first, so that the other side copies it meanwhile.
            send(chunk.clone())?;
            hash.update(&chunk);
        }
        return Ok((total, hash.finalize().to_hex().to_string()));
    }
    let chunks = std::iter::once(Ok(first)).chain(chunks);
    let (to_hasher, pieces) = std::sync::mpsc::sync_channel::<Bytes>(HASHED_AHEAD);
    std::thread::scope(|scope| {
        let hasher = scope.spawn(move || {
            let mut hash = blake3::Hasher::new();
            for piece in pieces {
                hash.update(&piece);
            }
            hash.finalize()
        });
        let send_all = || -> std::io::Result<u64> {
            let mut total = 0u64;
            for chunk in chunks {
                let chunk = chunk?;
                total += chunk.len() as u64;
                to_hasher
                    .send(chunk.clone())
                    .map_err(|_| std::io::Error::other("the digest's thread stopped"))?;
                send(chunk)?;
            }
            Ok(total)
        };
        let sent = send_all();
        drop(to_hasher);
        let hash = hasher.join().map_err(|_| std::io::Error::other("the digest's thread panicked"))?;
        Ok((sent?, hash.to_hex().to_string()))
    })
}

/// Where [`digest`] hashes a transfer's pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hashing {
    /// On a thread of its own, beside the copy: for a write, whose thread
    /// also fills the file's new pages and is the slower side (hashing
    /// there made a 256 MiB upload a third slower).
    Beside,
    /// Where the piece was read, right after it is handed on, while it is
    /// still in this core's cache: for a read, whose pieces the
    /// connection's thread sends meanwhile (a 256 MiB download in 130 ms
    /// against 152 ms with a thread, which cost a hand-over per piece).
    Inline,
}

/// `from` as pieces, each read into a buffer of its own, so that it can be
/// handed on as it is. The first is [`FIRST_CHUNK`] (most bodies are
/// small) and each full one doubles the next, up to [`CHUNK`]; only the
/// last may be short.
fn chunks_of(mut from: impl Read) -> impl Iterator<Item = std::io::Result<Bytes>> {
    let mut size = FIRST_CHUNK;
    std::iter::from_fn(move || {
        // `read_to_end` reads into the spare capacity, which a `File`
        // fills without zeroing it first.
        let mut buffer = Vec::with_capacity(size);
        if let Err(e) = (&mut from).take(size as u64).read_to_end(&mut buffer) {
            return Some(Err(e));
        }
        size = (size * 2).min(CHUNK);
        (!buffer.is_empty()).then(|| Ok(Bytes::from(buffer)))
    })
}

fn full_or(error: std::io::Error, path: &str) -> FileError {
    match error.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            FileError::Full { path: path.to_string() }
        }
        _ => FileError::Io { path: path.to_string(), source: error },
    }
}

fn missing_or(error: std::io::Error, path: &str) -> FileError {
    match error.kind() {
        std::io::ErrorKind::NotFound => FileError::Missing { path: path.to_string() },
        _ => FileError::Io { path: path.to_string(), source: error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A space over a folder the test fills: symlinks in and out, a FIFO.
    fn planted() -> (tempfile::TempDir, Space) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("d")).expect("mkdir");
        std::fs::write(root.join("d/real.txt"), "real").expect("write");
        std::fs::write(dir.path().join("outside.txt"), "outside").expect("write");
        std::os::unix::fs::symlink("real.txt", root.join("d/inside")).expect("symlink");
        std::os::unix::fs::symlink("../..", root.join("d/up")).expect("symlink");
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), root.join("out")).expect("symlink");
        let fifo = std::ffi::CString::new(root.join("fifo").to_string_lossy().as_bytes()).expect("path");
        // SAFETY: `fifo` is a NUL-terminated path that lives across the call.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0, "mkfifo");
        let root = Dir::open_ambient_dir(&root, cap_std::ambient_authority()).expect("open");
        (dir, Space { root, owner: None })
    }

    fn read(space: &Space, path: &str) -> Result<Vec<u8>, FileError> {
        let mut got = Vec::new();
        space.read(path, |chunk| {
            got.extend_from_slice(&chunk);
            Ok(())
        })?;
        Ok(got)
    }

    #[test]
    fn no_symlink_or_fifo_is_followed_read_or_replaced() {
        let (dir, space) = planted();
        for path in ["d/inside", "d/up", "out", "fifo"] {
            assert!(matches!(space.read(path, |_| Ok(())), Err(FileError::NotAFile { .. })), "{path}");
            assert!(
                matches!(space.write(path, chunks_of(&b"x"[..])), Err(FileError::NotAFile { .. })),
                "{path}"
            );
        }
        // Through a symlink that climbs out, nothing is reached.
        assert!(space.read("d/up/outside.txt", |_| Ok(())).is_err());
        assert!(space.write("d/up/escaped.txt", chunks_of(&b"x"[..])).is_err());
        assert!(space.write("out/x", chunks_of(&b"x"[..])).is_err());
        assert!(space.list("d/up").is_err());
        assert!(!dir.path().join("escaped.txt").exists());
        assert_eq!(std::fs::read_to_string(dir.path().join("outside.txt")).expect("read"), "outside");
        let kinds: Vec<(String, EntryKind)> =
            space.list("d").expect("list").into_iter().map(|e| (e.path, e.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("/tmp/d/inside".to_string(), EntryKind::Other),
                ("/tmp/d/real.txt".to_string(), EntryKind::File),
                ("/tmp/d/up".to_string(), EntryKind::Other),
            ]
        );
        assert_eq!(read(&space, "/tmp/d/real.txt").expect("the real file"), b"real");
    }

    /// A body that fails part way, as a dropped upload does.
    struct Broken(u8);

    impl Read for Broken {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            self.0 += 1;
            match self.0 {
                1 => Ok(buffer.len().min(1000)),
                _ => Err(std::io::Error::other("the upload broke")),
            }
        }
    }

    #[test]
    fn a_write_that_fails_part_way_leaves_nothing_and_keeps_the_old_file() {
        let (_dir, space) = planted();
        assert!(matches!(space.write("d/real.txt", chunks_of(Broken(0))), Err(FileError::Io { .. })));
        assert_eq!(read(&space, "d/real.txt").expect("the old file"), b"real", "the old file is untouched");
        let names: Vec<String> = space.list("d").expect("list").into_iter().map(|e| e.path).collect();
        assert_eq!(names.len(), 3, "no partial file left: {names:?}");
    }

    #[test]
    fn every_piece_is_hashed_in_order_and_a_broken_sink_ends_the_copy() {
        let body: Vec<u8> = (0..CHUNK * 2 + 7).map(|i| (i % 251) as u8).collect();
        let grown: Vec<usize> = std::iter::successors(Some(FIRST_CHUNK), |size| Some(size * 2))
            .take_while(|&s| s < CHUNK)
            .collect();
        let rest = body.len() - grown.iter().sum::<usize>();
        for hashing in [Hashing::Beside, Hashing::Inline] {
            let (mut sizes, mut back) = (Vec::new(), Vec::new());
            // A reader that gives a few bytes at a time still makes full
            // pieces, growing from the first to the largest.
            let trickle = std::io::BufReader::with_capacity(1000, &body[..]);
            let (bytes, hex) = digest(
                chunks_of(trickle),
                |piece| {
                    sizes.push(piece.len());
                    back.extend_from_slice(&piece);
                    Ok(())
                },
                hashing,
            )
            .expect("copied");
            assert_eq!(sizes, [&grown[..], &[CHUNK, rest - CHUNK]].concat(), "{hashing:?}");
            assert!(back == body && bytes == body.len() as u64, "{hashing:?}");
            assert_eq!(hex, blake3::hash(&body).to_hex().as_str(), "{hashing:?}");
            let mut calls = 0;
            let broken = digest(
                chunks_of(&body[..]),
                |_| {
                    calls += 1;
                    Err(std::io::Error::other("the client went away"))
                },
                hashing,
            );
            assert_eq!(broken.expect_err("the sink broke").to_string(), "the client went away");
            assert_eq!(calls, 1, "nothing more is sent after the sink breaks ({hashing:?})");
            // One piece, and none, are hashed without the thread, alike.
            for small in [&b"x"[..], b""] {
                let mut sent = Vec::new();
                let (bytes, hex) = digest(
                    chunks_of(small),
                    |piece| {
                        sent.push(piece);
                        Ok(())
                    },
                    hashing,
                )
                .expect("copied");
                assert_eq!(
                    (bytes, hex.as_str()),
                    (small.len() as u64, blake3::hash(small).to_hex().as_str())
                );
                assert_eq!(sent.concat(), small, "an empty body sends no piece ({hashing:?})");
            }
        }
    }

    #[test]
    fn paths_resolve_beneath_tmp_or_are_refused() {
        let ok = |path: &str| resolve(path).map(|(relative, _)| relative).expect(path);
        assert_eq!(ok("data.csv"), "data.csv");
        assert_eq!(ok("/tmp/a/./b.txt"), "a/b.txt");
        assert_eq!(ok("./a//b"), "a/b");
        for bad in ["/etc/passwd", "/tmpx/a", "../a", "a/../../b", "a/..", "/tmp", "", "a\0b"] {
            assert!(resolve(bad).is_err(), "{bad:?}");
        }
        assert_eq!(resolve_dir("/tmp").expect("root").0, "");
        assert_eq!(resolve("/tmp/x").expect("x").1, "/tmp/x");
    }
}
