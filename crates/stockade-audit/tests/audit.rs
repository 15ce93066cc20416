//! The audit log from the outside: write, verify, tamper, crash, resume.

use std::fs;
use std::path::{Path, PathBuf};
use stockade_audit::{AuditError, AuditLog, Decision, Event, GENESIS, Report, verify};
use stockade_policy::Fsync;

fn event(i: u64) -> Event {
    Event::ToolCall {
        run: format!("run-{i}"),
        tool: "transfer_money".into(),
        decision: if i.is_multiple_of(2) { Decision::Allowed } else { Decision::Denied },
        rule: "allowed".into(),
        args_sha256: stockade_audit::sha256_hex(&i.to_le_bytes()),
        args: None,
    }
}

/// A log with a `log_opened` line and `n` events: `n + 1` lines.
fn written(n: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, Fsync::Batch).expect("open");
    for i in 0..n {
        assert_eq!(log.append(&event(i)).expect("append"), i + 1);
    }
    (dir, path)
}

fn check(path: &Path) -> Report {
    verify(fs::File::open(path).expect("open")).expect("read")
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path).expect("read").lines().map(str::to_string).collect()
}

fn rewrite(path: &Path, lines: &[String]) {
    fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("write");
}

#[test]
fn an_untouched_log_verifies() {
    let (_dir, path) = written(10);
    let report = check(&path);
    assert_eq!((report.records, report.broken, report.partial_tail_bytes), (11, None, 0));
    assert_ne!(report.last_hash, GENESIS);
    let empty = tempfile::NamedTempFile::new().expect("tmp");
    assert_eq!(check(empty.path()).records, 0);
}

#[test]
fn every_kind_of_tampering_is_found_at_its_line() {
    let (_dir, path) = written(6);
    let original = lines(&path);
    let edited = |i: usize, from: &str, to: &str| {
        let mut l = original.clone();
        assert!(l[i].contains(from), "{}", l[i]);
        l[i] = l[i].replacen(from, to, 1);
        l
    };
    let mut deleted = original.clone();
    deleted.remove(3);
    let mut inserted = original.clone();
    inserted.insert(2, original[5].clone());
    let mut swapped = original.clone();
    swapped.swap(2, 4);
    let mut renumbered = deleted.clone();
    for (i, l) in renumbered.iter_mut().enumerate() {
        // Fixing the sequence numbers without the hashes is an edit too.
        *l = l.replacen(&format!("\"seq\":{}", i + 1), &format!("\"seq\":{i}"), 1);
    }
    let cases = [
        ("an edited value", edited(3, "run-2", "run-9"), 4),
        ("an edited hash", edited(2, "\"hash\":\"", "\"hash\":\"0"), 3),
        ("a deleted line", deleted, 4),
        ("an inserted line", inserted, 3),
        ("swapped lines", swapped, 3),
        ("renumbered lines", renumbered, 4),
        ("a deleted first line", original[1..].to_vec(), 1),
    ];
    for (what, tampered, line) in cases {
        rewrite(&path, &tampered);
        let broken = check(&path).broken.unwrap_or_else(|| panic!("{what} was not found"));
        assert_eq!(broken.line, line, "{what}: {broken}");
    }
    let mut garbage = original.clone();
    garbage[1] = "\u{0}\u{ff} not a record".into();
    rewrite(&path, &garbage);
    assert_eq!(check(&path).broken.expect("garbage").line, 2);
}

