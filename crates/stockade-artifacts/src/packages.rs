//! Pure-Python packages from PyPI for the CPython guest (`python.packages`).
//!
//! The host downloads the requirements with `python3 -m pip download`
//! (dependencies too, wheels only, chosen for a pure-Python 3.15), takes
//! only pure-Python wheels, and
//! unpacks each file a wheel's `RECORD` lists, checked against it, into
//! `<cache>/packages/<key>/site`, published by one rename. The key is the
//! SHA-256 of the requirement list, so each distinct list is one folder,
//! downloaded once per machine. The guest sees the folder read-only on its
//! `sys.path`, and never reaches PyPI itself.
//!
//! Refused, naming the file: a wheel whose tags are not `none-any` with a
//! Python 3 tag (compiled code for some interpreter or platform), and a
//! "pure" wheel that still carries a shared library or `platlib` files.
//! Everything unpacked together is held to a size cap.

use crate::record::{hex, parse_record};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Written last: the unpacked total in bytes, then one `PATH SHA256` line per file.
const READY: &str = "READY";

/// A failure to provide `python.packages`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// A wheel the guest cannot run, or one that breaks the rules.
    #[error("python.packages: {file}: {why}")]
    Refused {
        /// The wheel's file name.
        file: String,
        /// Why.
        why: String,
    },
    /// The packages unpack to more than the cap.
    #[error(
        "python.packages unpack to more than {cap} bytes (python.packages_bytes); list fewer, or raise the cap"
    )]
    TooLarge {
        /// The cap.
        cap: u64,
    },
    /// Not downloaded on this machine yet.
    #[error("python.packages are not on this machine yet; run `stockade precompile python --policy FILE`")]
    Missing,
    /// pip or the file system failed.
    #[error("python.packages: {0}")]
    Download(String),
}

/// The folder the packages of `requirements` are unpacked into.
pub fn packages_dir(cache_root: &Path, requirements: &[String]) -> PathBuf {
    let mut hasher = Sha256::new();
    for requirement in requirements {
        hasher.update(requirement.split_whitespace().collect::<Vec<_>>().join(" ").as_bytes());
        hasher.update(b"\n");
    }
    let key = hex(&hasher.finalize());
    cache_root.join("packages").join(&key[..32])
}

/// The `site` folder of `requirements`, once fetched and within `cap` bytes.
pub fn locate_packages(
    cache_root: &Path,
    requirements: &[String],
    cap: u64,
) -> Result<PathBuf, PackageError> {
    locate_packages_listed(cache_root, requirements, cap).map(|(site, _)| site)
}

/// [`locate_packages`], with the SHA-256 of the listing of every file
/// unpacked and its digest: what a snapshot that imports them depends on.
pub fn locate_packages_listed(
    cache_root: &Path,
    requirements: &[String],
    cap: u64,
) -> Result<(PathBuf, String), PackageError> {
    let dir = packages_dir(cache_root, requirements);
    let ready = fs::read_to_string(dir.join(READY)).map_err(|_| PackageError::Missing)?;
    let total: u64 = ready.lines().next().and_then(|line| line.parse().ok()).ok_or(PackageError::Missing)?;
    if total > cap {
        return Err(PackageError::TooLarge { cap });
    }
    Ok((dir.join("site"), hex(&Sha256::digest(ready.as_bytes()))))
}

