//! Sessions: state kept between runs, nothing leaking into fresh runs,
//! per-run limits, lifetime and total budgets, tools and the audit trail.

use crate::python::ensure_fetched;
use crate::tools::{counted, transfer_policy};
use serde_json::json;
use std::time::Duration;
use stockade::policy::{MIB, SessionPolicy, ToolPolicy};
use stockade::{Language, Limit, Policy, Sandbox, SandboxError, Session, Status};

fn python_session(policy: Policy) -> (Sandbox, Session) {
    ensure_fetched();
    let sandbox = Sandbox::new(policy).expect("sandbox");
    let session = sandbox.session(Language::Python).expect("session");
    (sandbox, session)
}

fn ended(result: Result<stockade::Outcome, SandboxError>) -> String {
    match result {
        Err(SandboxError::SessionEnded(why)) => why,
        other => panic!("expected the session to have ended, got {other:?}"),
    }
}

#[test]
fn python_session_keeps_globals_and_a_fresh_run_sees_none() {
    let (sandbox, session) = python_session(Policy::default());
    let first =
        session.run("import json\nx = 20\ndef double(v):\n    return v * 2\nprint('set')").expect("run");
    assert_eq!(
        (first.status.clone(), first.stdout.as_str(), first.value.clone()),
        (Status::Ok, "set\n", None)
    );
    // REPL semantics: the last expression is echoed; output is per run.
    let second = session.run("double(x) + 2").expect("run");
    assert_eq!((second.value, second.stdout.as_str()), (Some(json!(42)), ""));
    assert_eq!(session.run("json.dumps({'x': x})").expect("run").value, Some(json!("{\"x\": 20}")));
    // An exception is the run's; the session goes on.
    let failed = session.run("undefined_name").expect("run");
    assert!(matches!(&failed.status, Status::GuestError { kind, .. } if kind == "NameError"), "{failed:?}");
    assert_eq!(session.run("x").expect("run").value, Some(json!(20)));
    // A fresh run (and another session) sees none of it.
    let fresh = sandbox.run(Language::Python, "x").expect("run");
    assert!(matches!(&fresh.status, Status::GuestError { kind, .. } if kind == "NameError"), "{fresh:?}");
    let other = sandbox.session(Language::Python).expect("session");
    assert!(matches!(other.run("double").expect("run").status, Status::GuestError { .. }));
    session.close();
    assert_eq!(ended(session.run("x")), "closed");
}

#[test]
fn javascript_session_keeps_globals() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let session = sandbox.session(Language::JavaScript).expect("session");
    session.run("globalThis.count = 1; var total = 10; function bump() { return ++count }").expect("run");
    let outcome = session.run("bump(); bump(); [count, total]").expect("run");
    assert_eq!(outcome.value, Some(json!([3, 10])), "{outcome:?}");
    // Many runs in one instance do not pile up memory: each run frees the last one's result.
    let before = session.run("'x'.repeat(1 << 20)").expect("run").usage.peak_memory_bytes;
    for _ in 0..50 {
        assert_eq!(session.run("'x'.repeat(1 << 20).length").expect("run").status, Status::Ok);
    }
    let after = session.run("1").expect("run").usage.peak_memory_bytes;
    assert!(after <= before + 8 * MIB, "the guest grew from {before} to {after} bytes over 50 runs");
    assert!(matches!(
        sandbox.run(Language::JavaScript, "count").expect("run").status,
        Status::GuestError { .. }
    ));
}

#[test]
fn a_run_that_hits_its_wall_time_ends_the_session() {
    let policy = Policy::builder().wall_time(Duration::from_millis(300)).build().expect("policy");
    let (_sandbox, session) = python_session(policy);
    session.run("x = 1").expect("run");
    let stopped = session.run("while True: pass").expect("run");
    assert_eq!(stopped.status, Status::LimitExceeded { which: Limit::Wall });
    // Each run had its own 300 ms; the interpreter was stopped mid-run, so it is gone.
    assert!(ended(session.run("x")).contains("limits.wall_ms"));
    assert!(session.expired());

    let sandbox =
        Sandbox::new(Policy::builder().wall_time(Duration::from_millis(300)).build().expect("policy"));
    let js = sandbox.expect("sandbox").session(Language::JavaScript).expect("session");
    assert_eq!(js.run("for (;;) {}").expect("run").status, Status::LimitExceeded { which: Limit::Wall });
    assert!(matches!(js.run("1"), Err(SandboxError::SessionEnded(_))));
}

