//! Checking a log: every hash, every link, every sequence number.

use crate::record::{GENESIS, open_sealed};
use std::io::{BufRead, BufReader, Read};

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Complete records read and found intact, up to the first broken one.
    /// Zero for an empty file, which a caller should not call intact: a
    /// log that was ever opened has its `log_opened` record.
    pub records: u64,
    /// The hash of the last intact record ([`GENESIS`] for an empty log).
    pub last_hash: String,
    /// The first line that breaks the chain, if one does.
    pub broken: Option<Broken>,
    /// Bytes after the last newline: a line cut short by a crash mid-write.
    /// Everything before it is checked; the partial line itself is not,
    /// beyond beginning as the next record would. Bytes after the last
    /// newline that do not are reported in [`Report::broken`] instead.
    pub partial_tail_bytes: u64,
    /// Checkpoints found, each with a valid signature.
    pub checkpoints: u64,
    /// The last `seq` a valid checkpoint signs, if any: with a trusted key,
    /// the records up to it are proven to be the writer's.
    pub signed_through: Option<u64>,
}

/// The first line that breaks the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with it.
    pub why: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.why)
    }
}

/// Reads a whole log and checks it: each line's hash against its content,
/// each `prev` against the line before, and `seq` counting up from 0. An
/// edited line fails its hash; a deleted, inserted or moved line breaks a
/// `prev` link or the sequence.
pub fn verify(reader: impl Read) -> std::io::Result<Report> {
    verify_with(reader, None)
}

/// [`verify`], and every `checkpoint` record's signature: against its own
/// public key, and, when `trusted` (hex) is given, that key must be it.
pub fn verify_with(reader: impl Read, trusted: Option<&str>) -> std::io::Result<Report> {
    let mut reader = BufReader::new(reader);
    let mut report = Report {
        records: 0,
        last_hash: GENESIS.into(),
        broken: None,
        partial_tail_bytes: 0,
        checkpoints: 0,
        signed_through: None,
    };
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(report);
        }
        if buf.last() != Some(&b'\n') {
            if !starts_a_record(&buf, report.records) {
                let why = format!(
                    "the last line has no newline and is not the start of record {} (a crash cuts a \
                     record, it does not write another line)",
                    report.records
                );
                report.broken = Some(Broken { line: report.records + 1, why });
                return Ok(report);
            }
            report.partial_tail_bytes = buf.len() as u64;
            return Ok(report);
        }
        buf.pop();
        let checked = check_line(&buf, report.records, &report.last_hash).and_then(|(hash, record)| {
            let signed = check_checkpoint(&record["event"], report.records, &report.last_hash, trusted)?;
            Ok((hash, signed))
        });
        match checked {
            Ok((hash, signed)) => {
                if let Some(upto) = signed {
                    report.checkpoints += 1;
                    report.signed_through = Some(upto);
                }
                report.records += 1;
                report.last_hash = hash;
            }
            Err(why) => {
                report.broken = Some(Broken { line: report.records + 1, why });
                return Ok(report);
            }
        }
    }
}

/// Whether `tail`, a last line without its newline, can be the record at
/// `seq` cut short by a crash mid-write: the writer writes each line whole
/// from its start, so a cut line begins as that record does (or is a
/// shorter piece of that beginning). Anything else is not a crash's work.
fn starts_a_record(tail: &[u8], seq: u64) -> bool {
    let start = format!("{{\"seq\":{seq},");
    tail.starts_with(start.as_bytes()) || start.as_bytes().starts_with(tail)
}

/// For a `checkpoint` event at `seq` following `prev`: checks that it signs
/// exactly the record before it, with a valid signature (by `trusted`, if
/// given), and returns the `seq` it signs. `None` for other events.
fn check_checkpoint(
    event: &serde_json::Value,
    seq: u64,
    prev: &str,
    trusted: Option<&str>,
) -> Result<Option<u64>, String> {
    if event["kind"] != "checkpoint" {
        return Ok(None);
    }
    let text = |key: &str| event[key].as_str().ok_or(format!("the checkpoint has no {key}"));
    let upto = event["upto_seq"].as_u64().ok_or("the checkpoint has no upto_seq")?;
    if Some(upto) != seq.checked_sub(1) || text("upto_hash")? != prev {
        return Err("the checkpoint does not sign the record before it".into());
    }
    let key = text("public_key")?;
    if trusted.is_some_and(|trusted| !trusted.eq_ignore_ascii_case(key)) {
        return Err("the checkpoint is signed by another key than the trusted one".into());
    }
    crate::sign::check(key, upto, prev, text("signature")?).map_err(|why| format!("checkpoint: {why}"))?;
    Ok(Some(upto))
}

/// Checks one line against the position and hash it must follow, and
/// returns its hash and the parsed record.
pub(crate) fn check_line(bytes: &[u8], seq: u64, prev: &str) -> Result<(String, serde_json::Value), String> {
    let (actual, value, got_seq) = open_sealed(bytes)?;
    if got_seq != seq {
        return Err(format!(
            "seq is {got_seq} where {seq} was expected (lines were deleted, inserted or moved)"
        ));
    }
    let got_prev = value.get("prev").and_then(serde_json::Value::as_str).ok_or("the record has no prev")?;
    if got_prev != prev {
        return Err(
            "prev does not match the hash of the line before (lines were deleted, inserted or moved)".into(),
        );
    }
    if !value.get("event").and_then(|e| e.get("kind")).is_some_and(serde_json::Value::is_string) {
        return Err("the record has no event kind".into());
    }
    if !value.get("time").is_some_and(serde_json::Value::is_string) {
        return Err("the record has no time".into());
    }
    Ok((actual, value))
}
