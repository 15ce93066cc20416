//! The on-disk cache of compiled modules and guest snapshots.
//!
//! Loading a `.cwasm` maps machine code into the process, so only files this
//! code wrote are ever loaded:
//! - the cache lives in a private directory (mode 0700, owned by this user),
//!   `$STOCKADE_CACHE_DIR`, else `$XDG_CACHE_HOME/stockade`, else
//!   `~/.cache/stockade`; a directory anyone else could write is refused;
//! - every entry `NAME` has its BLAKE3 digest beside it in `NAME.b3`,
//!   checked on the open file before use, so a truncated or corrupted entry
//!   is deleted and rebuilt, never loaded; the entry itself is the plain
//!   payload, so a compiled module can be mapped in place;
//! - hashing CPython's 290 MB module would cost every process about 70 ms,
//!   so once an entry has been hashed and found intact its inode, size and
//!   change times are recorded beside the digest ([`Stamp`]), and a later
//!   open whose `fstat` matches them skips the hash. Any write to the file
//!   moves its ctime, which no unprivileged process can set back; a stamp
//!   is only recorded for a file changed more than [`SETTLED`] ago, so even
//!   a filesystem with coarse timestamps gives a later write a new ctime;
//! - entries are written to a temporary file and renamed into place, so two
//!   processes filling the same entry at once each publish a whole file.

