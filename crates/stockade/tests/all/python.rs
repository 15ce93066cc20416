//! The CPython guest: results, errors, limits and isolation.
//!
//! The guest comes from PyPI; the first test to need it fetches it into the
//! test cache (and the first run compiles it, about a minute).

use std::sync::Mutex;
use std::time::{Duration, Instant};
use stockade::policy::{MIB, OutputOverflow};
use stockade::{Language, Limit, Outcome, Policy, Sandbox, SandboxError, Status};

/// Fetches the CPython guest once per test process if the cache lacks it.
pub fn ensure_fetched() {
    static FETCHED: Mutex<bool> = Mutex::new(false);
    let mut fetched = FETCHED.lock().unwrap_or_else(|p| p.into_inner());
    if !*fetched {
        if stockade::diagnostics::python_artifacts().is_err() {
            stockade::diagnostics::fetch_python(&|_| {}).expect("fetch the CPython guest");
        }
        *fetched = true;
    }
}

fn py_result(policy: Policy, code: &str) -> Result<Outcome, SandboxError> {
    ensure_fetched();
    Sandbox::new(policy).expect("sandbox").run(Language::Python, code)
}

fn py_with(policy: Policy, code: &str) -> Outcome {
    py_result(policy, code).expect("host error")
}

fn py(code: &str) -> Outcome {
    py_with(Policy::default(), code)
}

fn guest_error(outcome: &Outcome) -> (&str, &str, &str) {
    match &outcome.status {
        Status::GuestError { kind, message, stack } => (kind, message, stack.as_deref().unwrap_or("")),
        other => panic!("expected a guest error, got {other:?}: {outcome:?}"),
    }
}

fn limit_hit(outcome: &Outcome) -> Option<Limit> {
    match outcome.status {
        Status::LimitExceeded { which } => Some(which),
        _ => None,
    }
}

#[test]
fn prints_and_returns_the_trailing_expression() {
    let outcome = py("print('hello')\n{'a': [1, 2.5, None], 'b': 'x'}");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(outcome.stdout, "hello\n");
    assert_eq!(outcome.value, Some(serde_json::json!({"a": [1, 2.5, null], "b": "x"})));
    // Not JSON: its repr.
    assert_eq!(py("{1}").value, Some(serde_json::json!("{1}")));
    assert_eq!(py("float('nan')").value, Some(serde_json::json!("nan")));
    // No trailing expression, or one that is None: no value.
    assert_eq!(py("x = 1").value, None);
    assert_eq!(py("None").value, None);
}

#[test]
fn numpy_and_pandas_compute() {
    let outcome = py("import numpy as np\nfloat(np.linalg.det(np.array([[2.0, 1.0], [1.0, 3.0]])))");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    let det = outcome.value.and_then(|v| v.as_f64()).expect("a number");
    assert!((det - 5.0).abs() < 1e-9, "{det}");

    let outcome = py("import pandas as pd\n\
         df = pd.DataFrame({'city': ['a', 'b', 'a'], 'sales': [1, 2, 3]})\n\
         print(df.groupby('city').sales.sum().to_dict())\n\
         df.sales.sum().item()");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(outcome.stdout, "{'a': 4, 'b': 2}\n");
    assert_eq!(outcome.value, Some(serde_json::json!(6)));
}

#[test]
fn numpy_values_come_back_as_json_and_big_arrays_as_their_repr() {
    let scalar = py("import numpy as np\nnp.int64(6)");
    assert_eq!(scalar.value, Some(serde_json::json!(6)));
    let small = py("import numpy as np\nnp.arange(4).reshape(2, 2)");
    assert_eq!(small.value, Some(serde_json::json!([[0, 1], [2, 3]])));
    let big = py("import numpy as np\nnp.zeros(100_000)");
    let repr = big.value.and_then(|v| v.as_str().map(String::from)).expect("a repr");
    assert!(repr.starts_with("array([0., 0., 0., ...,"), "{repr}");
}

