//! File grants: what a grant shows, and every way out of one refused, for
//! both guests. Each escape is checked twice: the guest gets an error, and
//! the host's files are unchanged afterwards.

use crate::python::ensure_fetched;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use stockade::policy::FileMode;
use stockade::{Language, Policy, Sandbox, Status};

/// A host tree: a secret beside two granted folders, with symlinks that
/// lead out of them planted by the host.
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write("secret.txt", "host secret");
        write("data/a.txt", "alpha");
        write("data/sub/b.txt", "beta");
        write("out/existing.txt", "keep");
        let link =
            |target: &str, at: &str| std::os::unix::fs::symlink(target, root.join(at)).expect("symlink");
        link("../secret.txt", "data/up");
        link(root.join("secret.txt").to_str().expect("utf-8"), "data/abs");
        link("a.txt", "data/inner");
        link("../secret.txt", "out/evil");
        Tree { _dir: dir, root }
    }

    fn policy(&self) -> Policy {
        Policy::builder()
            .grant_dir(self.path("data"), "/data", FileMode::Ro)
            .grant_dir(self.path("out"), "/out", FileMode::Rw)
            .build()
            .expect("policy")
    }

    fn path(&self, inside: &str) -> String {
        if inside.is_empty() {
            return self.root.to_string_lossy().into_owned();
        }
        self.root.join(inside).to_string_lossy().into_owned()
    }

    /// Every entry under the root: its kind and content (or link target).
    fn snapshot(&self) -> BTreeMap<String, String> {
        fn walk(dir: &Path, root: &Path, into: &mut BTreeMap<String, String>) {
            for entry in std::fs::read_dir(dir).expect("read_dir") {
                let path = entry.expect("entry").path();
                let name = path.strip_prefix(root).expect("inside").to_string_lossy().into_owned();
                let meta = std::fs::symlink_metadata(&path).expect("lstat");
                if meta.file_type().is_symlink() {
                    into.insert(
                        name,
                        format!("link {}", std::fs::read_link(&path).expect("readlink").display()),
                    );
                } else if meta.is_dir() {
                    into.insert(name, "dir".into());
                    walk(&path, root, into);
                } else {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    into.insert(
                        name,
                        format!("file {text} nlink={}", std::os::unix::fs::MetadataExt::nlink(&meta)),
                    );
                }
            }
        }
        let mut entries = BTreeMap::new();
        walk(&self.root, &self.root, &mut entries);
        entries
    }
}

/// The escape attempts, by name: each must fail inside the guest.
const ESCAPES: [&str; 19] = [
    "dotdot",
    "dotdot_deep",
    "symlink_up",
    "symlink_abs",
    "rw_symlink_read",
    "rw_symlink_write",
    "host_path",
    "etc_passwd",
    "write_ro",
    "append_ro",
    "create_ro",
    "mkdir_ro",
    "unlink_ro",
    "rename_ro_to_rw",
    "hardlink_ro_to_rw",
    "hardlink_from_outside",
    "symlink_create_abs",
    "symlink_create_rel",
    "utime_ro",
];

const PYTHON_ATTEMPTS: &str = r#"
import os
def attempt(f):
    try:
        return 'ok:%s' % (f(),)
    except OSError as e:
        return 'err:%s' % type(e).__name__