use std::fs;
use std::io::{Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use wasmtime::{Result, bail, format_err};

/// The first line of every digest file; the 32 digest bytes follow, then
/// optionally a [`Stamp`].
const MAGIC: &[u8; 12] = b"stockade-v2\n";
const HEADER: usize = MAGIC.len() + 32;

/// How long ago a file must have last changed for its stamp to be trusted.
const SETTLED: std::time::Duration = std::time::Duration::from_secs(2);

/// What `fstat` said of an entry when its digest last matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp([i64; 6]);

impl Stamp {
    const BYTES: usize = 6 * 8;

    fn of(meta: &fs::Metadata) -> Stamp {
        Stamp([
            meta.dev() as i64,
            meta.ino() as i64,
            meta.size() as i64,
            meta.mtime().wrapping_mul(1_000_000_000).wrapping_add(meta.mtime_nsec()),
            meta.ctime(),
            meta.ctime_nsec(),
        ])
    }

    fn encode(self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn decode(bytes: &[u8]) -> Option<Stamp> {
        if bytes.len() != Stamp::BYTES {
            return None;
        }
        let mut fields = [0i64; 6];
        for (field, chunk) in fields.iter_mut().zip(bytes.chunks_exact(8)) {
            *field = i64::from_le_bytes(chunk.try_into().ok()?);
        }
        Some(Stamp(fields))
    }

    /// Whether the file last changed long enough ago to be stamped.
    fn settled(meta: &fs::Metadata) -> bool {
        let changed = std::time::UNIX_EPOCH
            + std::time::Duration::new(
                meta.ctime().max(0) as u64,
                meta.ctime_nsec().clamp(0, 999_999_999) as u32,
            );
        changed.elapsed().is_ok_and(|age| age > SETTLED)
    }
}

/// A private directory of verified cache entries.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// Opens (creating if needed) the cache directory for this user.
    pub fn open() -> Result<Cache> {
        Cache::open_at(default_dir()?)
    }

    /// Opens (creating if needed) the cache directory at `dir`.
    pub fn open_at(dir: PathBuf) -> Result<Cache> {
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(|e| format_err!("cannot create {}: {e}", parent.display()))?;
        }
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => bail!("cannot create the cache directory {}: {e}", dir.display()),
        }
        let meta =
            fs::symlink_metadata(&dir).map_err(|e| format_err!("cannot inspect {}: {e}", dir.display()))?;
        if !meta.is_dir() {
            bail!("the cache path {} is not a directory", dir.display());
        }
        if meta.uid() != rustix::process::geteuid().as_raw() {
            bail!(
                "the cache directory {} belongs to uid {}, not to this user; \
                 point STOCKADE_CACHE_DIR at a directory of your own",
                dir.display(),
                meta.uid()
            );
        }
        if meta.mode() & 0o077 != 0 {
            bail!(
                "the cache directory {} is open to other users (mode {:o}); \
                 run `chmod 700 {}` or point STOCKADE_CACHE_DIR elsewhere",
                dir.display(),
                meta.mode() & 0o777,
                dir.display()
            );
        }
        Ok(Cache { dir })
    }

    /// The directory entries live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The payload stored under `name`, read whole, if present and intact.
    pub fn load(&self, name: &str) -> Option<Vec<u8>> {
        use std::io::Read;
        let mut bytes = Vec::new();
        self.open_entry(name)?.read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    /// Stores `payload` under `name` and its digest under `name.b3`, each
    /// written whole and renamed into place.
    pub fn store(&self, name: &str, payload: &[u8]) -> Result<()> {
        self.publish(name, &[payload])?;
        self.publish(&sidecar(name), &[MAGIC, blake3::hash(payload).as_bytes()])
    }

    /// The entry `name`, opened at its start, if its content matches the
    /// digest beside it. The caller uses (or maps) this same open file, so
    /// nothing can change between the check and the use. A damaged or
    /// half-written entry is removed.
    pub fn open_entry(&self, name: &str) -> Option<fs::File> {
        let path = self.dir.join(name);
        let mut file = fs::File::open(&path).ok()?;
        let meta = file.metadata().ok()?;
        // A payload without its digest is half a store: damaged like any other.
        let sidecar_bytes = fs::read(self.dir.join(sidecar(name))).unwrap_or_default();
        let well_formed = (sidecar_bytes.len() == HEADER || sidecar_bytes.len() == HEADER + Stamp::BYTES)
            && &sidecar_bytes[..MAGIC.len()] == MAGIC;
        if well_formed && Stamp::decode(&sidecar_bytes[HEADER..]) == Some(Stamp::of(&meta)) {
            return Some(file);
        }
        let intact = well_formed
            && digest_of(&mut file).is_some_and(|d| d[..] == sidecar_bytes[MAGIC.len()..HEADER])
            && file.rewind().is_ok();
        if intact && Stamp::settled(&meta) {
            // Best effort: without the stamp the next open hashes again.
            let _ = self.publish(&sidecar(name), &[&sidecar_bytes[..HEADER], &Stamp::of(&meta).encode()]);
        }
        if !intact {
            tracing::warn!(path = %path.display(), "damaged cache entry removed; it will be rebuilt");
            let _ = fs::remove_file(&path);
            let _ = fs::remove_file(self.dir.join(sidecar(name)));
            return None;
        }
        Some(file)
    }

    /// Takes the lock of entry `name`, waiting while another process holds
    /// it: whoever fills an expensive entry holds it, so processes that
    /// start at once compile once. The lock ends when the file is dropped
    /// (or its process dies).
    pub fn lock(&self, name: &str) -> Result<fs::File> {
        let path = self.dir.join(format!("{name}.lock"));
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format_err!("cannot open the lock {}: {e}", path.display()))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| format_err!("cannot lock {}: {e}", path.display()))?;
        Ok(file)
    }

    fn publish(&self, name: &str, parts: &[&[u8]]) -> Result<()> {
        let mut file = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(&self.dir)
            .map_err(|e| format_err!("cannot write to the cache {}: {e}", self.dir.display()))?;
        file.as_file().set_permissions(fs::Permissions::from_mode(0o600))?;
        for part in parts {
            file.write_all(part)?;
        }
        // No fsync: a cache entry lost or cut short by a crash fails its
        // digest check and is rebuilt, so durability would buy nothing but
        // a stall (seconds, on a busy disk) on a machine's first run.
        file.persist(self.dir.join(name))
            .map_err(|e| format_err!("cannot publish cache entry {name}: {}", e.error))?;
        Ok(())
    }
}

/// BLAKE3 of a file, hashed through a read-only mapping: a module is
/// megabytes, and reading it would copy every byte once more.
fn digest_of(file: &mut fs::File) -> Option<[u8; 32]> {
    use rustix::mm::{MapFlags, ProtFlags, mmap, munmap};
    let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
    if len == 0 {
        return Some(*blake3::hash(&[]).as_bytes());
    }
    // SAFETY: a fresh private, read-only mapping of a file we hold open, at
    // an address the kernel picks; it aliases no Rust object. Cache files
    // are replaced by rename, never truncated in place, so the mapping stays
    // backed for as long as it lives (until the munmap below).
    let at =
        unsafe { mmap(std::ptr::null_mut(), len, ProtFlags::READ, MapFlags::PRIVATE, &*file, 0) }.ok()?;
    // SAFETY: the mapping is `len` readable bytes and lives until the munmap.
    let bytes = unsafe { std::slice::from_raw_parts(at.cast::<u8>(), len) };
    let digest = *blake3::hash(bytes).as_bytes();
    // SAFETY: `at` and `len` are exactly the mapping made above, and `bytes`
    // is not used after this.
    let _ = unsafe { munmap(at, len) };
    Some(digest)
}