#[test]
fn an_uncaught_exception_is_a_guest_error_with_its_traceback() {
    let outcome = py("def f():\n    return 1 / 0\nf()");
    let (kind, message, stack) = guest_error(&outcome);
    assert_eq!((kind, message), ("ZeroDivisionError", "division by zero"));
    assert!(stack.starts_with("Traceback (most recent call last):"), "{stack}");
    assert!(stack.contains("in f") && stack.trim_end().ends_with("ZeroDivisionError: division by zero"));
    assert_eq!(outcome.exit_code, 1);

    assert_eq!(guest_error(&py("def broken(:")).0, "SyntaxError");
    assert_eq!(guest_error(&py("x = 1\0")).0, "SyntaxError", "a NUL byte is refused by the compiler");
}

#[test]
fn tracebacks_number_a_runs_own_turns_from_one() {
    // The interpreter counts turns from its first ever, the snapshot's and
    // the start turn's included; reports count the caller's.
    let outcome = py("x = 1\n1 / 0");
    let (_, _, stack) = guest_error(&outcome);
    assert!(stack.contains("File \"<turn 1>\", line 2, in <module>"), "{stack}");
    let syntax = py("def broken(:");
    assert!(guest_error(&syntax).1.contains("(<turn 1>, line 1)"), "{syntax:?}");
    let (_, _, stack) = guest_error(&syntax);
    // As `python -c` shows it: where in the code, not the parser's frames.
    assert!(stack.starts_with("  File \"<turn 1>\", line 1\n"), "{stack}");
    let nested = py("compile('def broken(:', 'mine', 'exec')");
    let (_, _, stack) = guest_error(&nested);
    assert!(
        stack.starts_with("Traceback") && stack.contains("File \"<turn 1>\", line 1, in <module>"),
        "{stack}"
    );

    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let session = sandbox.session(Language::Python).expect("session");
    session.run("def f():\n    return 1 / 0").expect("define");
    let outcome = session
        .run("try:\n    f()\nexcept ZeroDivisionError as e:\n    raise KeyError('k') from e")
        .expect("run");
    let (_, _, stack) = guest_error(&outcome);
    for frame in [
        "File \"<turn 2>\", line 2, in <module>",
        "File \"<turn 1>\", line 2, in f",
        "File \"<turn 2>\", line 4",
    ] {
        assert!(stack.contains(frame), "{frame} in {stack}");
    }
    assert!(!stack.contains("<turn 3>") && !stack.contains("<turn 5>"), "{stack}");
}

#[test]
fn sys_exit_sets_the_exit_code() {
    let outcome = py("import sys\nprint('bye')\nsys.exit(3)");
    assert_eq!(outcome.status, Status::Exited { code: 3 }, "{outcome:?}");
    assert_eq!((outcome.exit_code, outcome.stdout.as_str()), (3, "bye\n"));
    assert_eq!(py("import sys; sys.exit(0)").status, Status::Ok);
    assert_eq!(py("import sys; sys.exit(1)").exit_code, 1);
    assert_eq!(py("exit(7)").status, Status::Exited { code: 7 });
}

#[test]
fn deep_recursion_is_a_recursion_error() {
    let outcome = py("def f(n):\n    return f(n + 1)\nf(0)");
    assert_eq!(guest_error(&outcome).0, "RecursionError");
    // The interpreter is intact after it: the same run goes on.
    let outcome = py(
        "import sys\ndef f(n):\n    return f(n + 1)\ntry:\n    f(0)\nexcept RecursionError:\n    r = 'caught'\nr",
    );
    assert_eq!(outcome.value, Some(serde_json::json!("caught")));
}

