//! The line format: a record's body, and the hash that seals it.

use crate::Event;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev` of the first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What closes every line: `,"hash":"` + 64 hex digits + `"}`.
const SEAL_PREFIX: &str = ",\"hash\":\"";
const SEAL_LEN: usize = SEAL_PREFIX.len() + 64 + 2;

/// A record about to be written.
#[derive(Serialize)]
pub struct Record<'a> {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When it was written (RFC 3339, UTC, milliseconds).
    pub time: String,
    /// The previous line's hash, or [`GENESIS`].
    pub prev: &'a str,
    /// What happened.
    pub event: &'a Event,
}

impl Record<'_> {
    /// The record as one line (with its newline) and its hash.
    pub fn seal(&self) -> (String, String) {
        // Serialising plain data (strings, integers, JSON values) cannot fail.
        let body = serde_json::to_string(self).unwrap_or_else(|e| unreachable!("record serialises: {e}"));
        let hash = sha256_hex(body.as_bytes());
        let mut line = String::with_capacity(body.len() + SEAL_LEN + 1);
        line.push_str(&body[..body.len() - 1]);
        line.push_str(SEAL_PREFIX);
        line.push_str(&hash);
        line.push_str("\"}\n");
        (line, hash)
    }
}

/// Splits a line (without its newline) into the body the hash covers and
/// the hash it claims, or says why it is not a sealed record.
pub(crate) fn unseal(line: &str) -> Result<(String, &str), String> {
    if line.len() < SEAL_LEN + 2 || !line.ends_with("\"}") {
        return Err("the line is not a sealed record".into());
    }
    // A multi-byte character across the seal's start is no seal (and must not panic).
    let (rest, seal) =
        line.split_at_checked(line.len() - SEAL_LEN).ok_or("the line does not end with its hash")?;
    let hash = seal
        .strip_prefix(SEAL_PREFIX)
        .and_then(|s| s.strip_suffix("\"}"))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or("the line does not end with its hash")?;
    Ok((format!("{rest}}}"), hash))
}

/// A line (without its newline) whose hash matches its content: its hash,
/// its parsed record and the record's `seq`. What a line *means* (its place
/// in the chain) is the caller's to check.
pub(crate) fn open_sealed(bytes: &[u8]) -> Result<(String, serde_json::Value, u64), String> {
    let line = std::str::from_utf8(bytes).map_err(|_| "the line is not UTF-8".to_string())?;
    let (body, claimed) = unseal(line)?;
    let actual = sha256_hex(body.as_bytes());
    if actual != claimed {
        return Err("its hash does not match its content (the line was edited)".into());
    }
    let value: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("the record is not JSON ({e})"))?;
    let seq = value.get("seq").and_then(serde_json::Value::as_u64).ok_or("the record has no seq")?;
    Ok((actual, value, seq))
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The current time as the log writes it.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_unseal_agree() {
        let event = Event::LimitHit { run: "r".into(), limit: "wall".into() };
        let record = Record { seq: 7, time: now(), prev: GENESIS, event: &event };
        let (line, hash) = record.seal();
        let (body, claimed) = unseal(line.trim_end()).expect("sealed");
        assert_eq!(claimed, hash);
        assert_eq!(sha256_hex(body.as_bytes()), hash);
        assert!(body.starts_with("{\"seq\":7,") && body.ends_with("}}"));
        for bad in ["", "{}", "{\"hash\":\"x\"}", &line[..line.len() - 3]] {
            assert!(unseal(bad).is_err(), "{bad:?}");
        }
    }
}
