//! The `stockade` binary from the outside: exit codes, output, errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn stockade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stockade")).args(args).output().expect("run stockade")
}

fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stockade");
    child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A valid policy whose secret's variable no host sets.
const UNSET_SECRET: &str = "[network]\nallow = [\"example.com\"]\n\
    [secrets.K]\nfrom_env = \"STOCKADE_TEST_NEVER_SET\"\nhosts = [\"example.com\"]\n";

fn policy_file(toml: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp policy");
    file.write_all(toml.as_bytes()).expect("write policy");
    file
}

#[test]
fn run_prints_output_and_value() {
    let out = stockade(&["run", "--lang", "js", "-c", "console.log('hi'); 6 * 7"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi\n42\n");
}

#[test]
fn run_reads_files_and_stdin() {
    let mut file = tempfile::NamedTempFile::new().expect("temp");
    file.write_all(b"console.log('from a file')").expect("write");
    let out = stockade(&["run", "--lang", "js", file.path().to_str().expect("path")]);
    assert_eq!(text(&out.stdout), "from a file\n");
    let out = with_stdin(&["run", "--lang", "javascript", "-"], b"console.log('from stdin')");
    assert_eq!(text(&out.stdout), "from stdin\n");
}

#[test]
fn run_prints_output_as_the_guest_writes_it() {
    use std::io::BufRead;
    for (lang, code) in
        [("sh", "echo first; sleep 30; echo second"), ("js", "console.log('first'); while (true) {}")]
    {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stockade"))
            .args(["run", "--lang", lang, "-c", code])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn stockade");
        let mut first = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout).read_line(&mut first).expect("read");
        // The line came while the guest was still at its loop or sleep.
        let running = child.try_wait().expect("try_wait").is_none();
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert_eq!(first, "first\n", "{lang}");
        assert!(running, "{lang}: the first line came only when the run ended");
    }
}

#[test]
fn json_output_is_the_whole_outcome() {
    let out = stockade(&["run", "--lang", "js", "--json", "-c", "console.error('e'); [1, 2]"]);
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json outcome");
    assert_eq!(outcome["status"]["kind"], "ok");
    assert_eq!(outcome["value"], serde_json::json!([1, 2]));
    assert_eq!(outcome["stderr"], "e\n");
    assert!(outcome["usage"]["wall_us"].as_u64().is_some());
}

#[test]
fn exit_codes_say_what_happened() {
    let out = stockade(&["run", "--lang", "js", "-c", "throw new TypeError('bad')"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Uncaught TypeError: bad"), "{}", text(&out.stderr));

    let policy = policy_file("[limits]\nwall_ms = 100\n");
    let out =
        stockade(&["run", "--lang", "js", "-p", policy.path().to_str().expect("path"), "-c", "for(;;){}"]);
    assert_eq!(out.status.code(), Some(124));
    assert!(text(&out.stderr).contains("wall time exceeded"));

    let policy = policy_file("[limits]\nfuel = 100000\n");
    let out =
        stockade(&["run", "--lang", "js", "-p", policy.path().to_str().expect("path"), "-c", "for(;;){}"]);
    assert_eq!(out.status.code(), Some(125));

    let out = stockade(&["run", "--lang", "js", "-c", "new ArrayBuffer(2 ** 30)"]);
    assert_eq!(out.status.code(), Some(137));
}

#[test]
fn a_guest_exit_code_that_collides_with_a_limit_is_told_apart_by_json() {
    // A guest's own `exit 124` and the wall limit exit alike; --json tells them apart.
    let own = stockade(&["run", "--lang", "sh", "--json", "-c", "exit 124"]);
    assert_eq!(own.status.code(), Some(124), "{}", text(&own.stderr));
    let own: serde_json::Value = serde_json::from_slice(&own.stdout).expect("json outcome");
    assert_eq!(
        (own["status"]["kind"].as_str(), own["exit_code"].as_i64()),
        (Some("exited"), Some(124)),
        "{own}"
    );
    let policy = policy_file("[limits]\nwall_ms = 100\n");
    let args =
        ["run", "--lang", "js", "--json", "-p", policy.path().to_str().expect("path"), "-c", "for(;;){}"];
    let stopped = stockade(&args);
    assert_eq!(stopped.status.code(), Some(124));
    let stopped: serde_json::Value = serde_json::from_slice(&stopped.stdout).expect("json outcome");
    assert_eq!(stopped["status"]["kind"], "limit_exceeded", "{stopped}");
    // The mapping is documented where a user looks for it.
    let help = text(&stockade(&["run", "--help"]).stdout);
    assert!(help.contains("Exit codes:") && help.contains("sys.exit(124)"), "{help}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let mut file = tempfile::NamedTempFile::new().expect("temp");
    file.write_all(b"console.log(1)\xff\xfe").expect("write");
    let out = stockade(&["run", "--lang", "js", file.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not valid UTF-8 (at byte 14)"), "{}", text(&out.stderr));

    let out = stockade(&["run", "--lang", "cobol", "-c", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown language"));

    let out = stockade(&["run", "--lang", "js", "-p", "/nonexistent/policy.toml", "-c", "1"]);
    assert_eq!(out.status.code(), Some(2));

    let out = stockade(&["run", "--lang", "js"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn policy_check_names_the_key() {
    let bad = policy_file("[limits]\nmemory_bytes = -1\n");
    let out = stockade(&["policy", "check", bad.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("limits.memory_bytes"), "{}", text(&out.stderr));

    let good = policy_file("[limits]\nwall_ms = 5000\n[env]\nA = \"b\"\n");
    let out = stockade(&["policy", "check", good.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("5000 ms"));

    assert!(text(&out.stdout).contains("languages     every one (js, python, sh,"), "{}", text(&out.stdout));
    let languages = policy_file("languages = [\"python\", \"bash\"]\n");
    let out = stockade(&["policy", "check", languages.path().to_str().expect("path")]);
    assert!(text(&out.stdout).contains("languages     python, bash\n"), "{}", text(&out.stdout));
    let out =
        stockade(&["run", "--lang", "js", "-c", "1", "--policy", languages.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2), "a refused language is a refused request");
    assert!(text(&out.stderr).contains("does not run js: it runs python, bash"), "{}", text(&out.stderr));
    let none = policy_file("languages = []\n");
    let out = stockade(&["policy", "check", none.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("languages: an empty list runs nothing"), "{}", text(&out.stderr));
    let unknown = policy_file("languages = [\"cobol\"]\n");
    let out = stockade(&["policy", "check", unknown.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown language `cobol`"), "{}", text(&out.stderr));

    // Valid, but not runnable here: the host has no such variable.
    let unrunnable = policy_file(UNSET_SECRET);
    let out = stockade(&["policy", "check", unrunnable.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stdout).contains("secrets.K.from_env: the host has no variable"),
        "{}",
        text(&out.stdout)
    );
}

/// Issue 19, item 8: a TOML error shows the parser's excerpt on stderr,
/// with the caret under the value at fault on a line of its own.
#[test]
fn a_policy_error_keeps_its_caret_line() {
    let bad = policy_file("[limits]\nwall_ms = \"x\"\n");
    let out = stockade(&["policy", "check", bad.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.lines().any(|l| l == "2 | wall_ms = \"x\""), "{stderr}");
    assert!(stderr.lines().any(|l| l == "  |           ^^^"), "{stderr}");
}

/// Issue 19, item 8: `policy check --json` reports on stdout, with stable keys.
#[test]
fn policy_check_json_reports_validity_and_the_key() {
    let check = |toml: &str| {
        let file = policy_file(toml);
        let out = stockade(&["policy", "check", "--json", file.path().to_str().expect("path")]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        (out.status.code(), report)
    };
    let (code, report) = check("[limits]\nwall_ms = 5000\n");
    assert_eq!(code, Some(0), "{report}");
    assert_eq!((&report["valid"], &report["runnable"]), (&serde_json::json!(true), &serde_json::json!(true)));
    assert!(report["error"].is_null() && report["policy"]["limits"]["wall_ms"] == 5000, "{report}");
    let (code, report) = check("[limits]\nmemory_bytes = -1\n");
    assert_eq!(code, Some(2));
    assert_eq!(
        (&report["valid"], &report["error"]["key"]),
        (&serde_json::json!(false), &serde_json::json!("limits.memory_bytes"))
    );
    assert!(report["policy"].is_null(), "{report}");
    let (code, report) = check(UNSET_SECRET);
    assert_eq!(code, Some(2));
    assert_eq!(
        (&report["valid"], &report["runnable"]),
        (&serde_json::json!(true), &serde_json::json!(false))
    );
    assert_eq!(report["error"]["key"], "secrets.K.from_env", "{report}");
    assert_eq!(report["network"], serde_json::json!(["allow example.com on ports 80 and 443"]), "{report}");
    assert!(report["secrets"][0].as_str().is_some_and(|s| s.starts_with("K: the guest sees a placeholder")));
}

/// Issue 19, item 8: the help's summary covers the servers and the audit
/// log, not only three of the ten commands.
#[test]
fn the_help_summary_covers_every_command() {
    let help = text(&stockade(&["--help"]).stdout);
    let about = help.split("\n\n").next().unwrap_or_default().replace('\n', " ");
    for part in ["MCP", "HTTP", "audit", "sessions"] {
        assert!(about.contains(part), "{about}");
    }
}

#[test]
fn policy_schema_and_default_are_usable() {
    let out = stockade(&["policy", "schema"]);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema is json");
    assert!(schema["properties"]["limits"].is_object());
    let out = stockade(&["policy", "default"]);
    let default = policy_file(&text(&out.stdout));
    let out = stockade(&["policy", "check", default.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn doctor_reports_a_ready_machine() {
    let out = stockade(&["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("JavaScript smoke run"));
}

/// Issue 19, item 8: `doctor --json` is one JSON object with stable keys.
#[test]
fn doctor_json_lists_the_checks() {
    let out = stockade(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["ready"], true, "{report}");
    let checks = report["checks"].as_array().expect("checks");
    let smoke = checks.iter().find(|c| c["name"] == "JavaScript smoke run").expect("the smoke run");
    assert_eq!((&smoke["ok"], &smoke["needed_to_run"]), (&serde_json::json!(true), &serde_json::json!(true)));
    assert!(checks.iter().all(|c| c["detail"].is_string() && (c["fix"].is_null() || c["fix"].is_string())));
}

#[test]
fn a_command_tool_is_called_within_the_policy_and_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let counter = dir.path().join("calls");
    let policy = policy_file(&format!(
        "[tools.transfer_money]\nmax_calls = 2\nconstraints = {{ amount = \"<=1000\", currency = [\"USD\", \"EUR\"] }}\n\
         [audit]\npath = {log:?}\nfsync = \"always\"\n"
    ));
    // The command appends its input to a file, so the test sees every call that ran.
    let tool = format!("transfer_money=tee -a {} >/dev/null; echo '{{\"sent\": true}}'", counter.display());
    let code = r#"
        const r = [];
        for (const args of [{amount: 5, currency: "USD"}, {amount: 5000, currency: "USD"},
                            {amount: 5, currency: "GBP"}, {amount: 7, currency: "EUR"}, {amount: 8, currency: "EUR"}]) {
            try { r.push((await transfer_money(args)).sent) } catch (e) { r.push(e.kind) }
        }
        r
    "#;
    let policy_path = policy.path().to_str().expect("utf-8 path");
    let out = stockade(&["run", "--lang", "js", "--policy", policy_path, "--tool", &tool, "-c", code]);
    assert_transfers(&out, &counter);

    let verified = stockade(&["audit", "verify", log.to_str().expect("utf-8 path")]);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified.stdout));
    assert!(text(&verified.stdout).starts_with("ok: 8 records intact"), "{}", text(&verified.stdout));
    let shown = text(&stockade(&["audit", "show", log.to_str().expect("utf-8 path")]).stdout);
    assert!(shown.contains("tool_call") && shown.contains("rule=constraints.amount"), "{shown}");

    // Any edit is found, and named by line.
    let tampered = std::fs::read_to_string(&log).expect("log").replacen("\"amount\"", "\"Amount\"", 1);
    let tampered = tampered.replacen("constraints.amount", "allowed", 1);
    std::fs::write(&log, tampered).expect("tamper");
    let broken = stockade(&["audit", "verify", log.to_str().expect("utf-8 path")]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(text(&broken.stdout).starts_with("BROKEN at line 4"), "{}", text(&broken.stdout));
}

#[test]
fn a_failing_tool_command_is_an_error_in_the_guest() {
    let policy = policy_file("allow_unlisted_tools = true\n");
    let policy_path = policy.path().to_str().expect("utf-8 path");
    let code = "try { await broken({}) } catch (e) { `${e.name}: ${e.message}` }";
    let out = stockade(&[
        "run",
        "--lang",
        "js",
        "--policy",
        policy_path,
        "--tool",
        "broken=echo nope >&2; exit 3",
        "-c",
        code,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("ToolError") && shown.contains("nope"), "{shown}");
    let bad = stockade(&["run", "--lang", "js", "--tool", "no-equals-sign", "-c", "1"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// `stockade run --lang js` with one command-backed tool, under a policy
/// that allows every tool and sets `wall_ms`; the run must end within
/// `bound` (else it is killed and the test fails: a hang, not a timing).
fn run_with_tool_command(tool: &str, code: &str, wall_ms: u64, bound: std::time::Duration) -> Output {
    let policy = policy_file(&format!("allow_unlisted_tools = true\n[limits]\nwall_ms = {wall_ms}\n"));
    let policy_path = policy.path().to_str().expect("utf-8 path");
    let child = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["run", "--lang", "js", "--policy", policy_path, "--tool", tool, "-c", code])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stockade");
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(bound) {
        Ok(out) => out.expect("wait for stockade"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("stockade run with --tool {tool:?} hung past {bound:?} (wall_ms = {wall_ms})");
        }
    }
}

#[test]
fn a_tool_command_that_echoes_large_arguments_does_not_deadlock() {
    // Past the pipe's buffer, writing the arguments before reading the
    // answer deadlocked with any command that echoes its input.
    let code = "const r = await echo({s: 'x'.repeat(200000)}); r.s.length";
    let out = run_with_tool_command("echo=cat", code, 5000, std::time::Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "200000\n");
}

#[test]
fn a_tool_command_that_never_reads_its_arguments_keeps_the_wall_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pids = dir.path().join("pids");
    // 100 KB of arguments fill the pipe; the command and the child it
    // starts must both be killed at the deadline, not 30 s later.
    let tool = format!("info=sleep 30 & echo $! > {}; sleep 30; echo done", pids.display());
    let code = "try { await info({s: 'x'.repeat(100000)}) } catch (e) { e.message }";
    let out = run_with_tool_command(&tool, code, 2000, std::time::Duration::from_secs(25));
    let shown = text(&out.stdout);
    assert!(shown.contains("ran longer than") && shown.contains("killed"), "{shown}{}", text(&out.stderr));
    let pid = std::fs::read_to_string(&pids).expect("the command wrote its child's pid");
    let pid = pid.trim();
    // A killed child is gone once its parent (sh, also killed) is reaped by init.
    let alive = (0..200).all(|_| {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let running = !state.is_empty() && !state.contains(") Z ");
        if running {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        running
    });
    assert!(!alive, "the tool command's child {pid} outlived the call");
}

#[test]
fn a_tool_command_whose_answer_passes_its_cap_says_so() {
    let code = "try { await big({}); 'no error' } catch (e) { `${e.name}: ${e.message}` }";
    let tool = "big=head -c 20000000 /dev/zero";
    let out = run_with_tool_command(tool, code, 20000, std::time::Duration::from_secs(60));
    let shown = text(&out.stdout);
    assert!(shown.contains("ToolError") && shown.contains("size cap"), "{shown}{}", text(&out.stderr));
}

#[test]
fn a_large_tool_answer_reaches_the_guest() {
    // 15 MB is under the protocol's cap, but the guest must grow its memory
    // to take it: that was once refused as "this sandbox has no host tools".
    let tool = "big=python3 -c \"import json; print(json.dumps('x' * 15000000))\"";
    let code = "try { (await big({})).length } catch (e) { `${e.name}: ${e.message}` }";
    let out = run_with_tool_command(tool, code, 20000, std::time::Duration::from_secs(60));
    assert_eq!(text(&out.stdout), "15000000\n", "{}", text(&out.stderr));
}

#[test]
fn signed_audit_logs_verify_against_the_public_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("audit.key");
    let log = dir.path().join("audit.jsonl");
    let made = stockade(&["audit", "keygen", key.to_str().expect("utf-8 path")]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let public_key = text(&made.stdout).trim().to_string();
    assert_eq!(public_key.len(), 64);
    let again = stockade(&["audit", "keygen", key.to_str().expect("utf-8 path")]);
    assert_ne!(again.status.code(), Some(0), "an existing key is never overwritten");

    let policy = policy_file(&format!("[audit]\npath = {log:?}\nsigning_key = {key:?}\n"));
    let policy_path = policy.path().to_str().expect("utf-8 path");
    for _ in 0..2 {
        let out = stockade(&["run", "--lang", "js", "--policy", policy_path, "-c", "1"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let log = log.to_str().expect("utf-8 path");
    let good = stockade(&["audit", "verify", log, "--public-key", &public_key]);
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stdout));
    assert!(
        text(&good.stdout).contains("signed through record 6 (2 checkpoints); 0 records after it"),
        "{}",
        text(&good.stdout)
    );
    let wrong = stockade(&["audit", "verify", log, "--public-key", &"ab".repeat(32)]);
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong.stdout));
}

#[test]
fn fetch_names_what_it_can_fetch() {
    let out = stockade(&["fetch", "ruby"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("possible values: python"), "{}", text(&out.stderr));
}

#[test]
fn a_corrupted_compiled_guest_is_rebuilt_not_loaded() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = cache.path().join("cache");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_stockade"))
            .args(["run", "--lang", "js", "-c", "6 * 7"])
            .env("STOCKADE_CACHE_DIR", &dir)
            .output()
            .expect("run stockade")
    };
    assert_eq!(text(&run().stdout), "42\n");
    let cwasm = std::fs::read_dir(&dir)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("a compiled guest");
    let mut bytes = std::fs::read(&cwasm).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&cwasm, &bytes).expect("corrupt one byte");
    let out = run();
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "42\n".to_string()),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("damaged cache entry removed"), "{}", text(&out.stderr));
    // Issue 19, item 8: stderr is a pipe here, so the warning has no colour codes.
    assert!(!text(&out.stderr).contains("\x1b["), "{:?}", text(&out.stderr));
    assert_ne!(std::fs::read(&cwasm).expect("rebuilt")[middle], bytes[middle], "the entry was rebuilt");
}

#[test]
fn run_python_with_pandas() {
    // The guest comes from PyPI: fetch it into this run's cache if needed.
    if stockade(&["run", "--lang", "python", "-c", "1"]).status.code() == Some(3) {
        let out = stockade(&["fetch", "python"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let code = r#"import pandas as pd; print(pd.DataFrame({"a":[1,2]}).sum())"#;
    let out = stockade(&["run", "--lang", "python", "-c", code]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "a    3\ndtype: int64\n");

    // A policy's `python.preload` snapshot, made ahead of time, then used:
    // one of its modules comes from the policy's `python.packages`, which
    // `precompile` downloads first.
    let preload = policy_file(
        "[python]\npreload = [\"numpy\", \"pandas\", \"tabulate\"]\n\
         packages = [\"tabulate==0.9.0 --hash=sha256:024ca478df22e9340661486f85298cff5f6dcdba14f3813e8830015b9ed1948f\"]\n",
    );
    let preload = preload.path().to_str().expect("utf-8 path");
    let out = stockade(&["precompile", "python", "--policy", preload]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let loaded = "import sys; print('pandas' in sys.modules, 'tabulate' in sys.modules, sys.path.count('/opt/stockade/site-packages'))";
    let out = stockade(&["run", "--lang", "python", "--policy", preload, "-c", loaded]);
    assert_eq!(text(&out.stdout), "True True 1\n", "{}", text(&out.stderr));
    // The policy's pinned version, not the guest's own bundled one.
    let table = "import tabulate; print(tabulate.__version__, tabulate.tabulate([[1]], tablefmt='plain'))";
    let out = stockade(&["run", "--lang", "python", "--policy", preload, "-c", table]);
    assert_eq!(text(&out.stdout), "0.9.0 1\n", "{}", text(&out.stderr));
    assert_eq!(text(&stockade(&["run", "--lang", "python", "-c", loaded]).stdout), "False False 0\n");

    let out = stockade(&["run", "--lang", "python", "-c", "import sys; sys.exit(3)"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let out = stockade(&["run", "--lang", "py", "-c", "{'a': 1}\n"]);
    assert_eq!(text(&out.stdout), "{\"a\":1}\n");
    let out = stockade(&["run", "--lang", "python", "-c", "int('x')"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("Traceback")
            && stderr.trim_end().ends_with("ValueError: invalid literal for int() with base 10: 'x'"),
        "{stderr}"
    );

    python_cwasm_damage_is_detected();

    // The Amla transfer_money example from Python, with a command-backed tool.
    let dir = tempfile::tempdir().expect("tempdir");
    let counter = dir.path().join("calls");
    let policy = policy_file(
        "[tools.transfer_money]\nmax_calls = 2\nconstraints = { amount = \"<=1000\", currency = [\"USD\", \"EUR\"] }\n",
    );
    let tool = format!("transfer_money=tee -a {} >/dev/null; echo '{{\"sent\": true}}'", counter.display());
    let code = r#"
r = []
for args in [dict(amount=5, currency="USD"), dict(amount=5000, currency="USD"), dict(amount=5, currency="GBP"),
             dict(amount=7, currency="EUR"), dict(amount=8, currency="EUR")]:
    try:
        r.append(transfer_money(**args)["sent"])
    except ToolDenied as e:
        r.append(e.kind)
r
"#;
    let policy_path = policy.path().to_str().expect("utf-8 path");
    let out = stockade(&["run", "--lang", "python", "--policy", policy_path, "--tool", &tool, "-c", code]);
    assert_transfers(&out, &counter);

    // The REPL keeps state between inputs; a block ends at an empty line.
    let input = b"import pandas as pd\nx = 20\ndef f(v):\n    return v * 2\n\nf(x) + 2\nraise KeyError('k')\nprint(x)\n";
    let out = with_stdin(&["repl", "--lang", "python"], input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "42\n20\n");
    assert!(text(&out.stderr).contains("KeyError: 'k'"), "{}", text(&out.stderr));
}

#[test]
fn repl_keeps_state_and_starts_again_after_a_limit() {
    let policy = policy_file("[limits]\nwall_ms = 300\n");
    let path = policy.path().to_str().expect("utf-8 path");
    let input = b"var total = 1\nfunction add(n) {\n  total += n\n  return total\n}\nadd(41)\nfor (;;) {}\ntypeof total\n";
    let out = with_stdin(&["repl", "--lang", "js", "--policy", path], input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The loop hit the wall time, which ended the session: the next one has no `total`.
    assert_eq!(text(&out.stdout), "42\n\"undefined\"\n");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("wall time exceeded") && stderr.contains("a new one starts"), "{stderr}");
}

/// A damaged copy of the compiled CPython guest is found and removed, never
/// loaded. (Rebuilding it is the same code path as for JavaScript, tested
/// above; a CPython rebuild takes a minute, so this copy is only checked.)
fn python_cwasm_damage_is_detected() {
    let doctor = text(&stockade(&["doctor"]).stdout);
    let cache = doctor
        .lines()
        .find(|line| line.contains("module cache"))
        .and_then(|line| line.split_whitespace().find(|word| word.starts_with('/')))
        .map(std::path::PathBuf::from)
        .expect("doctor names the module cache");
    let scratch = tempfile::tempdir().expect("tempdir");
    let copy = scratch.path().join("cache");
    std::fs::create_dir_all(&copy).expect("mkdir");
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
    std::os::unix::fs::symlink(cache.join("python"), copy.join("python")).expect("link the artifacts");
    let mut damaged = Vec::new();
    for entry in std::fs::read_dir(&cache).expect("cache") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if name.starts_with("python-") && (name.ends_with(".cwasm") || name.ends_with(".cwasm.b3")) {
            let mut bytes = std::fs::read(&path).expect("read");
            if name.ends_with(".cwasm") {
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0xff;
                damaged.push(copy.join(&name));
            }
            std::fs::write(copy.join(&name), bytes).expect("copy");
        }
    }
    assert!(!damaged.is_empty(), "no compiled CPython guest in {}", cache.display());
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .arg("doctor")
        .env("STOCKADE_CACHE_DIR", &copy)
        .output()
        .expect("run stockade");
    let report = text(&out.stdout);
    let line = report.lines().find(|l| l.contains("CPython guest compiled")).expect("a CPython line");
    assert!(line.contains("not yet"), "{report}");
    // doctor checks the unmetered entry (the fuel one is checked when a metered run opens it).
    assert!(damaged.iter().any(|path| !path.exists()), "the damaged entry was left in place");
}

/// `stockade mcp` driven end to end by the official MCP client (PyPI `mcp`,
/// installed into `.venv` by scripts/test.sh) over stdio: JavaScript, a
/// Python session, a fresh run that sees none of it, an escape attempt, and
/// the session tools. The policy comes from the server's command line only.
#[test]
fn mcp_server_works_with_a_real_client() {
    let policy = mcp_ready();
    let out = Command::new(venv_python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py"))
        .arg(env!("CARGO_BIN_EXE_stockade"))
        .arg(policy.path())
        .output()
        .expect("run the MCP client");
    check_mcp_answers(&out);
}

/// The same client over streamable HTTP (`--listen`), with a bearer token;
/// requests without it, or for another `Host`, are refused, and listening
/// beyond loopback without a token is refused at start.
#[test]
fn mcp_server_over_http_works_with_a_real_client_and_a_token() {
    let policy = mcp_ready();
    // Before the server starts: a missing client must not leave it running.
    let python = venv_python();
    let token = "t0ken-for-the-mcp-http-test";
    let mut server = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["mcp", "--listen", "127.0.0.1:0", "--token-env", "MCP_TEST_TOKEN", "--policy"])
        .arg(policy.path())
        .env("MCP_TEST_TOKEN", token)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stockade mcp --listen");
    let mut stderr = std::io::BufReader::new(server.stderr.take().expect("stderr"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).expect("the server says where it listens");
    let url = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"), "{line}");
    let address = url.trim_start_matches("http://").trim_end_matches("/mcp").to_string();

    let post = |host: &str, auth: &str| {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        raw_http(
            &address,
            &format!(
                "POST /mcp HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\n\
                 Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let refused = post(&address, "");
    assert!(refused.starts_with("HTTP/1.1 401"), "no token: {refused}");
    // As the HTTP API's errors are: JSON, saying what to send.
    assert!(refused.contains(r#"{"error":"send `Authorization: Bearer TOKEN`"}"#), "{refused}");
    assert!(post(&address, "Authorization: Bearer wrong-token-wrong-token\r\n").starts_with("HTTP/1.1 401"));
    let rebinding = post("evil.example:80", &format!("Authorization: Bearer {token}\r\n"));
    assert!(!rebinding.starts_with("HTTP/1.1 2"), "a foreign Host header is refused: {rebinding}");

    let out = Command::new(python)
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py"))
        .args(["--http", &url, token])
        .output()
        .expect("run the MCP client");
    let _ = server.kill();
    let _ = server.wait();
    check_mcp_answers(&out);

    let open = stockade(&["mcp", "--listen", "0.0.0.0:0"]);
    assert_ne!(open.status.code(), Some(0));
    assert!(text(&open.stderr).contains("needs --token-env"), "{}", text(&open.stderr));
}

/// One HTTP/1.1 exchange on loopback; the whole response.
fn raw_http(address: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

fn venv_python() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    assert!(python.exists(), "no {}: scripts/test.sh makes it (with the `mcp` package)", python.display());
    python
}

/// The CPython guest fetched, and a policy file for the MCP tests.
fn mcp_ready() -> tempfile::NamedTempFile {
    if stockade(&["run", "--lang", "python", "-c", "1"]).status.code() == Some(3) {
        let out = stockade(&["fetch", "python"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    policy_file("[limits]\nwall_ms = 20000\n[files]\ntmp_bytes = 1048576\n")
}

/// What the client script saw, checked.
fn check_mcp_answers(out: &std::process::Output) {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answers: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the client prints JSON");
    assert_eq!(
        answers["tools"],
        serde_json::json!([
            "close_session",
            "list_files",
            "list_sessions",
            "read_file",
            "run_code",
            "write_file"
        ])
    );
    // A named session's files: text in, bytes (base64, not UTF-8) out.
    assert_eq!(answers["wrote"]["bytes"], 6, "{answers}");
    assert_eq!(answers["used"]["error"], false, "{answers}");
    assert_eq!(answers["back"]["base64"], true, "{answers}");
    assert_eq!(answers["back"]["content"], "SMOJTExP/w==", "HÉLLO and 0xff: {answers}");
    let listed = answers["files"]["entries"].as_array().map(Vec::len);
    assert_eq!(listed, Some(2), "{answers}");
    assert_eq!(answers["climbed"]["error"], true, "{answers}");
    assert!(answers["climbed"]["text"].as_str().unwrap_or_default().contains("climbs"), "{answers}");
    assert_eq!(answers["js"]["error"], false, "{answers}");
    assert_eq!(answers["js"]["value"], 42);
    assert!(answers["js"]["text"].as_str().unwrap_or_default().contains("hi"), "{answers}");
    // Progress notifications carried the output, in order, before the result.
    let notes = answers["streamed"]["notes"].as_array().expect("notes");
    let messages: Vec<&str> = notes.iter().filter_map(|note| note["message"].as_str()).collect();
    assert_eq!(messages, ["one\n", "[stderr] two\n", "three\n"], "{answers}");
    let counted: Vec<f64> = notes.iter().filter_map(|note| note["progress"].as_f64()).collect();
    assert_eq!(counted, [1.0, 2.0, 3.0], "{answers}");
    assert_eq!(answers["first"]["error"], false, "{answers}");
    assert_eq!(answers["second"]["value"], 42, "{answers}");
    assert_eq!(answers["fresh"]["error"], true, "a fresh run sees no session state: {answers}");
    assert!(answers["fresh"]["text"].as_str().unwrap_or_default().contains("NameError"), "{answers}");
    assert_eq!(answers["escape"]["error"], true);
    assert!(
        answers["escape"]["text"].as_str().unwrap_or_default().contains("FileNotFoundError"),
        "{answers}"
    );
    assert_eq!(answers["wrong_language"]["error"], true, "{answers}");
    assert_eq!(answers["listing"]["sessions"], serde_json::json!([{"session": "s1", "language": "python"}]));
    assert_eq!(answers["closed"]["error"], false);
    assert_eq!(answers["after"]["sessions"], serde_json::json!([]));
}

/// The transfer_money script's result (two refusals by constraint, one by
/// budget) and the two calls the tool really got.
fn assert_transfers(out: &Output, counter: &std::path::Path) {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), r#"[true,"denied","denied",true,"budget_exceeded"]"#);
    let ran = std::fs::read_to_string(counter).expect("the tool ran");
    assert_eq!(ran, r#"{"amount":5,"currency":"USD"}{"amount":7,"currency":"EUR"}"#);
}

/// Issue 20, finding 5: `audit verify` says what it found in nonsense: an
/// empty file is no log (exit 1), and garbage without a newline is broken
/// at line 1, not a crash's partial line.
#[test]
fn audit_verify_of_an_empty_or_garbage_file_is_not_ok() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").expect("write");
    let out = stockade(&["audit", "verify", empty.to_str().expect("utf-8 path")]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(1), "empty: no records\n".into()));
    let garbage = dir.path().join("garbage.jsonl");
    std::fs::write(&garbage, "no newline, no record").expect("write");
    let out = stockade(&["audit", "verify", garbage.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).starts_with("BROKEN at line 1: the last line has no newline"),
        "{}",
        text(&out.stdout)
    );
}

/// Issue 20, finding 6: two processes on one audit log both run: the
/// second waits for the first's lock, continues its chain, and the log
/// verifies.
#[test]
fn two_processes_append_to_one_audit_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let policy = policy_file(&format!("[audit]\npath = {log:?}\n"));
    let policy_path = policy.path().to_str().expect("utf-8 path").to_string();
    let code = "const t = Date.now(); while (Date.now() - t < 1000) {} 7";
    let runs: Vec<_> = (0..2)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_stockade"))
                .args(["run", "--lang", "js", "--policy", &policy_path, "-c", code])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn stockade")
        })
        .collect();
    for run in runs {
        let out = run.wait_with_output().expect("wait");
        assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "7\n".into()), "{}", text(&out.stderr));
    }
    let verified = stockade(&["audit", "verify", log.to_str().expect("utf-8 path")]);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified.stdout));
    let opened = std::fs::read_to_string(&log).expect("log").matches("\"log_opened\"").count();
    assert_eq!(opened, 2, "both processes wrote to the log");
}

/// Issue 20, finding 6: a log whose lock is held past the timeout
/// (`STOCKADE_AUDIT_LOCK_TIMEOUT_MS`) is a clear error, and nothing runs.
#[test]
fn an_audit_log_locked_past_the_timeout_is_a_clear_error() {
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let held = std::fs::File::create(&log).expect("create the log");
    // SAFETY: flock(2) on a descriptor this test owns and keeps open.
    assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX) }, 0);
    let policy = policy_file(&format!("[audit]\npath = {log:?}\n"));
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["run", "--lang", "js", "--policy", policy.path().to_str().expect("utf-8 path")])
        .args(["-c", "console.log('ran')"])
        .env("STOCKADE_AUDIT_LOCK_TIMEOUT_MS", "500")
        .output()
        .expect("run stockade");
    assert!(started.elapsed() >= std::time::Duration::from_millis(500), "{:?}", started.elapsed());
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("in use by another writer, still after 500 ms"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stdout).contains("ran"));
    drop(held);
}

/// Issue 20, finding 4: a guest-chosen tool name with a newline, a forged
/// record and terminal escapes is shown by `audit show` on its own line,
/// escaped: no ESC byte, no extra line.
#[test]
fn audit_show_escapes_control_characters_in_guest_strings() {
    use stockade::audit_log::{AuditLog, Decision, Event};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, stockade::policy::Fsync::Always).expect("open");
    let forged = "x\n#7 2026-01-01T00:00:00Z tool_call decision=allowed\x1b[2J\x1b]0;t\x07\r\u{9b}2J\u{7f}";
    log.append(&Event::ToolCall {
        run: "r".into(),
        tool: forged.into(),
        decision: Decision::Denied,
        rule: "unlisted".into(),
        args_sha256: stockade::audit_log::sha256_hex(b"{}"),
        args: None,
    })
    .expect("append");
    drop(log);
    let out = stockade(&["audit", "show", path.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!out.stdout.iter().any(|&b| b == 0x1b || b == b'\r' || b == 0x7f), "{:?}", text(&out.stdout));
    let shown = text(&out.stdout);
    assert!(!shown.contains('\u{9b}'), "{shown:?}");
    assert_eq!(shown.lines().count(), 2, "{shown}");
    let call = shown.lines().nth(1).expect("the tool call");
    assert!(call.contains(r"tool=x\n#7 2026-01-01T00:00:00Z tool_call decision=allowed\x1b[2J"), "{call}");
    assert!(call.contains("decision=denied"), "{call}");
}

/// Issue 20, finding 4: the guest's error is escaped on the way to the
/// terminal (or anywhere); its stdout to a pipe stays byte for byte.
#[test]
fn guest_error_messages_are_escaped_and_piped_output_is_exact() {
    let code = r#"console.log("\x1b[31mred\x1b[0m"); throw new TypeError("a\x1b[2Jb\r\nstockade: fake")"#;
    let out = stockade(&["run", "--lang", "js", "-c", code]);
    assert_eq!(out.stdout, b"\x1b[31mred\x1b[0m\n", "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(!out.stderr.contains(&0x1b) && !out.stderr.contains(&b'\r'), "{stderr:?}");
    assert!(stderr.contains(r"Uncaught TypeError: a\x1b[2Jb\r"), "{stderr:?}");
}

/// Issue 20, finding 4: to a terminal (a pseudo-terminal from util-linux's
/// `script`), the guest's stdout arrives with its escape sequences escaped.
#[test]
fn guest_output_to_a_terminal_is_escaped() {
    let command = format!(
        "{} run --lang js -c 'console.log(\"\\x1b[2Jhi\\x1b]0;t\\x07\")'",
        env!("CARGO_BIN_EXE_stockade")
    );
    let out =
        Command::new("script").args(["-qec", &command, "/dev/null"]).output().expect("util-linux script");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The terminal turns `\n` into `\r\n`; nothing else is the guest's.
    assert_eq!(text(&out.stdout), "\\x1b[2Jhi\\x1b]0;t\\x07\r\n");
}

/// `stockade mcp ARGS` on stdio, spoken to as raw JSON-RPC, one line per
/// message; killed when dropped.
struct McpStdio {
    server: std::process::Child,
    input: std::process::ChildStdin,
    answers: std::sync::mpsc::Receiver<String>,
}

impl McpStdio {
    /// Starts the server and initializes the connection.
    fn start(args: &[&str]) -> McpStdio {
        use std::io::BufRead;
        let mut server = Command::new(env!("CARGO_BIN_EXE_stockade"))
            .arg("mcp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start stockade mcp");
        let input = server.stdin.take().expect("stdin");
        let output = std::io::BufReader::new(server.stdout.take().expect("stdout"));
        let (lines, answers) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in output.lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut mcp = McpStdio { server, input, answers };
        let init = mcp.ask(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#,
        );
        assert!(init["result"].is_object(), "{init}");
        mcp.ask(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        mcp
    }

    /// Sends `message`; then, unless it is a notification, waits for its answer.
    fn ask(&mut self, message: &str) -> serde_json::Value {
        writeln!(self.input, "{message}").expect("send");
        let id = serde_json::from_str::<serde_json::Value>(message).expect("json")["id"].clone();
        if id.is_null() {
            return serde_json::Value::Null;
        }
        loop {
            let line =
                self.answers.recv_timeout(std::time::Duration::from_secs(30)).expect("an answer in time");
            let answer: serde_json::Value = serde_json::from_str(&line).expect("a JSON answer");
            if answer["id"] == id {
                return answer;
            }
        }
    }
}

impl Drop for McpStdio {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Issue 19, item 8: run_code's description names the host tools the
/// policy offers, with their schemas, so that a model can learn of them;
/// a registered tool the policy does not allow is not named.
#[test]
fn mcp_run_code_names_the_host_tools() {
    let policy = policy_file("[tools.add]\nmax_calls = 5\n");
    let policy = policy.path().to_str().expect("utf-8 path");
    let mut mcp = McpStdio::start(&["--policy", policy, "--tool", "add=echo 5", "--tool", "hidden=echo 1"]);
    let listed = mcp.ask(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#);
    let tools = listed["result"]["tools"].as_array().expect("tools");
    let run_code = tools.iter().find(|t| t["name"] == "run_code").expect("run_code");
    let description = run_code["description"].as_str().expect("a description");
    assert!(description.contains("- add: runs `echo 5` on the host; arguments: {"), "{description}");
    assert!(!description.contains("hidden"), "{description}");
    let called = mcp.ask(
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"run_code","arguments":{"language":"js","code":"await add({})"}}}"#,
    );
    assert_eq!(called["result"]["structuredContent"]["value"], 5, "{called}");
    // Without tools, the description says nothing of them.
    let mut bare = McpStdio::start(&[]);
    let listed = bare.ask(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#);
    assert!(!listed.to_string().contains("host tools"), "{listed}");
}

/// Issue 20, finding 3: `run_code` over MCP refuses a key given twice
/// (which a parsed map would have collapsed to its last value) and an
/// unknown key, as tool errors, as the HTTP API refuses both. Spoken as raw
/// JSON-RPC on stdio, since no client library can send a repeated key.
#[test]
fn mcp_run_code_refuses_duplicate_and_unknown_keys() {
    let mut mcp = McpStdio::start(&[]);
    let call = |id: u32, arguments: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"run_code","arguments":{arguments}}}}}"#
        )
    };
    let text = |answer: &serde_json::Value| {
        answer["result"]["content"][0]["text"].as_str().unwrap_or_default().to_string()
    };
    let twice = mcp.ask(&call(2, r#"{"language":"js","code":"'checked'","code":"'run'"}"#));
    assert_eq!(twice["result"]["isError"], true, "{twice}");
    assert!(text(&twice).contains("a key is given twice ([\"code\"])"), "{twice}");
    let unknown = mcp.ask(&call(3, r#"{"language":"js","code":"1","timeout":5}"#));
    assert_eq!(unknown["result"]["isError"], true, "{unknown}");
    assert!(text(&unknown).contains("unknown field `timeout`"), "{unknown}");
    // Issue 19: under the default policy a model gets no shell; the refusal
    // says so, and names what runs.
    let shell = mcp.ask(&call(5, r#"{"language":"sh","code":"id"}"#));
    assert_eq!(shell["result"]["isError"], true, "{shell}");
    assert!(
        text(&shell).contains("stockade (policy): this sandbox does not run sh: it runs js, python"),
        "{shell}"
    );
    let fine = mcp.ask(&call(4, r#"{"language":"js","code":"6 * 7"}"#));
    assert_eq!(
        (&fine["result"]["isError"], &fine["result"]["structuredContent"]["value"]),
        (&serde_json::json!(false), &serde_json::json!(42)),
        "{fine}"
    );
}

/// Issue 20, finding 3, over streamable HTTP: the body is read raw too, so
/// a repeated key is a tool error there as well.
#[test]
fn mcp_over_http_refuses_duplicate_keys() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["mcp", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stockade mcp --listen");
    let mut stderr = std::io::BufReader::new(server.stderr.take().expect("stderr"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).expect("the server says where it listens");
    let address = line.trim().rsplit(' ').next().unwrap_or_default();
    let address = address.trim_start_matches("http://").trim_end_matches("/mcp").to_string();
    let post = |session: &str, body: &str| {
        raw_http(
            &address,
            &format!(
                "POST /mcp HTTP/1.1\r\nHost: {address}\r\n{session}Content-Type: application/json\r\n\
                 Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let init = post(
        "",
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#,
    );
    let session = init
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().starts_with("mcp-session-id:").then(|| l[15..].trim().to_string())
        })
        .expect("a session id");
    let session = format!("Mcp-Session-Id: {session}\r\n");
    post(&session, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    let twice = post(
        &session,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run_code","arguments":{"language":"js","code":"1","code":"2"}}}"#,
    );
    let _ = server.kill();
    let _ = server.wait();
    assert!(twice.contains(r#""isError":true"#) && twice.contains("a key is given twice"), "{twice}");
}

/// Issue 19: a jailed run reports the layers it had, in its outcome and in
/// its audit record. Run where the cgroup hierarchy is hidden (a private
/// mount namespace with a tmpfs over `/sys/fs/cgroup`), it says it had
/// rlimits instead of cgroups; with `jail.require = ["cgroups"]` it refuses
/// to start. Needs root, as CI has, for the mount.
#[test]
fn a_jailed_run_says_which_layers_held_it_and_one_that_requires_cgroups_refuses_without() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let policy = policy_file(&format!("[audit]\npath = {log:?}\n"));
    let required = policy_file("[jail]\nrequire = [\"cgroups\"]\n");
    let hidden = |policy: &std::path::Path| {
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("mount -t tmpfs none /sys/fs/cgroup && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_stockade"))
            .args(["run", "--lang", "sh", "--json", "-c", "true", "--policy"])
            .arg(policy)
            .output()
            .expect("run stockade with the cgroups hidden")
    };
    let layers = |out: &Output| {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON outcome");
        let layers = outcome["enforcement"]["layers"].as_array().cloned().unwrap_or_default();
        layers.iter().filter_map(|l| l.as_str().map(String::from)).collect::<Vec<_>>()
    };
    let recorded = || {
        let lines = std::fs::read_to_string(&log).expect("the audit log");
        let start =
            lines.lines().rev().find(|l| l.contains("\"run_start\"")).expect("a run_start").to_string();
        let start: serde_json::Value = serde_json::from_str(&start).expect("a JSON line");
        start["event"]["layers"].clone()
    };

    // Here the jail has its cgroups, and says so.
    let with = layers(&stockade(&[
        "run",
        "--lang",
        "sh",
        "--json",
        "-c",
        "true",
        "--policy",
        policy.path().to_str().expect("a UTF-8 path"),
    ]));
    assert!(with.contains(&"cgroup_memory".to_string()) && with.contains(&"seccomp".to_string()), "{with:?}");
    assert!(recorded().as_array().is_some_and(|l| l.contains(&"cgroup_pids".into())), "{}", recorded());

    let without = layers(&hidden(policy.path()));
    assert!(without.contains(&"rlimit_memory".to_string()), "{without:?}");
    assert!(!without.contains(&"cgroup_memory".to_string()), "{without:?}");
    let record = recorded();
    assert!(record.as_array().is_some_and(|l| l.contains(&"rlimit_processes".into())), "{record}");
    assert!(!record.as_array().is_some_and(|l| l.contains(&"cgroup_memory".into())), "{record}");

    let refused = hidden(required.path());
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("jail.require lists cgroups"), "{}", text(&refused.stderr));
    assert!(refused.stdout.is_empty(), "nothing ran: {}", text(&refused.stdout));
}
