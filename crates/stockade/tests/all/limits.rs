//! Every budget in `[limits]` stops a hostile guest, and is reported as such.

use crate::{js, js_with};
use std::time::{Duration, Instant};
use stockade::policy::{MIB, OutputOverflow};
use stockade::{Language, Limit, Policy, Sandbox, Status};

fn limit_hit(status: &Status) -> Option<Limit> {
    match status {
        Status::LimitExceeded { which } => Some(*which),
        _ => None,
    }
}

#[test]
fn an_infinite_loop_stops_at_the_wall_time() {
    let wall = Duration::from_millis(300);
    let policy = Policy::builder().wall_time(wall).build().expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    sandbox.prepare(Language::JavaScript).expect("prepare");
    let started = Instant::now();
    let outcome = sandbox.run(Language::JavaScript, "while (true) {}").expect("run");
    let elapsed = started.elapsed();
    assert_eq!(limit_hit(&outcome.status), Some(Limit::Wall), "{outcome:?}");
    assert_eq!(outcome.exit_code, 124);
    // Not before the deadline; and stopped, not left to spin (a generous
    // bound: this checks the mechanism, not its speed).
    assert!(elapsed >= wall, "stopped early: {elapsed:?}");
    assert!(elapsed < wall + Duration::from_secs(10), "not stopped: {elapsed:?}");
}

#[test]
fn the_default_wall_time_applies_without_a_policy() {
    assert_eq!(Policy::default().limits.wall_ms, 30_000);
}

#[test]
fn fuel_runs_out() {
    let policy = Policy::builder().fuel(2_000_000).build().expect("policy");
    let outcome = js_with(policy.clone(), "let i = 0; while (true) { i++ }");
    assert_eq!(limit_hit(&outcome.status), Some(Limit::Fuel), "{outcome:?}");
    assert_eq!(outcome.exit_code, 125);
    assert_eq!(outcome.usage.fuel, Some(2_000_000));
    // A small program fits in the same budget and reports what it used.
    let outcome = js_with(policy, "1 + 1");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert!(outcome.usage.fuel.is_some_and(|used| used > 0 && used < 2_000_000));
}

#[test]
fn a_1gib_buffer_hits_the_memory_limit() {
    let outcome = js("const b = new ArrayBuffer(1024 * 1024 * 1024); b.byteLength");
    assert_eq!(limit_hit(&outcome.status), Some(Limit::Memory), "{outcome:?}");
    assert_eq!(outcome.exit_code, 137);
    assert!(outcome.usage.peak_memory_bytes <= 256 * MIB);
}

#[test]
fn growing_without_bound_hits_the_memory_limit() {
    let policy = Policy::builder().memory_bytes(32 * MIB).build().expect("policy");
    let outcome = js_with(policy, "const keep = []; while (true) keep.push('x'.repeat(65536) + keep.length)");
    assert_eq!(limit_hit(&outcome.status), Some(Limit::Memory), "{outcome:?}");
    assert!(outcome.usage.peak_memory_bytes <= 32 * MIB);
}

/// Issue 19: a memory limit below what the guest starts with is refused
/// as the policy's mistake (class `policy`), in JavaScript as in Python,
/// not reported as a run that hit its limit.
#[test]
fn too_little_memory_to_start_is_a_policy_error_not_an_outcome() {
    let policy = Policy::builder().memory_bytes(MIB).build().expect("policy");
    let error =
        Sandbox::new(policy).expect("sandbox").run(Language::JavaScript, "1").expect_err("cannot start");
    assert_eq!(error.class(), stockade::ErrorClass::Policy, "{error}");
    assert!(
        error.to_string().contains("QuickJS guest needs at least")
            && error.to_string().contains("memory_bytes"),
        "{error}"
    );
}

#[test]
fn a_caught_out_of_memory_error_lets_the_guest_go_on() {
    let code = "let r; try { new ArrayBuffer(2 ** 30) } catch (e) { r = e.name } r";
    let outcome = js(code);
    // Either way the host's limit held; a guest that recovers may finish.
    assert!(outcome.status.is_ok() || limit_hit(&outcome.status) == Some(Limit::Memory), "{outcome:?}");
}

#[test]
fn a_hundred_megabytes_of_output_is_truncated_at_the_cap() {
    let code = "const line = 'y'.repeat(1023); for (let i = 0; i < 100 * 1024; i++) console.log(line)";
    let outcome = js(code);
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.status);
    assert_eq!(outcome.stdout.len() as u64, MIB);
    assert!(outcome.stdout_truncated && !outcome.stderr_truncated);
    assert_eq!(outcome.usage.output_bytes, 100 * MIB);
}

