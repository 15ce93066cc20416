//! One module per subcommand.

pub mod audit;
pub mod doctor;
pub mod fetch;
pub mod mcp;
pub mod policy;
pub mod precompile;
pub mod repl;
pub mod run;
pub mod serve;
pub mod tool;

use anyhow::Context;
use std::path::Path;
use stockade::{Policy, Sandbox};

/// Reads and validates a policy file (TOML, or JSON if it starts with `{`),
/// or the deny-all default when there is none.
pub fn load_policy(path: Option<&Path>) -> anyhow::Result<Policy> {
    let Some(path) = path else { return Ok(Policy::default()) };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read policy {}", path.display()))?;
    Policy::from_str_auto(&text)
        .map_err(stockade::SandboxError::from)
        .with_context(|| format!("in policy {}", path.display()))
}

/// A sandbox for the policy file at `policy` (deny-all without one) and the
/// command-backed tools `NAME=COMMAND`.
pub fn sandbox(policy: Option<&Path>, tools: &[String]) -> anyhow::Result<Sandbox> {
    let policy = load_policy(policy)?;
    let timeout = std::time::Duration::from_millis(policy.limits.wall_ms);
    let mut builder = Sandbox::builder().policy(policy);
    for tool in tool::parse_all(tools, timeout)? {
        builder = builder.tool(tool);
    }
    Ok(builder.build()?)
}
