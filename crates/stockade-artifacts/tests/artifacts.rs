//! Fetching the CPython guest for real (pip from PyPI), then breaking it.

use std::fs;
use stockade_artifacts::{ArtifactError, fetch, locate, release_dir};

#[test]
fn a_machine_without_the_guest_is_told_how_to_get_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let err = locate(root.path()).expect_err("nothing fetched");
    assert!(matches!(err, ArtifactError::Missing { .. }));
    assert!(err.to_string().contains("stockade fetch python"), "{err}");
}

#[test]
fn a_fetched_guest_is_verified_and_damage_is_found() {
    let root = tempfile::tempdir().expect("tempdir");
    let artifacts = fetch(root.path(), &|step| eprintln!("fetch: {step}")).expect("fetch");
    assert_eq!(artifacts, locate(root.path()).expect("locate"));
    assert_eq!(artifacts.module_sha256, "879bdb628a1a799dc3a6d1a645fee0f88944bf4cdf5e1628e0e1d2b4b33d28d3");
    assert!(artifacts.lib_dir.join("python315.zip").is_file());
    assert!(!release_dir(root.path()).join("python.wasm").exists(), "only what a run needs is unpacked");

    // A cut file is damage, with the fix in the message.
    let module = fs::OpenOptions::new().write(true).open(&artifacts.module).expect("open");
    module.set_len(1000).expect("truncate");
    let err = locate(root.path()).expect_err("damaged");
    assert!(
        matches!(err, ArtifactError::Damaged { .. }) && err.to_string().contains("stockade fetch python"),
        "{err}"
    );

    // Fetching again repairs it.
    fetch(root.path(), &|_| {}).expect("fetch again");
    assert_eq!(locate(root.path()).expect("repaired"), artifacts);
    fs::write(release_dir(root.path()).join("READY"), "garbage").expect("write");
    assert!(matches!(locate(root.path()), Err(ArtifactError::Damaged { .. })));
}
