//! A sandbox's workspace (issue 18): `/workspace` and `/tmp`, kept across
//! its runs and sessions and shared by every language, held to its size,
//! private to its sandbox, and no way out for what a guest leaves there.

use crate::python::ensure_fetched;
use serde_json::json;
use stockade::policy::MIB;
use stockade::{Language, Policy, Sandbox, SandboxError, Status};

fn sandbox(toml: &str) -> Sandbox {
    let policy = Policy::from_toml_str(toml).expect("policy");
    Sandbox::builder().policy(policy).workspace().build().expect("sandbox")
}

fn ok(sandbox: &Sandbox, language: Language, code: &str) -> stockade::Outcome {
    let outcome = sandbox.run(language, code).expect("host error");
    assert!(outcome.status.is_ok(), "{language} {code:?}: {:?} {}", outcome.status, outcome.stderr);
    outcome
}

#[test]
fn every_run_and_language_of_a_sandbox_shares_its_workspace() {
    ensure_fetched();
    let sandbox = sandbox("");
    ok(&sandbox, Language::Python, "import json\njson.dump({'n': 1}, open('/workspace/data.json', 'w'))");
    let read = ok(
        &sandbox,
        Language::JavaScript,
        "const data = JSON.parse(await fs.readFile('/workspace/data.json', 'utf8'));\n\
         await fs.writeFile('/tmp/from-js.txt', 'js');\n\
         data.n + 1",
    );
    assert_eq!(read.value, Some(json!(2)));
    // The shell changes what Python made (the host's own user made it; a
    // root host hands it to the jail's user first) and reads what JavaScript did.
    let shell = ok(
        &sandbox,
        Language::Shell,
        "cat /tmp/from-js.txt; echo; echo ' more' >> /workspace/data.json && mkdir -p /workspace/out && \
         echo sh > /workspace/out/sh.txt && ls /workspace",
    );
    assert_eq!(shell.stdout, "js\ndata.json\nout\n");
    let native = ok(&sandbox, Language::PythonNative, "print(open('/workspace/out/sh.txt').read().strip())");
    assert_eq!(native.stdout, "sh\n");
    // Sessions see the same files, and what they write stays after them.
    let session = sandbox.session(Language::JavaScript).expect("session");
    let seen = session.run("fs.readFileSync('/workspace/data.json', 'utf8')").expect("run");
    assert_eq!(seen.value, Some(json!("{\"n\": 1} more\n")));
    session.run("fs.writeFileSync('/workspace/session.txt', 'kept')").expect("run");
    drop(session);
    let shell = sandbox.session(Language::Shell).expect("a shell session");
    assert_eq!(shell.run("cat /workspace/session.txt").expect("run").stdout, "kept");
    // A clone is the same sandbox, with the same workspace.
    let clone = sandbox.clone();
    drop(sandbox);
    assert_eq!(ok(&clone, Language::Shell, "cat /workspace/out/sh.txt").stdout, "sh\n");
}

#[test]
fn a_workspace_is_its_sandboxs_alone_and_a_sandbox_without_one_has_none() {
    let first = sandbox("");
    let second = sandbox("");
    ok(&first, Language::Shell, "echo mine > /workspace/file; echo tmp > /tmp/file");
    let elsewhere = ok(&second, Language::Shell, "ls -A /workspace /tmp");
    assert_eq!(elsewhere.stdout, "/tmp:\n\n/workspace:\n");
    assert!(!std::path::Path::new("/tmp/file").exists() && !std::path::Path::new("/workspace").exists());
    let plain = Sandbox::new(Policy::default()).expect("sandbox");
    let none = plain.run(Language::JavaScript, "fs.existsSync('/workspace')").expect("run");
    assert_eq!(none.value, Some(json!(false)));
    let fresh = plain.run(Language::Shell, "ls -A /tmp; test -e /workspace || echo none").expect("run");
    assert_eq!(fresh.stdout, "none\n", "a run without a workspace has a fresh /tmp and no /workspace");
}

#[test]
fn a_workspace_holds_all_its_files_to_its_size() {
    let sandbox = sandbox(&format!("[files]\ntmp_bytes = {}", MIB));
    ok(&sandbox, Language::JavaScript, "fs.writeFileSync('/workspace/a', 'x'.repeat(600 * 1024))");
    // The second 600 KiB would fit in a fresh 1 MiB, not beside the first,
    // nor in /tmp, which is the same space.
    for target in ["/workspace/b", "/tmp/b"] {
        let full =
            sandbox.run(Language::Shell, &format!("head -c 614400 /dev/zero > {target}")).expect("run");
        assert_eq!(full.exit_code, 1, "{target}: {:?}", full.stdout);
        assert!(full.stderr.contains("No space left on device"), "{}", full.stderr);
    }
    let js =
        sandbox.run(Language::JavaScript, "fs.writeFileSync('/tmp/c', 'x'.repeat(600 * 1024))").expect("run");
    assert!(
        matches!(&js.status, Status::GuestError { message, .. } if message.contains("ENOSPC") || message.contains("space")),
        "{:?}",
        js.status
    );
}

#[test]
fn no_guest_can_leave_a_link_or_a_fifo_in_a_workspace() {
    ensure_fetched();
    let sandbox = sandbox("");
    // A link would steer another guest's (or a root host's hand-over's)
    // open; a FIFO would block a WebAssembly guest's open for ever.
    let planted = sandbox
        .run(
            Language::Shell,
            "echo x > /workspace/file; ln -s /etc /workspace/etc 2>/dev/null || echo no symlink; \
             ln /workspace/file /workspace/hard 2>/dev/null || echo no hard link; \
             mkfifo /workspace/fifo 2>/dev/null || echo no fifo; \
             python3 -c \"import os; os.mkfifo('/tmp/fifo')\" 2>/dev/null || echo no fifo in /tmp",
        )
        .expect("run");
    assert_eq!(planted.stdout, "no symlink\nno hard link\nno fifo\nno fifo in /tmp\n", "{}", planted.stderr);
    let python = ok(
        &sandbox,
        Language::Python,
        "import os\ntry:\n    os.symlink('/etc/passwd', '/workspace/passwd')\nexcept OSError as e:\n    \
         print(type(e).__name__)\nsorted(os.listdir('/workspace')) + sorted(os.listdir('/tmp'))",
    );
    assert_eq!(python.value, Some(json!(["file"])), "{}", python.stdout);
    assert_eq!(python.stdout, "PermissionError\n");
    let js = sandbox
        .run(Language::JavaScript, "try { fs.symlinkSync('/etc', '/tmp/etc'); 'made' } catch (e) { e.code }")
        .expect("run");
    assert_ne!(js.value, Some(json!("made")));
    assert_eq!(ok(&sandbox, Language::Shell, "ls -A /workspace /tmp").stdout, "/tmp:\n\n/workspace:\nfile\n");
}

#[test]
fn a_grant_inside_the_workspace_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for guest in ["/workspace", "/workspace/data", "/tmp/in"] {
        let toml = format!(
            "[[files.grants]]\nhost = {:?}\nguest = {guest:?}\nmode = \"ro\"\n",
            dir.path().display()
        );
        let policy = Policy::from_toml_str(&toml).expect("policy");
        let refused = Sandbox::builder().policy(policy).workspace().build().expect_err("refused");
        assert!(matches!(refused, SandboxError::Policy(_)), "{refused:?}");
        assert!(refused.to_string().contains("files.grants[0].guest"), "{refused}");
    }
}
