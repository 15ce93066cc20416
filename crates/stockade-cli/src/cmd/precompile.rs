//! `stockade precompile`: snapshot and compile a guest ahead of the first run.

use std::time::Instant;
use stockade::{Language, Sandbox};

/// Arguments of `stockade precompile`.
#[derive(clap::Args)]
pub struct Args {
    /// The guest's language: js or python.
    #[arg(value_parser = |s: &str| s.parse::<Language>())]
    lang: Language,
    /// Also build the fuel-metered variant (used when a policy sets `limits.fuel`).
    #[arg(long)]
    fuel: bool,
    /// Prepare the guest this policy runs (its `python.preload` snapshot,
    /// and the fuel variant when it sets `limits.fuel`).
    #[arg(long, short)]
    policy: Option<std::path::PathBuf>,
}

/// Prepares the guest; a cached guest makes this instant.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let started = Instant::now();
    let policy = super::load_policy(args.policy.as_deref())?;
    Sandbox::new(policy.clone())?.prepare(args.lang)?;
    if args.fuel && policy.limits.fuel.is_none() {
        let mut metered = policy;
        metered.limits.fuel = Some(1);
        Sandbox::new(metered)?.prepare(args.lang)?;
    }
    eprintln!("stockade: {} guest ready in {:.2?}", args.lang, started.elapsed());
    Ok(0)
}
