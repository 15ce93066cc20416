//! The escape suite: adversarial programs run in the process jail, each
//! checked from outside the guest (the host's files, processes, sockets and
//! environment), and each asserting the exact way it was stopped.
//!
//! It drives the `stockade` binary as an agent would. CI runs it as root;
//! `ordinary_user.rs` runs a few cases again as an unprivileged user.

mod grants;
mod ordinary_user;
mod syscalls;

use serde_json::Value;
use std::process::Command;

/// The outcome of `code` in `language` under the policy `toml`, from
/// `stockade run --json`; the host environment also carries `SECRET`.
pub fn jail(language: &str, code: &str, toml: &str) -> Value {
    jail_with_host_env(language, code, toml, &[])
}

/// `jail`, with these variables added to the host's environment too.
pub fn jail_with_host_env(language: &str, code: &str, toml: &str, host_env: &[(&str, &str)]) -> Value {
    let policy = tempfile::NamedTempFile::new().expect("policy file");
    std::fs::write(policy.path(), toml).expect("write policy");
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["run", "--json", "--lang", language, "--policy"])
        .arg(policy.path())
        .args(["-c", code])
        .env("SECRET", "hunter2-host-secret")
        .envs(host_env.iter().copied())
        .output()
        .expect("run stockade");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "no outcome (exit {:?}): {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `jail` with a short wall time and nothing else.
pub fn sh(code: &str) -> Value {
    jail("sh", code, "[limits]\nwall_ms = 10000\n")
}

fn stdout(outcome: &Value) -> &str {
    outcome["stdout"].as_str().unwrap_or_default()
}

fn stderr(outcome: &Value) -> &str {
    outcome["stderr"].as_str().unwrap_or_default()
}

/// A unique marker for processes and files of one test.
fn marker(name: &str) -> String {
    format!(
        "stockade-escape-{name}-{}-{}",
        std::process::id(),
        std::time::UNIX_EPOCH.elapsed().map(|d| d.as_nanos()).unwrap_or(0)
    )
}

/// Host processes whose environment carries `marker` (left behind by a guest).
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = vec![];
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.chars().all(|c| c.is_ascii_digit())
            && let Ok(environ) = std::fs::read(entry.path().join("environ"))
            && String::from_utf8_lossy(&environ).contains(marker)
        {
            found.push(name);
        }
    }
    found
}

#[test]
fn the_sandbox_view_is_minimal() {
    let outcome = sh("echo hi; id; ls /; hostname");
    assert_eq!(outcome["status"]["kind"], "ok", "{outcome}");
    assert_eq!(
        stdout(&outcome),
        "hi\nuid=1000(sandbox) gid=1000(sandbox) groups=1000(sandbox)\nbin\ndev\netc\nlib\nlib32\nlib64\nproc\nsbin\ntmp\nusr\nsandbox\n"
    );
}

#[test]
fn host_secrets_and_canaries_are_not_visible() {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let ssh = std::path::Path::new(&home).join(".ssh");
    std::fs::create_dir_all(&ssh).expect("~/.ssh");
    let canary = ssh.join("stockade-canary");
    std::fs::write(&canary, "CANARY-ssh").expect("canary");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo");
    let code = format!(
        "env; cat {canary:?} /etc/shadow /root/.bashrc {readme:?} 2>&1; ls {home:?} {repo:?} 2>&1; \
         cat /proc/1/environ | tr '\\0' '\\n'",
        readme = repo.join("README.md"),
        repo = repo.display().to_string(),
    );
    let outcome = sh(&code);
    let _ = std::fs::remove_file(&canary);
    let seen = stdout(&outcome);
    for leak in ["CANARY-ssh", "hunter2", "SECRET", "root:", "stockade runs", "Cargo.toml"] {
        assert!(!seen.contains(leak), "{leak} leaked: {seen}");
    }
    assert!(seen.contains("No such file or directory"), "{seen}");
}