/// The `site` folder of `requirements`: found, or downloaded and unpacked
/// now (at most `cap` bytes unpacked). `say` hears each step.
pub fn fetch_packages(
    cache_root: &Path,
    requirements: &[String],
    cap: u64,
    say: &dyn Fn(&str),
) -> Result<PathBuf, PackageError> {
    match locate_packages(cache_root, requirements, cap) {
        Err(PackageError::Missing) => {}
        found => return found,
    }
    let fail = |what: String| PackageError::Download(what);
    let dir = packages_dir(cache_root, requirements);
    let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    fs::create_dir_all(&parent).map_err(|e| fail(format!("cannot create {}: {e}", parent.display())))?;
    let work = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(&parent)
        .map_err(|e| fail(format!("cannot make a work folder in {}: {e}", parent.display())))?;
    // Each requirement was checked by the policy (`check_requirement`):
    // a name, a version and hashes, nothing pip would read as an option.
    let listed: String =
        requirements.iter().map(|r| r.split_whitespace().collect::<Vec<_>>().join(" ") + "\n").collect();
    let list = work.path().join("requirements.txt");
    fs::write(&list, listed).map_err(|e| fail(format!("cannot write the requirements: {e}")))?;
    say(&format!("downloading python.packages with pip: {}", requirements.join(", ")));
    let wheels = work.path().join("wheels");
    let pure_only = pip_download(&list, &wheels, true)?;
    if !pure_only.status.success() {
        // pip found no pure wheel for something. To name the file at
        // fault, ask again for what this host would install: a compiled
        // wheel among those is the reason.
        let host = work.path().join("host-wheels");
        if pip_download(&list, &host, false)?.status.success() {
            for wheel in wheel_files(&host)? {
                pure(&file_name(&wheel))?;
            }
        }
        let said = String::from_utf8_lossy(&pure_only.stderr);
        let said: String = said.trim().chars().take(2000).collect();
        return Err(fail(format!(
            "`pip download` of {} failed ({}): {said}",
            requirements.join(", "),
            pure_only.status,
        )));
    }
    let stage = work.path().join("stage");
    let site = stage.join("site");
    fs::create_dir_all(&site).map_err(|e| fail(format!("cannot create {}: {e}", site.display())))?;
    let names = wheel_files(&wheels)?;
    let mut unpacked = Unpacked { total: 0, cap, listing: String::new() };
    for wheel in &names {
        let file = file_name(wheel);
        pure(&file)?;
        say(&format!("unpacking {file}"));
        unpack(wheel, &file, &site, &mut unpacked)?;
    }
    fs::write(stage.join(READY), format!("{}\n{}", unpacked.total, unpacked.listing))
        .map_err(|e| fail(format!("cannot write {READY}: {e}")))?;
    if dir.exists() {
        let old = work.path().join("old");
        fs::rename(&dir, &old).map_err(|e| fail(format!("cannot replace {}: {e}", dir.display())))?;
    }
    fs::rename(&stage, &dir).map_err(|e| fail(format!("cannot publish {}: {e}", dir.display())))?;
    say(&format!("python.packages are ready ({} files, {} bytes)", names.len(), unpacked.total));
    Ok(dir.join("site"))
}

/// Runs `pip download` of the requirements in `list` (wheels only, with
/// their dependencies) into `dest`. `pure_only` asks for wheels any
/// Python 3.15 can run, which is what the guest is; otherwise pip picks
/// what this host's Python would install.
fn pip_download(list: &Path, dest: &Path, pure_only: bool) -> Result<std::process::Output, PackageError> {
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"]);
    if pure_only {
        pip.args([
            "--platform",
            "any",
            "--abi",
            "none",
            "--implementation",
            "py",
            "--python-version",
            "3.15",
        ]);
    }
    pip.arg("--dest").arg(dest).arg("-r").arg(list);
    pip.stdin(std::process::Stdio::null());
    pip.output().map_err(|e| {
        PackageError::Download(format!("cannot run `python3 -m pip` ({e}); install python3 and pip"))
    })
}

/// The files pip left in `dir`, sorted.
fn wheel_files(dir: &Path) -> Result<Vec<PathBuf>, PackageError> {
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| PackageError::Download(format!("pip left no wheels: {e}")))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    names.sort();
    Ok(names)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Refuses a wheel whose file name's tags (`name-version[-build]-python-abi-platform.whl`)
/// are not those of pure Python 3.
fn pure(file: &str) -> Result<(), PackageError> {
    let refused = |why: String| PackageError::Refused { file: file.to_string(), why };
    let stem = file
        .strip_suffix(".whl")
        .ok_or_else(|| refused("is not a wheel (pip gave a source package)".into()))?;
    let tags: Vec<&str> = stem.rsplitn(4, '-').collect();
    let [platform, abi, python, _] = tags[..] else {
        return Err(refused("has no wheel tags in its name".into()));
    };
    if abi != "none" || platform != "any" || !python.split('.').any(|tag| tag == "py3") {
        return Err(refused(format!(
            "has compiled code (tags {python}-{abi}-{platform}); the guest runs only pure-Python wheels (py3-none-any)"
        )));
    }
    Ok(())
}

