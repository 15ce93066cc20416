//! Bad input gets a clear error or a guest error, never a panic.

use crate::{js, js_with};
use stockade::{Language, Policy, Sandbox, SandboxError, Status};

fn guest_error_kind(status: &Status) -> Option<&str> {
    match status {
        Status::GuestError { kind, .. } => Some(kind),
        _ => None,
    }
}

#[test]
fn nul_bytes_are_a_syntax_error() {
    let outcome = js("1 +\0 2");
    assert_eq!(guest_error_kind(&outcome.status), Some("SyntaxError"), "{outcome:?}");
    // NUL inside a string literal is fine JavaScript when escaped.
    assert_eq!(js("'a\\u0000b'.length").value, Some(serde_json::json!(3)));
}

#[test]
fn ten_megabytes_of_code_is_refused_with_a_clear_error() {
    let code = format!("/*{}*/ 1", "x".repeat(10 * 1024 * 1024));
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    match sandbox.run(Language::JavaScript, &code) {
        Err(SandboxError::Request(message)) => assert!(message.contains("limits.code_bytes"), "{message}"),
        other => panic!("expected a code error, got {other:?}"),
    }
}

#[test]
fn ten_megabytes_of_code_runs_when_the_policy_allows_it() {
    let policy = Policy::builder().code_bytes(16 * 1024 * 1024).build().expect("policy");
    let code = format!("/*{}*/ 7", "x".repeat(10 * 1024 * 1024));
    assert_eq!(js_with(policy.clone(), &code).value, Some(serde_json::json!(7)));
    let garbage = "(".repeat(10 * 1024 * 1024);
    let outcome = js_with(policy, &garbage);
    assert!(!outcome.status.is_ok(), "{:?}", outcome.status);
}

#[test]
fn odd_unicode_round_trips() {
    let outcome = js("console.log('héllo 🌍 \\ud800'); 'ok'");
    assert_eq!(outcome.value, Some(serde_json::json!("ok")));
    assert!(outcome.stdout.starts_with("héllo 🌍"));
}

#[test]
fn an_empty_program_is_fine() {
    let outcome = js("");
    assert_eq!(outcome.status, Status::Ok);
    assert_eq!(outcome.value, None);
}
