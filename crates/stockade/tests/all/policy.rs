//! Policies reach the sandbox intact: files parse into the same sandbox the builder makes.

use stockade::{Language, Policy, Sandbox, Status};

#[test]
fn a_toml_policy_drives_the_sandbox() {
    let policy = Policy::from_toml_str("[limits]\nwall_ms = 250\n[env]\nMODE = \"test\"").expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    let outcome = sandbox.run(Language::JavaScript, "process.env.MODE").expect("run");
    assert_eq!(outcome.value, Some(serde_json::json!("test")));
    let outcome = sandbox.run(Language::JavaScript, "for (;;) {}").expect("run");
    assert!(matches!(outcome.status, Status::LimitExceeded { .. }));
}

#[test]
fn an_invalid_policy_never_makes_a_sandbox() {
    let mut policy = Policy::default();
    policy.limits.memory_bytes = 10;
    let err = Sandbox::new(policy).expect_err("invalid");
    assert!(err.to_string().contains("limits.memory_bytes"), "{err}");
}
