//! An outcome in words: for a person at a terminal (the CLI) or a model
//! reading a tool's answer (the MCP server, the Python package). One
//! renderer, so every surface words the same ending the same way.

use crate::{Limit, Outcome, Status};
use stockade_policy::Limits;

/// The uncaught error, as the guest's own runtime would print it: a Python
/// traceback as it is (it ends with `Kind: message`), otherwise
/// `Uncaught Kind: message` and the stack. `None` unless the status is
/// [`Status::GuestError`].
pub fn guest_error(outcome: &Outcome) -> Option<String> {
    let Status::GuestError { kind, message, stack } = &outcome.status else { return None };
    let stack = stack.as_deref().map(str::trim_end).filter(|s| !s.is_empty());
    Some(match stack {
        Some(stack) if ends_with_the_error(stack, kind) => stack.to_string(),
        Some(stack) => format!("Uncaught {kind}: {message}\n{stack}"),
        None => format!("Uncaught {kind}: {message}"),
    })
}

/// Why stockade stopped the run (`wall time exceeded (limits.wall_ms =
/// 500)`), or `None` when it was not stopped.
pub fn stopped(outcome: &Outcome, limits: &Limits) -> Option<String> {
    match &outcome.status {
        Status::LimitExceeded { which } => Some(describe(*which, limits)),
        Status::Cancelled => Some("the run was cancelled".into()),
        _ => None,
    }
}

/// The lines that say a stream was cut at its cap.
pub fn truncation(outcome: &Outcome, limits: &Limits) -> Vec<String> {
    let mut notes = Vec::new();
    if outcome.stdout_truncated {
        notes.push(format!("stdout truncated at {} bytes (limits.stdout_bytes)", limits.stdout_bytes));
    }
    if outcome.stderr_truncated {
        notes.push(format!("stderr truncated at {} bytes (limits.stderr_bytes)", limits.stderr_bytes));
    }
    notes
}

/// The whole outcome as one text for a model: the output, the value, and
/// how the run ended, each only when there is something to say.
pub fn for_model(outcome: &Outcome, limits: &Limits) -> String {
    let mut parts = Vec::new();
    if !outcome.stdout.is_empty() {
        parts.push(format!("stdout:\n{}", outcome.stdout.trim_end()));
    }
    if !outcome.stderr.is_empty() {
        parts.push(format!("stderr:\n{}", outcome.stderr.trim_end()));
    }
    if let Some(value) = &outcome.value {
        parts.push(format!("value: {value}"));
    }
    parts.extend(truncation(outcome, limits));
    if let Some(error) = guest_error(outcome) {
        parts.push(error);
    }
    if let Status::Exited { code } = outcome.status {
        parts.push(format!("exited with code {code}"));
    }
    if let Some(why) = stopped(outcome, limits) {
        parts.push(format!("stopped: {why}"));
    }
    if parts.is_empty() {
        return "(no output)".into();
    }
    parts.join("\n")
}

/// Whether `stack`'s last line is the error itself (`Kind: message`, the
/// kind perhaps qualified by its module), as Python's tracebacks end.
fn ends_with_the_error(stack: &str, kind: &str) -> bool {
    let head = stack.lines().last().and_then(|line| line.split(':').next()).unwrap_or_default();
    head == kind || head.strip_suffix(kind).is_some_and(|module| module.ends_with('.'))
}

fn describe(limit: Limit, l: &Limits) -> String {
    match limit {
        Limit::Wall => format!("wall time exceeded (limits.wall_ms = {})", l.wall_ms),
        Limit::Fuel => format!("fuel exhausted (limits.fuel = {})", l.fuel.unwrap_or_default()),
        Limit::Memory => format!("memory limit exceeded (limits.memory_bytes = {})", l.memory_bytes),
        Limit::Output => format!("output limit exceeded (limits.stdout_bytes = {})", l.stdout_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(kind: &str, message: &str, stack: Option<&str>) -> Outcome {
        let status =
            Status::GuestError { kind: kind.into(), message: message.into(), stack: stack.map(Into::into) };
        Outcome { status, exit_code: 1, ..Outcome::default() }
    }

    #[test]
    fn a_python_traceback_is_shown_as_it_is_and_a_javascript_stack_after_the_error() {
        let traceback = "Traceback (most recent call last):\n  File \"<turn 1>\", line 1\njson.decoder.JSONDecodeError: x";
        assert_eq!(
            guest_error(&failed("JSONDecodeError", "x", Some(traceback))).expect("in a test"),
            traceback
        );
        let syntax = "  File \"<turn 1>\", line 1\n    f(\nSyntaxError: '(' was never closed";
        assert_eq!(
            guest_error(&failed("SyntaxError", "'(' was never closed", Some(syntax))).expect("in a test"),
            syntax
        );
        assert!(ends_with_the_error("Traceback (most recent call last):\nKeyError", "KeyError"));
        let js = failed("TypeError", "bad", Some("    at f (<eval>:1:7)\n"));
        assert_eq!(guest_error(&js).expect("in a test"), "Uncaught TypeError: bad\n    at f (<eval>:1:7)");
        assert!(!ends_with_the_error("Traceback\nNotTypeError: x", "TypeError"));
        assert_eq!(guest_error(&failed("Error", "x", None)).expect("in a test"), "Uncaught Error: x");
    }

    #[test]
    fn a_model_reads_the_output_the_value_and_why_the_run_stopped() {
        let limits = Limits { wall_ms: 500, ..Limits::default() };
        let stopped = Outcome {
            status: Status::LimitExceeded { which: Limit::Wall },
            stdout: "hi\n".into(),
            stdout_truncated: true,
            ..Outcome::default()
        };
        assert_eq!(
            for_model(&stopped, &limits),
            "stdout:\nhi\nstdout truncated at 1048576 bytes (limits.stdout_bytes)\n\
             stopped: wall time exceeded (limits.wall_ms = 500)"
        );
        let exited = Outcome { status: Status::Exited { code: 4 }, exit_code: 4, ..Outcome::default() };
        assert_eq!(for_model(&exited, &limits), "exited with code 4");
        let value = Outcome { value: Some(serde_json::json!(42)), ..Outcome::default() };
        assert_eq!(for_model(&value, &limits), "value: 42");
        assert_eq!(for_model(&Outcome::default(), &limits), "(no output)");
    }
}
