//! Turning real secret values back into their placeholders in what comes
//! back from upstream, in every form a server's echo of a header is likely
//! to take: as it was sent, JSON-escaped (`\/`), percent-encoded, and
//! base64 (standard or URL-safe, at any alignment).
//!
//! Each form is replaced by a text of exactly its length, so a body keeps
//! its `Content-Length` and can be redacted in place as it streams.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use std::collections::BTreeMap;

/// The forms of every real value, found in one pass.
pub(crate) struct Redactor {
    /// `None` when there are no secrets.
    automaton: Option<AhoCorasick>,
    /// What each pattern becomes, as long as the pattern.
    replacements: Vec<Vec<u8>>,
    longest: usize,
}

impl Redactor {
    /// A redactor for `(real value, placeholder)` pairs of equal length.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Redactor {
        let mut forms = BTreeMap::new();
        for (value, placeholder) in pairs {
            for (needle, replacement) in forms_of(value.as_bytes(), placeholder.as_bytes()) {
                forms.entry(needle).or_insert(replacement);
            }
        }
        let longest = forms.keys().map(Vec::len).max().unwrap_or(0);
        let (needles, replacements): (Vec<_>, Vec<_>) = forms.into_iter().unzip();
        // A value of a few dozen bytes makes a handful of small patterns,
        // which cannot fail to build.
        let automaton = (!needles.is_empty())
            .then(|| AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&needles).ok())
            .flatten();
        Redactor { automaton, replacements, longest }
    }

    /// Replaces every form of a real value in `bytes`, in place. Returns
    /// whether anything was replaced.
    pub fn redact(&self, bytes: &mut [u8]) -> bool {
        let Some(automaton) = &self.automaton else { return false };
        let found: Vec<_> = automaton.find_iter(&*bytes).collect();
        for found in &found {
            bytes[found.range()].copy_from_slice(&self.replacements[found.pattern().as_usize()]);
        }
        !found.is_empty()
    }

    /// The longest form, in bytes: a stream must hold back one less than
    /// this until the next bytes show whether a form runs on into them.
    pub fn longest(&self) -> usize {
        self.longest
    }
}

/// One way a server may write a value back.
type Encoder = fn(&[u8]) -> Vec<u8>;

/// Each form of `value` with what it becomes: the same form of the
/// placeholder where that is as long, else the placeholder's characters
/// repeated to the form's length (never a byte of the real value).
fn forms_of(value: &[u8], placeholder: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let fit = |text: Vec<u8>, len: usize| -> Vec<u8> {
        match text.len() == len {
            true => text,
            false => placeholder.iter().copied().cycle().take(len).collect(),
        }
    };
    let mut forms = vec![(value.to_vec(), placeholder.to_vec())];
    let encoders: [Encoder; 3] = [
        json_escaped,
        |bytes| percent_encoded(bytes, b"0123456789ABCDEF"),
        |bytes| percent_encoded(bytes, b"0123456789abcdef"),
    ];
    for encode in encoders {
        let needle = encode(value);
        if needle != value {
            let len = needle.len();
            forms.push((needle, fit(encode(placeholder), len)));
        }
    }
    for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
        for offset in 0..3 {
            let needle = base64_inner(&engine, value, offset);
            // Too short a run would match unrelated base64.
            if needle.len() >= 8 {
                let replacement = base64_inner(&engine, placeholder, offset);
                let len = needle.len();
                forms.push((needle, fit(replacement, len)));
            }
        }
    }
    forms
}

/// `\/` for `/`, as PHP and some JSON writers escape it.
fn json_escaped(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for &byte in bytes {
        if byte == b'/' {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out
}

/// Every byte but RFC 3986's unreserved ones as `%XX`, in `digits`' case.
fn percent_encoded(bytes: &[u8], digits: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 3);
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte);
        } else {
            out.extend_from_slice(&[b'%', digits[usize::from(byte >> 4)], digits[usize::from(byte & 15)]]);
        }
    }
    out
}

/// The characters of `bytes`' base64, when it starts `offset` bytes into a
/// group of three, that depend on its bytes alone: whatever surrounds it,
/// an encoding of a text that holds it holds these.
fn base64_inner(engine: &impl base64::Engine, bytes: &[u8], offset: usize) -> Vec<u8> {
    let mut shifted = vec![0u8; offset];
    shifted.extend_from_slice(bytes);
    let encoded = engine.encode(&shifted).into_bytes();
    // Character i carries bits 6i..6i+6; the value's are 8·offset..8·(offset+len).
    let first = (8 * offset).div_ceil(6);
    let end = (8 * (offset + bytes.len())) / 6;
    encoded.get(first..end).map(<[u8]>::to_vec).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    const VALUE: &str = "sk-live/Zq81+real=value0";
    const PLACEHOLDER: &str = "sk-live-Ab12cdefGhij3456";

    fn redacted(text: &[u8]) -> Vec<u8> {
        let mut bytes = text.to_vec();
        Redactor::new([(VALUE, PLACEHOLDER)]).redact(&mut bytes);
        bytes
    }

    fn leaks(text: &[u8]) -> bool {
        let value = VALUE.as_bytes();
        text.windows(value.len()).any(|window| window == value)
    }

    #[test]
    fn every_likely_echo_of_a_value_is_replaced_at_its_own_length() {
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("ASCII");
        let json = format!(r#"{{"authorization": "Bearer {}"}}"#, VALUE.replace('/', "\\/"));
        let lower = text(percent_encoded(VALUE.as_bytes(), b"0123456789abcdef"));
        let upper = text(percent_encoded(VALUE.as_bytes(), b"0123456789ABCDEF"));
        let mut echoes = vec![format!("raw {VALUE} raw"), json, format!("?key={lower}&"), upper];
        let mut encoded = Vec::new();
        for lead in ["", "a", "ab", "Basic user:"] {
            for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
                encoded.push((engine.clone(), engine.encode(format!("{lead}{VALUE}!"))));
            }
        }
        echoes.extend(encoded.iter().map(|(_, text)| text.clone()));
        for echo in &echoes {
            let out = redacted(echo.as_bytes());
            assert_eq!(out.len(), echo.len(), "{echo}");
            assert!(!leaks(&out) && out != echo.as_bytes(), "{echo} was not redacted");
        }
        // What was base64 still decodes, to text without the value.
        for (engine, echo) in encoded {
            let decoded = engine.decode(redacted(echo.as_bytes())).expect("still base64");
            assert!(!leaks(&decoded), "{echo}");
        }
    }

    #[test]
    fn the_raw_form_becomes_the_placeholder_and_other_text_is_left_alone() {
        assert_eq!(redacted(format!("[{VALUE}]").as_bytes()), format!("[{PLACEHOLDER}]").as_bytes());
        let plain = b"nothing secret here, not even sk-live/Zq81+real=valu".to_vec();
        assert_eq!(redacted(&plain), plain);
        assert!(!Redactor::new([]).redact(&mut plain.clone()));
    }
}
