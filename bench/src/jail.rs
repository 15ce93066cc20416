//! The process jail's benchmarks: P5, `python3 -c pass` in the jail against
//! the same command bare, in bubblewrap, in `unshare` and in srt
//! (@anthropic-ai/sandbox-runtime), and CPU-bound work jailed against bare.

use crate::row::{Peer, Quantity, Row};
use crate::stats::{median, sample};
use anyhow::{Context, ensure};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use stockade::{Language, Policy, Sandbox, Status};

const PYTHON: &str = "/usr/bin/python3";
/// The srt release measured, installed with npm into the bench's home.
const SRT: &str = "@anthropic-ai/sandbox-runtime@0.0.83";
/// CPU-bound work: about a second of pure Python.
const COMPUTE: &str = "sum(i * i for i in range(8_000_000))";

/// Every P5 row.
pub fn all(cli: &Path, iterations: usize) -> anyhow::Result<Vec<Row>> {
    install_apt(&["bubblewrap"])?;
    let sandbox = Sandbox::new(Policy::default())?;
    let warmup = (iterations / 5).max(2);
    let jailed = |code: &str| {
        let outcome = sandbox.run(Language::PythonNative, code)?;
        ensure!(outcome.status == Status::Ok, "the jailed run failed: {outcome:?}");
        Ok(())
    };
    let bare = median(&sample(warmup, iterations, || spawn(Command::new(PYTHON).args(["-c", "pass"])))?);
    let in_process = median(&sample(warmup, iterations, || jailed("pass"))?);
    let cli_process = median(&sample(warmup, iterations, || {
        spawn(Command::new(cli).args(["run", "--lang", "python-native", "-c", "pass"]))
    })?);
    let bwrap = sample(warmup, iterations, || {
        spawn(Command::new("bwrap").args([
            "--unshare-all",
            "--die-with-parent",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
            PYTHON,
            "-c",
            "pass",
        ]))
    });
    let unshare = sample(warmup, iterations, || {
        spawn(Command::new("unshare").args(["-U", "-r", "-n", "-p", "-f", PYTHON, "-c", "pass"]))
    });
    let srt = srt().and_then(|srt| {
        sample(1, iterations.min(20), || spawn(Command::new(&srt).args(["-c", &format!("{PYTHON} -c pass")])))
    });
    let overhead = |samples: anyhow::Result<Vec<Duration>>| {
        samples.map(|s| Quantity::from(median(&s).saturating_sub(bare))).map_err(|e| format!("{e:#}"))
    };
    let goal = Some(Duration::from_millis(3).into());
    let row = |what: String, ours: Duration, peer: &str, samples: anyhow::Result<Vec<Duration>>| Row {
        id: "P5",
        what,
        ours: ours.saturating_sub(bare).into(),
        peer: Peer { name: format!("{peer}, over bare"), median: overhead(samples) },
        goal,
    };
    let api = || {
        format!("`python3 -c pass` in the jail over bare ({} bare), `Sandbox::run`, all layers", show(bare))
    };
    let mut rows = vec![
        row(api(), in_process, "bwrap --unshare-all, ro /usr", bwrap),
        row(api(), in_process, "unshare -U -r -n -p -f", unshare),
        row(api(), in_process, "srt (@anthropic-ai/sandbox-runtime 0.0.83)", srt),
        Row {
            id: "P5",
            what: "the same through the CLI, `stockade run --lang python-native` (its own start-up included)"
                .into(),
            ours: cli_process.saturating_sub(bare).into(),
            peer: Peer {
                name: "`Sandbox::run`, over bare".into(),
                median: Ok(in_process.saturating_sub(bare).into()),
            },
            // Issue 19's goal is for a run as a user starts one: through the CLI.
            goal,
        },
    ];
    // Interleaved, so that a change in the machine's load falls on both alike.
    let (mut jailed_samples, mut bare_samples) = (Vec::new(), Vec::new());
    for _ in 0..(iterations / 4).max(3) {
        jailed_samples.extend(sample(0, 1, || jailed(COMPUTE))?);
        bare_samples.extend(sample(0, 1, || spawn(Command::new(PYTHON).args(["-c", COMPUTE])))?);
    }
    let (jailed_compute, bare_compute) = (median(&jailed_samples), median(&bare_samples));
    rows.push(Row {
        id: "P5",
        what: format!("CPU-bound `python3 -c \"{COMPUTE}\"`, jailed (expected 1.00×)"),
        ours: jailed_compute.into(),
        peer: Peer { name: "the same command bare".into(), median: Ok(bare_compute.into()) },
        goal: None,
    });
    Ok(rows)
}

fn show(d: Duration) -> String {
    crate::stats::show(d)
}

/// Runs `command` to the end, its output discarded; fails unless it succeeds.
fn spawn(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_remove("NODE_EXTRA_CA_CERTS")
        .status()
        .with_context(|| format!("cannot start {command:?}"))?;
    ensure!(status.success(), "{command:?} failed ({status})");
    Ok(())
}

/// srt, installed with npm under the bench's home on first use, and the
/// Debian packages it runs.
pub(crate) fn srt() -> anyhow::Result<PathBuf> {
    install_apt(&["bubblewrap", "ripgrep", "socat"])?;
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let dir = Path::new(&home).join(".cache/stockade-bench/srt");
    let bin = dir.join("node_modules/.bin/srt");
    if !bin.exists() {
        eprintln!("==> installing {SRT} with npm into {}", dir.display());
        std::fs::create_dir_all(&dir)?;
        crate::peers::run(Command::new("npm").current_dir(&dir).args(["install", "--silent", SRT]))?;
    }
    Ok(bin)
}

/// Debian packages a peer needs.
fn install_apt(packages: &[&str]) -> anyhow::Result<()> {
    let deps = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/deps.sh");
    crate::peers::run(Command::new("bash").arg("-c").arg(format!(
        "source {} && install_apt_packages {}",
        deps.display(),
        packages.join(" ")
    )))
}
