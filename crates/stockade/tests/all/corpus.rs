//! The compatibility corpus (issue 16): programs from CPython's and MDN's
//! documentation (`tests/corpus`, with their sources and licences), each
//! run in a fresh sandbox and natively (`python3`, `node`), their output
//! compared. Every difference must be listed, with its reason, in
//! `tests/corpus/differences.toml`, and every listed one must still differ,
//! so the list and the README's summary of it stay true.

use crate::python::ensure_fetched;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use stockade::{Language, Policy, Sandbox, Status};

/// What one program printed and whether it ended well.
#[derive(Debug, PartialEq)]
struct Ran {
    ok: bool,
    stdout: String,
}

/// The listed differences: program → why.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Differences {
    /// Programs the guest runs differently from the native runtime.
    #[serde(default)]
    guest: BTreeMap<String, String>,
    /// Programs for a newer runtime than this machine's (Python 3.11,
    /// node 20): the guest must run them; natively they may fail.
    #[serde(default)]
    native_older: BTreeMap<String, String>,
}

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

/// The corpus's programs, relative to its root (`python/re/search.py`).
fn programs(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("corpus folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, root, found);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("py" | "js")) {
                let relative = path.strip_prefix(root).expect("inside").to_string_lossy().replace('\\', "/");
                found.push(relative);
            }
        }
    }
    let mut found = Vec::new();
    for language in ["python", "js"] {
        walk(&root.join(language), root, &mut found);
    }
    found.sort();
    found
}

/// Node 20 has web crypto as a global already; the prelude keeps older
/// nodes comparable.
const NODE_PRELUDE: &str = "globalThis.crypto ??= (await import('node:crypto')).webcrypto;\n";

fn native(program: &str, code: &str) -> Ran {
    let out = if program.starts_with("python/") {
        Command::new("python3").args(["-X", "utf8", "-c", code]).output()
    } else {
        Command::new("node").args(["--input-type=module", "-e", &format!("{NODE_PRELUDE}{code}")]).output()
    }
    .expect("python3 and node run (scripts/deps.sh installs them)");
    Ran { ok: out.status.success(), stdout: String::from_utf8_lossy(&out.stdout).into_owned() }
}

fn guest(program: &str, code: &str) -> Ran {
    let language = if program.starts_with("python/") { Language::Python } else { Language::JavaScript };
    // A fresh sandbox per program, as a user's first run would be.
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let outcome = sandbox.run(language, code).expect("no host error");
    Ran { ok: outcome.status == Status::Ok, stdout: outcome.stdout }
}

#[test]
fn the_corpus_runs_in_the_guests_as_it_does_natively_but_for_the_listed_differences() {
    ensure_fetched();
    let root = corpus_root();
    let listed: Differences = toml::from_str(
        &std::fs::read_to_string(root.join("differences.toml")).expect("tests/corpus/differences.toml"),
    )
    .expect("differences.toml parses");
    let all = programs(&root);
    assert!(all.len() >= 200, "the corpus has {} programs", all.len());
    for name in listed.guest.keys().chain(listed.native_older.keys()) {
        assert!(all.contains(name), "differences.toml lists {name}, which is not in the corpus");
    }

    // Two at a time: the machine has two cores, and each program is short.
    let queue = std::sync::Mutex::new(all.iter());
    let results = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let Some(program) = queue.lock().expect("queue").next() else { return };
                    let code = std::fs::read_to_string(root.join(program)).expect("program");
                    let pair = (native(program, &code), guest(program, &code));
                    results.lock().expect("results").insert(program.clone(), pair);
                }
            });
        }
    });
    let results = results.into_inner().expect("results");

    let mut problems = Vec::new();
    let (mut same_output, mut newer_only) = (0, 0);
    for (program, (native, guest)) in &results {
        // Some examples end in an uncaught error on purpose: then both must.
        let same = native == guest;
        let newer = !same && listed.native_older.contains_key(program) && !native.ok && guest.ok;
        match (same || newer, listed.guest.contains_key(program)) {
            (true, false) if same => same_output += 1,
            (true, false) => newer_only += 1,
            (true, true) => {
                problems.push(format!("{program} is listed as a difference but now runs the same"))
            }
            (false, true) => {}
            (false, false) => problems.push(format!("{program}:\n  native {native:?}\n  guest  {guest:?}")),
        }
    }
    let total = results.len();
    eprintln!(
        "corpus: {same_output} of {total} programs give the same output as natively ({:.1} %); \
         {newer_only} more need a newer native runtime and run in the guest; {} listed guest differences",
        100.0 * same_output as f64 / total as f64,
        listed.guest.len()
    );
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}
