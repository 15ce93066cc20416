//! `stockade precompile`: snapshot and compile a guest ahead of the first run.

use std::time::Instant;
use stockade::{Language, Policy, Sandbox};

/// Arguments of `stockade precompile`.
#[derive(clap::Args)]
pub struct Args {
    /// The guest's language: js or python.
    #[arg(value_parser = |s: &str| s.parse::<Language>())]
    lang: Language,
    /// Also build the fuel-metered variant (used when a policy sets `limits.fuel`).
    #[arg(long)]
    fuel: bool,
}

/// Prepares the guest; a cached guest makes this instant.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let started = Instant::now();
    Sandbox::new(Policy::default())?.prepare(args.lang)?;
    if args.fuel {
        Sandbox::new(Policy::builder().fuel(1).build()?)?.prepare(args.lang)?;
    }
    eprintln!("stockade: {} guest ready in {:.2?}", args.lang, started.elapsed());
    Ok(0)
}
