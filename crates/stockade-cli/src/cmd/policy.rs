//! `stockade policy`: check a file, print the schema or the defaults.
//!
//! `policy check --json` prints one JSON object on stdout, whose keys are
//! kept stable:
//!
//! ```json
//! {"file": "p.toml", "valid": true, "runnable": true, "error": null, "policy": {"limits": {…}, …},
//!  "network": ["allow pypi.org on ports 80 and 443"], "secrets": []}
//! ```
//!
//! `valid`: the document parses and its values are acceptable. `runnable`:
//! this build can also enforce everything it asks for. `error`, when either
//! is false: `{"key": "limits.wall_ms", "message": "…"}`, where `key` is the
//! dotted path of the key at fault (`<document>` for the whole document) or
//! `null` when no one key is (an unreadable file). `policy`: the document
//! with every default filled in, or `null` when it is not valid. `network`
//! and `secrets`: what the policy grants there, in words, a line each. The exit
//! code is 0 when runnable, 2 otherwise, as without `--json`.

use anyhow::Context;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use stockade::Policy;

/// Subcommands of `stockade policy`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Validate a policy file and summarise what it grants.
    Check {
        /// The policy file (TOML, or JSON if it starts with `{`).
        file: PathBuf,
        /// Print one JSON object (`file`, `valid`, `runnable`, `error`,
        /// `policy`) instead of a summary; errors go there, not to stderr.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the policy document.
    Schema,
    /// Print the default (deny-all) policy as TOML.
    Default,
}

/// Runs a `policy` subcommand.
pub fn run(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Check { file, json: true } => Ok(check_json(&file)),
        Command::Check { file, json: false } => {
            let policy = super::load_policy(Some(&file))?;
            println!("{}: valid", file.display());
            summarise(&policy);
            // A valid policy may still ask for something no backend enforces.
            if let Err(e) = stockade::Sandbox::new(policy) {
                println!("but this build cannot run it: {e}");
                return Ok(crate::exit::USAGE);
            }
            Ok(0)
        }
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&Policy::json_schema())?);
            Ok(0)
        }
        Command::Default => {
            print!("{}", Policy::default().to_toml_string());
            Ok(0)
        }
    }
}

/// `policy check --json`: prints the report and returns the exit code.
fn check_json(file: &Path) -> i32 {
    let report = |valid: bool, runnable: bool, error: Value, policy: Value| {
        let (network, secrets) = match serde_json::from_value::<Policy>(policy.clone()) {
            Ok(policy) => (json!(network_in_words(&policy)), json!(secrets_in_words(&policy))),
            Err(_) => (Value::Null, Value::Null),
        };
        let report = json!({
            "file": file.display().to_string(),
            "valid": valid,
            "runnable": runnable,
            "error": error,
            "policy": policy,
            "network": network,
            "secrets": secrets,
        });
        println!("{report}");
        if runnable { 0 } else { crate::exit::USAGE }
    };
    let text = match std::fs::read_to_string(file)
        .with_context(|| format!("cannot read policy {}", file.display()))
    {
        Ok(text) => text,
        Err(e) => {
            return report(false, false, json!({"key": null, "message": format!("{e:#}")}), Value::Null);
        }
    };
    let policy = match Policy::from_str_auto(&text) {
        Ok(policy) => policy,
        Err(e) => {
            return report(false, false, json!({"key": e.key(), "message": e.to_string()}), Value::Null);
        }
    };
    let document = serde_json::to_value(&policy).unwrap_or_default();
    match stockade::Sandbox::new(policy) {
        Ok(_) => report(true, true, Value::Null, document),
        Err(e) => {
            let key = match &e {
                stockade::SandboxError::Policy(refused) => json!(refused.key()),
                _ => Value::Null,
            };
            report(true, false, json!({"key": key, "message": e.to_string()}), document)
        }
    }
}

fn summarise(policy: &Policy) {
    let l = &policy.limits;
    let languages = match &policy.languages {
        Some(listed) => stockade::Language::list(listed),
        None => format!(
            "every one ({}); the MCP server and a Python SandboxTool offer {}",
            stockade::Language::list(stockade::Language::ALL),
            stockade::Language::list(stockade::Language::WASM)
        ),
    };
    println!("  languages     {languages}");
    println!("  wall time     {} ms", l.wall_ms);
    println!("  fuel          {}", l.fuel.map_or("unlimited".to_string(), |f| f.to_string()));
    println!("  memory        {} bytes", l.memory_bytes);
    println!(
        "  output        {} / {} bytes (stdout / stderr), {:?} past it",
        l.stdout_bytes, l.stderr_bytes, l.output_overflow
    );
    println!("  env           {}", list(policy.env.keys()));
    println!(
        "  files         {}",
        list(policy.files.grants.iter().map(|g| format!("{} → {} ({:?})", g.host, g.guest, g.mode)))
    );
    for (i, line) in network_in_words(policy).iter().enumerate() {
        println!("  {:<14}{line}", if i == 0 { "network" } else { "" });
    }
    println!("  tools         {}", list(policy.tools.keys()));
    if policy.secrets.is_empty() {
        println!("  secrets       none");
    }
    for (i, line) in secrets_in_words(policy).iter().enumerate() {
        println!("  {:<14}{line}", if i == 0 { "secrets" } else { "" });
    }
    println!("  audit         {}", policy.audit.path.as_deref().unwrap_or("none"));
}

/// What the network rules allow and refuse, a line each.
fn network_in_words(policy: &Policy) -> Vec<String> {
    match stockade::policy::network::Rules::new(&policy.network) {
        Ok(rules) => rules.explain(),
        Err(e) => vec![e.to_string()],
    }
}

/// Where each secret goes, and how, a line each.
fn secrets_in_words(policy: &Policy) -> Vec<String> {
    policy
        .secrets
        .iter()
        .map(|(name, secret)| {
            let how = match secret.allow_plain_http {
                true => "inside TLS that stockade terminates, or plain HTTP",
                false => "inside TLS that stockade terminates only",
            };
            format!(
                "{name}: the guest sees a placeholder; the real value (host variable {}) goes in the request \
                 headers {} to {} only, {how}",
                secret.from_env,
                secret.headers.join(", "),
                secret.hosts.join(", ")
            )
        })
        .collect()
}

fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|i| i.to_string()).collect();
    if items.is_empty() { "none".into() } else { items.join(", ") }
}