#[test]
fn a_single_ten_megabyte_line_is_truncated_at_the_cap() {
    let outcome = js("console.error('z'.repeat(10 * 1024 * 1024))");
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.status);
    assert_eq!(outcome.stderr.len() as u64, MIB);
    assert!(outcome.stderr.bytes().all(|b| b == b'z'));
    assert!(outcome.stderr_truncated);
}

#[test]
fn output_past_the_cap_can_stop_the_guest() {
    let policy =
        Policy::builder().stdout_bytes(1000).output_overflow(OutputOverflow::Kill).build().expect("policy");
    let outcome = js_with(policy, "for (let i = 0; ; i++) console.log(i)");
    assert_eq!(limit_hit(&outcome.status), Some(Limit::Output), "{:?}", outcome.status);
    assert_eq!(outcome.stdout.len(), 1000);
}

#[test]
fn a_huge_result_value_is_an_output_limit() {
    let policy = Policy::builder().stdout_bytes(100_000).build().expect("policy");
    let outcome = js_with(policy, "'v'.repeat(1000000)");
    assert_eq!(limit_hit(&outcome.status), Some(Limit::Output), "{:?}", outcome.status);
    assert_eq!(outcome.value, None);
}

#[test]
fn deep_recursion_is_a_guest_error() {
    let outcome = js("function f(n) { return f(n + 1) + 1 } f(0)");
    match &outcome.status {
        Status::GuestError { kind, .. } => {
            assert!(kind == "RangeError" || kind == "InternalError" || kind == "StackOverflow", "{kind}")
        }
        other => panic!("expected a stack overflow error, got {other:?}"),
    }
    // The host is unharmed and the next run works.
    assert_eq!(js("1").value, Some(serde_json::json!(1)));
}

#[test]
fn a_runs_timeout_lowers_the_wall_time_and_never_raises_it() {
    use stockade::{Request, SandboxError};
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let looping =
        Request::new(Language::JavaScript, "while (true) {}").with_timeout(Duration::from_millis(200));
    let outcome = sandbox.run_request(&looping, None).expect("run");
    assert_eq!(limit_hit(&outcome.status), Some(Limit::Wall), "{outcome:?}");
    assert!(outcome.usage.wall < Duration::from_secs(10), "the run's own 200 ms, not the policy's 30 s");
    let raised = Request::new(Language::JavaScript, "1").with_timeout(Duration::from_secs(3600));
    match sandbox.run_request(&raised, None) {
        Err(SandboxError::Request(why)) => assert!(why.contains("never raise"), "{why}"),
        other => panic!("a timeout over the policy's is refused, got {other:?}"),
    }
    // A session's run too, within what the session has left.
    let session = sandbox.session(Language::JavaScript).expect("session");
    let short = Request::in_session("s", "for (;;) {}").with_timeout(Duration::from_millis(200));
    let outcome = session.run_request(&short, None).expect("run");
    assert_eq!(limit_hit(&outcome.status), Some(Limit::Wall), "{outcome:?}");
}

#[test]
fn a_runs_env_sets_only_names_the_policy_lists() {
    use stockade::{Request, SandboxError};
    let policy = Policy::from_toml_str("[env]\nREGION = \"eu\"\n").expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    let set = Request::new(Language::JavaScript, "process.env.REGION").with_env("REGION", "us");
    assert_eq!(sandbox.run_request(&set, None).expect("run").value, Some(serde_json::json!("us")));
    // The policy's own value stays for the next run.
    let plain = Request::new(Language::JavaScript, "process.env.REGION");
    assert_eq!(sandbox.run_request(&plain, None).expect("run").value, Some(serde_json::json!("eu")));
    let other = Request::new(Language::JavaScript, "1").with_env("AWS_SECRET_ACCESS_KEY", "x");
    match sandbox.run_request(&other, None) {
        Err(SandboxError::Request(why)) => assert!(why.contains("env.AWS_SECRET_ACCESS_KEY"), "{why}"),
        other => panic!("a name the policy does not list is refused, got {other:?}"),
    }
    let nul = Request::new(Language::JavaScript, "1").with_env("REGION", "a\0b");
    assert!(matches!(sandbox.run_request(&nul, None), Err(SandboxError::Request(_))));
    // Over HTTP and MCP the same fields arrive in JSON; unknown ones are still refused.
    let parsed: Request =
        serde_json::from_str(r#"{"language": "js", "code": "1", "timeout_ms": 50, "env": {"REGION": "x"}}"#)
            .expect("a request");
    assert_eq!((parsed.timeout_ms, parsed.env.len()), (Some(50), 1));
    assert!(serde_json::from_str::<Request>(r#"{"code": "1", "timeout": 5}"#).is_err());
}
