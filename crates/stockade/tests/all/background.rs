//! Background commands of a jailed shell session (issue 15): started,
//! followed, fed, signalled and killed, under the session's caps, and all
//! killed when it closes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stockade::policy::SessionPolicy;
use stockade::{Command, CommandError, Language, Policy, Sandbox, SandboxError, Signal, Stream};

/// Long enough for a loaded machine; only a failure waits this long.
const PATIENCE: Duration = Duration::from_secs(30);

/// Waits until the command's stdout holds `text`, failing at [`PATIENCE`].
fn until_printed(command: &Command, text: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !command.output().stdout.contains(text) {
        assert!(Instant::now() < deadline, "{text:?} never came: {:?}", command.output());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How many of the jail's processes run `sleep 1000`, as the session sees them.
fn sleepers(session: &stockade::Session) -> usize {
    let census = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^sleep 1000' || true";
    session.run(census).expect("run").stdout.trim().parse().expect("a count")
}

#[test]
fn a_background_command_sees_the_shell_and_reports_its_output_and_exit() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let session = sandbox.session(Language::Shell).expect("session");
    session.run("cd /tmp && export GREETING=hi && LOCAL=no").expect("run");
    let command =
        session.spawn("echo \"$GREETING ${LOCAL:-unset} $(pwd)\"; echo err >&2; exit 3").expect("spawn");
    let done = command.wait(Some(PATIENCE), None);
    assert_eq!(
        (done.stdout.as_str(), done.stderr.as_str(), done.running, done.exit_code),
        ("hi unset /tmp\n", "err\n", false, Some(3))
    );
    assert_eq!(command.id(), "c1");
    // A quote in the command is the command's, not the launcher's.
    let quoted = session.spawn("echo 'it'\"'\"'s'; printf '%s\\n' \"a  b\"").expect("spawn");
    assert_eq!(quoted.wait(Some(PATIENCE), None).stdout, "it's\na  b\n");
    let broken = session.spawn("if then").expect("spawn");
    assert_ne!(broken.wait(Some(PATIENCE), None).exit_code, Some(0));
    let listed: Vec<String> = session.commands().iter().map(|c| c.id().to_string()).collect();
    assert_eq!(listed, ["c1", "c2", "c3"]);
    assert!(matches!(session.command("c9"), Err(CommandError::Missing(_))));
    // Their FIFOs are gone once they end: nothing of them stays in /tmp.
    let left = session.run("ls -A /tmp").expect("run");
    assert!(!left.stdout.contains(".stockade-command"), "{left:?}");
}

#[test]
fn a_background_command_reads_its_stdin_while_the_session_runs_on() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let session = sandbox.session(Language::Bash).expect("session");
    let command = session.spawn("while read line; do echo \"got $line\"; done; echo eof").expect("spawn");
    command.write_stdin(b"one\n").expect("write");
    until_printed(&command, "got one\n");
    assert!(command.running());
    // The session's shell is free while the command runs.
    assert_eq!(session.run("echo between").expect("run").stdout, "between\n");
    command.write_stdin(b"two\n").expect("write");
    command.close_stdin();
    let done = command.wait(Some(PATIENCE), None);
    assert_eq!((done.stdout.as_str(), done.exit_code), ("got one\ngot two\neof\n", Some(0)));
    assert!(matches!(command.write_stdin(b"late\n"), Err(CommandError::StdinClosed)));
}

#[test]
fn a_follower_sees_output_as_it_is_written_until_the_command_ends() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let session = sandbox.session(Language::Shell).expect("session");
    // The command waits for a line the host writes only once the follower
    // has seen the first: the follower must get output mid-run.
    let command = session.spawn("echo first; read go; echo \"second $go\" >&2").expect("spawn");
    let seen = Arc::new(Mutex::new((String::new(), String::new(), false)));
    let sink = {
        let (seen, command) = (seen.clone(), command.clone());
        move |stream: Stream, bytes: &[u8]| {
            let mut seen = seen.lock().expect("lock");
            let text = String::from_utf8_lossy(bytes);
            match stream {
                Stream::Stdout => seen.0.push_str(&text),
                Stream::Stderr => seen.1.push_str(&text),
            }
            if seen.0.contains("first\n") && !seen.2 {
                seen.2 = true;
                command.write_stdin(b"go\n").expect("write");
            }
        }
    };
    let done = command.follow(&sink, Some(PATIENCE), None);
    assert_eq!((done.running, done.exit_code), (false, Some(0)), "{done:?}");
    let seen = seen.lock().expect("lock");
    assert_eq!((seen.0.as_str(), seen.1.as_str()), ("first\n", "second go\n"));
}

