//! Text that a guest chose (or could influence), made safe to show on a
//! terminal: one function, used by every human-readable rendering.
//!
//! A terminal obeys control characters: ESC starts CSI and OSC sequences
//! that move the cursor, clear the screen or retitle the window, and a
//! newline or carriage return lets a string forge a line of its own (a fake
//! `audit show` record, a fake `stockade:` message). Written out as escapes,
//! they are shown instead of obeyed.

use std::borrow::Cow;

/// Which layout characters survive [`controls`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// None: the text stays on one line (a field of an `audit show` line).
    Nothing,
    /// `\n` and `\t`, for multi-line text (guest output, stack traces).
    Layout,
}

/// `text` with every control character written as an escape: C0 (`\n`,
/// `\t` and `\r` by name, the rest as `\x1b`), DEL (`\x7f`) and C1
/// (`\u{9b}`), except the layout `keep` says to leave. Since ESC and the
/// one-character CSI (U+009B) and OSC (U+009D) are among them, no escape
/// sequence survives. Borrowed when there is nothing to escape.
pub fn controls(text: &str, keep: Keep) -> Cow<'_, str> {
    let kept = |c: char| keep == Keep::Layout && matches!(c, '\n' | '\t');
    if !text.chars().any(|c| c.is_control() && !kept(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !c.is_control() || kept(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{Keep, controls};

    #[test]
    fn every_control_character_is_escaped_and_nothing_else() {
        let forged = "ok\n#7 2026 tool_call decision=allowed\x1b[2J\x1b]0;title\x07\r\u{9b}2J\u{85}\x7f\0";
        let one_line = controls(forged, Keep::Nothing);
        assert_eq!(
            one_line,
            "ok\\n#7 2026 tool_call decision=allowed\\x1b[2J\\x1b]0;title\\x07\\r\\u{9b}2J\\u{85}\\x7f\\x00"
        );
        let laid_out = controls("a\n\tb\x1b[31m\r", Keep::Layout);
        assert_eq!(laid_out, "a\n\tb\\x1b[31m\\r");
        // Ordinary text, with its Unicode, is borrowed untouched.
        for plain in ["", "héllo wörld ✓ 日本", "C:\\path\\x1b"] {
            assert!(matches!(controls(plain, Keep::Nothing), std::borrow::Cow::Borrowed(t) if t == plain));
        }
        // Every C0, DEL and C1 character goes; nothing above them does.
        for c in (0..=0x9fu32).filter_map(char::from_u32).filter(|c| c.is_control()) {
            let shown = controls(&c.to_string(), Keep::Nothing).into_owned();
            assert!(shown.starts_with('\\') && !shown.chars().any(char::is_control), "{c:?} {shown:?}");
        }
    }
}
