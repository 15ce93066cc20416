//! A session's files (issue 15): into and out of its guest's `/tmp` between
//! runs, at the sizes that broke the peers, under hostile paths, and over
//! the space's cap.

use crate::python::ensure_fetched;
use std::io::Read;
use stockade::policy::MIB;
use stockade::{EntryKind, FileError, Language, Policy, Sandbox, SandboxError, Status};

/// `len` bytes of a pattern, produced as they are read (never held whole).
struct Pattern {
    left: u64,
    at: u64,
}

impl Read for Pattern {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let n = buffer.len().min(self.left as usize);
        for byte in &mut buffer[..n] {
            *byte = (self.at % 251) as u8;
            self.at += 1;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn pattern(len: u64) -> Pattern {
    Pattern { left: len, at: 0 }
}

fn sandbox(tmp_bytes: u64, audit: &std::path::Path) -> Sandbox {
    let toml = format!(
        "languages = [\"python\", \"sh\"]\n[files]\ntmp_bytes = {tmp_bytes}\n[audit]\npath = {:?}\n",
        audit.display()
    );
    Sandbox::new(Policy::from_toml_str(&toml).expect("policy")).expect("sandbox")
}

fn refused(result: Result<impl std::fmt::Debug, FileError>) -> String {
    match result {
        Err(FileError::Session(e)) => panic!("expected a file refusal, got the session's: {e}"),
        Err(why) => why.to_string(),
        Ok(done) => panic!("expected a refusal, got {done:?}"),
    }
}

#[test]
fn files_go_into_a_python_session_and_results_come_out() {
    ensure_fetched();
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let sandbox = sandbox(48 * MIB, &audit);
    let session = sandbox.session(Language::Python).expect("session");
    let files = session.files();
    for (name, len) in [("empty.bin", 0), ("17k.bin", 17 * 1024), ("16m.bin", 16 * MIB)] {
        let sent = files.write(name, pattern(len)).expect("write");
        assert_eq!(sent.bytes, len, "{name}");
        let mut back = Vec::new();
        let got = files.read(&format!("/tmp/{name}"), &mut back).expect("read");
        assert_eq!((got.bytes, &got.blake3), (len, &sent.blake3), "{name}");
        let mut expected = Vec::new();
        pattern(len).read_to_end(&mut expected).expect("pattern");
        assert!(back == expected, "{name} came back different");
        assert_eq!(sent.blake3, blake3::hash(&expected).to_hex().as_str(), "{name}");
    }
    // `b3sum < /dev/null`: the digest is BLAKE3's own, not a look-alike.
    let empty = files.stat("empty.bin").map(|_| files.read("empty.bin", std::io::sink()));
    assert_eq!(
        empty.expect("stat").expect("read").blake3,
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
    files.write("data/in.csv", &b"a,b\n1,2\n3,4\n"[..]).expect("write the csv");
    let run = session
        .run("import csv\nrows = list(csv.DictReader(open('/tmp/data/in.csv')))\nlen(rows)")
        .expect("run");
    assert_eq!(run.value, Some(2.into()), "{run:?}");
    session
        .run("open('/tmp/data/out.txt', 'w').write(str(sum(int(r['a']) + int(r['b']) for r in rows)))")
        .expect("run");
    let mut out = Vec::new();
    files.read("data/out.txt", &mut out).expect("read the result");
    assert_eq!(out, b"10");
    let listing = files.list("/tmp/data").expect("list");
    let names: Vec<(&str, EntryKind, u64)> =
        listing.iter().map(|e| (e.path.as_str(), e.kind, e.bytes)).collect();
    assert_eq!(names, [("/tmp/data/in.csv", EntryKind::File, 12), ("/tmp/data/out.txt", EntryKind::File, 2)]);
    assert_eq!(files.stat("/tmp/data").expect("stat").kind, EntryKind::Dir);
    files.remove("data/out.txt").expect("remove");
    assert!(refused(files.stat("data/out.txt")).contains("does not exist"));

    // Over the cap: a clear error, and nothing half-written left behind.
    let why = refused(files.write("big.bin", pattern(40 * MIB)));
    assert!(why.contains("files.tmp_bytes"), "{why}");
    let left: Vec<String> = files.list("").expect("list").into_iter().map(|e| e.path).collect();
    assert!(!left.iter().any(|p| p.contains("big.bin")), "{left:?}");
    assert!(refused(files.read("big.bin", std::io::sink())).contains("does not exist"));

    let log = std::fs::read_to_string(&audit).expect("audit");
    let records = log.lines().filter(|l| l.contains(r#""kind":"session_file""#)).count();
    assert!(records >= 9, "every transfer is recorded: {log}");
    assert!(log.contains(r#""path":"/tmp/16m.bin""#) && log.contains(r#""op":"remove""#), "{log}");
    let mut sixteen = Vec::new();
    pattern(16 * MIB).read_to_end(&mut sixteen).expect("pattern");
    let digest = format!(r#""blake3":"{}""#, blake3::hash(&sixteen).to_hex());
    assert!(log.lines().any(|l| l.contains("/tmp/16m.bin") && l.contains(&digest)), "{log}");
}

#[test]
fn hostile_paths_and_what_the_guest_left_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = sandbox(8 * MIB, &dir.path().join("audit.jsonl"));
    let session = sandbox.session(Language::Shell).expect("a shell session");
    let files = session.files();
    for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", "a\0b", "/tmp", "/tmpfoo/x"] {
        let why = refused(files.write(bad, &b"x"[..]));
        assert!(why.contains("is not a path in the session's files"), "{bad:?}: {why}");
    }
    // The jail refuses the guest symlinks of its own; it can leave a FIFO,
    // which a read would block on forever.
    let planted =
        session.run("ln -s /etc/passwd /tmp/passwd; mkfifo /tmp/fifo && echo planted").expect("run");
    assert_eq!(planted.stdout, "planted\n", "{planted:?}");
    assert!(planted.stderr.contains("Operation not permitted"), "{planted:?}");
    assert!(refused(files.read("fifo", std::io::sink())).contains("not a regular file"));
    assert!(refused(files.write("fifo", &b"x"[..])).contains("not a regular file"));
    let kinds: Vec<(String, EntryKind)> =
        files.list("/tmp").expect("list").into_iter().map(|e| (e.path, e.kind)).collect();
    assert_eq!(kinds, [("/tmp/fifo".to_string(), EntryKind::Other)]);

    // A file put in is the guest's to read; one it writes is the host's to take.
    files.write("in.txt", &b"from the host\n"[..]).expect("write");
    let run = session.run("cat /tmp/in.txt; echo from the guest > /tmp/out.txt").expect("run");
    assert_eq!(run.stdout, "from the host\n", "{run:?}");
    let mut out = Vec::new();
    files.read("out.txt", &mut out).expect("read");
    assert_eq!(out, b"from the guest\n");
    session.close();
    assert!(matches!(
        files.read("out.txt", std::io::sink()),
        Err(FileError::Session(SandboxError::SessionEnded(_)))
    ));
}

#[test]
fn a_webassembly_guest_can_plant_no_symlink_for_the_host_to_follow() {
    // The host's side refuses symlinks too (session_files.rs's unit tests
    // plant them); the guests cannot make one in the first place.
    ensure_fetched();
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = sandbox(8 * MIB, &dir.path().join("audit.jsonl"));
    let session = sandbox.session(Language::Python).expect("session");
    let made = session.run("import os\nos.symlink('../..', '/tmp/up')").expect("run");
    assert!(matches!(&made.status, Status::GuestError { kind, .. } if kind == "PermissionError"), "{made:?}");
    assert!(session.files().list("").expect("list").is_empty());
}

#[test]
fn a_session_without_a_space_says_what_gives_it_one() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let session = sandbox.session(Language::JavaScript).expect("session");
    let why = refused(session.files().write("x", &b"x"[..]));
    assert!(why.contains("files.tmp_bytes"), "{why}");
}
