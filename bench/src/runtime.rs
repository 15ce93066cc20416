//! P12, the guests' runtime: a chain of `setTimeout(0)` in the JavaScript
//! guest against the same chain in node, and `asyncio.gather` of no-op
//! tasks in the CPython guest against native python3. Each side times the
//! work inside itself, so start-up is left out of both.

use crate::row::{Peer, Quantity, Row};
use crate::stats::median;
use anyhow::{Context, ensure};
use std::process::Command;
use std::time::Duration;
use stockade::{Language, Policy, Sandbox, Status};

/// Steps of the timer chain, and tasks gathered.
const STEPS: usize = 10_000;

/// The timer chain, as both node and the guest run it; prints its
/// milliseconds.
fn timer_chain() -> String {
    format!(
        "const t = performance.now(); let n = 0;\n\
         await new Promise((done) => {{ const step = () => (++n === {STEPS} ? done() : setTimeout(step, 0)); setTimeout(step, 0); }});\n\
         console.log(performance.now() - t);"
    )
}

/// The gather, as both python3 and the guest run it; prints its seconds.
fn gather() -> String {
    format!(
        "import asyncio, time\n\
         async def noop():\n    pass\n\
         async def main():\n    await asyncio.gather(*(noop() for _ in range({STEPS})))\n\
         t = time.perf_counter()\nasyncio.run(main())\nprint(time.perf_counter() - t)\n"
    )
}

/// Every P12 row, each from `runs` runs a side.
pub fn all(runs: usize) -> anyhow::Result<Vec<Row>> {
    let policy = Policy::builder().wall_time(Duration::from_secs(120)).build()?;
    let sandbox = Sandbox::new(policy)?;
    let guest = |language: Language, code: &str, unit: f64| -> anyhow::Result<Duration> {
        let samples = (0..runs)
            .map(|_| {
                let outcome = sandbox.run(language, code)?;
                ensure!(outcome.status == Status::Ok, "the {language} guest failed: {outcome:?}");
                seconds(&outcome.stdout, unit)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(median(&samples))
    };
    let native = |command: &mut Command, unit: f64| -> anyhow::Result<Duration> {
        let samples = (0..runs)
            .map(|_| {
                let output = command.output().context("cannot start the native peer")?;
                ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
                seconds(&String::from_utf8_lossy(&output.stdout), unit)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(median(&samples))
    };

    let (node, version) = crate::peers::node()?;
    let chain = timer_chain();
    let ours = guest(Language::JavaScript, &chain, 1e-3)?;
    let theirs = native(crate::peers::node_command(&node).args(["--input-type=module", "-e", &chain]), 1e-3);
    let python = gather();
    let gathered = guest(Language::Python, &python, 1.0)?;
    let native_gather = native(Command::new("/usr/bin/python3").args(["-c", &python]), 1.0);
    Ok(vec![
        Row {
            id: "P12",
            what: format!("a chain of {STEPS} `setTimeout(0)` steps, JavaScript guest (1 ms each, as node)"),
            ours: ours.into(),
            peer: Peer {
                name: format!("node {version}, the same chain"),
                median: theirs.map(Quantity::from).map_err(|e| format!("{e:#}")),
            },
            goal: None,
        },
        Row {
            id: "P12",
            what: format!("`asyncio.gather` of {STEPS} no-op tasks, CPython guest"),
            ours: gathered.into(),
            peer: Peer {
                name: "python3, the same program".into(),
                median: native_gather.map(Quantity::from).map_err(|e| format!("{e:#}")),
            },
            goal: None,
        },
    ])
}

/// The number a program printed on its last line, in `unit` seconds.
fn seconds(stdout: &str, unit: f64) -> anyhow::Result<Duration> {
    let line = stdout.lines().last().unwrap_or_default();
    let value: f64 = line.trim().parse().with_context(|| format!("the program printed {stdout:?}"))?;
    Ok(Duration::from_secs_f64(value * unit))
}
