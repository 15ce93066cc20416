//! The host's memory stays bounded whatever the guest does. Each case runs
//! alone in a child process (this test binary, re-executed with one ignored
//! test selected), so the peak resident size it reports (`VmHWM`) is the
//! case's own and not that of tests running beside it.

use serde_json::json;
use std::process::Command;
use stockade::policy::{Constraint, Fsync, MIB, Rule, ToolPolicy};
use stockade::{Language, Policy, Sandbox, Tool};

const CASE_VAR: &str = "STOCKADE_HOST_MEMORY_CASE";

/// How much a case may add to the host's peak resident size beyond the
/// guest's own memory limit: the bound.
const HOST_SLACK: u64 = 64 * MIB;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find_map(|l| l.strip_prefix(field)).expect("field");
    line.trim().trim_end_matches("kB").trim().parse().expect("a number")
}

/// Runs `case` in a child and returns how far it raised the peak RSS above
/// the resident size it had before the case, after a warm-up run.
fn peak_growth(case: &str) -> u64 {
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "host_memory::probe", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CASE_VAR, case)
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{case}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    // The harness prints the test's name on the same line, before the report.
    let report = stdout.split("PEAK_GROWTH=").nth(1).expect("the probe reports");
    report.split_whitespace().next().and_then(|n| n.parse().ok()).expect("bytes")
}

/// The child's side: one case, then the report.
#[test]
#[ignore = "run by the other tests of this module, each in a process of its own"]
fn probe() {
    let case = std::env::var(CASE_VAR).expect("run through peak_growth");
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    sandbox.run(Language::JavaScript, "1").expect("warm-up");
    let before = status_kib("VmRSS:") * 1024;
    run_case(&case);
    let peak = status_kib("VmHWM:") * 1024;
    println!("PEAK_GROWTH={} ", peak.saturating_sub(before));
}

fn run_case(case: &str) {
    let js =
        |policy: Policy, code: &str| Sandbox::new(policy).expect("sandbox").run(Language::JavaScript, code);
    match case {
        "alloc_1gib" => {
            let outcome = js(Policy::default(), "new ArrayBuffer(2 ** 30).byteLength").expect("run");
            assert!(!outcome.status.is_ok(), "{outcome:?}");
        }
        "print_100mb" => {
            let code =
                "const line = 'y'.repeat(1023); for (let i = 0; i < 100 * 1024; i++) console.log(line)";
            assert!(js(Policy::default(), code).expect("run").stdout_truncated);
        }
        "line_10mb" => {
            assert!(
                js(Policy::default(), "console.log('z'.repeat(10 * 1024 * 1024))")
                    .expect("run")
                    .stdout_truncated
            );
        }
        "million_refused_calls" => million_refused_calls(),
        other => panic!("no case {other}"),
    }
}

/// A million tool calls that the policy refuses, with an audit log.
fn million_refused_calls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let rules = ToolPolicy {
        max_calls: Some(u64::MAX),
        constraints: [("amount".to_string(), Constraint::new(vec![Rule::Le(0.0)]).expect("rule"))].into(),
        ..ToolPolicy::default()
    };
    // What is measured is memory, not speed: a loaded machine may take
    // longer than the default 30 s for a million calls.
    let policy = Policy::builder()
        .wall_time(std::time::Duration::from_secs(600))
        .audit(log.to_string_lossy(), Fsync::Never)
        .tool("pay", rules)
        .build()
        .expect("policy");
    let tool = Tool::new("pay").handler(|_| panic!("a refused call must never reach its handler"));
    let sandbox = Sandbox::builder().policy(policy).tool(tool).build().expect("sandbox");
    let code = "let n = 0; for (let i = 0; i < 1e6; i++) { try { await pay({amount: 1}) } catch (e) { if (e instanceof ToolDenied) n++ } } n";
    let outcome = sandbox.run(Language::JavaScript, code).expect("run");
    drop(sandbox);
    assert_eq!(outcome.value, Some(json!(1_000_000)), "{outcome:?}");
    let report = stockade::audit_log::verify(std::fs::File::open(&log).expect("log")).expect("verify");
    assert!(report.broken.is_none() && report.records <= 100_010, "{report:?}");
}

#[test]
fn a_1gib_allocation_leaves_the_host_below_the_limit_plus_slack() {
    let growth = peak_growth("alloc_1gib");
    assert!(growth < Policy::default().limits.memory_bytes + HOST_SLACK, "grew {} MiB", growth / MIB);
}

/// A guest small enough that a host holding 100 MB of its output would
/// break the bound.
fn small_guest() -> Policy {
    Policy::builder().memory_bytes(32 * MIB).build().expect("policy")
}

#[test]
fn a_hundred_megabytes_of_output_keeps_the_host_bounded() {
    let growth = peak_growth("print_100mb");
    assert!(growth < small_guest().limits.memory_bytes + HOST_SLACK, "grew {} MiB", growth / MIB);
}

#[test]
fn a_ten_megabyte_line_keeps_the_host_bounded() {
    let growth = peak_growth("line_10mb");
    assert!(growth < Policy::default().limits.memory_bytes + HOST_SLACK, "grew {} MiB", growth / MIB);
}

#[test]
fn a_million_refused_tool_calls_keep_the_host_bounded() {
    let growth = peak_growth("million_refused_calls");
    assert!(growth < Policy::default().limits.memory_bytes + HOST_SLACK, "grew {} MiB", growth / MIB);
}
