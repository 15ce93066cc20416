//! A sandbox is shared by many threads; every run is fresh and correct.

use std::sync::Arc;
use stockade::{Language, Policy, Sandbox, Status};

#[test]
fn eight_threads_run_a_thousand_sandboxes() {
    let sandbox = Arc::new(Sandbox::new(Policy::default()).expect("sandbox"));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let sandbox = sandbox.clone();
            std::thread::spawn(move || {
                for i in 0..125 {
                    // Each run defines the same global; a leak from an
                    // earlier run would make `seen` non-zero.
                    let code = format!(
                        "const seen = globalThis.marker ?? 0; globalThis.marker = {t} * 1000 + {i}; \
                         console.log(marker); seen"
                    );
                    let outcome = sandbox.run(Language::JavaScript, &code).expect("run");
                    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
                    assert_eq!(outcome.stdout, format!("{}\n", t * 1000 + i));
                    assert_eq!(outcome.value, Some(serde_json::json!(0)), "state leaked between runs");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
}

#[test]
fn sandbox_is_send_and_sync() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Sandbox>();
}

#[test]
fn more_concurrent_runs_than_instance_slots_wait_instead_of_failing() {
    // The pool has 64 slots by default; 100 runs at once must all finish.
    let sandbox = Arc::new(Sandbox::new(Policy::default()).expect("sandbox"));
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let sandbox = sandbox.clone();
            std::thread::spawn(move || {
                let code = format!("const end = Date.now() + 20; while (Date.now() < end) {{}} {i}");
                sandbox.run(Language::JavaScript, &code).expect("no host error")
            })
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        let outcome = thread.join().expect("thread");
        assert_eq!(outcome.value, Some(serde_json::json!(i)), "{outcome:?}");
    }
}

/// Runs the test `name` of this binary again in a child process with
/// `env` set (for settings read once per process), and checks it passed.
fn in_child_process(name: &str, env: &[(&str, &str)]) {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", name, "--test-threads=1", "--nocapture"])
        .env("STOCKADE_TEST_IN_CHILD", "1")
        .envs(env.iter().copied())
        .output()
        .expect("run the test binary");
    let shown = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && shown.contains("1 passed"), "{shown}");
}

#[test]
fn concurrent_runs_calling_tools_wait_for_a_slot_instead_of_crashing() {
    if std::env::var_os("STOCKADE_TEST_IN_CHILD").is_none() {
        let name = "concurrency::concurrent_runs_calling_tools_wait_for_a_slot_instead_of_crashing";
        return in_child_process(name, &[("STOCKADE_MAX_INSTANCES", "2")]);
    }
    // Two instance slots, eight runs at once, each suspended in a tool call
    // (whose answer the host writes through the guest's allocator).
    let tool = stockade::Tool::new("slow").handler(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        Ok(serde_json::json!("ok"))
    });
    let policy = Policy::builder().allow_unlisted_tools(true).build().expect("policy");
    let sandbox = Arc::new(Sandbox::builder().policy(policy).tool(tool).build().expect("sandbox"));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let sandbox = sandbox.clone();
            std::thread::spawn(move || {
                let code = format!("(await slow({{}})) + {i}");
                sandbox.run(Language::JavaScript, &code).expect("no host error")
            })
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        let outcome = thread.join().expect("thread");
        assert_eq!(outcome.value, Some(serde_json::json!(format!("ok{i}"))), "{outcome:?}");
    }
}