#[test]
fn a_loop_and_a_sleep_stop_at_the_wall_time() {
    let wall = Duration::from_millis(300);
    let policy = Policy::builder().wall_time(wall).build().expect("policy");
    ensure_fetched();
    Sandbox::new(policy.clone()).expect("sandbox").prepare(Language::Python).expect("compiled");
    for code in [
        "while True:\n    pass",
        "import time\ntime.sleep(3600)",
        "import time\nwhile True:\n    time.sleep(0.01)",
    ] {
        let started = Instant::now();
        let outcome = py_with(policy.clone(), code);
        let elapsed = started.elapsed();
        assert_eq!(limit_hit(&outcome), Some(Limit::Wall), "{code}: {outcome:?}");
        assert_eq!(outcome.exit_code, 124);
        assert!(elapsed < wall + Duration::from_secs(10), "{code}: not stopped: {elapsed:?}");
    }
    // A short sleep ends by itself, and takes at least its time.
    let outcome = py("import time\nt = time.monotonic()\ntime.sleep(0.05)\ntime.monotonic() - t");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert!(outcome.value.and_then(|v| v.as_f64()).is_some_and(|slept| slept >= 0.05));
}

#[test]
fn fuel_runs_out() {
    let policy = Policy::builder().fuel(50_000_000).build().expect("policy");
    let outcome = py_with(policy.clone(), "i = 0\nwhile True:\n    i += 1");
    assert_eq!(limit_hit(&outcome), Some(Limit::Fuel), "{outcome:?}");
    assert_eq!(outcome.exit_code, 125);
    let outcome = py_with(policy, "sum(range(100))");
    assert_eq!(outcome.value, Some(serde_json::json!(4950)), "{outcome:?}");
    assert!(outcome.usage.fuel.is_some_and(|used| used > 0 && used < 50_000_000));
}

#[test]
fn a_1gib_bytearray_is_a_memory_error() {
    let outcome = py("b = bytearray(1 << 30)");
    assert_eq!(limit_hit(&outcome), Some(Limit::Memory), "{outcome:?}");
    assert_eq!(outcome.exit_code, 137);
    assert!(outcome.usage.peak_memory_bytes <= 256 * MIB);
    // The guest sees a MemoryError it can catch, and goes on.
    let outcome = py("try:\n    b = bytearray(1 << 30)\nexcept MemoryError:\n    r = 'caught'\nr");
    assert_eq!(outcome.value, Some(serde_json::json!("caught")), "{outcome:?}");
    // A deliberate exit after a caught MemoryError keeps its own code.
    let outcome = py("import sys\ntry:\n    b = bytearray(1 << 30)\nexcept MemoryError:\n    sys.exit(3)");
    assert_eq!(outcome.status, Status::Exited { code: 3 }, "{outcome:?}");
}

#[test]
fn too_little_memory_to_start_is_a_clear_error() {
    let policy = Policy::builder().memory_bytes(16 * MIB).build().expect("policy");
    let error = py_result(policy, "1").expect_err("cannot start");
    assert!(error.to_string().contains("memory_bytes"), "{error}");
    assert_eq!(error.class(), stockade::ErrorClass::Policy, "{error}");
}

#[test]
fn huge_output_is_capped() {
    let policy = Policy::builder().stdout_bytes(MIB).build().expect("policy");
    let outcome = py_with(
        policy.clone(),
        "import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(100 * 1024):\n    sys.stdout.write(line)",
    );
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert!(outcome.stdout_truncated);
    assert_eq!(outcome.stdout.len() as u64, MIB);
    assert_eq!(outcome.usage.output_bytes, 100 * MIB);

    let kill =
        Policy::builder().stdout_bytes(MIB).output_overflow(OutputOverflow::Kill).build().expect("policy");
    let outcome = py_with(kill, "print('x' * (2 << 20))");
    assert_eq!(limit_hit(&outcome), Some(Limit::Output), "{outcome:?}");
    // A value larger than the cap is refused too.
    let outcome = py_with(policy, "'x' * (2 << 20)");
    assert_eq!(limit_hit(&outcome), Some(Limit::Output), "{outcome:?}");
}