#[test]
fn signals_reach_the_command_and_kill_takes_its_whole_tree() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let session = sandbox.session(Language::Shell).expect("session");
    // SIGINT reaches it, though a shell starts its lists with it ignored.
    let interrupted = session
        .spawn("trap 'echo interrupted; exit 7' INT; echo ready; while :; do sleep 0.05; done")
        .expect("spawn");
    until_printed(&interrupted, "ready\n");
    interrupted.signal(Signal::Int).expect("signal");
    let done = interrupted.wait(Some(PATIENCE), None);
    assert_eq!((done.stdout.as_str(), done.exit_code), ("ready\ninterrupted\n", Some(7)));

    let term = session.spawn("echo ready; sleep 1000").expect("spawn");
    until_printed(&term, "ready\n");
    term.signal(Signal::Term).expect("signal");
    assert_eq!(term.wait(Some(PATIENCE), None).exit_code, Some(128 + 15));

    // A tree: children, a grandchild, and an orphan it left behind.
    let tree = session
        .spawn("sleep 1000 & (sleep 1000 & wait) & (sleep 1000 &); echo started; wait")
        .expect("spawn");
    until_printed(&tree, "started\n");
    // The subshells may not have become `sleep` yet.
    let deadline = Instant::now() + PATIENCE;
    while sleepers(&session) < 3 {
        assert!(Instant::now() < deadline, "the tree never had its three sleepers");
    }
    let killed = tree.kill(PATIENCE).expect("kill");
    assert_eq!((killed.running, killed.exit_code), (false, Some(128 + 9)));
    assert_eq!(sleepers(&session), 0, "a process of the command outlived its kill");
    // Signalling what has ended is harmless.
    tree.signal(Signal::Term).expect("signal an ended command");
}

#[test]
fn closing_the_session_kills_its_commands_and_their_records_stay_readable() {
    let marker = format!("stockade-bg-{}", std::process::id());
    let policy = Policy::builder().env("MARK", &marker).build().expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    let session = sandbox.session(Language::Shell).expect("session");
    let server = session.spawn("echo up; exec sleep 1000").expect("spawn");
    until_printed(&server, "up\n");
    session.close();
    let after = server.output();
    assert_eq!((after.stdout.as_str(), after.running, after.exit_code), ("up\n", false, None));
    assert!(!host_processes_with(&marker), "a background command outlived its session");
    assert!(matches!(session.spawn("true"), Err(CommandError::Session(SandboxError::SessionEnded(_)))));
}

#[test]
fn a_command_is_bound_by_the_output_caps_and_the_session_limits() {
    let mut policy = Policy::default();
    policy.limits.stdout_bytes = 1000;
    policy.session = SessionPolicy { max_runs: Some(5), ..SessionPolicy::default() };
    let sandbox = Sandbox::new(policy).expect("sandbox");
    let session = sandbox.session(Language::Shell).expect("session");
    let loud = session.spawn("head -c 5000000 /dev/zero | tr '\\0' x; echo done >&2").expect("spawn");
    let done = loud.wait(Some(PATIENCE), None);
    assert_eq!((done.stdout.len(), done.stdout_truncated, done.stderr.as_str()), (1000, true, "done\n"));
    // A NUL, or nothing, is refused before the shell sees it.
    assert!(matches!(session.spawn("echo a\0b"), Err(CommandError::Session(SandboxError::Request(_)))));
    assert!(matches!(session.spawn("  "), Err(CommandError::Session(SandboxError::Request(_)))));
    // At most so many run at once.
    let mut running = Vec::new();
    let refused = loop {
        match session.spawn("sleep 1000") {
            Ok(command) => running.push(command),
            Err(e) => break e,
        }
        assert!(running.len() <= stockade::session_commands::MAX_COMMANDS, "no cap on commands");
    };
    assert!(matches!(refused, CommandError::TooMany(n) if n == stockade::session_commands::MAX_COMMANDS));
    running.pop().expect("one").kill(PATIENCE).expect("kill");
    session.spawn("true").expect("room for one again");
}

#[test]
fn other_guests_refuse_background_commands() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let session = sandbox.session(Language::JavaScript).expect("session");
    let refused = session.spawn("echo hi").expect_err("refused");
    assert!(refused.to_string().contains("shell"), "{refused}");
}

/// Whether a host process carries `marker` in its environment.
fn host_processes_with(marker: &str) -> bool {
    std::fs::read_dir("/proc").expect("/proc").flatten().any(|entry| {
        std::fs::read(entry.path().join("environ"))
            .is_ok_and(|env| String::from_utf8_lossy(&env).contains(marker))
    })
}

/// The start of a command races with what the host does next: stdin
/// written and closed, or a kill, at once, before the command is even
/// forked. Each is for the command all the same. Many rounds, since one
/// might start in time by luck.
#[test]
fn input_closed_or_a_kill_sent_as_the_command_starts_reaches_it() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let session = sandbox.session(Language::Shell).expect("session");
    for round in 0..15 {
        let cat = session.spawn("cat; echo done").expect("spawn");
        cat.write_stdin(format!("round {round}\n").as_bytes()).expect("write");
        cat.close_stdin();
        let fed = cat.wait(Some(PATIENCE), None);
        assert_eq!(
            (fed.stdout.as_str(), fed.exit_code),
            (format!("round {round}\ndone\n").as_str(), Some(0))
        );
        let killed = session.spawn("sleep 1000").expect("spawn").kill(PATIENCE).expect("kill");
        assert_eq!((killed.running, killed.exit_code), (false, Some(137)), "round {round}");
    }
    assert_eq!(sleepers(&session), 0);
}
