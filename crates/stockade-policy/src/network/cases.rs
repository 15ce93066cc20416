//! Readers for the repository's tables of network cases,
//! `tests/network/verdicts.txt` and `tests/network/addresses.txt`, so the
//! policy's unit tests and the engine's end-to-end tests read them alike.
//!
//! Both are one case per line, fields apart by spaces or tabs; `#` starts
//! a comment line, and blank lines are skipped.
#![doc(hidden)]

/// One row of `verdicts.txt`:
/// `ALLOW_PATTERNS  DENY_PATTERNS  HOST  PORT  VERDICT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerdictCase {
    /// The line it is on, counting from 1, for failure messages.
    pub line: usize,
    /// `network.allow` patterns (the file's comma-separated list; `-` none).
    pub allow: Vec<String>,
    /// `network.deny` patterns, likewise.
    pub deny: Vec<String>,
    /// The host as the guest asked for it, escapes decoded.
    pub host: String,
    /// The port asked for.
    pub port: u16,
    /// What must happen.
    pub verdict: Expected,
}

/// What a verdict case expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// An allow rule lets it through.
    Allow,
    /// The policy refuses it (a deny rule, or no allow rule).
    Deny,
    /// `Host::parse` refuses the host, before any rule is read.
    Invalid,
}

/// The rows of a `verdicts.txt`; an error names the line at fault.
///
/// The host field takes escapes for what a field cannot hold: `\x00` (two
/// hex digits), `\u{202e}`, `\t`, `\r`, `\n`, `\s` (a space), `\\`, and
/// `""` alone for the empty host.
pub fn verdict_cases(text: &str) -> Result<Vec<VerdictCase>, String> {
    rows(text)
        .map(|(line, fields)| {
            let at = |why: String| format!("line {line}: {why}");
            let [allow, deny, host, port, verdict] = fields[..] else {
                return Err(at(format!(
                    "{} fields; a case is ALLOW_PATTERNS DENY_PATTERNS HOST PORT VERDICT",
                    fields.len()
                )));
            };
            let verdict = match verdict {
                "allow" => Expected::Allow,
                "deny" => Expected::Deny,
                "invalid" => Expected::Invalid,
                other => return Err(at(format!("`{other}` is not `allow`, `deny` or `invalid`"))),
            };
            Ok(VerdictCase {
                line,
                allow: list(allow),
                deny: list(deny),
                host: unescape(host).map_err(at)?,
                port: port.parse().map_err(|_| at(format!("`{port}` is not a port (0 to 65535)")))?,
                verdict,
            })
        })
        .collect()
}

/// The rows of an `addresses.txt`, `ADDRESS  CLASS`, as (address, whether
/// it is public); CLASS is `public` or `non-public`. An error names the
/// line at fault. The address is left as written, for the caller to parse.
pub fn address_cases(text: &str) -> Result<Vec<(String, bool)>, String> {
    rows(text)
        .map(|(line, fields)| match fields[..] {
            [address, "public"] => Ok((address.to_string(), true)),
            [address, "non-public"] => Ok((address.to_string(), false)),
            [_, class] => Err(format!("line {line}: `{class}` is not `public` or `non-public`")),
            _ => Err(format!("line {line}: {} fields; a case is ADDRESS CLASS", fields.len())),
        })
        .collect()
}

/// Each line that holds a case, with its number and its fields.
fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(line, text)| (line, text.split_whitespace().collect()))
}

fn list(field: &str) -> Vec<String> {
    match field {
        "-" => Vec::new(),
        _ => field.split(',').map(str::to_string).collect(),
    }
}

fn unescape(field: &str) -> Result<String, String> {
    if field == "\"\"" {
        return Ok(String::new());
    }
    let mut out = String::new();
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = match chars.next() {
            Some('\\') => '\\',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('n') => '\n',
            Some('s') => ' ',
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                code_point(&hex)
                    .filter(|_| hex.len() == 2)
                    .ok_or(format!("`\\x{hex}` is not `\\x` and two hex digits"))?
            }
            Some('u') => {
                let rest = chars.as_str();
                let hex = rest.strip_prefix('{').and_then(|r| r.split_once('}')).map(|(hex, _)| hex);
                let c = hex
                    .and_then(code_point)
                    .ok_or(format!("a `\\u` escape is `\\u{{hex}}`, in `{field}`"))?;
                chars = rest[hex.map_or(0, str::len) + 2..].chars();
                c
            }
            other => return Err(format!("`\\{}` is not an escape this file knows", other.unwrap_or(' '))),
        };
        out.push(escaped);
    }
    Ok(out)
}

fn code_point(hex: &str) -> Option<char> {
    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_escapes() {
        let text = "# a comment\n\n- - a.com 443 deny\nx.com,*.y.org\t-  a\\x00b\\r\\n\\u{202e}\\\\  80  invalid\n\
                    - - \"\" 80 invalid\n";
        let cases = verdict_cases(text).expect("valid rows");
        assert_eq!(cases.len(), 3);
        assert_eq!((cases[0].line, cases[0].verdict, cases[0].allow.len()), (3, Expected::Deny, 0));
        assert_eq!(cases[1].allow, ["x.com", "*.y.org"]);
        assert_eq!(cases[1].host, "a\0b\r\n\u{202e}\\");
        assert_eq!(cases[2].host, "");
    }

    #[test]
    fn errors_name_the_line() {
        for (text, want) in [
            ("- - a.com 443\n", "line 1: 4 fields"),
            ("\n- - a.com 443 maybe", "line 2: `maybe`"),
            ("- - a.com 99999 deny", "not a port"),
            ("- - a\\x0 80 invalid", "two hex digits"),
            ("- - a\\u{zz} 80 invalid", "\\u{hex}"),
            ("- - a\\q 80 invalid", "`\\q`"),
        ] {
            let err = verdict_cases(text).expect_err(text);
            assert!(err.contains(want), "{text:?}: {err}");
        }
        let err = address_cases("8.8.8.8 public\n10.0.0.1 private\n").expect_err("a bad class");
        assert!(err.starts_with("line 2:"), "{err}");
        assert_eq!(address_cases("::1  non-public").expect("valid"), [("::1".to_string(), false)]);
    }
}