/// What the wheels unpacked so far add up to.
struct Unpacked {
    total: u64,
    cap: u64,
    listing: String,
}

/// Unpacks every file `RECORD` lists of `wheel` into `site`, each checked
/// against its digest and size; `.data/purelib/` files go to `site` too,
/// other `.data` (scripts, headers) are left out.
fn unpack(wheel: &Path, file: &str, site: &Path, unpacked: &mut Unpacked) -> Result<(), PackageError> {
    let refused = |why: String| PackageError::Refused { file: file.to_string(), why };
    let open = fs::File::open(wheel).map_err(|e| refused(format!("cannot open it: {e}")))?;
    let mut archive = zip::ZipArchive::new(open).map_err(|e| refused(format!("is not a zip: {e}")))?;
    let record_name = archive
        .file_names()
        .find(|name| name.ends_with(".dist-info/RECORD") && name.matches('/').count() == 1)
        .map(str::to_string)
        .ok_or_else(|| refused("has no RECORD".into()))?;
    let mut text = String::new();
    archive
        .by_name(&record_name)
        .map_err(|e| refused(format!("cannot read its RECORD: {e}")))?
        .take(16 << 20)
        .read_to_string(&mut text)
        .map_err(|e| refused(format!("cannot read its RECORD: {e}")))?;
    let record = parse_record(&text).map_err(refused)?;
    let mut listed: Vec<(&String, _)> = record.iter().collect();
    listed.sort_by(|a, b| a.0.cmp(b.0));
    for (inside, expected) in listed {
        let Some(relative) = placed(inside).map_err(|why| refused(format!("{inside}: {why}")))? else {
            continue;
        };
        if [".so", ".pyd", ".dylib", ".dll"].iter().any(|ext| inside.ends_with(ext)) {
            return Err(refused(format!("carries compiled code ({inside}), which the guest cannot load")));
        }
        let target = site.join(&relative);
        if let Some(folder) = target.parent() {
            fs::create_dir_all(folder)
                .map_err(|e| refused(format!("cannot create {}: {e}", folder.display())))?;
        }
        let mut entry =
            archive.by_name(inside).map_err(|e| refused(format!("lists {inside}, which it lacks: {e}")))?;
        let mut out = fs::File::create(&target)
            .map_err(|e| refused(format!("cannot create {}: {e}", target.display())))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 256 << 10];
        let mut size = 0u64;
        loop {
            let n = entry.read(&mut buffer).map_err(|e| refused(format!("cannot unpack {inside}: {e}")))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            unpacked.total += n as u64;
            if unpacked.total > unpacked.cap {
                return Err(PackageError::TooLarge { cap: unpacked.cap });
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n])
                .map_err(|e| refused(format!("cannot write {}: {e}", target.display())))?;
        }
        let sha256 = hex(&hasher.finalize());
        if sha256 != expected.sha256 || expected.size.is_some_and(|s| s != size) {
            return Err(refused(format!("{inside} does not match its RECORD")));
        }
        unpacked.listing.push_str(&format!("{} {sha256}\n", relative.display()));
    }
    Ok(())
}

