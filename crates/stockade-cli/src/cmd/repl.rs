//! `stockade repl`: an interactive session, one guest for every input.

use crate::render;
use anyhow::Context;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use stockade::{Language, Sandbox, SandboxError, Session};

/// Arguments of `stockade repl`.
#[derive(clap::Args)]
pub struct Args {
    /// Language of the session: js or python.
    #[arg(long, short, value_parser = super::run::parse_language)]
    lang: Language,
    #[command(flatten)]
    sandbox: super::SandboxArgs,
}

/// Reads inputs with line editing and runs each in the session, printing
/// output and values as `run` does. A session that ends (a limit stopped
/// its guest, or it expired) is reported and a new one starts.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let sandbox = args.sandbox.sandbox(Some(args.lang))?;
    let mut session = sandbox.session(args.lang)?;
    let mut editor = DefaultEditor::new().context("cannot start the line editor")?;
    let (prompt, more) = match args.lang {
        Language::Python => (">>> ", "... "),
        _ => ("> ", "... "),
    };
    let mut input = String::new();
    loop {
        let line = match editor.readline(if input.is_empty() { prompt } else { more }) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                input.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("cannot read the input"),
        };
        if !input.is_empty() {
            input.push('\n');
        }
        input.push_str(&line);
        if needs_more(args.lang, &input, &line) {
            continue;
        }
        let code = std::mem::take(&mut input);
        if code.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(code.as_str());
        match session.run(&code) {
            Ok(outcome) => render::human(&outcome, sandbox.policy()),
            Err(SandboxError::SessionEnded(why)) => {
                eprintln!("stockade: the session ended ({why}); a new one starts, without its state");
                session = reopen(&sandbox, args.lang)?;
            }
            Err(e) => {
                let shown = e.to_string();
                eprintln!(
                    "stockade: error: {}",
                    crate::escape::controls(&shown, crate::escape::Keep::Layout)
                );
            }
        }
        if let Some(why) = session.closed_because() {
            eprintln!("stockade: the session ended ({why}); a new one starts, without its state");
            session = reopen(&sandbox, args.lang)?;
        }
    }
    Ok(0)
}

fn reopen(sandbox: &Sandbox, language: Language) -> anyhow::Result<Session> {
    Ok(sandbox.session(language)?)
}

/// Whether `input` is unfinished and the next line belongs to it: open
/// brackets or a trailing backslash; in Python also a block (a first line
/// ending in `:`), which ends at an empty line, as in Python's own REPL.
fn needs_more(language: Language, input: &str, last_line: &str) -> bool {
    if last_line.ends_with('\\') || open_brackets(language, input) > 0 {
        return true;
    }
    language == Language::Python
        && input.lines().next().is_some_and(|first| first.trim_end().ends_with(':'))
        && !last_line.trim().is_empty()
}

/// Brackets opened and not yet closed, outside string literals and
/// comments (roughly: quotes toggle, backslashes escape, `#` or `//` runs to
/// the end of the line).
fn open_brackets(language: Language, input: &str) -> i64 {
    let (mut depth, mut quote, mut escaped, mut comment) = (0i64, None, false, false);
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if comment {
            comment = c != '\n';
            continue;
        }
        let starts_comment = match language {
            Language::Python => c == '#',
            _ => c == '/' && chars.peek() == Some(&'/'),
        };
        if quote.is_none() && starts_comment {
            comment = true;
            continue;
        }
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            _ => {}
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_input_continues() {
        assert!(!needs_more(Language::Python, "x = 1", "x = 1"));
        assert!(needs_more(Language::Python, "def f():", "def f():"));
        assert!(needs_more(Language::Python, "def f():\n    return 1", "    return 1"));
        assert!(!needs_more(Language::Python, "def f():\n    return 1\n", ""));
        assert!(needs_more(Language::JavaScript, "function f() {", "function f() {"));
        assert!(!needs_more(
            Language::JavaScript,
            "function f() { return '}' }",
            "function f() { return '}' }"
        ));
        assert!(needs_more(Language::Python, "x = [1,", "x = [1,"));
        assert!(!needs_more(Language::JavaScript, "'{'", "'{'"));
        // A quote or bracket in a comment is not code.
        assert!(!needs_more(Language::Python, "x = [1]  # it's (", "x = [1]  # it's ("));
        assert!(!needs_more(Language::JavaScript, "f() // don't {", "f() // don't {"));
    }
}
