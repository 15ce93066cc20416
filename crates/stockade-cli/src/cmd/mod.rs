//! One module per subcommand.

pub mod audit;
pub mod doctor;
pub mod fetch;
pub mod policy;
pub mod precompile;
pub mod run;
pub mod tool;

use anyhow::Context;
use std::path::Path;
use stockade::Policy;

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