def write(path, mode, text='x'):
    with open(path, mode) as f:
        return f.write(text)
{
    'read': attempt(lambda: open('/data/a.txt').read()),
    'read_sub': attempt(lambda: open('/data/sub/b.txt').read()),
    'inner_link': attempt(lambda: open('/data/inner').read()),
    'list': attempt(lambda: sorted(os.listdir('/data'))),
    'dotdot': attempt(lambda: open('/data/../secret.txt').read()),
    'dotdot_deep': attempt(lambda: open('/data/sub/../../secret.txt').read()),
    'symlink_up': attempt(lambda: open('/data/up').read()),
    'symlink_abs': attempt(lambda: open('/data/abs').read()),
    'rw_symlink_read': attempt(lambda: open('/out/evil').read()),
    'rw_symlink_write': attempt(lambda: write('/out/evil', 'w')),
    'host_path': attempt(lambda: open(HOST_SECRET).read()),
    'etc_passwd': attempt(lambda: open('/etc/passwd').read()),
    'write_ro': attempt(lambda: write('/data/a.txt', 'w')),
    'append_ro': attempt(lambda: write('/data/a.txt', 'a')),
    'create_ro': attempt(lambda: write('/data/new.txt', 'w')),
    'mkdir_ro': attempt(lambda: os.mkdir('/data/d')),
    'unlink_ro': attempt(lambda: os.remove('/data/a.txt')),
    'rename_ro_to_rw': attempt(lambda: os.rename('/data/a.txt', '/out/a.txt')),
    'hardlink_ro_to_rw': attempt(lambda: os.link('/data/a.txt', '/out/hard.txt')),
    'hardlink_from_outside': attempt(lambda: os.link('/out/../secret.txt', '/out/hard2.txt')),
    'symlink_create_abs': attempt(lambda: os.symlink('/etc/passwd', '/out/link')),
    'symlink_create_rel': attempt(lambda: os.symlink('../secret.txt', '/out/link2')),
    'utime_ro': attempt(lambda: os.utime('/data/a.txt', (0, 0))),
    'write_rw': attempt(lambda: write('/out/result.txt', 'w', 'written')),
    'mkdir_rw': attempt(lambda: os.makedirs('/out/made/deep')),
}
"#;

const JS_ATTEMPTS: &str = r#"
const attempt = (f) => { try { const v = f(); return `ok:${Array.isArray(v) ? JSON.stringify(v) : v}` } catch (e) { return `err:${e.code || e.name}` } };
({
    read: attempt(() => fs.readFileSync('/data/a.txt', 'utf8')),
    read_sub: attempt(() => fs.readFileSync('/data/sub/b.txt')),
    inner_link: attempt(() => fs.readFileSync('/data/inner')),
    list: attempt(() => fs.readdirSync('/data')),
    dotdot: attempt(() => fs.readFileSync('/data/../secret.txt')),
    dotdot_deep: attempt(() => fs.readFileSync('/data/sub/../../secret.txt')),
    symlink_up: attempt(() => fs.readFileSync('/data/up')),
    symlink_abs: attempt(() => fs.readFileSync('/data/abs')),
    rw_symlink_read: attempt(() => fs.readFileSync('/out/evil')),
    rw_symlink_write: attempt(() => fs.writeFileSync('/out/evil', 'x')),
    host_path: attempt(() => fs.readFileSync(HOST_SECRET)),
    etc_passwd: attempt(() => fs.readFileSync('/etc/passwd')),
    write_ro: attempt(() => fs.writeFileSync('/data/a.txt', 'x')),
    append_ro: attempt(() => fs.appendFileSync('/data/a.txt', 'x')),
    create_ro: attempt(() => fs.writeFileSync('/data/new.txt', 'x')),
    mkdir_ro: attempt(() => fs.mkdirSync('/data/d')),
    unlink_ro: attempt(() => fs.unlinkSync('/data/a.txt')),
    rename_ro_to_rw: attempt(() => fs.renameSync('/data/a.txt', '/out/a.txt')),
    hardlink_ro_to_rw: attempt(() => fs.linkSync('/data/a.txt', '/out/hard.txt')),
    hardlink_from_outside: attempt(() => fs.linkSync('/out/../secret.txt', '/out/hard2.txt')),
    symlink_create_abs: 'err:no symlink API',
    symlink_create_rel: 'err:no symlink API',
    utime_ro: 'err:no utime API',
    write_rw: attempt(() => fs.writeFileSync('/out/result.txt', 'written')),
    mkdir_rw: attempt(() => fs.mkdirSync('/out/made/deep', { recursive: true })),
})
"#;

