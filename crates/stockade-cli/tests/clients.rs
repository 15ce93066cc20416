//! The programs an agent runs in the jail reach allowed hosts through the
//! egress proxy and nothing else: node's built-in `fetch` (which ignores
//! the proxy variables, so stockade routes it), `pip download` from a
//! package index, and `git clone` over HTTPS. Each origin is a local test
//! server; the policy's other hosts are refused.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use stockade_net::testing::{Origin, TestDns, TlsOrigin};

const REAL: &str = "sk-live-ThisIsTheRealKeyAndNeverTheGuests0042";

/// Runs `code` under `sh` in the jail with the policy at `policy`.
fn jailed(policy: &Path, code: &str) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["run", "--lang", "sh", "--policy"])
        .arg(policy)
        .args(["-c", code])
        .env("STOCKADE_TEST_REAL_KEY", REAL)
        .output()
        .expect("run stockade");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains(REAL) && !stderr.contains(REAL), "the real value reached the guest: {stdout}");
    (stdout.into_owned(), stderr.into_owned())
}

/// A resolver that knows `names`, all at 127.0.0.1.
fn resolver(names: &'static [&'static str]) -> TestDns {
    TestDns::start(move |name, _| match names.contains(&name) {
        true => vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        false => vec![],
    })
    .expect("dns")
}

