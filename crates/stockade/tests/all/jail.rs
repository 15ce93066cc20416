//! The process jail through the facade: fresh runs and shell sessions.
//! (Its adversarial cases are the escape suite, tests/escape/.)

use std::time::Duration;
use stockade::policy::SessionPolicy;
use stockade::{Cancel, Language, Limit, Policy, Sandbox, SandboxError, Status};

fn sandbox(policy: Policy) -> Sandbox {
    Sandbox::new(policy).expect("sandbox")
}

fn ended(result: Result<stockade::Outcome, SandboxError>) -> String {
    match result {
        Err(SandboxError::SessionEnded(why)) => why,
        other => panic!("expected the session to have ended, got {other:?}"),
    }
}

/// Whether a host process carries `marker` in its environment.
fn alive(marker: &str) -> bool {
    std::fs::read_dir("/proc").expect("/proc").flatten().any(|entry| {
        std::fs::read(entry.path().join("environ"))
            .is_ok_and(|env| String::from_utf8_lossy(&env).contains(marker))
    })
}

#[test]
fn a_fresh_run_reports_its_exit_status_and_output() {
    let sandbox = sandbox(Policy::default());
    let ok = sandbox.run(Language::Shell, "echo out; echo err >&2").expect("run");
    assert_eq!(
        (ok.status, ok.stdout.as_str(), ok.stderr.as_str(), ok.value),
        (Status::Ok, "out\n", "err\n", None)
    );
    let failed = sandbox.run(Language::Bash, "exit 7").expect("run");
    assert_eq!((failed.status, failed.exit_code), (Status::Exited { code: 7 }, 7));
    let killed = sandbox.run(Language::PythonNative, "import ctypes; ctypes.string_at(0)").expect("run");
    assert!(matches!(&killed.status, Status::GuestError { kind, .. } if kind == "Signal"), "{killed:?}");
    assert_eq!(killed.exit_code, 128 + 11);
}

#[test]
fn a_shell_session_keeps_its_variables_directory_and_files() {
    let sandbox = sandbox(Policy::default());
    let session = sandbox.session(Language::Shell).expect("session");
    session.run("count=41; mkdir -p /tmp/work && cd /tmp/work && echo kept > note").expect("run");
    let next = session.run("count=$((count + 1)); echo $count; pwd; cat note").expect("run");
    assert_eq!((next.status, next.stdout.as_str()), (Status::Ok, "42\n/tmp/work\nkept\n"));
    // A failing command, or a syntax error, is the command's own.
    let failed = session.run("ls /nonexistent").expect("run");
    assert_eq!(failed.exit_code, 2);
    assert!(failed.stderr.contains("No such file"), "{failed:?}");
    let broken = session.run("if then fi 'unclosed").expect("run");
    assert_ne!(broken.exit_code, 0);
    assert_eq!(session.run("echo $count").expect("run").stdout, "42\n");
    // Output without a final newline, and quotes, come back whole.
    assert_eq!(session.run("printf \"it's\"").expect("run").stdout, "it's");
    // A fresh run sees none of it.
    assert_eq!(sandbox.run(Language::Shell, "echo ${count:-none}; ls /tmp").expect("run").stdout, "none\n");
}

#[test]
fn a_command_past_its_wall_time_ends_the_session_and_its_processes() {
    let marker = format!("stockade-jail-session-{}", std::process::id());
    let policy =
        Policy::builder().wall_time(Duration::from_millis(300)).env("MARK", &marker).build().expect("policy");
    let sandbox = sandbox(policy);
    let session = sandbox.session(Language::Bash).expect("session");
    session.run("sleep 1000 &").expect("run");
    let stuck = session.run("while :; do :; done").expect("run");
    assert_eq!(stuck.status, Status::LimitExceeded { which: Limit::Wall });
    assert!(ended(session.run("echo again")).contains("limits.wall_ms"));
    std::thread::sleep(Duration::from_millis(100));
    assert!(!alive(&marker), "the session's processes outlived it");
}