#[test]
fn host_loopback_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("address").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let code = format!(
        "import socket\nfor host in ('127.0.0.1', '10.0.2.2', '169.254.169.254'):\n    try:\n        \
         socket.create_connection((host, {port}), timeout=1)\n        print('connected', host)\n    \
         except OSError as e:\n        print(type(e).__name__, e.errno)"
    );
    let outcome = jail("python-native", &code, "[limits]\nwall_ms = 10000\n");
    assert_eq!(outcome["status"]["kind"], "ok", "{outcome}");
    assert!(!stdout(&outcome).contains("connected"), "{outcome}");
    // Landlock refuses TCP connects (EACCES); under it, the jail's network
    // namespace has only a loopback that is down.
    assert_eq!(stdout(&outcome), "PermissionError 13\n".repeat(3), "{outcome}");
    assert!(listener.accept().is_err(), "the host listener was reached");
}

#[test]
fn writes_to_host_tmp_stay_in_the_jail() {
    let name = marker("tmp");
    let outcome = sh(&format!("echo pwned > /tmp/{name} && cat /tmp/{name}"));
    assert_eq!((outcome["status"]["kind"].as_str(), stdout(&outcome)), (Some("ok"), "pwned\n"));
    assert!(!std::path::Path::new("/tmp").join(&name).exists(), "the write reached the host's /tmp");
}

#[test]
fn links_and_dot_dot_do_not_leave_the_workspace() {
    let workspace = tempfile::tempdir().expect("workspace");
    std::fs::write(workspace.path().join("ok.txt"), "inside").expect("file");
    set_mode(workspace.path(), 0o777);
    let toml = format!(
        "[limits]\nwall_ms = 10000\n[files]\ngrants = [{{host = {:?}, guest = \"/work\", mode = \"rw\"}}]\n",
        workspace.path()
    );
    let code = "cat /work/ok.txt; echo; ln -s / /work/root; echo symlink=$?; ln /work/ok.txt /work/hard; echo link=$?; \
                cat /work/../../etc/shadow; cat /work/../../../root/.bashrc; ls /work/..; echo new > /work/new.txt";
    let outcome = jail("sh", code, &toml);
    let seen = stdout(&outcome);
    assert!(seen.starts_with("inside\nsymlink=1\nlink=1\n"), "{outcome}");
    assert!(!seen.contains("root:") && !seen.contains("bashrc"), "{outcome}");
    assert!(stderr(&outcome).contains("/work/../../etc/shadow: No such file"), "{outcome}");
    assert!(stderr(&outcome).contains("Operation not permitted"), "{outcome}");
    assert!(!workspace.path().join("root").exists() && !workspace.path().join("hard").exists());
    let written = workspace.path().join("new.txt");
    assert_eq!(std::fs::read_to_string(&written).expect("written"), "new\n");
    // SAFETY: geteuid and getuid cannot fail and touch no memory.
    let (euid, uid) = unsafe { (libc::geteuid(), libc::getuid()) };
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(&written).expect("metadata").uid();
    // Under root the guest is nobody on the host, never root.
    assert_eq!(owner, if euid == 0 { 65534 } else { uid }, "the guest's host uid");
    // A read-only grant refuses writes.
    let toml = toml.replace("\"rw\"", "\"ro\"");
    let outcome = jail("sh", "echo x > /work/ro.txt", &toml);
    assert_eq!(outcome["status"], serde_json::json!({"kind": "exited", "code": 2}), "{outcome}");
    assert!(stderr(&outcome).contains("Read-only file system"), "{outcome}");
    assert!(!workspace.path().join("ro.txt").exists());
}

#[test]
fn proc_shows_only_the_jail() {
    let outcome = sh("ls /proc | grep -c '^[0-9]'; ls /proc/1/root/; readlink /proc/1/exe; \
                      grep -c . /proc/self/mountinfo; cat /proc/self/mountinfo");
    let seen = stdout(&outcome);
    let processes: usize = seen.lines().next().and_then(|l| l.trim().parse().ok()).expect("a count");
    assert!(processes <= 6, "host processes are visible: {seen}");
    assert!(seen.contains("\nbin\ndev\netc\n"), "{seen}");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo");
    assert!(!seen.contains(&repo.display().to_string()) && !seen.contains("/root"), "{seen}");
}

