//! Issue 17's own check, through the real CLI: a jailed `curl` over HTTPS
//! to a local TLS server, with a secret swapped in for that host alone, and
//! the same policy's other hosts, ports and addresses refused.

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