#[test]
fn each_run_gets_its_own_wall_time_within_the_session_total() {
    let session_policy = SessionPolicy { wall_ms: Some(1_500), ..SessionPolicy::default() };
    let policy = Policy::builder()
        .wall_time(Duration::from_millis(1_000))
        .session(session_policy)
        .build()
        .expect("policy");
    let (_sandbox, session) = python_session(policy);
    // 600 ms fits a run's 1 000 ms; twice would not fit the session's 1 500.
    let first = session.run("import time\ntime.sleep(0.6)").expect("run");
    assert_eq!(first.status, Status::Ok, "{first:?}");
    let second = session.run("time.sleep(0.6)").expect("run");
    assert_eq!(second.status, Status::Ok, "{second:?}");
    let third = session.run("time.sleep(0.6)").expect("run");
    assert_eq!(third.status, Status::LimitExceeded { which: Limit::Wall }, "{third:?}");
    // The session's total cut the run short, and the reason says so.
    assert!(ended(session.run("1")).contains("session.wall_ms"));
}

#[test]
fn idle_timeout_lifetime_and_run_count_close_a_session() {
    let idle = SessionPolicy { idle_timeout_ms: 200, ..SessionPolicy::default() };
    let (_sandbox, session) = python_session(Policy::builder().session(idle).build().expect("policy"));
    session.run("x = 1").expect("run");
    std::thread::sleep(Duration::from_millis(300));
    assert!(ended(session.run("x")).contains("idle"));

    let lifetime = SessionPolicy { lifetime_ms: 400, ..SessionPolicy::default() };
    let (_sandbox, session) = python_session(Policy::builder().session(lifetime).build().expect("policy"));
    // A run cannot outlive the session: it gets what is left of the lifetime.
    let cut = session.run("import time\ntime.sleep(5)").expect("run");
    assert_eq!(cut.status, Status::LimitExceeded { which: Limit::Wall }, "{cut:?}");
    assert!(matches!(session.run("1"), Err(SandboxError::SessionEnded(_))));

    let runs = SessionPolicy { max_runs: Some(2), ..SessionPolicy::default() };
    let (_sandbox, session) = python_session(Policy::builder().session(runs).build().expect("policy"));
    session.run("1").expect("run");
    session.run("2").expect("run");
    assert!(ended(session.run("3")).contains("session.max_runs"));
}

