//! Rendering an outcome: as JSON, or readable by a person.

use crate::escape::{Keep, controls};
use std::io::IsTerminal;
use stockade::{Outcome, OutputSink, Stream, render};

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

/// What follows a run whose output [`Live`] already wrote: the value and
/// the status lines of [`human`], not the output again.
pub fn after_live(outcome: &Outcome, policy: &stockade::Policy) -> i32 {
    value_and_status(outcome, policy);
    outcome.exit_code
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
    let _ = stdout.write_all(shown(&outcome.stdout, stdout.is_terminal()).as_bytes());
    drop(stdout);
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(shown(&outcome.stderr, stderr.is_terminal()).as_bytes());
    drop(stderr);
    value_and_status(outcome, policy);
}

/// The value on stdout, then the notes on stderr: truncation, the guest's
/// error, why the run stopped.
fn value_and_status(outcome: &Outcome, policy: &stockade::Policy) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Some(value) = &outcome.value {
        let _ = writeln!(stdout, "{}", shown(&value.to_string(), stdout.is_terminal()));
    }
    let _ = stdout.flush();
    let mut stderr = std::io::stderr().lock();
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

/// A run's chunks cut at whole UTF-8 characters: per stream, the start of
/// a character whose rest has not come yet is held for the next chunk.
#[derive(Default)]
pub struct Whole {
    held: std::sync::Mutex<[Vec<u8>; 2]>,
}

impl Whole {
    /// What was held of `stream`, then `bytes`, up to the last whole
    /// character (all of it when `end`: a character that never finished).
    pub fn take(&self, stream: Stream, bytes: &[u8], end: bool) -> Vec<u8> {
        let at = usize::from(stream != Stream::Stdout);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let mut pending = std::mem::take(&mut held[at]);
        pending.extend_from_slice(bytes);
        let cut = if end { pending.len() } else { pending.len() - unfinished(&pending) };
        held[at] = pending.split_off(cut);
        pending
    }
}

/// Writes the guest's output to this process's stdout and stderr as the
/// guest writes it: byte for byte to a pipe or file; to a terminal escaped
/// as [`human`] escapes it, a character split across two writes held until
/// it is whole.
#[derive(Default)]
pub struct Live {
    whole: Whole,
}

impl Live {
    fn write(&self, stream: Stream, bytes: &[u8], end: bool) {
        use std::io::Write;
        let (mut out, terminal): (Box<dyn Write>, bool) = match stream {
            Stream::Stdout => (Box::new(std::io::stdout().lock()), std::io::stdout().is_terminal()),
            _ => (Box::new(std::io::stderr().lock()), std::io::stderr().is_terminal()),
        };
        if !terminal {
            let _ = out.write_all(bytes).and_then(|()| out.flush());
            return;
        }
        let whole = self.whole.take(stream, bytes, end);
        let text = String::from_utf8_lossy(&whole);
        let _ = out.write_all(controls(&text, Keep::Layout).as_bytes()).and_then(|()| out.flush());
    }

    /// Writes what is still held (a character that never finished).
    pub fn finish(&self) {
        self.write(Stream::Stdout, &[], true);
        self.write(Stream::Stderr, &[], true);
    }
}

impl OutputSink for Live {
    fn chunk(&self, stream: Stream, bytes: &[u8]) {
        self.write(stream, bytes, false);
    }
}

/// How many of the last bytes of `bytes` begin a UTF-8 character that is
/// not finished yet.
fn unfinished(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let byte = bytes[bytes.len() - back];
        if byte & 0xC0 != 0x80 {
            let needs = match byte {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if needs > back { back } else { 0 };
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::unfinished;

    #[test]
    fn a_character_cut_between_writes_is_held_until_whole() {
        let snowman = "a☃".as_bytes();
        assert_eq!(unfinished(snowman), 0);
        assert_eq!(unfinished(&snowman[..2]), 1);
        assert_eq!(unfinished(&snowman[..3]), 2);
        assert_eq!(unfinished(b"plain"), 0);
        assert_eq!(unfinished("é".as_bytes()), 0);
        assert_eq!(unfinished(&"😀".as_bytes()[..3]), 3);
    }
}
