//! The audit log from the facade: what a run records, in order, and that
//! the log it leaves verifies.

use serde_json::{Value, json};
use stockade::audit_log::verify;
use stockade::policy::{Constraint, Fsync, Rule, ToolPolicy};
use stockade::{Language, Policy, Sandbox, Tool};

fn records(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[test]
fn a_run_records_its_start_each_tool_decision_and_its_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let rules = ToolPolicy {
        constraints: [("amount".to_string(), Constraint::new(vec![Rule::Le(1000.0)]).expect("rule"))].into(),
        log_arguments: true,
        ..ToolPolicy::default()
    };
    let policy = Policy::builder()
        .tool("transfer_money", rules)
        .audit(log.to_string_lossy(), Fsync::Always)
        .build()
        .expect("policy");
    let tool = Tool::new("transfer_money").handler(|_| Ok(json!("sent")));
    let sandbox = Sandbox::builder().policy(policy).tool(tool).build().expect("sandbox");
    let code = "await transfer_money({amount: 5}); try { await transfer_money({amount: 5000}) } catch {} 1";
    let outcome = sandbox.run(Language::JavaScript, code).expect("run");
    drop(sandbox);

    let lines = records(&log);
    let kinds: Vec<&str> = lines.iter().map(|r| r["event"]["kind"].as_str().expect("kind")).collect();
    assert_eq!(kinds, ["log_opened", "run_start", "tool_call", "tool_call", "run_end"]);
    let range = outcome.audit.expect("audit range");
    assert_eq!((range.first, range.last), (1, 4));
    let start = &lines[1]["event"];
    assert_eq!(start["language"], "js");
    assert_eq!(start["code_sha256"].as_str().map(str::len), Some(64));
    assert_eq!(
        (lines[2]["event"]["decision"].as_str(), lines[2]["event"]["rule"].as_str()),
        (Some("allowed"), Some("allowed"))
    );
    assert_eq!(lines[2]["event"]["args"], json!({"amount": 5}));
    assert_eq!(
        (lines[3]["event"]["decision"].as_str(), lines[3]["event"]["rule"].as_str()),
        (Some("denied"), Some("constraints.amount"))
    );
    assert_eq!(lines[4]["event"]["tool_calls"], json!(2));
    assert_eq!(lines[4]["event"]["status"], json!("ok"));
    for line in &lines[1..] {
        assert_eq!(line["event"]["run"], start["run"]);
    }
    let report = verify(std::fs::File::open(&log).expect("open")).expect("read");
    assert_eq!((report.records, report.broken), (5, None));
}

#[test]
fn arguments_stay_out_of_the_log_unless_the_policy_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let policy = Policy::builder()
        .tool("login", ToolPolicy::default())
        .audit(log.to_string_lossy(), Fsync::Batch)
        .build()
        .expect("policy");
    let sandbox = Sandbox::builder()
        .policy(policy)
        .tool(Tool::new("login").handler(|_| Ok(json!(1))))
        .build()
        .expect("sandbox");
    sandbox.run(Language::JavaScript, "await login({password: 'hunter2'})").expect("run");
    drop(sandbox);
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("args_sha256"));
}

#[test]
fn a_limit_hit_is_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let policy = Policy::builder()
        .wall_time(std::time::Duration::from_millis(200))
        .audit(log.to_string_lossy(), Fsync::Batch)
        .build()
        .expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    sandbox.run(Language::JavaScript, "while (true) {}").expect("run");
    drop(sandbox);
    let lines = records(&log);
    let hit = lines.iter().find(|r| r["event"]["kind"] == "limit_hit").expect("limit_hit record");
    assert_eq!(hit["event"]["limit"], "wall");
    assert_eq!(lines.last().expect("last")["event"]["status"], "limit_exceeded");
}

/// Issue 19, item 8: two sandboxes of one process that name one log share
/// its writer (one chain, no wait for a lock the process itself holds);
/// one that asks for it with other settings is refused, clearly.
#[test]
fn sandboxes_naming_one_log_share_its_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let policy = Policy::builder().audit(log.to_string_lossy(), Fsync::Never).build().expect("policy");
    let first = Sandbox::new(policy.clone()).expect("first");
    let second = Sandbox::new(policy).expect("second, sharing the writer");
    first.run(Language::JavaScript, "1").expect("run");
    second.run(Language::JavaScript, "2").expect("run");
    let other = Policy::builder().audit(log.to_string_lossy(), Fsync::Always).build().expect("policy");
    let err = Sandbox::new(other).expect_err("another fsync");
    assert!(err.to_string().contains("already open in this process"), "{err}");
    drop((first, second));
    let report = stockade::audit_log::verify(std::fs::File::open(&log).expect("log")).expect("verify");
    assert!(report.broken.is_none(), "{report:?}");
    let starts = records(&log).iter().filter(|r| r["event"]["kind"] == "run_start").count();
    assert_eq!(starts, 2);
}
