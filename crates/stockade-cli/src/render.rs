//! Rendering an outcome: as JSON, or readable by a person.

use crate::escape::{Keep, controls};
use std::io::IsTerminal;
use stockade::{Limit, Outcome, Status};

/// Prints the outcome (as JSON with `json`, else as `human` does) and
/// returns the exit code the command ends with: the guest's, or the limit's.
pub fn outcome(outcome: &Outcome, policy: &stockade::Policy, json: bool) -> anyhow::Result<i32> {
    if json {
        println!("{}", serde_json::to_string_pretty(outcome)?);
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
    if outcome.stdout_truncated {
        let _ = writeln!(stderr, "stockade: stdout truncated at {} bytes", policy.limits.stdout_bytes);
    }
    if outcome.stderr_truncated {
        let _ = writeln!(stderr, "stockade: stderr truncated at {} bytes", policy.limits.stderr_bytes);
    }
    match &outcome.status {
        Status::Ok => {}
        Status::GuestError { kind, message, stack } => {
            let (kind, message) = (controls(kind, Keep::Nothing), controls(message, Keep::Layout));
            let stack = stack.as_deref().map(|s| controls(s, Keep::Layout));
            let stack = stack.as_deref().map(str::trim_end).filter(|s| !s.is_empty());
            match stack {
                // A Python traceback already ends with `Kind: message`.
                Some(stack) if ends_with_the_error(stack, &kind) => {
                    let _ = writeln!(stderr, "{stack}");
                }
                _ => {
                    let _ = writeln!(stderr, "Uncaught {kind}: {message}");
                    if let Some(stack) = stack {
                        let _ = writeln!(stderr, "{stack}");
                    }
                }
            }
        }
        Status::Exited { .. } => {}
        Status::LimitExceeded { which } => {
            let _ = writeln!(stderr, "stockade: stopped: {}", describe(*which, policy));
        }
        Status::Cancelled => {
            let _ = writeln!(stderr, "stockade: stopped: the run was cancelled");
        }
        other => {
            let _ = writeln!(stderr, "stockade: {other:?}");
        }
    }
}

/// The guest's output `text` as it should reach a terminal (escaped) or
/// anything else (unchanged).
fn shown(text: &str, to_terminal: bool) -> std::borrow::Cow<'_, str> {
    if to_terminal { controls(text, Keep::Layout) } else { std::borrow::Cow::Borrowed(text) }
}

/// Whether `stack`'s last line is the error itself (`Kind: message`, the
/// kind perhaps qualified by its module), as Python's tracebacks end.
fn ends_with_the_error(stack: &str, kind: &str) -> bool {
    let head = stack.lines().last().and_then(|line| line.split(':').next()).unwrap_or_default();
    head == kind || head.strip_suffix(kind).is_some_and(|module| module.ends_with('.'))
}

fn describe(limit: Limit, policy: &stockade::Policy) -> String {
    let l = &policy.limits;
    match limit {
        Limit::Wall => format!("wall time exceeded (limits.wall_ms = {})", l.wall_ms),
        Limit::Fuel => format!("fuel exhausted (limits.fuel = {})", l.fuel.unwrap_or_default()),
        Limit::Memory => format!("memory limit exceeded (limits.memory_bytes = {})", l.memory_bytes),
        Limit::Output => format!("output limit exceeded (limits.stdout_bytes = {})", l.stdout_bytes),
        other => format!("{} exceeded", other.key()),
    }
}

#[cfg(test)]
mod tests {
    use super::ends_with_the_error;

    #[test]
    fn a_python_traceback_is_shown_as_it_is_and_a_javascript_stack_after_the_error() {
        let traceback = "Traceback (most recent call last):\n  File \"<turn 1>\", line 1\njson.decoder.JSONDecodeError: x";
        assert!(ends_with_the_error(traceback, "JSONDecodeError"));
        assert!(ends_with_the_error(
            "  File \"<turn 1>\", line 1\n    f(\nSyntaxError: '(' was never closed",
            "SyntaxError"
        ));
        assert!(ends_with_the_error("Traceback (most recent call last):\nKeyError", "KeyError"));
        assert!(!ends_with_the_error("    at f (<eval>:1:7)\n    at <eval> (<eval>:2)", "TypeError"));
        assert!(!ends_with_the_error("Traceback\nNotTypeError: x", "TypeError"));
    }
}