fn sidecar(name: &str) -> String {
    format!("{name}.b3")
}

fn default_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("STOCKADE_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("stockade"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("stockade")),
        None => bail!("no cache directory: set STOCKADE_CACHE_DIR, XDG_CACHE_HOME or HOME"),
    }
}

/// Hex SHA-256 of `parts`, each length-prefixed so boundaries are unambiguous.
pub fn key(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> (tempfile::TempDir, Cache) {
        let root = tempfile::tempdir().expect("tempdir");
        let cache = Cache::open_at(root.path().join("cache")).expect("cache");
        (root, cache)
    }

    #[test]
    fn round_trip_and_private_mode() {
        let (_root, cache) = fresh();
        cache.store("a", b"payload").expect("store");
        assert_eq!(cache.load("a").as_deref(), Some(&b"payload"[..]));
        assert_eq!(fs::metadata(cache.dir()).expect("meta").mode() & 0o777, 0o700);
        for file in ["a", "a.b3"] {
            assert_eq!(fs::metadata(cache.dir().join(file)).expect("meta").mode() & 0o777, 0o600);
        }
        assert!(cache.load("missing").is_none());
    }

    #[test]
    fn damaged_entries_are_removed_not_loaded() {
        let (_root, cache) = fresh();
        type Damage = (&'static str, fn(&Path));
        let damages: [Damage; 5] = [
            ("a changed byte", |p| {
                let mut bytes = fs::read(p).expect("read");
                bytes[100] ^= 1;
                fs::write(p, bytes).expect("corrupt");
            }),
            ("a cut payload", |p| {
                let bytes = fs::read(p).expect("read");
                fs::write(p, &bytes[..bytes.len() - 1]).expect("truncate");
            }),
            ("no digest", |p| fs::remove_file(p.with_extension("b3")).expect("remove")),
            ("a garbage digest", |p| {
                fs::write(p.with_extension("b3"), b"stockade-v2\nshort").expect("write")
            }),
            ("another format's digest", |p| {
                let mut digest = fs::read(p.with_extension("b3")).expect("read");
                digest[9] = b'1';
                fs::write(p.with_extension("b3"), digest).expect("write");
            }),
        ];
        for (what, damage) in damages {
            // Named without an extension, so `with_extension` finds its digest file.
            cache.store("m", &[7u8; 4096]).expect("store");
            let path = cache.dir().join("m");
            damage(&path);
            assert!(cache.open_entry("m").is_none(), "{what} was loaded");
            assert!(!path.exists(), "{what}: the damaged entry is removed");
        }
    }

    #[test]
    fn a_stamped_entry_is_still_checked_after_a_write() {
        let (_root, cache) = fresh();
        cache.store("m", &[7u8; 4096]).expect("store");
        let path = cache.dir().join("m");
        let sidecar = path.with_extension("b3");
        assert!(cache.open_entry("m").is_some());
        assert_eq!(fs::metadata(&sidecar).expect("meta").len(), HEADER as u64, "too fresh to stamp");
        std::thread::sleep(SETTLED + std::time::Duration::from_millis(100));
        assert!(cache.open_entry("m").is_some());
        assert_eq!(fs::metadata(&sidecar).expect("meta").len(), (HEADER + Stamp::BYTES) as u64, "stamped");
        assert!(cache.open_entry("m").is_some(), "the stamp lets an intact entry through");
        // Same size, one byte changed in place: the stamp no longer matches.
        let mut file = fs::OpenOptions::new().write(true).open(&path).expect("open");
        file.write_all(&[8]).expect("write");
        drop(file);
        assert!(cache.open_entry("m").is_none(), "a changed entry was loaded on its stamp");
        assert!(!path.exists());
    }

    #[test]
    fn an_opened_entry_reads_from_its_start() {
        use std::io::Read;
        let (_root, cache) = fresh();
        cache.store("m.cwasm", b"machine code").expect("store");
        let mut text = String::new();
        cache.open_entry("m.cwasm").expect("intact").read_to_string(&mut text).expect("read");
        assert_eq!(text, "machine code");
    }

    #[test]
    fn a_directory_open_to_others_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("open");
        fs::create_dir(&dir).expect("mkdir");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = Cache::open_at(dir).expect_err("world-writable cache");
        assert!(err.to_string().contains("open to other users"), "{err}");
    }

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
        assert_eq!(key(&[b"x"]).len(), 64);
    }
}