#[test]
fn the_guest_sees_no_host_environment_files_or_sockets() {
    // SAFETY: no other thread of this test reads or writes the environment.
    unsafe { std::env::set_var("STOCKADE_TEST_SECRET", "hunter2") };
    let outcome = py("import os\nsorted(os.environ)");
    assert_eq!(outcome.value, Some(serde_json::json!(["HOME", "PYTHONTZPATH", "TMPDIR"])), "{outcome:?}");
    let policy = Policy::builder().env("MODE", "test").build().expect("policy");
    assert_eq!(py_with(policy, "import os\nos.environ['MODE']").value, Some(serde_json::json!("test")));

    for (code, kind) in [
        ("open('/etc/passwd').read()", "FileNotFoundError"),
        ("open('/usr/local/lib/../../../etc/passwd').read()", "OSError"),
        ("open('/proc/self/environ').read()", "FileNotFoundError"),
        ("open('/usr/local/lib/evil.py', 'w').write('x')", "PermissionError"),
        ("open('/tmp/x', 'w').write('x')", "FileNotFoundError"),
        ("import os\nos.listdir('/root')", "FileNotFoundError"),
        ("import socket\nsocket.socket()", "OSError"),
        (
            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x', ('169.254.169.254', 80))",
            "OSError",
        ),
        ("import subprocess\nsubprocess.run(['ls'])", "OSError"),
    ] {
        let outcome = py(code);
        let (actual, message, _) = guest_error(&outcome);
        let is_os_error =
            ["OSError", "FileNotFoundError", "PermissionError", "NotImplementedError"].contains(&actual);
        assert!(actual == kind || kind == "OSError" && is_os_error, "{code}: {actual}: {message}");
    }
}

#[test]
fn each_run_starts_from_a_fresh_interpreter() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    ensure_fetched();
    let outcome =
        sandbox.run(Language::Python, "import sys\nleak = 1\nsys.modules['json'].polluted = 1").expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    let outcome = sandbox
        .run(Language::Python, "import json\n[hasattr(json, 'polluted'), 'leak' in globals()]")
        .expect("run");
    assert_eq!(outcome.value, Some(serde_json::json!([false, false])), "{outcome:?}");
}

#[test]
fn host_tools_are_python_functions_and_refusals_are_permission_errors() {
    use serde_json::json;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use stockade::policy::ToolPolicy;
    use stockade::{Tool, ToolError};

    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    let transfer = Tool::new("transfer_money")
        .description("Moves money.")
        .schema(json!({"type": "object", "properties": {"amount": {"type": "number"}, "currency": {"type": "string"}}}))
        .handler(move |args| {
            seen.fetch_add(1, Ordering::SeqCst);
            Ok(json!({"sent": args["amount"]}))
        });
    let failing = Tool::new("failing").handler(|_| Err(ToolError::new("the bank is closed")));
    let rules = ToolPolicy { max_calls: Some(3), ..crate::tools::transfer_policy() };
    let policy = Policy::builder()
        .tool("transfer_money", rules)
        .tool("failing", ToolPolicy::default())
        .build()
        .expect("policy");
    let sandbox = Sandbox::builder().policy(policy).tool(transfer).tool(failing).build().expect("sandbox");
    ensure_fetched();
    let code = r#"
from stockade import tools, ToolDenied, ToolError
def attempt(call):
    try:
        return call()
    except (ToolDenied, ToolError) as e:
        return [type(e).__name__, e.kind, isinstance(e, PermissionError), str(e)]
[
    attempt(lambda: transfer_money(amount=5000, currency="USD")),
    attempt(lambda: tools.transfer_money(10, "GBP")),
    attempt(lambda: transfer_money(10, currency="EUR")),
    attempt(lambda: tools.transfer_money(amount=20, currency="USD")),
    attempt(lambda: transfer_money(amount=30, currency="USD")),
    attempt(lambda: transfer_money(amount=40, currency="USD")),
    attempt(lambda: failing()),
    transfer_money.__doc__,
]
"#;
    let outcome = sandbox.run(Language::Python, code).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    let results = outcome.value.expect("value");
    let results = results.as_array().expect("list");
    let denied = |i: usize, kind: &str, needle: &str| {
        let r = &results[i];
        assert_eq!(
            (r[0].as_str(), r[1].as_str(), r[2].as_bool()),
            (Some("ToolDenied"), Some(kind), Some(true)),
            "{r}"
        );
        assert!(r[3].as_str().is_some_and(|m| m.contains(needle)), "{r}");
    };
    denied(0, "denied", "<= 1000");
    denied(1, "denied", "currency");
    assert_eq!(results[2], json!({"sent": 10}));
    assert_eq!(results[3], json!({"sent": 20}));
    assert_eq!(results[4], json!({"sent": 30}));
    denied(5, "budget_exceeded", "");
    assert_eq!(results[6][0], "ToolError", "{}", results[6]);
    assert!(results[6][3].as_str().is_some_and(|m| m.contains("the bank is closed")));
    assert_eq!(results[7], "Moves money.");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "the handler runs only for allowed calls");

    // Without tools, the module is there and calling out is a ToolError.
    let outcome = py("from stockade import tools\nvars(tools)");
    assert_eq!(outcome.value, Some(json!({})), "{outcome:?}");
}

