//! Rendering an outcome: as JSON, or readable by a person.

use crate::escape::{Keep, controls};
use std::io::IsTerminal;
use stockade::{Outcome, render};

/// Prints the outcome (as JSON with `json`, else as `human` does) and
/// returns the exit code the command ends with: the guest's, or the limit's.
pub fn outcome(outcome: &Outcome, policy: &stockade::Policy, json: bool) -> anyhow::Result<i32> {
    if json {
        use std::io::Write;
        // A reader that went away (`| head`) is not an error of the run's.
        let text = serde_json::to_string_pretty(outcome)?;
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    } else {
        human(outcome, policy);
    }
    Ok(outcome.exit_code)
}

/// Writes the guest's output through, then the value, then a status line
/// on stderr for anything other than success.
///
/// Output goes byte for byte to a pipe or file; to a terminal, its control
/// characters (escape sequences among them) are escaped, keeping `\n` and
/// `\t`. The error's type, message and stack are the guest's words, so they
/// are escaped wherever they go.
pub fn human(outcome: &Outcome, policy: &stockade::Policy) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let to_terminal = stdout.is_terminal();
    let _ = stdout.write_all(shown(&outcome.stdout, to_terminal).as_bytes());
    if let Some(value) = &outcome.value {
        let _ = writeln!(stdout, "{}", shown(&value.to_string(), to_terminal));
    }
    let _ = stdout.flush();
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(shown(&outcome.stderr, stderr.is_terminal()).as_bytes());
    let limits = &policy.limits;
    for note in render::truncation(outcome, limits) {
        let _ = writeln!(stderr, "stockade: {note}");
    }
    // The error's type, message and stack are the guest's words: escaped
    // wherever they go.
    if let Some(error) = render::guest_error(outcome) {
        let _ = writeln!(stderr, "{}", controls(&error, Keep::Layout));
    }
    if let Some(why) = render::stopped(outcome, limits) {
        let _ = writeln!(stderr, "stockade: stopped: {why}");
    }
}

/// The guest's output `text` as it should reach a terminal (escaped) or
/// anything else (unchanged).
fn shown(text: &str, to_terminal: bool) -> std::borrow::Cow<'_, str> {
    if to_terminal { controls(text, Keep::Layout) } else { std::borrow::Cow::Borrowed(text) }
}