#[test]
fn a_log_cut_mid_line_verifies_up_to_the_cut_and_resumes() {
    let (_dir, path) = written(5);
    let full = fs::read(&path).expect("read");
    fs::write(&path, &full[..full.len() - 20]).expect("cut");
    let report = check(&path);
    assert_eq!((report.records, report.broken.as_ref()), (5, None));
    let partial = report.partial_tail_bytes;
    assert!(partial > 0);

    // The next writer drops the partial line, says so, and continues the chain.
    let log = AuditLog::open(&path, Fsync::Always).expect("reopen");
    assert_eq!(log.next_seq(), 6);
    log.append(&event(99)).expect("append");
    drop(log);
    let report = check(&path);
    assert_eq!((report.records, report.broken, report.partial_tail_bytes), (7, None, 0));
    let opened: serde_json::Value = serde_json::from_str(&lines(&path)[5]).expect("json");
    assert_eq!(opened["event"]["kind"], "log_opened");
    assert_eq!(opened["event"]["dropped_bytes"].as_u64(), Some(partial));
}

#[test]
fn a_tampered_tail_is_not_continued() {
    let (_dir, path) = written(3);
    let mut l = lines(&path);
    let last = l.len() - 1;
    l[last] = l[last].replacen("run-2", "run-X", 1);
    rewrite(&path, &l);
    match AuditLog::open(&path, Fsync::Batch) {
        Err(AuditError::Corrupt { why, .. }) => assert!(why.contains("hash"), "{why}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// Issue 20, finding 6: a log held past the opener's lock timeout is a
/// clear error, after waiting that long; once released, it opens.
#[test]
fn one_writer_per_log() {
    let (_dir, path) = written(0);
    let first = AuditLog::open(&path, Fsync::Never).expect("first");
    let started = std::time::Instant::now();
    let wait = std::time::Duration::from_millis(300);
    match AuditLog::open_waiting(&path, Fsync::Never, None, wait) {
        Err(AuditError::Busy { waited, .. }) => assert_eq!(waited, wait),
        other => panic!("expected Busy, got {other:?}"),
    }
    assert!(started.elapsed() >= wait, "{:?}", started.elapsed());
    drop(first);
    AuditLog::open_waiting(&path, Fsync::Never, None, wait).expect("free again");
}

/// Issue 20, finding 6: a second writer waits for the first to close the
/// log, then continues the chain from where the first left it.
#[test]
fn a_second_writer_waits_for_the_lock_and_continues_the_chain() {
    let (_dir, path) = written(1);
    let first = AuditLog::open(&path, Fsync::Never).expect("first");
    let second = std::thread::spawn({
        let path = path.clone();
        move || {
            let wait = std::time::Duration::from_secs(20);
            let log = AuditLog::open_waiting(&path, Fsync::Never, None, wait).expect("second");
            log.append(&event(2)).expect("append")
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Written while the second waits: it must chain after these.
    first.append(&event(3)).expect("append");
    first.append(&event(4)).expect("append");
    drop(first);
    assert_eq!(second.join().expect("the second writer"), 6);
    let report = check(&path);
    assert_eq!((report.records, report.broken), (7, None));
}

#[test]
fn threads_share_one_chain() {
    let (_dir, path) = written(0);
    let log = AuditLog::open(&path, Fsync::Batch).expect("open");
    std::thread::scope(|s| {
        for t in 0..4 {
            let log = &log;
            s.spawn(move || {
                for i in 0..250 {
                    log.append(&event(t * 1000 + i)).expect("append");
                }
            });
        }
    });
    log.end_batch().expect("sync");
    drop(log);
    let report = check(&path);
    assert_eq!((report.records, report.broken), (2 + 1000, None));
}

#[test]
fn the_log_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = written(1);
    assert_eq!(fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
}

#[test]
fn signed_checkpoints_prove_the_chain_to_a_trusted_key() {
    use stockade_audit::{Signer, verify_with};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let signer = Signer::from_seed([42; 32]);
    let key = signer.public_key_hex();
    let log = AuditLog::open_signed(&path, Fsync::Batch, Some(signer)).expect("open");
    for i in 0..3 {
        log.append(&event(i)).expect("append");
    }
    log.end_batch().expect("checkpoint");
    log.end_batch().expect("nothing new: no second checkpoint");
    log.append(&event(3)).expect("append");
    drop(log); // closing signs the rest

    let report = verify_with(fs::File::open(&path).expect("open"), Some(&key)).expect("read");
    assert_eq!((report.records, report.checkpoints, report.broken), (7, 2, None));
    assert_eq!(report.signed_through, Some(5));

    // Another key is refused; so is a log rewritten whole with fresh hashes
    // by someone without the key (the old checkpoint no longer matches).
    let other = Signer::from_seed([1; 32]).public_key_hex();
    let report = verify_with(fs::File::open(&path).expect("open"), Some(&other)).expect("read");
    assert_eq!(report.broken.expect("wrong key").line, 5);

    let forged_path = dir.path().join("forged.jsonl");
    let forger = AuditLog::open(&forged_path, Fsync::Never).expect("forger");
    for line in lines(&path).iter().skip(1) {
        let record: serde_json::Value = serde_json::from_str(line).expect("json");
        let mut event: Event = serde_json::from_value(record["event"].clone()).expect("event");
        if let Event::ToolCall { decision, .. } = &mut event {
            *decision = Decision::Allowed;
        }
        forger.append(&event).expect("append");
    }
    drop(forger);
    let report = verify_with(fs::File::open(&forged_path).expect("open"), Some(&key)).expect("read");
    let broken = report.broken.expect("the forged checkpoint fails");
    assert!(broken.why.contains("checkpoint"), "{broken}");
}

/// Issue 20, finding 5: a file of garbage without a newline is not a log
/// cut short by a crash: it is broken, at its line.
#[test]
fn a_trailing_line_of_garbage_without_a_newline_is_broken() {
    let garbage = tempfile::NamedTempFile::new().expect("tmp");
    fs::write(garbage.path(), "this is not an audit log").expect("write");
    let report = check(garbage.path());
    let broken = report.broken.expect("garbage is broken");
    assert_eq!((broken.line, report.records, report.partial_tail_bytes), (1, 0, 0), "{broken}");

    // After intact records too; while a record cut anywhere, even inside
    // its first bytes, is still a crash's partial line.
    let (_dir, path) = written(2);
    let full = fs::read(&path).expect("read");
    fs::write(&path, [&full[..], b"{\"seq\":7,\"time\""].concat()).expect("append");
    assert_eq!(check(&path).broken.expect("the wrong record").line, 4);
    for cut in [b"{\"se".as_slice(), b"{\"seq\":3,\"time\":\"20"] {
        fs::write(&path, [&full[..], cut].concat()).expect("append");
        let report = check(&path);
        assert_eq!((report.broken, report.partial_tail_bytes), (None, cut.len() as u64));
    }
}

/// Issue 19, item 8: within one process, `shared` gives every opener of a
/// log (by any path to it) the one writer, refuses other settings, and
/// opens the log anew once the last user lets go.
#[test]
fn openers_in_one_process_share_one_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let other_path = dir.path().join(".").join("audit.jsonl");
    let first = AuditLog::shared(&path, Fsync::Batch, None).expect("open");
    let second = AuditLog::shared(&other_path, Fsync::Batch, None).expect("shared, not locked out");
    assert!(std::sync::Arc::ptr_eq(&first, &second));
    first.append(&event(1)).expect("append");
    second.append(&event(2)).expect("append");
    let refused = AuditLog::shared(&path, Fsync::Always, None).expect_err("another fsync");
    assert!(matches!(refused, AuditError::Conflict { .. }), "{refused}");
    let signer = stockade_audit::Signer::from_seed([3; 32]);
    let refused = AuditLog::shared(&path, Fsync::Batch, Some(signer)).expect_err("another signer");
    assert!(refused.to_string().contains("already open in this process"), "{refused}");
    drop((first, second));
    let again = AuditLog::shared(&path, Fsync::Always, None).expect("closed, so open anew");
    again.append(&event(3)).expect("append");
    drop(again);
    let report = check(&path);
    // Two log_opened records and three events, one chain.
    assert_eq!((report.records, report.broken.is_none()), (5, true), "{report:?}");
}