fn check(language: Language) {
    let tree = Tree::new();
    let before = tree.snapshot();
    let sandbox = Sandbox::new(tree.policy()).expect("sandbox");
    let (code, secret) = match language {
        Language::Python => (PYTHON_ATTEMPTS, format!("{:?}", tree.path("secret.txt"))),
        _ => (JS_ATTEMPTS, serde_json::to_string(&tree.path("secret.txt")).expect("json")),
    };
    let outcome = sandbox.run(language, &code.replace("HOST_SECRET", &secret)).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{language}: {outcome:?}");
    let results = outcome.value.expect("a value");
    let result = |name: &str| results[name].as_str().unwrap_or_default().to_string();
    assert_eq!(result("read"), "ok:alpha", "{language}: {results}");
    assert_eq!(result("read_sub"), "ok:beta");
    assert_eq!(result("inner_link"), "ok:alpha", "a symlink inside the grant works");
    let listing = match language {
        Language::Python => "ok:['a.txt', 'abs', 'inner', 'sub', 'up']",
        _ => r#"ok:["a.txt","abs","inner","sub","up"]"#,
    };
    assert_eq!(result("list"), listing);
    for name in ESCAPES {
        let got = result(name);
        // A refusal is an OS error (Python's OSError, an errno code in JS),
        // never a crash of the attempt itself.
        let refused = got.starts_with("err:E") || got.ends_with("Error") || got.starts_with("err:no ");
        assert!(refused, "{language}: {name} got through: {got}");
    }
    let written = if language == Language::Python { "ok:7" } else { "ok:undefined" };
    assert_eq!(result("write_rw"), written, "{language}: {results}");

    let mut after = tree.snapshot();
    assert_eq!(after.remove("out/result.txt").as_deref(), Some("file written nlink=1"));
    assert_eq!(after.remove("out/made").as_deref(), Some("dir"));
    assert_eq!(after.remove("out/made/deep").as_deref(), Some("dir"));
    assert_eq!(after, before, "{language}: the host tree changed: {results}");
}

#[test]
fn python_grants_show_what_they_grant_and_nothing_escapes() {
    ensure_fetched();
    check(Language::Python);
}

#[test]
fn javascript_grants_show_what_they_grant_and_nothing_escapes() {
    check(Language::JavaScript);
}

#[test]
fn grants_persist_in_a_session_and_errors_are_typed() {
    let tree = Tree::new();
    let sandbox = Sandbox::new(tree.policy()).expect("sandbox");
    let session = sandbox.session(Language::JavaScript).expect("session");
    session.run("fs.writeFileSync('/out/n.txt', '1')").expect("run");
    let outcome = session
        .run("fs.appendFileSync('/out/n.txt', '2'); [fs.readFileSync('/out/n.txt'), fs.existsSync('/out/none'), fs.statSync('/out/n.txt').size]")
        .expect("run");
    assert_eq!(outcome.value, Some(json!(["12", false, 2])));
    let error = session.run("try { fs.readFileSync('/out/none') } catch (e) { [e.name, e.code, e.message] }");
    let value: Value = error.expect("run").value.expect("value");
    assert_eq!((value[0].as_str(), value[1].as_str()), (Some("Error"), Some("ENOENT")), "{value}");
    assert!(value[2].as_str().unwrap_or_default().contains("/out/none"), "{value}");
    assert_eq!(std::fs::read_to_string(tree.root.join("out/n.txt")).expect("host file"), "12");
}

#[test]
fn without_a_grant_no_file_is_visible() {
    let outcome = crate::js("[fs.existsSync('/'), fs.existsSync('/etc/passwd'), fs.existsSync('/tmp')]");
    assert_eq!(outcome.value, Some(json!([false, false, false])), "{outcome:?}");
}

