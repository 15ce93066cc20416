//! Issue 17's own check, through the real CLI: a jailed `curl` over HTTPS
//! to a local TLS server, with a secret swapped in for that host alone, and
//! the same policy's other hosts, ports and addresses refused; then the
//! same policy for JavaScript's `fetch` and Python's `urllib`, whose
//! requests the host makes.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use stockade_net::testing::{TestDns, TlsOrigin};

const REAL: &str = "sk-live-ThisIsTheRealKeyAndNeverTheGuests0042";

#[test]
fn jailed_curl_over_https_gets_the_secret_for_its_host_only() {
    let origin = TlsOrigin::start(&["allowed.test", "other.test"]).expect("origin");
    let port = origin.port;
    let dns = TestDns::start(|name, _| match name {
        "allowed.test" | "other.test" => vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        "metadata.test" => vec!["169.254.169.254".parse().expect("ip")],
        _ => vec![],
    })
    .expect("dns");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("origin-ca.pem");
    std::fs::write(&ca, &origin.ca_pem).expect("write");
    let audit = dir.path().join("audit.jsonl");
    let policy = dir.path().join("net.toml");
    std::fs::write(
        &policy,
        format!(
            "languages = [\"sh\"]\n\
             [env]\nORIGIN_CA = {origin_ca:?}\n\
             [network]\n\
             allow = [\"allowed.test:{port}\", \"other.test:{port}\", \"metadata.test:{port}\", \"127.0.0.1/32:{port}\"]\n\
             dns = [\"{dns}\"]\nupstream_ca = [{ca:?}]\n\
             [secrets.API_KEY]\nfrom_env = \"STOCKADE_TEST_REAL_KEY\"\nhosts = [\"allowed.test:{port}\"]\n\
             [audit]\npath = {audit:?}\n",
            origin_ca = origin.ca_pem,
            dns = dns.address,
        ),
    )
    .expect("write policy");
    let code = format!(
        r#"echo "key=$API_KEY"
curl -sS -H "Authorization: Bearer $API_KEY" https://allowed.test:{port}/from-curl; echo
printf '%s' "$ORIGIN_CA" > /tmp/origin.pem
curl -sS --cacert /tmp/origin.pem -H "Authorization: Bearer $API_KEY" https://other.test:{port}/untouched; echo
for url in https://denied.test:{port}/ https://allowed.test:1/ https://metadata.test:{port}/; do
  curl -sS -o /dev/null -w "%{{http_code}} $url\n" "$url" 2>&1 | tail -n 1
done
tr '\0' '\n' < /proc/self/environ | grep -c "{REAL}"
true"#
    );
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["run", "--lang", "sh", "--policy"])
        .arg(&policy)
        .args(["-c", &code])
        .env("STOCKADE_TEST_REAL_KEY", REAL)
        .output()
        .expect("run stockade");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let placeholder = lines[0].strip_prefix("key=").expect("the placeholder");
    assert!(placeholder.starts_with("sk-live-") && placeholder.len() == REAL.len(), "{stdout}");
    assert!(
        !stdout.contains(REAL) && !stderr.contains(REAL),
        "the real value reached the guest:\n{stdout}\n{stderr}"
    );

    // Its host got the real value; the guest saw only the placeholder in the echo.
    let seen = origin.seen();
    assert_eq!(
        seen[0],
        format!("GET /from-curl HTTP/1.1 host=allowed.test:{port} authorization=Bearer {REAL}")
    );
    assert_eq!(
        lines[1],
        format!(
            "origin saw GET /from-curl HTTP/1.1 host=allowed.test:{port} authorization=Bearer {placeholder}"
        )
    );
    // Another allowed host: tunnelled as it is, the placeholder unchanged.
    assert_eq!(
        seen[1],
        format!("GET /untouched HTTP/1.1 host=other.test:{port} authorization=Bearer {placeholder}")
    );
    assert_eq!(seen.len(), 2, "{seen:?}");
    // The other hosts, ports and addresses of the same policy.
    for (line, url) in lines[3..6].iter().zip(["denied.test", "allowed.test:1", "metadata.test"]) {
        assert!(line.starts_with("000 ") && line.contains(url), "{url}: {stdout}\n{stderr}");
    }
    assert_eq!(lines[6], "0", "the environment holds no real value: {stdout}");

    let log = std::fs::read_to_string(&audit).expect("audit log");
    assert!(!log.contains(REAL), "the audit log holds the secret:\n{log}");
    assert!(log.contains("API_KEY swapped in"), "{log}");
    for rule in ["no network.allow rule", "non-public address 169.254.169.254"] {
        assert!(log.contains(rule), "{rule}: {log}");
    }
}