#[test]
fn tracing_mounting_and_namespaces_are_refused() {
    let code = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n\
                def errno(result):\n    return 'ok' if result == 0 else os.strerror(ctypes.get_errno())\n\
                print('ptrace', errno(libc.ptrace(16, 1, 0, 0)))\n\
                print('mount', errno(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)))\n\
                print('unshare', errno(libc.unshare(0x10000000)))\n\
                fd = os.open('/proc/1/ns/net', os.O_RDONLY)\n\
                print('setns', errno(libc.setns(fd, 0)))\n\
                print('chroot', errno(libc.chroot(b'/tmp')))\n\
                print('clone newuser', errno(libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)))\n\
                print('clone3', errno(libc.syscall(435, 0, 0)))";
    let outcome = jail("python-native", code, "[limits]\nwall_ms = 10000\n");
    assert_eq!(
        stdout(&outcome),
        "ptrace Operation not permitted\nmount Operation not permitted\nunshare Operation not permitted\n\
         setns Operation not permitted\nchroot Operation not permitted\nclone newuser Operation not permitted\n\
         clone3 Function not implemented\n",
        "{outcome}"
    );
}

#[test]
fn terminal_injection_is_refused() {
    let code = "import fcntl, termios\nfor path in ('/dev/tty', '/dev/null'):\n    try:\n        \
                fd = open(path, 'rb')\n        fcntl.ioctl(fd, termios.TIOCSTI, b'x')\n        print(path, 'injected')\n    \
                except OSError as e:\n        print(path, e.strerror)";
    let outcome = jail("python-native", code, "[limits]\nwall_ms = 10000\n");
    assert_eq!(
        stdout(&outcome),
        "/dev/tty No such file or directory\n/dev/null Operation not permitted\n",
        "{outcome}"
    );
}

#[test]
fn a_terminal_of_its_own_is_no_way_out() {
    // With `jail.tty` the program has a real terminal: stdin, stdout, stderr
    // and /dev/tty are the run's new pseudo-terminal, never the host's.
    let code = "import fcntl, os, termios\n\
                print([os.isatty(fd) for fd in (0, 1, 2)], os.getsid(0) == os.getpid(), os.tcgetpgrp(0) == os.getpid())\n\
                print(repr(os.read(0, 100)))\n\
                for path, fd in (('/dev/tty', os.open('/dev/tty', os.O_RDWR)), ('stdin', 0)):\n    \
                for name, request, arg in (('TIOCSTI', termios.TIOCSTI, b'x'), ('TIOCSETD', termios.TIOCSETD, b'\\x0d\\0\\0\\0')):\n        \
                try:\n            fcntl.ioctl(fd, request, arg)\n            print(path, name, 'done')\n        \
                except OSError as e:\n            print(path, name, e.strerror)\n\
                os.write(os.open('/dev/tty', os.O_WRONLY), b'via /dev/tty\\n')\n\
                import sys\nprint('to stderr', file=sys.stderr)";
    let outcome = jail("python-native", code, "[limits]\nwall_ms = 10000\n[jail]\ntty = true\n");
    assert_eq!(outcome["status"], serde_json::json!({"kind": "ok"}), "{outcome}");
    assert_eq!(
        stdout(&outcome),
        "[True, True, True] True True\nb''\n\
         /dev/tty TIOCSTI Operation not permitted\n/dev/tty TIOCSETD Operation not permitted\n\
         stdin TIOCSTI Operation not permitted\nstdin TIOCSETD Operation not permitted\n\
         via /dev/tty\nto stderr\n",
        "{outcome}"
    );
    assert_eq!(stderr(&outcome), "", "{outcome}");
    // A session's shell reads a pipe: asking it for a terminal is refused.
    let policy = tempfile::NamedTempFile::new().expect("policy file");
    std::fs::write(policy.path(), "[jail]\ntty = true\n").expect("write policy");
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["repl", "--lang", "sh", "--policy"])
        .arg(policy.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run stockade");
    assert!(!out.status.success(), "a tty session opened");
    assert!(String::from_utf8_lossy(&out.stderr).contains("jail.tty"), "{out:?}");
}

