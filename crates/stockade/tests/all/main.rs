//! Integration tests of the stockade facade: one binary, one module per area.

mod audit;
mod background;
mod cancel;
mod concurrency;
mod corpus;
mod files;
mod host_memory;
mod hostile_input;
mod isolation;
mod jail;
mod javascript;
mod limits;
mod network;
mod packages;
mod policy;
mod python;
mod runtime;
mod session;
mod session_files;
mod streaming;
mod tools;
mod workspace;

use stockade::{Language, Outcome, Policy, Sandbox};

/// Runs JavaScript under `policy`, panicking on host errors.
pub fn js_with(policy: Policy, code: &str) -> Outcome {
    let sandbox = Sandbox::new(policy).expect("sandbox");
    sandbox.run(Language::JavaScript, code).expect("host error")
}

/// Runs JavaScript under the default policy.
pub fn js(code: &str) -> Outcome {
    js_with(Policy::default(), code)
}