/// A TLS origin for `api.test` and `moved.test`, and a policy (every
/// language) that allows both, trusts its authority, and gives `API_KEY`
/// to `api.test` alone.
struct Fixture {
    origin: TlsOrigin,
    _dns: TestDns,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let origin = TlsOrigin::start(&["api.test", "moved.test"]).expect("origin");
        let port = origin.port;
        let dns = TestDns::start(|name, _| match name {
            "api.test" | "moved.test" => vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            _ => vec![],
        })
        .expect("dns");
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("origin-ca.pem");
        std::fs::write(&ca, &origin.ca_pem).expect("write");
        std::fs::write(
            dir.path().join("net.toml"),
            format!(
                "[network]\nallow = [\"api.test:{port}\", \"moved.test:{port}\", \"127.0.0.1/32:{port}\"]\nmax_requests = 5\n\
                 dns = [\"{dns}\"]\nupstream_ca = [{ca:?}]\n\
                 [secrets.API_KEY]\nfrom_env = \"STOCKADE_TEST_REAL_KEY\"\nhosts = [\"api.test:{port}\"]\n\
                 [audit]\npath = {audit:?}\n",
                dns = dns.address,
                audit = dir.path().join("audit.jsonl"),
            ),
        )
        .expect("write policy");
        Fixture { origin, _dns: dns, dir }
    }

    fn run(&self, language: &str, code: &str) -> (String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
            .args(["run", "--lang", language, "--policy"])
            .arg(self.dir.path().join("net.toml"))
            .args(["-c", code])
            .env("STOCKADE_TEST_REAL_KEY", REAL)
            .output()
            .expect("run stockade");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{language}: {stdout}\n{stderr}");
        assert!(
            !stdout.contains(REAL) && !stderr.contains(REAL),
            "the real value reached the guest: {stdout}"
        );
        (stdout.into_owned(), stderr.into_owned())
    }
}

#[test]
fn javascript_fetch_gets_the_secret_swapped_in_and_the_rest_refused() {
    let fixture = Fixture::new();
    let port = fixture.origin.port;
    let code = format!(
        r#"
const response = await fetch("https://api.test:{port}/v1/chat", {{
  method: "POST",
  headers: {{ Authorization: `Bearer ${{API_KEY_FROM_ENV}}`, "Content-Type": "application/json" }},
  body: JSON.stringify({{ q: "é" }}),
}});
console.log(response.status, response.ok, response.headers.get("content-type"));
console.log(await response.text());
for (const url of ["https://other.test:{port}/", "https://api.test:1/", "http://169.254.169.254/latest/meta-data/"]) {{
  try {{ await fetch(url); console.log("reached", url); }}
  catch (e) {{ console.log(e.name, e.message.includes("stockade:")); }}
}}
// A Host the guest set is its first hop's, not the next one's; the
// credential stays with its origin.
const moved = await fetch("https://api.test:{port}/moved", {{
  headers: {{ Host: "api.test:{port}", Authorization: `Bearer ${{API_KEY_FROM_ENV}}` }},
}});
console.log(moved.status, moved.redirected, moved.url);
"#
    );
    let code = code.replace("API_KEY_FROM_ENV", "process.env.API_KEY");
    let (stdout, _) = fixture.run("js", &code);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "200 true text/plain", "{stdout}");
    let seen = fixture.origin.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0], format!("POST /v1/chat HTTP/1.1 host=api.test:{port} authorization=Bearer {REAL}"));
    assert_eq!(seen[2], format!("GET /after HTTP/1.1 host=moved.test:{port} authorization=-"), "{seen:?}");
    assert_eq!(lines[5], format!("200 true https://moved.test:{port}/after"), "{stdout}");
    let placeholder = lines[1].rsplit("Bearer ").next().expect("the echo");
    assert!(placeholder.starts_with("sk-live-") && placeholder.len() == REAL.len(), "{stdout}");
    assert_eq!(&lines[2..5], ["TypeError true", "TypeError true", "TypeError true"], "{stdout}");
    let log = std::fs::read_to_string(fixture.dir.path().join("audit.jsonl")).expect("audit");
    assert!(log.contains("API_KEY swapped in") && !log.contains(REAL), "{log}");
    // A refused fetch is a decision too, recorded as the proxy's are: the
    // three hosts the policy does not name.
    assert_eq!(log.matches(r#""rule":"no network.allow rule""#).count(), 3, "{log}");
}

#[test]
fn python_urllib_and_stockade_http_get_the_secret_swapped_in() {
    let fixture = Fixture::new();
    let port = fixture.origin.port;
    let code = format!(
        r#"
import os, urllib.request, urllib.error
key = os.environ["API_KEY"]
request = urllib.request.Request("https://api.test:{port}/urllib", headers={{"Authorization": "Bearer " + key}})
with urllib.request.urlopen(request) as answer:
    print(answer.status, answer.headers["Content-Type"])
    print(answer.read().decode())
from stockade import http
print(http.get("https://api.test:{port}/module", headers={{"Authorization": key}}).text())
for url in ["https://other.test:{port}/", "http://169.254.169.254/"]:
    try:
        urllib.request.urlopen(url)
        print("reached", url)
    except urllib.error.URLError as error:
        print("URLError", "stockade:" in str(error.reason))
"#
    );
    let (stdout, _) = fixture.run("python", &code);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "200 text/plain", "{stdout}");
    let seen = fixture.origin.seen();
    assert_eq!(seen[0], format!("GET /urllib HTTP/1.1 host=api.test:{port} authorization=Bearer {REAL}"));
    assert_eq!(seen[1], format!("GET /module HTTP/1.1 host=api.test:{port} authorization={REAL}"));
    assert!(lines[1].contains("authorization=Bearer sk-live-"), "the guest sees the placeholder: {stdout}");
    assert_eq!(&lines[3..5], ["URLError True", "URLError True"], "{stdout}");
}
