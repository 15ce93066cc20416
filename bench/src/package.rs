//! The Python package's overhead over the Rust API: the same runs, timed from
//! Python (`bench/peers/python_package.py`, in the repository's `.venv`) and
//! from Rust, in the same benchmark run.

use crate::row::{Peer, Row};
use crate::stats::{from_millis, median, sample};
use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use stockade::{Language, Policy, Sandbox};

/// The Python script's samples, in milliseconds.
#[derive(Deserialize)]
struct Samples {
    fresh_js: Vec<f64>,
    fresh_python: Vec<f64>,
    session_python: Vec<f64>,
}

/// One row per call: the Python median minus the Rust one, against the
/// issue's goal of 20 µs; the peer column is the Rust API's own median.
pub fn all(iterations: usize) -> anyhow::Result<Vec<Row>> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    install(&repo)?;
    let script = repo.join("bench/peers/python_package.py");
    let output = Command::new(repo.join(".venv/bin/python"))
        .arg(script)
        .arg(iterations.to_string())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run python_package.py")?;
    if !output.status.success() {
        bail!("python_package.py failed ({})", output.status);
    }
    let python: Samples =
        serde_json::from_slice(&output.stdout).context("python_package.py printed no samples")?;

    let sandbox = Sandbox::new(Policy::default())?;
    let session = sandbox.session(Language::Python)?;
    let warmup = (iterations / 10).max(3);
    let rust_js = sample(warmup, iterations, || Ok(sandbox.run(Language::JavaScript, "1")?))?;
    let rust_python = sample(warmup, iterations, || Ok(sandbox.run(Language::Python, "1")?))?;
    let rust_session = sample(warmup, iterations, || Ok(session.run("x = 1 + 1")?))?;

    let row = |what: &str, from_python: &[f64], from_rust: &[Duration]| {
        let (python, rust) = (median(&from_millis(from_python)), median(from_rust));
        Row {
            id: "P11",
            what: format!("Python package overhead over the Rust API, {what} (Python median − Rust median)"),
            ours: python.saturating_sub(rust).into(),
            peer: Peer {
                name: "the Rust API's own median for the same call".into(),
                median: Ok(rust.into()),
            },
            goal: Some(Duration::from_micros(20).into()),
        }
    };
    Ok(vec![
        row("`Sandbox.run` of JavaScript `1`, fresh guest", &python.fresh_js, &rust_js),
        row("`Sandbox.run` of Python `1`, fresh guest", &python.fresh_python, &rust_python),
        row("`Session.run` of `x = 1 + 1`, warm Python session", &python.session_python, &rust_session),
    ])
}

/// Builds the package into `.venv` (scripts/deps.sh), so the bench times this tree's code.
pub fn install(repo: &Path) -> anyhow::Result<()> {
    let status = Command::new("bash")
        .current_dir(repo)
        .args(["-c", "source scripts/deps.sh && install_python_package"])
        .status()
        .context("cannot run scripts/deps.sh")?;
    if !status.success() {
        bail!("building the Python package failed ({status})");
    }
    Ok(())
}
