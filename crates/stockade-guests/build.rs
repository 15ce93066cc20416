//! Builds the guest crates in `guests/` for wasm32-wasip1 and leaves the
//! `.wasm` files in OUT_DIR for `include_bytes!`.
//!
//! The guest is its own cargo workspace, so this runs a nested cargo with a
//! target dir of its own and none of the outer build's flags.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip1";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let guest = manifest.join("../../guests/quickjs");
    for watched in ["src", "Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", guest.join(watched).display());
    }
    let wasm = build_guest(&guest, &out.join("guest-target"), "stockade_guest_quickjs");
    let bytes = std::fs::read(&wasm).expect("read the built guest");
    std::fs::write(out.join("quickjs.wasm"), &bytes).expect("write quickjs.wasm into OUT_DIR");
    // The digest is a cache key at run time; computing it here spares every
    // process hashing a megabyte at start-up.
    let digest: String =
        <sha2::Sha256 as sha2::Digest>::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(out.join("quickjs.sha256"), digest).expect("write quickjs.sha256 into OUT_DIR");
}

fn build_guest(dir: &Path, target_dir: &Path, artifact: &str) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--locked", "--target", TARGET])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir);
    // The outer build's flags are for the host; the guest has its own in
    // guests/quickjs/.cargo/config.toml.
    for (key, _) in env::vars() {
        if key.starts_with("CARGO_ENCODED_RUSTFLAGS")
            || key == "RUSTFLAGS"
            || key.starts_with("CARGO_BUILD_")
            || key.starts_with("CARGO_PROFILE_")
            || key == "RUSTC_WORKSPACE_WRAPPER"
        {
            command.env_remove(key);
        }
    }
    let status = command.status().unwrap_or_else(|e| panic!("cannot start cargo for the guest: {e}"));
    if !status.success() {
        panic!(
            "building the {TARGET} guest in {} failed.\n\
             It needs the wasm target and Debian's clang for wasm:\n  \
             rustup target add {TARGET}\n  \
             apt-get install -y clang-19 lld-19 llvm-19 wasi-libc libclang-rt-19-dev-wasm32\n\
             or simply run scripts/setup.sh, which installs both.",
            dir.display()
        );
    }
    target_dir.join(TARGET).join("release").join(format!("{artifact}.wasm"))
}
