//! `stockade policy`: check a file, print the schema or the defaults.

use std::path::PathBuf;
use stockade::Policy;

/// Subcommands of `stockade policy`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Validate a policy file and summarise what it grants.
    Check {
        /// The policy file (TOML, or JSON if it starts with `{`).
        file: PathBuf,
    },
    /// Print the JSON Schema of the policy document.
    Schema,
    /// Print the default (deny-all) policy as TOML.
    Default,
}

/// Runs a `policy` subcommand.
pub fn run(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Check { file } => {
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
    println!("  network       {}", list(policy.network.allow.iter()));
    println!("  tools         {}", list(policy.tools.keys()));
    println!("  secrets       {}", list(policy.secrets.keys()));
    println!("  audit         {}", policy.audit.path.as_deref().unwrap_or("none"));
}

fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|i| i.to_string()).collect();
    if items.is_empty() { "none".into() } else { items.join(", ") }
}
