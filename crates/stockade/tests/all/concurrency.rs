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
