//! The jail started by an ordinary user (unprivileged user namespaces):
//! when the suite runs as root, the binary is run again as `nobody`.

use std::process::Command;

#[test]
fn an_ordinary_user_gets_the_same_jail() {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        // Already an ordinary user: every other test of the suite is this case.
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("stockade");
    std::fs::copy(env!("CARGO_BIN_EXE_stockade"), &binary).expect("copy the binary");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&binary)
        .args([
            "run",
            "--json",
            "--lang",
            "sh",
            "-c",
            "id -u; ls /; grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status",
        ])
        .env("HOME", dir.path())
        .env("STOCKADE_CACHE_DIR", dir.path().join("cache"))
        .output()
        .expect("run as nobody");
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    assert_eq!(outcome["status"]["kind"], "ok", "{outcome}");
    assert_eq!(
        outcome["stdout"],
        "1000\nbin\ndev\netc\nlib\nlib32\nlib64\nproc\nsbin\ntmp\nusr\nCapInh:\t0000000000000000\n\
         CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n\
         CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n",
        "{outcome}"
    );
}