#[test]
fn node_fetch_goes_through_the_proxy_for_https_and_http_and_nowhere_else() {
    let tls = TlsOrigin::start(&["api.test"]).expect("origin");
    let plain = Origin::start().expect("origin");
    let dns = resolver(&["api.test", "plain.test"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("origin-ca.pem");
    std::fs::write(&ca, &tls.ca_pem).expect("write");
    let audit = dir.path().join("audit.jsonl");
    let policy = dir.path().join("net.toml");
    let (tls_port, plain_port) = (tls.port, plain.port);
    std::fs::write(
        &policy,
        format!(
            "languages = [\"sh\"]\n[network]\n\
             allow = [\"api.test:{tls_port}\", \"plain.test:{plain_port}\", \"127.0.0.1/32:{tls_port}\", \"127.0.0.1/32:{plain_port}\"]\n\
             dns = [\"{dns}\"]\nupstream_ca = [{ca:?}]\n\
             [secrets.API_KEY]\nfrom_env = \"STOCKADE_TEST_REAL_KEY\"\nhosts = [\"api.test:{tls_port}\"]\n\
             [audit]\npath = {audit:?}\n",
            dns = dns.address,
        ),
    )
    .expect("write policy");
    let script = format!(
        r#"
const show = async (url, init) => {{
  try {{
    const answer = await fetch(url, init);
    console.log(answer.status, (await answer.text()).trim());
  }} catch (e) {{
    console.log('refused', url, String(e.cause ? e.cause.message : e.message).split('\n')[0]);
  }}
}};
await show('https://api.test:{tls_port}/from-node', {{ headers: {{ authorization: 'Bearer ' + process.env.API_KEY }} }});
await show('http://plain.test:{plain_port}/plain?x=1');
await show('https://denied.test:{tls_port}/');
await show('https://api.test:1/');
console.log('key', process.env.API_KEY);
"#
    );
    let code = format!("node --input-type=module <<'EOF'\n{script}\nEOF");
    let (stdout, stderr) = jailed(&policy, &code);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}\n{stderr}");
    let placeholder = lines[4].strip_prefix("key ").expect("the placeholder");
    assert_eq!(
        lines[0],
        format!(
            "200 origin saw GET /from-node HTTP/1.1 host=api.test:{tls_port} authorization=Bearer {placeholder}"
        ),
        "https through the proxy, the echo redacted"
    );
    assert_eq!(
        tls.seen()[0],
        format!("GET /from-node HTTP/1.1 host=api.test:{tls_port} authorization=Bearer {REAL}")
    );
    assert_eq!(lines[1], format!("200 origin saw GET /plain?x=1 HTTP/1.1 host=plain.test:{plain_port}"));
    assert!(
        lines[2].starts_with("refused https://denied.test") && lines[2].contains("not allowed"),
        "{stdout}"
    );
    assert!(lines[3].starts_with("refused https://api.test:1/"), "{stdout}");
    assert_eq!((tls.seen().len(), plain.seen().len()), (1, 1));
    let log = std::fs::read_to_string(&audit).expect("audit log");
    assert!(log.contains("API_KEY swapped in") && !log.contains(REAL), "{log}");
}

/// A package index with one wheel, and a git repository served over
/// "dumb" HTTP, in `root`.
fn publish(root: &Path) {
    let simple = root.join("simple/demo-pkg");
    std::fs::create_dir_all(&simple).expect("mkdir");
    let wheel = "demo_pkg-1.0-py3-none-any.whl";
    let made = Command::new("/usr/bin/python3")
        .args(["-c", MAKE_WHEEL, &root.join(wheel).to_string_lossy()])
        .status()
        .expect("python3");
    assert!(made.success());
    std::fs::write(
        simple.join("index.html"),
        format!("<!DOCTYPE html><html><body><a href=\"../../{wheel}\">{wheel}</a></body></html>"),
    )
    .expect("index");
    let work = root.join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    std::fs::write(work.join("README"), "cloned through stockade\n").expect("write");
    let git = |args: &[&str], dir: &Path| {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=test",
                "-c",
                "user.email=test@example.invalid",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"], &work);
    git(&["add", "README"], &work);
    git(&["commit", "-qm", "first"], &work);
    git(&["clone", "-q", "--bare", "work", "repo.git"], root);
    git(&["update-server-info"], &root.join("repo.git"));
}

/// Writes a minimal valid wheel to argv[1].
const MAKE_WHEEL: &str = r#"
import sys, zipfile
files = {
    "demo_pkg/__init__.py": "VALUE = 42\n",
    "demo_pkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n",
    "demo_pkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
files["demo_pkg-1.0.dist-info/RECORD"] = "".join(f"{name},,\n" for name in files) + "demo_pkg-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile(sys.argv[1], "w") as wheel:
    for name, text in files.items():
        wheel.writestr(name, text)
"#;

#[test]
fn pip_download_and_git_clone_over_https_reach_the_allowed_index_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("served");
    publish(&root);
    let origin = TlsOrigin::serving(&["index.test", "other.test"], Some(root)).expect("origin");
    let dns = resolver(&["index.test", "other.test"]);
    let ca = dir.path().join("origin-ca.pem");
    std::fs::write(&ca, &origin.ca_pem).expect("write");
    let port = origin.port;
    let policy = dir.path().join("net.toml");
    // Only GETs to the index: a rule the engine enforces inside the TLS it
    // terminates, which pip and git must then trust (PIP_CERT, GIT_SSL_CAINFO).
    std::fs::write(
        &policy,
        format!(
            "languages = [\"sh\"]\n[network]\n\
             allow = [{{ host = \"index.test:{port}\", methods = [\"GET\"] }}, \"127.0.0.1/32:{port}\"]\n\
             dns = [\"{dns}\"]\nupstream_ca = [{ca:?}]\n",
            dns = dns.address,
        ),
    )
    .expect("write policy");
    let code = format!(
        r#"export HOME=/tmp
pip() {{ python3 -m pip --disable-pip-version-check --no-cache-dir "$@"; }}
pip download -q --no-deps -d /tmp/wheels --index-url https://index.test:{port}/files/simple demo-pkg && ls /tmp/wheels
git clone -q https://index.test:{port}/files/repo.git /tmp/repo && cat /tmp/repo/README
pip download -q --no-deps -d /tmp/other --retries 0 --index-url https://other.test:{port}/files/simple demo-pkg >/dev/null 2>&1 || echo "pip: other.test refused"
git clone -q https://other.test:{port}/files/repo.git /tmp/other-repo >/dev/null 2>&1 || echo "git: other.test refused"
true"#
    );
    let (stdout, stderr) = jailed(&policy, &code);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "demo_pkg-1.0-py3-none-any.whl",
            "cloned through stockade",
            "pip: other.test refused",
            "git: other.test refused"
        ],
        "{stdout}\n{stderr}"
    );
    let seen = origin.seen();
    assert!(seen.iter().any(|s| s.starts_with("GET /files/simple/demo-pkg/ ")), "{seen:?}");
    assert!(seen.iter().any(|s| s.starts_with("GET /files/repo.git/info/refs")), "{seen:?}");
    assert!(
        seen.iter().all(|s| s.contains("host=index.test")),
        "only the allowed host was reached: {seen:?}"
    );
}