#[test]
fn exit_ends_the_session_and_close_kills_it() {
    let sandbox = sandbox(Policy::default());
    let session = sandbox.session(Language::Shell).expect("session");
    let exit = session.run("exit 4").expect("run");
    assert_eq!(exit.status, Status::Exited { code: 4 });
    assert!(ended(session.run("true")).contains("exited"));

    let session = std::sync::Arc::new(sandbox.session(Language::Shell).expect("session"));
    let closer = {
        let session = session.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            session.close();
        })
    };
    let outcome = session.run_cancellable("sleep 1000", &Cancel::new()).expect("run");
    closer.join().expect("closer");
    assert_eq!(outcome.status, Status::Cancelled);
    assert_eq!(ended(session.run("true")), "closed");
}

#[test]
fn session_output_caps_and_totals_hold_per_command() {
    let mut policy = Policy::builder().wall_time(Duration::from_secs(10)).build().expect("policy");
    policy.limits.stdout_bytes = 1000;
    policy.session = SessionPolicy { max_runs: Some(2), ..SessionPolicy::default() };
    let sandbox = sandbox(policy);
    let session = sandbox.session(Language::Shell).expect("session");
    let loud = session.run("head -c 50000 /dev/zero | tr '\\0' x; echo").expect("run");
    assert_eq!((loud.stdout.len(), loud.stdout_truncated, loud.usage.output_bytes), (1000, true, 50001));
    assert_eq!(session.run("echo fine").expect("run").stdout, "fine\n");
    assert!(ended(session.run("echo third")).contains("session.max_runs"));
}

#[test]
fn native_interpreters_are_not_sessions() {
    let sandbox = sandbox(Policy::default());
    let refused = sandbox.session(Language::PythonNative).expect_err("no python-native session");
    assert!(refused.to_string().contains("a shell"), "{refused}");
}

/// Regression: the jailed child once used libc's `setresuid`, which waits
/// for every thread the parent had (copied into the child, never running)
/// and so hung whenever the caller had a second thread, as `stockade doctor`
/// does once a WebAssembly guest has run.
#[test]
fn a_jail_starts_from_a_process_with_busy_threads() {
    let (done, finished) = std::sync::mpsc::channel();
    let sleeper = std::thread::spawn(|| std::thread::sleep(Duration::from_secs(3)));
    std::thread::spawn(move || {
        let sandbox = sandbox(Policy::default());
        let _ = sandbox.run(Language::JavaScript, "1");
        let _ = done.send(sandbox.run(Language::Shell, "echo started").map(|o| o.stdout));
    });
    let outcome = finished.recv_timeout(Duration::from_secs(60)).expect("the jail hung while starting");
    assert_eq!(outcome.expect("run"), "started\n");
    sleeper.join().expect("sleeper");
}

/// A command that closes the shell's output must not hang the session's
/// turn (it waited for a shell that lived on).
#[test]
fn a_shell_that_closes_its_output_ends_the_session_without_hanging() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let sandbox = sandbox(Policy::default());
        let session = sandbox.session(Language::Shell).expect("session");
        let outcome = session.run("exec >/dev/null 2>&1; sleep 600");
        let _ = done.send((outcome.map(|o| o.status), session.run("true").err().map(|e| e.to_string())));
    });
    let (outcome, after) = finished.recv_timeout(Duration::from_secs(60)).expect("the turn hung");
    assert!(matches!(outcome, Ok(Status::Exited { .. })), "{outcome:?}");
    assert!(after.is_some_and(|why| why.contains("exited")));
}

#[test]
fn session_output_between_turns_stays_bounded() {
    let mut policy = Policy::builder().wall_time(Duration::from_secs(10)).build().expect("policy");
    policy.limits.stdout_bytes = 4096;
    let sandbox = sandbox(policy);
    let session = sandbox.session(Language::Bash).expect("session");
    // A background writer floods stdout between turns; the next turn's
    // output is capped like any other.
    session.run("(yes flood &) ; true").expect("run");
    std::thread::sleep(Duration::from_millis(300));
    let next = session.run("echo mine").expect("run");
    assert!(next.stdout.len() <= 4096 && next.stdout_truncated, "{} bytes", next.stdout.len());
}
