//! `python.packages` in the CPython guest: the folder the host unpacked
//! them into ([`stockade_artifacts::fetch_packages`]), preopened read-only
//! at [`GUEST_PATH`], which stockade's runtime puts first on `sys.path`, so
//! that a version the policy pins wins over one the guest's library
//! bundles (it has tabulate 0.10.0, for one).

use stockade_artifacts::PackageError;
use stockade_core::SandboxError;
use stockade_policy::{PolicyError, PythonPolicy};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Where the guest sees the packages.
pub(crate) const GUEST_PATH: &str = "/opt/stockade/site-packages";

/// The cap on what the packages unpack to.
pub(crate) fn cap(python: &PythonPolicy) -> u64 {
    match python.packages_bytes {
        0 => stockade_policy::defaults::PACKAGES_BYTES,
        bytes => bytes,
    }
}

/// Downloads and unpacks `python`'s packages unless this machine has them;
/// `say` hears each step. Nothing when it lists none.
pub fn fetch(python: &PythonPolicy, say: &dyn Fn(&str)) -> Result<(), SandboxError> {
    if python.packages.is_empty() {
        return Ok(());
    }
    let cache = crate::cache::Cache::open().map_err(crate::prepare_error)?;
    stockade_artifacts::fetch_packages(cache.dir(), &python.packages, cap(python), say)
        .map(drop)
        .map_err(error)
}

/// Preopens `python`'s packages for the guest; whether it lists any.
pub(crate) fn mount(wasi: &mut WasiCtxBuilder, python: &PythonPolicy) -> Result<bool, SandboxError> {
    if python.packages.is_empty() {
        return Ok(false);
    }
    let cache = crate::cache::Cache::open().map_err(crate::prepare_error)?;
    let site =
        stockade_artifacts::locate_packages(cache.dir(), &python.packages, cap(python)).map_err(error)?;
    wasi.preopened_dir(&site, GUEST_PATH, FsPerms::ReadOnly).map_err(|e| SandboxError::Artifact {
        message: format!("cannot open python.packages' folder {}: {e:#}", site.display()),
        hint: "run `stockade precompile python --policy FILE` to fetch them again".into(),
    })?;
    Ok(true)
}

/// A refused package is the policy's to fix; a failed download the machine's.
fn error(error: PackageError) -> SandboxError {
    match error {
        PackageError::Refused { .. } | PackageError::TooLarge { .. } => {
            PolicyError::invalid("python.packages", error.to_string()).into()
        }
        other => SandboxError::Artifact {
            message: other.to_string(),
            hint: "pip downloads them from PyPI on the host: check python3 -m pip and the network".into(),
        },
    }
}