#[test]
fn bad_grants_are_refused_with_the_key() {
    let missing =
        Policy::builder().grant_dir("/no/such/folder", "/data", FileMode::Ro).build().expect("policy");
    let error = Sandbox::new(missing).expect_err("a missing folder");
    assert!(error.to_string().contains("files.grants[0].host"), "{error}");
    let file = tempfile::NamedTempFile::new().expect("file");
    let not_dir = Policy::builder().grant_dir(file.path().to_string_lossy(), "/data", FileMode::Ro).build();
    assert!(Sandbox::new(not_dir.expect("policy")).is_err());
    for guest in ["data", "/", "/a/../b", "/data/"] {
        assert!(Policy::builder().grant_dir("/tmp", guest, FileMode::Ro).build().is_err(), "{guest}");
    }
    // CPython's own library cannot be replaced.
    ensure_fetched();
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = Policy::builder().grant_dir(dir.path().to_string_lossy(), "/usr/local/lib", FileMode::Ro);
    let sandbox = Sandbox::new(policy.build().expect("policy")).expect("sandbox");
    let error = sandbox.run(Language::Python, "1").expect_err("a reserved path");
    assert!(error.to_string().contains("files.grants[0].guest"), "{error}");
}

#[test]
fn the_audit_log_records_the_grants_of_each_run() {
    let tree = Tree::new();
    let log = tree.root.join("audit.jsonl");
    let mut policy = tree.policy();
    policy.audit.path = Some(log.to_string_lossy().into_owned());
    Sandbox::new(policy).expect("sandbox").run(Language::JavaScript, "1").expect("run");
    let text = std::fs::read_to_string(&log).expect("log");
    let grants: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .filter(|e| e["event"]["kind"] == "grant_used")
        .collect();
    assert_eq!(grants.len(), 2, "{text}");
    assert_eq!(grants[0]["event"]["grant"], "files.grants[0]");
    assert!(grants[1]["event"]["detail"].as_str().unwrap_or_default().ends_with("read-write at /out"));
}

#[test]
fn the_scratch_tmp_is_capped_and_private_to_each_run() {
    ensure_fetched();
    let policy = Policy::builder().scratch_tmp(1 << 20).build().expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    let code = r#"
import os, errno, tempfile
with open('/tmp/a.txt', 'w') as f:
    f.write('x' * 1000)
fd, path = tempfile.mkstemp()
os.close(fd)
try:
    with open('/tmp/big', 'wb') as f:
        f.write(b'x' * (2 << 20))
    big = 'written'
except OSError as e:
    big = errno.errorcode.get(e.errno)
['a.txt' in os.listdir('/tmp'), path.startswith('/tmp/'), big]
"#;
    let outcome = sandbox.run(Language::Python, code).expect("run");
    assert_eq!(outcome.value, Some(json!([true, true, "ENOSPC"])), "{outcome:?}");
    // A fresh run gets a fresh, empty /tmp.
    let next = sandbox.run(Language::Python, "import os; os.listdir('/tmp')").expect("run");
    assert_eq!(next.value, Some(json!([])), "{next:?}");
    // JavaScript has the same /tmp; a session keeps it between runs.
    let session = sandbox.session(Language::JavaScript).expect("session");
    session.run("fs.writeFileSync('/tmp/kept', 'yes')").expect("run");
    let outcome = session
        .run("let code; try { fs.writeFileSync('/tmp/big', 'x'.repeat(2 << 20)) } catch (e) { code = e.code } [fs.readFileSync('/tmp/kept'), code]")
        .expect("run");
    assert_eq!(outcome.value, Some(json!(["yes", "ENOSPC"])), "{outcome:?}");
    // A grant cannot take /tmp from the scratch folder.
    let clash = Policy::builder().scratch_tmp(1 << 20).grant_dir("/", "/tmp/x", FileMode::Ro).build();
    assert!(clash.is_err());
}

