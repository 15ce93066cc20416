//! Cancelling runs from outside: a busy loop, a sleep, a session closed
//! mid-run. Each run must stop with `Status::Cancelled` long before its
//! wall time would have stopped it.

use crate::python::ensure_fetched;
use std::sync::Arc;
use std::time::Duration;
use stockade::{Cancel, Language, Policy, Sandbox, SandboxError, Status};

/// Cancels `cancel` from another thread once `delay` has passed.
fn cancel_after(cancel: &Cancel, delay: Duration) -> std::thread::JoinHandle<()> {
    let cancel = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        cancel.cancel();
    })
}

fn long_wall() -> Policy {
    Policy::builder().wall_time(Duration::from_secs(60)).build().expect("policy")
}

#[test]
fn a_cancelled_busy_loop_stops_with_cancelled() {
    let sandbox = Sandbox::new(long_wall()).expect("sandbox");
    for (language, code) in
        [(Language::JavaScript, "while (true) {}"), (Language::Python, "while True: pass")]
    {
        if language == Language::Python {
            ensure_fetched();
        }
        let cancel = Cancel::new();
        let canceller = cancel_after(&cancel, Duration::from_millis(200));
        let outcome = sandbox.run_cancellable(language, code, &cancel).expect("run");
        canceller.join().expect("canceller");
        assert_eq!((outcome.status, outcome.exit_code), (Status::Cancelled, 130), "{language}");
    }
}

#[test]
fn a_cancelled_sleep_stops_with_cancelled() {
    ensure_fetched();
    let sandbox = Sandbox::new(long_wall()).expect("sandbox");
    let cancel = Cancel::new();
    let canceller = cancel_after(&cancel, Duration::from_millis(200));
    let outcome =
        sandbox.run_cancellable(Language::Python, "import time\ntime.sleep(50)", &cancel).expect("run");
    canceller.join().expect("canceller");
    assert_eq!(outcome.status, Status::Cancelled);
}

#[test]
fn a_cancel_made_before_the_run_stops_it_at_once() {
    let sandbox = Sandbox::new(long_wall()).expect("sandbox");
    let cancel = Cancel::new();
    cancel.cancel();
    let outcome = sandbox.run_cancellable(Language::JavaScript, "while (true) {}", &cancel).expect("run");
    assert_eq!(outcome.status, Status::Cancelled);
}

#[test]
fn an_uncancelled_request_leaves_the_run_alone() {
    let sandbox = Sandbox::new(long_wall()).expect("sandbox");
    let outcome = sandbox
        .run_cancellable(
            Language::JavaScript,
            "let n = 0; for (let i = 0; i < 3e6; i++) n += i; n",
            &Cancel::new(),
        )
        .expect("run");
    assert_eq!(outcome.status, Status::Ok);
}

#[test]
fn closing_a_session_stops_its_run_in_progress() {
    let sandbox = Sandbox::new(long_wall()).expect("sandbox");
    let session = Arc::new(sandbox.session(Language::JavaScript).expect("session"));
    session.run("globalThis.x = 1").expect("run");
    let closer = {
        let session = session.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            session.close();
        })
    };
    let outcome = session.run("while (true) {}").expect("run");
    closer.join().expect("closer");
    assert_eq!(outcome.status, Status::Cancelled);
    match session.run("x") {
        Err(SandboxError::SessionEnded(why)) => assert_eq!(why, "closed"),
        other => panic!("expected the session to be closed, got {other:?}"),
    }
}

#[test]
fn a_cancelled_session_run_ends_the_session() {
    let sandbox = Sandbox::new(long_wall()).expect("sandbox");
    let session = sandbox.session(Language::JavaScript).expect("session");
    let cancel = Cancel::new();
    let canceller = cancel_after(&cancel, Duration::from_millis(100));
    let outcome = session.run_cancellable("while (true) {}", &cancel).expect("run");
    canceller.join().expect("canceller");
    assert_eq!(outcome.status, Status::Cancelled);
    match session.run("1") {
        Err(SandboxError::SessionEnded(why)) => assert!(why.contains("cancelled"), "{why}"),
        other => panic!("expected the session to have ended, got {other:?}"),
    }
}

#[test]
fn a_run_waiting_for_its_sessions_guest_can_be_cancelled_and_leaves_the_session_alone() {
    let sandbox = Sandbox::new(long_wall()).expect("sandbox");
    let session = Arc::new(sandbox.session(Language::JavaScript).expect("session"));
    session.run("globalThis.x = 41").expect("run");
    let (busy, stop) = (session.clone(), Cancel::new());
    let first = {
        let stop = stop.clone();
        std::thread::spawn(move || busy.run_cancellable("while (true) {}", &stop))
    };
    // The first run holds the guest; the second waits for it until cancelled.
    std::thread::sleep(Duration::from_millis(100));
    let cancel = Cancel::new();
    let canceller = cancel_after(&cancel, Duration::from_millis(100));
    let waiting = session.run_cancellable("x + 1", &cancel).expect("run");
    canceller.join().expect("canceller");
    assert_eq!(waiting.status, Status::Cancelled);
    assert_eq!(waiting.exit_code, Status::CANCELLED_EXIT_CODE);
    assert!(!first.is_finished(), "the first run was stopped too");
    // Closing while a run waits ends the wait as the close does everything else.
    let closer = {
        let session = session.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            session.close();
        })
    };
    match session.run("x") {
        Err(SandboxError::SessionEnded(why)) => assert_eq!(why, "closed"),
        other => panic!("expected the session to be closed, got {other:?}"),
    }
    closer.join().expect("closer");
    let first = first.join().expect("first run").expect("outcome");
    assert_eq!(first.status, Status::Cancelled);
}
