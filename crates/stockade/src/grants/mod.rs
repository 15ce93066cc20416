//! File grants, resolved once when a sandbox is built: each host folder
//! becomes its canonical absolute path (so a later change of the current
//! directory, or a symlink swapped on the way, cannot move a grant, and the
//! audit log names the real folder), and combinations that would hand the
//! guest more than each grant says are refused. Overlaps with stockade's
//! own files are found by what the paths are on disk, not by their names
//! ([`place`]).

mod place;

use place::Place;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use stockade_core::SandboxError;
use stockade_policy::{FileMode, Policy, PolicyError};

/// Resolves `policy`'s grants in place and checks them against each other
/// and against stockade's own files.
pub(crate) fn resolve(policy: &mut Policy) -> Result<(), SandboxError> {
    if policy.files.grants.is_empty() {
        return Ok(());
    }
    let mut folders = Vec::with_capacity(policy.files.grants.len());
    for (i, grant) in policy.files.grants.iter_mut().enumerate() {
        let key = format!("files.grants[{i}].host");
        let folder = stockade_wasm::files::host_dir(&format!("files.grants[{i}]"), &grant.host)?
            .canonicalize()
            .map_err(|e| PolicyError::invalid(key.clone(), format!("{}: {e}", grant.host)))?;
        grant.host = folder
            .to_str()
            .ok_or_else(|| PolicyError::invalid(key, "the folder's path is not UTF-8"))?
            .to_string();
        folders.push((folder, grant.mode));
    }
    // A read-only folder inside (or equal to) a read-write one is writable
    // through the read-write grant: the guest picks its way by path.
    for (i, (folder, mode)) in folders.iter().enumerate() {
        let writable = folders.iter().enumerate().find(|(j, (other, other_mode))| {
            *j != i && *mode == FileMode::Ro && *other_mode == FileMode::Rw && folder.starts_with(other)
        });
        if let Some((j, (other, _))) = writable {
            return Err(PolicyError::invalid(
                format!("files.grants[{i}].host"),
                format!(
                    "{} is inside files.grants[{j}] ({}), which is read-write, so the guest could write to it \
                     there; grant folders that do not nest",
                    folder.display(),
                    other.display()
                ),
            )
            .into());
        }
    }
    let protected = protected(policy)?;
    for (what, path) in &protected {
        refuse_hard_links(what, path)?;
    }
    let protected: Vec<_> =
        protected.into_iter().map(|(what, path)| (what, Place::of(&path), path)).collect();
    for (i, (folder, _)) in folders.iter().enumerate() {
        let place = Place::of(folder);
        for (what, protected, path) in &protected {
            if place.overlaps(protected) {
                return Err(PolicyError::invalid(
                    format!("files.grants[{i}].host"),
                    format!(
                        "{} overlaps {what} ({}), which the guest must never reach",
                        folder.display(),
                        path.display()
                    ),
                )
                .into());
            }
        }
    }
    Ok(())
}

/// A second hard link to the audit log or the key is a name no folder
/// check can follow: refused while the sandbox grants any folder.
fn refuse_hard_links(what: &str, path: &Path) -> Result<(), SandboxError> {
    match std::fs::symlink_metadata(path) {
        Ok(found) if found.is_file() && found.nlink() > 1 => Err(PolicyError::invalid(
            "files.grants",
            format!(
                "{what} ({}) has {} hard links, and a grant could hold another of its names; \
                 remove the other links",
                path.display(),
                found.nlink()
            ),
        )
        .into()),
        _ => Ok(()),
    }
}

/// stockade's own files: a guest that could write its compiled-module cache
/// would run native code in the next host process, and one that could read
/// the audit log or its signing key could read or forge the record.
fn protected(policy: &Policy) -> Result<Vec<(&'static str, PathBuf)>, SandboxError> {
    let mut paths = vec![("the module cache", canonical(&crate::diagnostics::cache_dir()?))];
    if let Some(log) = &policy.audit.path {
        paths.push(("the audit log", canonical(Path::new(log))));
    }
    if let Some(key) = &policy.audit.signing_key {
        paths.push(("the audit signing key", canonical(Path::new(key))));
    }
    Ok(paths)
}

/// The canonical form of `path`, or of its folder joined with its name when
/// it does not exist yet (an audit log about to be created).
fn canonical(path: &Path) -> PathBuf {
    if let Ok(found) = path.canonicalize() {
        return found;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent().and_then(|p| p.canonicalize().ok()), absolute.file_name()) {
        (Some(folder), Some(name)) => folder.join(name),
        _ => absolute,
    }
}
