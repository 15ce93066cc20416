//! Properties of the verifier for the fuzz target `audit_verify` and the
//! seeded tests.

use crate::verify::verify;

/// Whatever the bytes: verifying never panics nor fails to read (they are
/// in memory); it counts no more records than the bytes have lines; a
/// broken line is numbered just past the intact ones; and cutting
/// the log after any intact record leaves exactly the records before the
/// cut intact.
#[doc(hidden)]
pub fn verifier(bytes: &[u8]) {
    let report = verify(bytes).expect("reading memory cannot fail");
    // Complete lines, and a last one without its newline.
    let cut = u64::from(!bytes.is_empty() && !bytes.ends_with(b"\n"));
    let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + cut;
    assert!(report.records + u64::from(report.broken.is_some()) <= lines, "{report:?}");
    if let Some(broken) = &report.broken {
        assert_eq!(broken.line, report.records + 1);
        assert!(!broken.why.is_empty(), "a broken line says why");
    }
    assert!(report.signed_through.is_none_or(|seq| seq < report.records), "{report:?}");
    let ends: Vec<usize> =
        bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1).collect();
    for (kept, end) in ends.iter().take(report.records as usize).enumerate() {
        let prefix = verify(&bytes[..*end]).expect("reading memory cannot fail");
        assert_eq!((prefix.records, prefix.broken), (kept as u64 + 1, None), "cut after record {kept}");
    }
}

#[cfg(test)]
mod tests {
    use crate::{AuditLog, Event};
    use stockade_policy::Fsync;

    #[test]
    fn the_verifier_oracle_holds_for_a_real_log_and_its_mutations() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, Fsync::Never).expect("log");
        for i in 0..3 {
            log.append(&Event::LimitHit { run: format!("r{i}"), limit: "wall".into() }).expect("append");
        }
        drop(log);
        let seed = std::fs::read(&path).expect("log");
        super::verifier(&seed);
        super::verifier(b"");
        super::verifier(b"garbage with no newline");
        // Found by the fuzzer: a multi-byte character across where a seal
        // would start made the verifier panic.
        let mut across = vec![7u8; 3];
        across.extend_from_slice("\u{a07}".as_bytes());
        across.extend_from_slice(&[7; 60]);
        across.extend_from_slice(b",\"hash\":\"\x07\x07\x07\"}\n*");
        super::verifier(&across);
        super::verifier(
            &std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/verify-crash-1")).expect("seed"),
        );
        for at in (0..seed.len()).step_by(7) {
            for byte in [b'\n', b'0', b'"', b'}', 0xff] {
                let mut mutated = seed.clone();
                mutated[at] = byte;
                super::verifier(&mutated);
            }
            super::verifier(&seed[..at]);
        }
    }
}