/// Where a wheel's file goes under `site`: its own path, or the part after
/// `NAME.data/purelib/`; `None` for what a run does not need (scripts,
/// headers, data files). A path that is absolute or climbs is an error,
/// as is `platlib` (compiled code's place).
fn placed(inside: &str) -> Result<Option<PathBuf>, String> {
    let path = Path::new(inside);
    if !path.components().all(|part| matches!(part, Component::Normal(_))) {
        return Err("the path leaves the wheel's folder".into());
    }
    let mut parts = inside.splitn(3, '/');
    let (first, second, rest) = (parts.next().unwrap_or(""), parts.next(), parts.next());
    if first.ends_with(".data") {
        return match (second, rest) {
            (Some("purelib"), Some(rest)) => Ok(Some(PathBuf::from(rest))),
            (Some("platlib"), _) => Err("platlib holds compiled code".into()),
            _ => Ok(None),
        };
    }
    Ok(Some(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pure_python_3_wheels_are_taken() {
        assert!(pure("tabulate-0.9.0-py3-none-any.whl").is_ok());
        assert!(pure("six-1.16.0-py2.py3-none-any.whl").is_ok());
        assert!(pure("pkg-1.0-1-py3-none-any.whl").is_ok(), "a build tag");
        for file in [
            "ujson-5.10.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "pkg-1.0-py3-abi3-any.whl",
            "pkg-1.0-py2-none-any.whl",
            "pkg-1.0.tar.gz",
            "pkg.whl",
        ] {
            let refused = pure(file).expect_err(file).to_string();
            assert!(refused.contains(file), "{refused}");
        }
    }

    #[test]
    fn a_wheels_paths_stay_in_its_folder() {
        assert_eq!(
            placed("tabulate/__init__.py").expect("placed"),
            Some(PathBuf::from("tabulate/__init__.py"))
        );
        assert_eq!(placed("pkg-1.0.data/purelib/pkg/x.py").expect("placed"), Some(PathBuf::from("pkg/x.py")));
        assert_eq!(placed("pkg-1.0.data/scripts/run").expect("placed"), None);
        for hostile in ["../x.py", "/etc/passwd", "pkg/../../x", "pkg-1.0.data/platlib/x.py", "./x"] {
            assert!(placed(hostile).is_err(), "{hostile}");
        }
    }

    /// A wheel of `files`, with a RECORD listing `listed` (path, content
    /// its digest is taken of).
    fn wheel(dir: &Path, files: &[(&str, &str)], listed: &[(&str, &str)]) -> PathBuf {
        use base64::Engine;
        let path = dir.join("pkg-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(fs::File::create(&path).expect("create"));
        let stored =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let mut record = String::new();
        for (name, content) in listed {
            let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(content));
            record.push_str(&format!("{name},sha256={digest},{}\n", content.len()));
        }
        record.push_str("pkg-1.0.dist-info/RECORD,,\n");
        for (name, content) in files.iter().chain([&("pkg-1.0.dist-info/RECORD", record.as_str())]) {
            zip.start_file(*name, stored).expect("start");
            zip.write_all(content.as_bytes()).expect("write");
        }
        zip.finish().expect("finish");
        path
    }

    fn unpack_one(
        files: &[(&str, &str)],
        listed: &[(&str, &str)],
    ) -> (tempfile::TempDir, Result<Unpacked, PackageError>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = wheel(dir.path(), files, listed);
        let site = dir.path().join("site");
        let mut unpacked = Unpacked { total: 0, cap: 1 << 20, listing: String::new() };
        let result = unpack(&path, "pkg-1.0-py3-none-any.whl", &site, &mut unpacked).map(|()| unpacked);
        (dir, result)
    }

    #[test]
    fn only_what_record_lists_and_vouches_for_is_unpacked() {
        let good = [("pkg/__init__.py", "x = 1\n")];
        let (dir, unpacked) = unpack_one(&[good[0], ("pkg/extra.py", "y = 2\n")], &good);
        let unpacked = unpacked.expect("unpacked");
        assert_eq!(unpacked.total, 6);
        assert_eq!(fs::read_to_string(dir.path().join("site/pkg/__init__.py")).expect("read"), "x = 1\n");
        assert!(!dir.path().join("site/pkg/extra.py").exists(), "a file RECORD does not list");

        let (_dir, forged) = unpack_one(&[("pkg/__init__.py", "import os\n")], &good);
        assert!(forged.err().expect("refused").to_string().contains("does not match its RECORD"));

        let library = [("pkg/_speed.so", "\x7fELF")];
        let (_dir, compiled) = unpack_one(&library, &library);
        assert!(compiled.err().expect("refused").to_string().contains("compiled code (pkg/_speed.so)"));

        let climbing = [("../escape.py", "x")];
        let (dir, climbed) = unpack_one(&climbing, &climbing);
        assert!(climbed.err().expect("refused").to_string().contains("leaves the wheel's folder"));
        assert!(!dir.path().join("escape.py").exists());

        let (_dir, missing) = unpack_one(&[], &good);
        assert!(missing.err().expect("refused").to_string().contains("which it lacks"));
    }
}