#[test]
fn grants_that_would_hand_out_more_than_they_say_are_refused() {
    let tree = Tree::new();
    let refused = |policy: stockade::policy::PolicyBuilder, why: &str| {
        let error = Sandbox::new(policy.build().expect("valid policy")).expect_err(why);
        assert!(error.to_string().contains("files.grants["), "{why}: {error}");
        error.to_string()
    };
    // A read-only folder inside (or equal to) a read-write one could be
    // written through it (`/w/./data/a.txt` goes to the read-write preopen).
    let nested = Policy::builder().grant_dir(tree.path(""), "/w", FileMode::Rw).grant_dir(
        tree.path("data"),
        "/r",
        FileMode::Ro,
    );
    assert!(refused(nested, "ro inside rw").contains("read-write"));
    let same = Policy::builder().grant_dir(tree.path("out"), "/w", FileMode::Rw).grant_dir(
        tree.path("out"),
        "/r",
        FileMode::Ro,
    );
    refused(same, "the same folder twice");
    // The other way round grants nothing more: writes go where they were granted.
    let outer_ro = Policy::builder().grant_dir(tree.path(""), "/all", FileMode::Ro).grant_dir(
        tree.path("out"),
        "/out",
        FileMode::Rw,
    );
    Sandbox::new(outer_ro.build().expect("policy")).expect("a read-write folder inside a read-only one");
    // stockade's own files: the module cache (and anything holding it), the audit log.
    let cache = stockade::diagnostics::cache_dir().expect("cache dir");
    let over_cache = Policy::builder().grant_dir(cache.to_string_lossy(), "/c", FileMode::Ro);
    assert!(refused(over_cache, "the cache").contains("module cache"));
    let above = cache.parent().expect("parent").to_string_lossy().into_owned();
    refused(Policy::builder().grant_dir(above, "/c", FileMode::Rw), "a folder holding the cache");
    let log = tree.root.join("out/audit.jsonl").to_string_lossy().into_owned();
    let over_log = Policy::builder()
        .grant_dir(tree.path("out"), "/out", FileMode::Rw)
        .audit(log, stockade::policy::Fsync::Batch);
    assert!(refused(over_log, "the audit log").contains("audit log"));
    // Grants are resolved once, to the real folder.
    std::os::unix::fs::symlink(tree.root.join("data"), tree.root.join("alias")).expect("symlink");
    let sandbox = Sandbox::new(
        Policy::builder().grant_dir(tree.path("alias"), "/d", FileMode::Ro).build().expect("policy"),
    );
    assert_eq!(sandbox.expect("sandbox").policy().files.grants[0].host, tree.path("data"));
}

/// A bind mount for the length of a test, undone when dropped.
struct BindMount(PathBuf);

