//! Builds `tool`, the client a jailed program calls host tools with
//! (`src/tools/client.c`), as a static executable that the jail writes
//! into its root: it must run whatever the guest's view of `/usr` holds.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "src/tools/client.c";
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("tool");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&compiler)
        .args(["-static", "-O2", "-s", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(source)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {compiler:?} to build the jail's `tool`: {e}"));
    assert!(status.success(), "building the jail's `tool` ({source}) failed");
}
