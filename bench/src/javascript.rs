//! The JavaScript benchmarks of the foundation issue: P1, P3, P6, P7, P9.

use crate::peers::{self, AmlaJs};
use crate::row::{Peer, Quantity, Row};
use crate::stats::{self, median};
use anyhow::ensure;
use std::path::Path;
use std::time::Duration;
use stockade::{Language, Policy, Sandbox, Status};

const FIB: &str = "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }";
const LOOP: &str = "let s = 0; for (let i = 0; i < 1e6; i++) { s += i }";

/// How many samples each case takes.
#[derive(Clone, Copy)]
pub struct Iterations {
    /// In-process runs of stockade (fast; many samples).
    pub in_process: usize,
    /// Runs of a peer that costs tens of milliseconds each.
    pub peer: usize,
    /// Whole processes.
    pub process: usize,
    /// Compute-heavy runs (fib, loop).
    pub compute: usize,
    /// Runs that start from an empty cache (about a second each).
    pub cold: usize,
}

/// Measures every JavaScript case against its peer.
pub fn all(cli: &Path, n: Iterations) -> anyhow::Result<Vec<Row>> {
    let amla = peers::amla_js(n.peer, n.peer).map_err(|e| format!("{e:#}"));
    let node = peers::node().map_err(|e| format!("{e:#}"));
    let amla_name = peers::AMLA_PEER.label();
    let amla_median = |pick: fn(&AmlaJs) -> &Vec<f64>| -> Result<Duration, String> {
        amla.as_ref().map(|a| median(&stats::from_millis(pick(a)))).map_err(Clone::clone)
    };
    let node_name = |flags: &str| match &node {
        Ok((_, version)) => format!("node {version}{flags}"),
        Err(_) => format!("node{flags}"),
    };
    let node_median = |run: &dyn Fn(&Path) -> anyhow::Result<Vec<Duration>>| -> Result<Duration, String> {
        let (node, _) = node.as_ref().map_err(Clone::clone)?;
        run(node).map(|s| median(&s)).map_err(|e| format!("{e:#}"))
    };

    let mut rows = vec![
        Row {
            id: "P1",
            what: "fresh sandbox + `console.log('hello')`, in process".into(),
            ours: (median(&fresh_hello(n.in_process)?)).into(),
            peer: Peer {
                name: format!("{amla_name}, `Sandbox().execute`"),
                median: amla_median(|a| &a.fresh_hello).map(Quantity::from),
            },
            goal: Some(Duration::from_micros(100).into()),
        },
        Row {
            id: "P3",
            what: "the same sandbox again, `const x = 1 + 1`".into(),
            ours: (median(&warm_expression(n.in_process)?)).into(),
            peer: Peer {
                name: format!("{amla_name}, same `Sandbox`"),
                median: amla_median(|a| &a.warm_expression).map(Quantity::from),
            },
            goal: Some(Duration::from_micros(30).into()),
        },
        Row {
            id: "P6",
            what: "whole process: `stockade run --lang js -c 'console.log(1)'`".into(),
            ours: (median(&stats::sample(3, n.process, || process(cli, None))?)).into(),
            peer: Peer {
                name: format!("`{} -e 'console.log(1)'`", node_name("")),
                median: node_median(&|node| {
                    stats::sample(3, n.process, || {
                        peers::run_quiet(peers::node_command(node).args(["-e", "console.log(1)"]))
                    })
                })
                .map(Quantity::from),
            },
            goal: Some(Duration::from_millis(5).into()),
        },
    ];
    for (what, setup, body) in [("fib(25)", FIB, "fib(25)"), ("a 10⁶-iteration loop", "", LOOP)] {
        let code = format!("{setup}\n{body}");
        rows.push(Row {
            id: "P7",
            what: format!("{what}, fresh sandbox, in process"),
            ours: (median(&compute(&code, n.compute)?)).into(),
            peer: Peer {
                name: format!("{} (timed inside node)", node_name(" --jitless")),
                median: node_median(&|node| peers::node_timed(node, &["--jitless"], setup, body, n.compute))
                    .map(Quantity::from),
            },
            goal: None,
        });
    }
    let warm_process = median(&stats::sample(1, n.process, || process(cli, None))?);
    rows.push(Row {
        id: "P9",
        what: "first run on a machine: empty cache, snapshot + compile + run, whole process".into(),
        ours: median(&stats::sample(0, n.cold, || {
            // stockade makes the cache directory itself, private (0700).
            let scratch = tempfile::tempdir()?;
            process(cli, Some(&scratch.path().join("cache")))
        })?)
        .into(),
        peer: Peer { name: "the same command with the cache warm".into(), median: Ok(warm_process.into()) },
        goal: Some(Duration::from_secs(1).into()),
    });
    Ok(rows)
}

fn fresh_hello(iterations: usize) -> anyhow::Result<Vec<Duration>> {
    stats::sample(20, iterations, || {
        let outcome = Sandbox::new(Policy::default())?.run(Language::JavaScript, "console.log('hello')")?;
        ensure!(outcome.stdout == "hello\n", "unexpected output: {outcome:?}");
        Ok(())
    })
}

fn warm_expression(iterations: usize) -> anyhow::Result<Vec<Duration>> {
    let sandbox = Sandbox::new(Policy::default())?;
    stats::sample(20, iterations, || {
        let outcome = sandbox.run(Language::JavaScript, "const x = 1 + 1")?;
        ensure!(outcome.status == Status::Ok, "unexpected outcome: {outcome:?}");
        Ok(())
    })
}

fn compute(code: &str, iterations: usize) -> anyhow::Result<Vec<Duration>> {
    let sandbox = Sandbox::new(Policy::default())?;
    stats::sample(1, iterations, || {
        let outcome = sandbox.run(Language::JavaScript, code)?;
        ensure!(outcome.status == Status::Ok, "unexpected outcome: {outcome:?}");
        Ok(())
    })
}

fn process(cli: &Path, cache: Option<&Path>) -> anyhow::Result<()> {
    peers::stockade_process(cli, "js", "console.log(1)", cache)
}