impl BindMount {
    fn new(from: &Path, to: &Path) -> BindMount {
        std::fs::create_dir_all(to).expect("mount point");
        let status = std::process::Command::new("mount").arg("--bind").arg(from).arg(to).status();
        assert!(status.is_ok_and(|s| s.success()), "mount --bind {} {}", from.display(), to.display());
        BindMount(to.to_path_buf())
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn an_alias_of_the_audit_log_or_key_folder_cannot_be_granted() {
    // /proc/self belongs to the process's effective user.
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").expect("/proc/self")) != 0 {
        eprintln!("skipped: bind mounts need root (CI runs this as root)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    let logs = root.join("logs");
    let keys = root.join("keys");
    let elsewhere = root.join("elsewhere");
    for folder in [&logs, &keys, &elsewhere] {
        std::fs::create_dir_all(folder).expect("folders");
    }
    let log = logs.join("audit.jsonl");
    let key = keys.join("audit.key");
    std::fs::write(&key, "07".repeat(32)).expect("key");
    let policy = |grant: &Path| {
        let mut policy = Policy::builder()
            .grant_dir(grant.to_string_lossy(), "/data", FileMode::Rw)
            .audit(log.to_string_lossy(), stockade::policy::Fsync::Never)
            .build()
            .expect("policy");
        policy.audit.signing_key = Some(key.to_string_lossy().into_owned());
        policy
    };
    let refused = |grant: &Path, why: &str| {
        let error = Sandbox::new(policy(grant)).expect_err(why).to_string();
        assert!(error.contains("files.grants[0]") && error.contains("never reach"), "{why}: {error}");
    };
    // The folder of the log under another name: a bind mount of it, and a
    // bind mount of its parent (the log sits deeper in the alias).
    let log_alias = BindMount::new(&logs, &root.join("alias-of-logs"));
    refused(&log_alias.0, "an alias of the log's folder");
    let root_alias = BindMount::new(&root, &root.join("alias-of-root"));
    refused(&root_alias.0.join("logs"), "the log's folder through an alias of an ancestor");
    drop(root_alias);
    let key_alias = BindMount::new(&keys, &root.join("alias-of-keys"));
    refused(&key_alias.0, "an alias of the key's folder");
    // The module cache the same way, and a folder inside it, whose alias
    // walks up to nothing of the cache's.
    let cache = stockade::diagnostics::cache_dir().expect("cache dir");
    std::fs::create_dir_all(cache.join("inner")).expect("cache dir");
    let refused_as_cache = |alias: &Path, why: &str| {
        let over_cache = Policy::builder().grant_dir(alias.to_string_lossy(), "/c", FileMode::Ro);
        let error = Sandbox::new(over_cache.build().expect("policy")).expect_err(why).to_string();
        assert!(error.contains("module cache"), "{why}: {error}");
    };
    let cache_alias = BindMount::new(&cache, &root.join("alias-of-cache"));
    refused_as_cache(&cache_alias.0, "an alias of the cache");
    let inner_alias = BindMount::new(&cache.join("inner"), &root.join("alias-of-inner"));
    refused_as_cache(&inner_alias.0, "an alias of a folder inside the cache");
    drop(inner_alias);
    let _ = std::fs::remove_dir(cache.join("inner"));
    // A second hard link to the log is another name for it.
    std::fs::write(&log, b"").expect("log");
    std::fs::hard_link(&log, elsewhere.join("copy.jsonl")).expect("hard link");
    let error = Sandbox::new(policy(&elsewhere)).expect_err("a hard link").to_string();
    assert!(error.contains("hard links"), "{error}");
    std::fs::remove_file(elsewhere.join("copy.jsonl")).expect("unlink");
    // An alias of an unrelated folder is granted as before.
    let other = BindMount::new(&elsewhere, &root.join("alias-of-elsewhere"));
    Sandbox::new(policy(&other.0)).expect("an alias of a folder that holds nothing of stockade's");
}

#[test]
fn a_rename_across_the_scratch_tmp_and_a_grant_is_exdev() {
    // wasmtime-wasi maps the kernel's EXDEV to EIO; shutil.move, which
    // copies on EXDEV, then failed outright.
    ensure_fetched();
    let tree = Tree::new();
    let policy = Policy::builder()
        .scratch_tmp(1 << 20)
        .grant_dir(tree.path("out"), "/out", FileMode::Rw)
        .build()
        .expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    let code = r#"
import errno, os, shutil
open('/tmp/a.txt', 'w').write('moved')
try:
    os.rename('/tmp/a.txt', '/out/a.txt')
    renamed = 'renamed'
except OSError as e:
    renamed = errno.errorcode.get(e.errno, e.errno)
shutil.move('/tmp/a.txt', '/out/a.txt')
os.rename('/out/a.txt', '/out/b.txt')
[renamed, os.path.exists('/tmp/a.txt'), open('/out/b.txt').read()]
"#;
    let outcome = sandbox.run(Language::Python, code).expect("run");
    assert_eq!(outcome.value, Some(json!(["EXDEV", false, "moved"])), "{outcome:?}");
    assert_eq!(std::fs::read_to_string(tree.root.join("out/b.txt")).expect("moved file"), "moved");
    let js = r#"
fs.writeFileSync('/tmp/c.txt', 'c');
let code = 'renamed';
try { fs.renameSync('/tmp/c.txt', '/out/c.txt'); } catch (e) { code = e.code; }
code
"#;
    let outcome = sandbox.run(Language::JavaScript, js).expect("run");
    assert_eq!(outcome.value, Some(json!("EXDEV")), "{outcome:?}");
}

#[test]
fn chmod_on_a_read_only_grant_fails() {
    // WASI has no chmod: CPython's os.chmod did nothing and returned, on a
    // read-only grant and on a path that does not exist alike.
    ensure_fetched();
    let tree = Tree::new();
    let policy = Policy::builder()
        .scratch_tmp(1 << 20)
        .grant_dir(tree.path("data"), "/data", FileMode::Ro)
        .grant_dir(tree.path("out"), "/out", FileMode::Rw)
        .build()
        .expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    let code = r#"
import errno, os, pathlib
open('/out/w.txt', 'w').write('w')
open('/tmp/t.txt', 'w').write('t')
def chmod(path, **kw):
    try:
        os.chmod(path, 0o600, **kw)
        return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, e.errno)
[chmod('/data/a.txt'), chmod(pathlib.Path('/data/sub/../a.txt')), chmod(b'/data/a.txt'), chmod('/data'),
 chmod('/out/w.txt'), chmod('/tmp/t.txt'), chmod('/data/missing'), chmod('/out/missing')]
"#;
    let outcome = sandbox.run(Language::Python, code).expect("run");
    assert_eq!(
        outcome.value,
        Some(json!(["EROFS", "EROFS", "EROFS", "EROFS", "ok", "ok", "ENOENT", "ENOENT"])),
        "{outcome:?}"
    );
}

/// Amla's promise-based `fs` (`await fs.writeFile(...)`) and Node's
/// callback form, next to the synchronous names, on the scratch `/tmp`.
#[test]
fn javascript_fs_has_promise_and_callback_forms_with_nodes_codes() {
    let policy = Policy::builder().scratch_tmp(1 << 20).build().expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    let code = r#"
await fs.mkdir('/tmp/work/deep', { recursive: true });
await fs.writeFile('/tmp/work/data.json', JSON.stringify({ n: 1 }));
await fs.appendFile('/tmp/work/log.txt', 'a');
const read = JSON.parse(await fs.readFile('/tmp/work/data.json', 'utf8'));
const listed = (await fs.readdir('/tmp/work')).sort();
const size = (await fs.stat('/tmp/work/data.json')).size;
const there = [await fs.exists('/tmp/work/log.txt'), await fs.exists('/tmp/nothing')];
const missing = await fs.readFile('/tmp/nothing').then(() => 'read', (e) => e.code);
const byCallback = await new Promise((done) => fs.readFile('/tmp/nothing', (error, data) => done([error.code, data])));
const found = await new Promise((done) => fs.exists('/tmp/work', done));
const folder = await fs.rm('/tmp/work').then(() => 'removed', (e) => e.code);
await fs.rm('/tmp/work', { recursive: true });
await fs.rm('/tmp/work', { force: true });
[read.n, listed, size, there, missing, byCallback, found, folder, fs.existsSync('/tmp/work')]
"#;
    let outcome = sandbox.run(Language::JavaScript, code).expect("run");
    assert_eq!(
        outcome.value,
        Some(json!([
            1,
            ["data.json", "deep", "log.txt"],
            7,
            [true, false],
            "ENOENT",
            ["ENOENT", null],
            true,
            "ERR_FS_EISDIR",
            false
        ])),
        "{outcome:?}"
    );
}
