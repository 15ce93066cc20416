//! The guest sees no host files, no host environment and no network.

use crate::{js, js_with};
use serde_json::json;
use stockade::{Policy, Status};

#[test]
fn no_host_apis_exist() {
    let code = "['require', 'XMLHttpRequest', 'WebSocket', 'Deno', 'Bun', 'std', 'os', 'scriptArgs']
        .filter((name) => typeof globalThis[name] !== 'undefined')";
    assert_eq!(js(code).value, Some(json!([])));
    // `fetch` is there, and without `network.allow` it reaches nothing.
    let fetched =
        js("await fetch('http://127.0.0.1:9/').then(() => 'reached', (e) => `${e.name}: ${e.message}`)");
    assert_eq!(
        fetched.value,
        Some(json!("TypeError: fetch failed: this run has no network: the policy's network.allow is empty"))
    );
}

#[test]
fn no_module_can_be_imported() {
    for specifier in [
        "fs",
        "os",
        "std",
        "node:child_process",
        "/etc/passwd",
        "../../../../etc/passwd",
        "http://127.0.0.1/x.js",
    ] {
        let code = format!(
            "let r = 'imported'; try {{ await import({specifier:?}) }} catch (e) {{ r = 'refused' }} r"
        );
        let outcome = js(&code);
        assert_eq!(outcome.value, Some(json!("refused")), "{specifier}: {outcome:?}");
    }
}

#[test]
fn the_environment_is_exactly_the_policy_env() {
    // The test process has HOME, PATH and more; none of it may show.
    assert!(std::env::var_os("PATH").is_some());
    assert_eq!(js("process.env").value, Some(json!({})));
    let policy = Policy::builder().env("GREETING", "hi").build().expect("policy");
    assert_eq!(js_with(policy, "process.env").value, Some(json!({"GREETING": "hi"})));
}

#[test]
fn the_clock_and_randomness_work_without_host_access() {
    let outcome = js("[typeof Date.now(), Math.random() < 1]");
    assert_eq!(outcome.value, Some(json!(["number", true])));
}

#[test]
fn a_secret_without_a_network_is_refused() {
    // A secret needs a network to go to, which a policy without one refuses.
    let secrets = Policy::from_toml_str("[secrets.KEY]\nfrom_env = \"KEY\"\nhosts = [\"example.com\"]\n");
    assert_eq!(secrets.expect_err("refused").key(), "secrets.KEY");
}

#[test]
fn runs_share_nothing() {
    let sandbox = stockade::Sandbox::new(Policy::default()).expect("sandbox");
    let first = sandbox
        .run(stockade::Language::JavaScript, "globalThis.leak = 1; Object.prototype.polluted = 1")
        .expect("run");
    assert_eq!(first.status, Status::Ok);
    let second =
        sandbox.run(stockade::Language::JavaScript, "[typeof leak, typeof ({}).polluted]").expect("run");
    assert_eq!(second.value, Some(json!(["undefined", "undefined"])));
}