#[test]
fn session_fuel_is_a_total_over_its_runs() {
    let session_policy = SessionPolicy { fuel: Some(3_000_000), ..SessionPolicy::default() };
    let policy = Policy::builder().fuel(2_000_000).session(session_policy).build().expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    let session = sandbox.session(Language::JavaScript).expect("session");
    let loop_ = "let s = 0; for (let i = 0; i < 3000; i++) s += i; s";
    let mut burned = 0;
    let mut stopped = None;
    for _ in 0..100 {
        match session.run(loop_) {
            Ok(outcome) if outcome.status == Status::Ok => burned += outcome.usage.fuel.expect("metered"),
            Ok(outcome) => {
                stopped = Some(outcome.status);
                break;
            }
            Err(SandboxError::SessionEnded(why)) => {
                stopped = Some(Status::GuestError { kind: "ended".into(), message: why, stack: None });
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(burned <= 3_000_000, "the runs burned {burned} of a 3 000 000 total");
    assert!(stopped.is_some(), "100 runs never spent the session's fuel");
    // A policy cannot total fuel it does not meter.
    let unmetered = SessionPolicy { fuel: Some(1), ..SessionPolicy::default() };
    assert!(Policy::builder().session(unmetered).build().is_err());
}

#[test]
fn memory_is_the_session_guests_and_counts_over_runs() {
    let policy = Policy::builder().memory_bytes(192 * MIB).build().expect("policy");
    let (_sandbox, session) = python_session(policy);
    session.run("keep = bytearray(96 * 1024 * 1024)").expect("run");
    // The first block is still held, so a second one does not fit.
    let second = session.run("more = bytearray(96 * 1024 * 1024)").expect("run");
    assert_eq!(second.status, Status::LimitExceeded { which: Limit::Memory }, "{second:?}");
    // A refused growth is a Python MemoryError; the interpreter is intact.
    assert_eq!(session.run("len(keep)").expect("run").value, Some(json!(96 * 1024 * 1024)));
    assert_eq!(
        session.run("del keep\nsmall = bytearray(1024)\nlen(small)").expect("run").value,
        Some(json!(1024))
    );
}

#[test]
fn tools_in_a_session_count_per_run_and_per_session() {
    let (tool, calls) = counted("transfer_money");
    let rules = ToolPolicy { max_calls: Some(2), max_calls_per_session: Some(3), ..transfer_policy() };
    let policy = Policy::builder().tool("transfer_money", rules).build().expect("policy");
    let sandbox = Sandbox::builder().policy(policy).tool(tool).build().expect("sandbox");
    for language in [Language::Python, Language::JavaScript] {
        calls.store(0, std::sync::atomic::Ordering::SeqCst);
        if language == Language::Python {
            ensure_fetched();
        }
        let session = sandbox.session(language).expect("session");
        let code = match language {
            Language::Python => {
                "out = []\nfor _ in range(3):\n    try:\n        transfer_money(amount=10, currency='EUR'); out.append('ok')\n    except ToolDenied as e:\n        out.append(e.kind)\nout"
            }
            _ => {
                "var out = []; for (let i = 0; i < 3; i++) { try { await transfer_money({amount: 10, currency: 'EUR'}); out.push('ok') } catch (e) { out.push(e.kind) } } out"
            }
        };
        // (Top-level `const` persists in a JS session and cannot be declared
        // again, as between two scripts; `var` can.)
        // Run 1: two calls, then the per-run budget. Run 2: the session's third, then none.
        let first = session.run(code).expect("run");
        assert_eq!(first.value, Some(json!(["ok", "ok", "budget_exceeded"])), "{language}: {first:?}");
        assert_eq!(first.usage.tool_calls, 3);
        let second = session.run(code).expect("run");
        assert_eq!(
            second.value,
            Some(json!(["ok", "budget_exceeded", "budget_exceeded"])),
            "{language}: {second:?}"
        );
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3, "{language}");
    }
}

#[test]
fn the_audit_log_records_a_sessions_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let policy = Policy::builder().audit(log.to_string_lossy(), stockade::policy::Fsync::Batch).build();
    let sandbox = Sandbox::new(policy.expect("policy")).expect("sandbox");
    let session = sandbox.session(Language::JavaScript).expect("session");
    session.run("1").expect("run");
    session.run("2").expect("run");
    let id = session.id().to_string();
    drop(session);
    let text = std::fs::read_to_string(&log).expect("log");
    let events: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"]["kind"].as_str().unwrap_or("")).collect();
    let opened = kinds.iter().position(|k| *k == "session_open").expect("session_open");
    let closed = kinds.iter().position(|k| *k == "session_close").expect("session_close");
    let starts: Vec<_> = events.iter().filter(|e| e["event"]["kind"] == "run_start").collect();
    assert_eq!(starts.len(), 2);
    assert!(starts.iter().all(|e| e["event"]["session"] == id.as_str()));
    assert!(opened < closed);
    assert_eq!(events[closed]["event"]["reason"], "dropped");
    assert_eq!(events[closed]["event"]["runs"], 2);
    let report = stockade::audit_log::verify(std::fs::File::open(&log).expect("open")).expect("read");
    assert!(report.broken.is_none(), "{report:?}");
    assert_eq!(report.records, events.len() as u64);
}