#[test]
fn fresh_runs_start_from_the_snapshot_each_with_its_own_randomness() {
    // stockade's snapshot imported `traceback` and `random` before any run...
    let code = "import sys, random\n['traceback' in sys.modules, random.random(), random.getrandbits(64)]";
    let first = py(code).value.expect("a value");
    let second = py(code).value.expect("a value");
    assert_eq!(first[0], true, "{first}");
    // ...and each run reseeds them: no two runs draw the same numbers.
    assert_ne!(first[1], second[1], "{first} {second}");
    assert_ne!(first[2], second[2], "{first} {second}");
    // What the snapshot run printed or reported is not any run's.
    let outcome = py("import builtins, sys\n\
                      [hasattr(builtins, '_'), hasattr(sys, 'last_exc'), sorted(k for k in globals() if k[0] != '_')]");
    assert_eq!(outcome.value, Some(serde_json::json!([false, false, ["builtins", "sys"]])), "{outcome:?}");
    assert!(outcome.stdout.is_empty() && outcome.stderr.is_empty(), "{outcome:?}");
}

#[test]
fn python_preload_imports_modules_into_a_snapshot_of_its_own() {
    let policy = Policy::builder().python_preload(["numpy", "pandas"]).build().expect("policy");
    let code = "import sys\nloaded = ['numpy' in sys.modules, 'pandas' in sys.modules]\n\
                import numpy as np, pandas as pd\n\
                [loaded, float(np.random.random()), int(pd.DataFrame({'a': [1, 2]})['a'].sum())]";
    let first = py_with(policy.clone(), code);
    assert_eq!(first.status, Status::Ok, "{first:?}");
    let first = first.value.expect("a value");
    assert_eq!(first[0], serde_json::json!([true, true]), "{first}");
    assert_eq!(first[2], 3, "{first}");
    // numpy's global generator was seeded in the snapshot; each run reseeds it.
    let second = py_with(policy, code).value.expect("a value");
    assert_ne!(first[1], second[1], "{first} {second}");
    // Without the setting, the default snapshot has neither.
    assert_eq!(py("import sys\n'pandas' in sys.modules").value, Some(serde_json::json!(false)));

    // A module that cannot be imported fails the snapshot, and says which.
    let missing = Policy::builder().python_preload(["no_such_module_here"]).build().expect("policy");
    let error = py_result(missing, "1").expect_err("no snapshot");
    assert!(error.to_string().contains("no_such_module_here"), "{error}");
    // A name that is no module name never reaches the guest.
    let error = Policy::from_toml_str("[python]\npreload = [\"os; import shutil\"]").expect_err("refused");
    assert!(error.to_string().contains("python.preload[0]"), "{error}");
}
