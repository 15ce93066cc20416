//! One module per subcommand.

pub mod audit;
pub mod doctor;
pub mod exec;
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
use stockade::{Language, Policy, Sandbox, SandboxBuilder};

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

/// The options every command that runs code shares: the policy and the
/// command-backed tools.
#[derive(clap::Args)]
pub struct SandboxArgs {
    /// Policy file (TOML or JSON). Without one, everything is denied.
    #[arg(long, short)]
    policy: Option<std::path::PathBuf>,
    /// A host tool backed by a command: `NAME=COMMAND` (repeatable). The
    /// command gets the arguments as JSON on stdin and answers on stdout.
    /// The policy must still allow the tool (`[tools.NAME]`).
    #[arg(long = "tool", value_name = "NAME=COMMAND")]
    tools: Vec<String>,
}

impl SandboxArgs {
    /// A sandbox for the policy file (deny-all without one) and the tools,
    /// checked against the backend of `language` when the command runs one
    /// (so that a refusal names the backend it would have run on).
    pub fn sandbox(&self, language: Option<Language>) -> anyhow::Result<Sandbox> {
        let mut builder = Sandbox::builder();
        if let Some(language) = language {
            builder = builder.language(language);
        }
        self.build(builder)
    }

    /// `builder` with the policy file (deny-all without one) and the tools, built.
    pub fn build(&self, builder: SandboxBuilder) -> anyhow::Result<Sandbox> {
        let policy = load_policy(self.policy.as_deref())?;
        let timeout = std::time::Duration::from_millis(policy.limits.wall_ms);
        let tools = tool::parse_all(&self.tools, timeout)?;
        build_sandbox(builder, policy, tools)
    }
}

/// Builds `builder` with `policy` and command-backed `tools`: what every
/// command that runs code (and each token of `stockade serve`) shares.
pub fn build_sandbox(
    builder: stockade::SandboxBuilder,
    policy: Policy,
    tools: Vec<stockade::Tool>,
) -> anyhow::Result<Sandbox> {
    let mut builder = builder.policy(policy);
    for tool in tools {
        builder = builder.tool(tool);
    }
    Ok(builder.build()?)
}

/// Command-backed tools, `name → command`, as `stockade serve`'s config
/// gives them: each runs in `folder`, within the policy's wall time.
pub fn command_tools<'a>(
    policy: &Policy,
    commands: impl IntoIterator<Item = (&'a String, &'a String)>,
    folder: &Path,
) -> anyhow::Result<Vec<stockade::Tool>> {
    let timeout = std::time::Duration::from_millis(policy.limits.wall_ms);
    commands.into_iter().map(|(name, command)| tool::command(name, command, timeout, Some(folder))).collect()
}