#[test]
fn a_fork_bomb_is_contained_and_cleaned_up() {
    let name = marker("bomb");
    let toml = format!("[limits]\nwall_ms = 3000\nprocesses = 64\n[env]\nMARK = {name:?}\n");
    let outcome = jail("bash", "bomb() { bomb | bomb & }; bomb; sleep 30", &toml);
    assert_eq!(
        outcome["status"],
        serde_json::json!({"kind": "limit_exceeded", "which": "wall"}),
        "{outcome}"
    );
    assert_eq!(outcome["exit_code"], 124);
    assert!(processes_with(&name).is_empty(), "guest processes outlived the run");
    // The host is still fine: a fresh run works at once.
    assert_eq!(stdout(&sh("echo alive")), "alive\n");
}

#[test]
fn a_daemon_dies_with_the_run() {
    let name = marker("daemon");
    let toml = format!("[limits]\nwall_ms = 5000\n[env]\nMARK = {name:?}\n");
    let outcome = jail("sh", "(setsid sh -c 'sleep 600' &) ; (sleep 600 &) ; echo started", &toml);
    assert_eq!(
        (outcome["status"]["kind"].as_str(), stdout(&outcome)),
        (Some("ok"), "started\n"),
        "{outcome}"
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(processes_with(&name).is_empty(), "a daemon outlived the run");
}

#[test]
fn a_gigabyte_allocation_fails_inside() {
    let outcome = jail("python-native", "b = bytearray(1 << 30)", "[limits]\nmemory_bytes = 268435456\n");
    assert_eq!(outcome["status"], serde_json::json!({"kind": "exited", "code": 1}), "{outcome}");
    assert!(stderr(&outcome).contains("MemoryError"), "{outcome}");
}

#[test]
fn a_hundred_megabytes_of_output_is_capped() {
    let outcome = sh("head -c 100000000 /dev/zero | tr '\\0' x");
    assert_eq!(outcome["status"]["kind"], "ok", "{outcome}");
    assert_eq!((stdout(&outcome).len(), outcome["stdout_truncated"].as_bool()), (1 << 20, Some(true)));
    assert_eq!(outcome["usage"]["output_bytes"], 100_000_000);
    let killed =
        jail("sh", "head -c 100000000 /dev/zero", "[limits]\nwall_ms = 20000\noutput_overflow = \"kill\"\n");
    assert_eq!(
        killed["status"],
        serde_json::json!({"kind": "limit_exceeded", "which": "output"}),
        "{killed}"
    );
}

#[test]
fn wall_time_kills_the_whole_tree() {
    let name = marker("wall");
    let toml = format!("[limits]\nwall_ms = 500\n[env]\nMARK = {name:?}\n");
    let outcome = jail("sh", "sleep 100 & sleep 100 & while :; do :; done", &toml);
    assert_eq!(
        outcome["status"],
        serde_json::json!({"kind": "limit_exceeded", "which": "wall"}),
        "{outcome}"
    );
    assert!(processes_with(&name).is_empty(), "processes outlived the wall time");
}

#[test]
fn the_policy_environment_is_all_there_is() {
    let outcome = jail("sh", "env | sort", "[env]\nGREETING = \"hello\"\n");
    assert_eq!(
        stdout(&outcome),
        "GREETING=hello\nPATH=/usr/local/bin:/usr/bin:/bin\nPWD=/tmp\n",
        "{outcome}"
    );
}

/// Issue 20: the jail had no `PATH`, so `gcc` found no `ld`.
#[test]
fn the_jail_has_a_path_of_its_own_never_the_hosts() {
    let host_path = "/opt/stockade-host-only/bin:/usr/bin:/bin";
    let code = "echo $PATH; command -v ls; python3 -c 'import shutil; print(shutil.which(\"sh\"))'";
    let outcome = jail_with_host_env("sh", code, "", &[("PATH", host_path)]);
    assert_eq!(stdout(&outcome), "/usr/local/bin:/usr/bin:/bin\n/usr/bin/ls\n/usr/bin/sh\n", "{outcome}");
    // The policy's `[env]` may set its own.
    let outcome = jail_with_host_env("sh", "echo $PATH", "[env]\nPATH = \"/bin\"\n", &[("PATH", host_path)]);
    assert_eq!(stdout(&outcome), "/bin\n", "{outcome}");
}

#[test]
fn native_languages_run() {
    let python = jail("python-native", "import sys; print(sys.version_info[0])", "");
    assert_eq!(stdout(&python), "3\n", "{python}");
    let node = jail("node-native", "console.log(1 + 1)", "");
    assert_eq!(stdout(&node), "2\n", "{node}");
    let bash = jail("bash", "echo ${BASH_VERSION%%.*}", "");
    assert!(stdout(&bash).trim().parse::<u32>().is_ok(), "{bash}");
    let failed = sh("exit 3");
    assert_eq!(
        (failed["status"].clone(), failed["exit_code"].clone()),
        (serde_json::json!({"kind": "exited", "code": 3}), serde_json::json!(3))
    );
}

#[test]
fn policies_the_jail_cannot_enforce_are_refused() {
    let policy = tempfile::NamedTempFile::new().expect("policy");
    std::fs::write(policy.path(), "[limits]\nfuel = 1000000\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["run", "--lang", "sh", "--policy"])
        .arg(policy.path())
        .args(["-c", "echo never"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("limits.fuel"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("never"));
}

/// Issue 20: `network.allow` with `--lang sh` was refused as "not
/// supported by backend wasm". The jail now serves the network, so a key
/// that only the WebAssembly backend enforces (fuel) stands in for it.
#[test]
fn a_refusal_for_a_native_language_names_the_jail() {
    let policy = tempfile::NamedTempFile::new().expect("policy");
    std::fs::write(policy.path(), "[limits]\nfuel = 1000000\n").expect("write");
    let path = policy.path().to_str().expect("a path");
    for command in [
        &["run", "--lang", "sh", "--policy", path, "-c", "true"][..],
        &["exec", "--policy", path, "--", "true"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_stockade")).args(command).output().expect("run");
        let error = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{error}");
        assert!(error.contains("limits.fuel: not supported by backend jail"), "{command:?}: {error}");
        assert!(!error.contains("wasm"), "{command:?}: {error}");
    }
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn memory_spread_over_processes_is_bound_by_the_cgroup() {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        // An ordinary user without a delegated cgroup has rlimits only: each
        // process is bound, not their sum (docs/jail.md).
        return;
    }
    let code = "import os, time\nfor _ in range(8):\n    if os.fork() == 0:\n        \
                b = bytearray(100 << 20)\n        time.sleep(5)\n        os._exit(0)\n\
                for _ in range(8):\n    os.wait()\nprint('survived')";
    let outcome = jail("python-native", code, "[limits]\nwall_ms = 20000\nmemory_bytes = 134217728\n");
    assert_eq!(
        outcome["status"],
        serde_json::json!({"kind": "limit_exceeded", "which": "memory"}),
        "{outcome}"
    );
    assert_eq!(outcome["exit_code"], 137);
}

#[test]
fn landlock_refuses_tcp_even_on_the_jails_own_loopback() {
    let code = "import socket\nfor action in ('bind', 'connect'):\n    s = socket.socket()\n    try:\n        \
                s.bind(('127.0.0.1', 8080)) if action == 'bind' else s.connect(('127.0.0.1', 8080))\n        \
                print(action, 'allowed')\n    except OSError as e:\n        print(action, e.errno)";
    let outcome = jail("python-native", code, "[limits]\nwall_ms = 10000\n");
    // EACCES from Landlock; without it, bind would succeed on the jail's loopback.
    assert_eq!(stdout(&outcome), "bind 13\nconnect 13\n", "{outcome}");
}

#[test]
fn exec_runs_a_program_with_its_words_intact() {
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args([
            "exec",
            "--",
            "python3",
            "-c",
            "import sys; print(sys.argv[1:])",
            "a b",
            "$HOME",
            "`id`",
            "it's",
        ])
        .env("HOME", "/root")
        .output()
        .expect("run stockade exec");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "['a b', '$HOME', '`id`', \"it's\"]\n");
    assert_eq!(out.status.code(), Some(0));
    let missing = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["exec", "--", "no-such-program"])
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(127), "{}", String::from_utf8_lossy(&missing.stderr));
}

#[test]
fn descriptors_the_host_holds_do_not_reach_the_guest() {
    use std::os::unix::process::CommandExt;
    let secret = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(secret.path(), "host-secret-through-an-fd").expect("write");
    let file = std::fs::File::open(secret.path()).expect("open");
    let raw = std::os::fd::AsRawFd::as_raw_fd(&file);
    let mut command = Command::new(env!("CARGO_BIN_EXE_stockade"));
    command.args(["run", "--json", "--lang", "sh", "-c", "cat <&7 2>&1; ls /proc/self/fd | tr '\\n' ' '"]);
    // SAFETY: dup2 is async-signal-safe; fd 7 is left open without
    // close-on-exec, as a careless embedding process would leave it.
    unsafe {
        command.pre_exec(move || {
            if libc::dup2(raw, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().expect("run stockade");
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("outcome");
    assert!(!stdout(&outcome).contains("host-secret"), "{outcome}");
    assert!(stderr(&outcome).contains("7: Bad file descriptor"), "{outcome}");
    assert!(stdout(&outcome).ends_with("0 1 2 3 "), "only stdio (and ls's own listing): {outcome}");
}

#[test]
fn vsock_packet_sockets_and_x32_calls_are_refused() {
    let code = "import ctypes, os, socket\nfor family in (socket.AF_VSOCK, socket.AF_PACKET):\n    try:\n        \
                socket.socket(family, socket.SOCK_STREAM if family == socket.AF_VSOCK else socket.SOCK_RAW)\n        \
                print(family, 'opened')\n    except OSError as e:\n        print(family, e.strerror)\n\
                libc = ctypes.CDLL(None, use_errno=True)\n\
                result = libc.syscall(0x40000000 | 272, 0x10000000)\n\
                print('x32 unshare', result, os.strerror(ctypes.get_errno()))";
    let outcome = jail("python-native", code, "[limits]\nwall_ms = 10000\n");
    assert_eq!(
        stdout(&outcome),
        "40 Operation not permitted\n17 Operation not permitted\nx32 unshare -1 Function not implemented\n",
        "{outcome}"
    );
}

#[test]
fn a_pipeline_ends_when_its_reader_does() {
    // SIGPIPE is the default in the guest (the host ignores it): `yes` dies
    // when `head` exits, instead of spinning to the wall time.
    let outcome = jail("sh", "yes | head -n 1", "[limits]\nwall_ms = 5000\n");
    assert_eq!((outcome["status"]["kind"].as_str(), stdout(&outcome)), (Some("ok"), "y\n"), "{outcome}");
}

#[test]
fn a_run_dies_with_a_crashed_host() {
    let name = marker("orphan");
    let policy = tempfile::NamedTempFile::new().expect("policy");
    std::fs::write(policy.path(), format!("[limits]\nwall_ms = 600000\n[env]\nMARK = {name:?}\n"))
        .expect("write");
    let mut host = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["run", "--lang", "sh", "--policy"])
        .arg(policy.path())
        .args(["-c", "sleep 600 & sleep 600"])
        .spawn()
        .expect("start stockade");
    let started = std::time::Instant::now();
    while processes_with(&name).is_empty() && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!processes_with(&name).is_empty(), "the jail never started");
    // SIGKILL: stockade gets no chance to clean up; the kernel must.
    host.kill().expect("kill stockade");
    host.wait().expect("reap stockade");
    let killed = std::time::Instant::now();
    while !processes_with(&name).is_empty() && killed.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(processes_with(&name).is_empty(), "the jail outlived its host");
}
