//! The `stockade` command: parse the arguments, dispatch to one subcommand.

mod bearer;
mod cmd;
mod escape;
mod exit;
mod render;

use clap::{Parser, Subcommand};

/// Run code an LLM wrote, apart from the agent, with nothing it was not granted.
///
/// The about line is written here, not taken from the package description,
/// so that it covers every command below.
#[derive(Parser)]
#[command(
    name = "stockade",
    version,
    about = "Run code an LLM wrote in a sandbox: runs, sessions, MCP and HTTP servers, policies, audit logs.",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run code in a fresh sandbox.
    Run(cmd::run::Args),
    /// Run a program (`-- CMD ARGS...`) in a fresh process jail.
    Exec(cmd::exec::Args),
    /// An interactive session: state kept from one input to the next.
    Repl(cmd::repl::Args),
    /// Serve MCP on stdio: run_code, list_sessions, close_session, under one policy.
    Mcp(cmd::mcp::Args),
    /// Serve the HTTP API: runs and sessions for bearer tokens, each under its policy.
    Serve(cmd::serve::Args),
    /// Validate, print or describe policies.
    #[command(subcommand)]
    Policy(cmd::policy::Command),
    /// Snapshot and compile a guest now, so the first run is fast.
    Precompile(cmd::precompile::Args),
    /// Check what this machine has and what is missing.
    Doctor(cmd::doctor::Args),
    /// Download and verify a guest that comes from a package registry.
    Fetch(cmd::fetch::Args),
    /// Verify or show a hash-chained audit log.
    #[command(subcommand)]
    Audit(cmd::audit::Command),
}

fn main() {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STOCKADE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: in a log file or a pipe they
        // are noise (and a reader's terminal would obey them).
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    stockade::progress::show_on_stderr();
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Exec(args) => cmd::exec::run(args),
        Command::Repl(args) => cmd::repl::run(args),
        Command::Mcp(args) => cmd::mcp::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Policy(command) => cmd::policy::run(command),
        Command::Precompile(args) => cmd::precompile::run(args),
        Command::Doctor(args) => cmd::doctor::run(args),
        Command::Fetch(args) => cmd::fetch::run(args),
        Command::Audit(command) => cmd::audit::run(command),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(error) => {
            // An error can quote the guest (a code error, a tool's message).
            let shown = format!("{error:#}");
            eprintln!("stockade: error: {}", escape::controls(&shown, escape::Keep::Layout));
            if let Some(hint) = exit::hint(&error) {
                eprintln!("stockade: hint: {hint}");
            }
            std::process::exit(exit::for_error(&error));
        }
    }
}
