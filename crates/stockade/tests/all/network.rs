//! A jailed program's network, end to end: curl, Python's urllib and
//! requests through the egress proxy to an origin on loopback, under a
//! policy whose resolver is a test one; and every other way out closed.

use std::net::{IpAddr, Ipv4Addr};
use stockade::{Language, Policy, Sandbox, Status};
use stockade_net::testing::{Origin, TestDns};

struct Net {
    origin: Origin,
    dns: TestDns,
    audit: tempfile::TempDir,
}

impl Net {
    fn new() -> Net {
        let dns = TestDns::start(|name, _| match name {
            "allowed.test" | "sneaky.test" => vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            _ => vec![],
        })
        .expect("dns");
        Net { origin: Origin::start().expect("origin"), dns, audit: tempfile::tempdir().expect("tempdir") }
    }

    fn sandbox(&self) -> Sandbox {
        let port = self.origin.port;
        let toml = format!(
            "languages = [\"sh\", \"python-native\"]\n[network]\nallow = [\"allowed.test:{port}\", \"sneaky.test:{port}\", \"127.0.0.1/32:{port}\"]\n\
             deny = [\"sneaky.test\"]\ndns = [\"{}\"]\n[audit]\npath = \"{}\"\n",
            self.dns.address,
            self.audit.path().join("audit.jsonl").display()
        );
        Sandbox::new(Policy::from_toml_str(&toml).expect("policy")).expect("sandbox")
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(self.audit.path().join("audit.jsonl")).expect("audit log")
    }
}

#[test]
fn curl_reaches_an_allowed_host_through_the_proxy_and_nothing_else() {
    let net = Net::new();
    let port = net.origin.port;
    let sandbox = net.sandbox();
    let code = format!(
        "curl -sS http://allowed.test:{port}/from-curl; echo; \
         curl -sS http://other.test:{port}/; \
         curl -sS http://sneaky.test:{port}/; \
         curl -sS -o /dev/null -w '%{{http_code}}\\n' http://127.0.0.1:{port}/literal; true"
    );
    let outcome = sandbox.run(Language::Shell, &code).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("origin saw GET /from-curl HTTP/1.1 host=allowed.test:{port}"),
        "{outcome:?}"
    );
    assert!(lines[1].contains("not allowed by the policy"), "{outcome:?}");
    assert!(lines[2].contains("network.deny[0]"), "{outcome:?}");
    // The host's loopback is not the jail's: 127.0.0.1 goes direct (NO_PROXY), to the jail's own.
    assert_ne!(lines[3], "200", "{outcome:?}");
    assert_eq!(net.origin.seen().len(), 1, "{:?}", net.origin.seen());
    // The outcome says what went out: one request, its head out, the
    // answer's head and body in (refusals send nothing).
    let network = outcome.usage.network.expect("a run with a network reports its usage");
    assert_eq!(network.requests, 1, "{network:?}");
    assert!(network.bytes_out > 0 && network.bytes_in > lines[0].len() as u64, "{network:?}");
    let audit = net.audit();
    assert!(
        audit.contains(r#""kind":"net_request""#) && audit.contains(r#""rule":"network.deny[0]""#),
        "{audit}"
    );
    assert!(audit.contains(&format!(r#""destination":"allowed.test:{port}""#)), "{audit}");
}

#[test]
fn python_urllib_and_requests_use_the_proxy() {
    let net = Net::new();
    let port = net.origin.port;
    let code = format!(
        r#"
import urllib.request, urllib.error
print(urllib.request.urlopen("http://allowed.test:{port}/urllib").read().decode())
try:
    urllib.request.urlopen("http://other.test:{port}/")
except urllib.error.HTTPError as e:
    print(e.code)
import requests
print(requests.get("http://allowed.test:{port}/requests").text)
"#
    );
    let outcome = net.sandbox().run(Language::PythonNative, &code).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert!(lines[0].starts_with("origin saw GET /urllib"), "{outcome:?}");
    assert_eq!(lines[1], "403", "{outcome:?}");
    assert!(lines[2].starts_with("origin saw GET /requests"), "{outcome:?}");
}

#[test]
fn a_jailed_program_has_no_resolver_and_no_other_way_out() {
    let net = Net::new();
    let port = net.origin.port;
    let code = format!(
        r#"
import os, socket
def attempt(f):
    try:
        f()
        return "open"
    except OSError as e:
        return type(e).__name__
def udp_dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"\x12\x34" + b"\0" * 10, ("{dns}", {dns_port}))
    s.settimeout(1)
    s.recv(512)
def tcp(host, port):
    return lambda: socket.create_connection((host, port), timeout=1)
def write_resolv_conf():
    open("/etc/resolv.conf", "w").write("nameserver {dns}\n")
print(attempt(lambda: socket.getaddrinfo("allowed.test", 80)))
print(attempt(udp_dns))
print(attempt(tcp("{dns}", 53)))
print(attempt(tcp("127.0.0.1", {port})))
print(attempt(tcp("8.8.8.8", 443)))
print(attempt(write_resolv_conf))
print(os.path.exists("/etc/resolv.conf"))
print(attempt(tcp("127.0.0.1", 3128)))
print(os.environ["HTTPS_PROXY"], os.environ["http_proxy"])
"#,
        dns = net.dns.address.ip(),
        dns_port = net.dns.address.port(),
    );
    let outcome = net.sandbox().run(Language::PythonNative, &code).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    for (i, line) in lines[..6].iter().enumerate() {
        assert_ne!(*line, "open", "attempt {i} got out: {outcome:?}");
    }
    assert_eq!(lines[6], "False", "{outcome:?}");
    assert_eq!(lines[7], "open", "the proxy is the one way: {outcome:?}");
    assert_eq!(lines[8], "http://127.0.0.1:3128 http://127.0.0.1:3128");
    assert!(!net.dns.asked().contains(&"allowed.test".to_string()), "the guest asked the resolver itself");
}

#[test]
fn a_session_keeps_one_network_whose_budget_spans_its_runs() {
    let net = Net::new();
    let port = net.origin.port;
    let toml = format!(
        "languages = [\"sh\", \"javascript\"]\n[network]\nallow = [\"allowed.test:{port}\", \"127.0.0.1/32:{port}\"]\nmax_requests = 2\n\
         dns = [\"{}\"]\n[audit]\npath = \"{}\"\n",
        net.dns.address,
        net.audit.path().join("audit.jsonl").display()
    );
    let sandbox = Sandbox::new(Policy::from_toml_str(&toml).expect("policy")).expect("sandbox");

    // A jailed shell: its proxy is the session's, across runs.
    let shell = sandbox.session(Language::Shell).expect("a shell session with a network");
    let curl = format!("curl -sS http://allowed.test:{port}/shell");
    let first = shell.run(&curl).expect("run");
    assert_eq!(first.stdout, format!("origin saw GET /shell HTTP/1.1 host=allowed.test:{port}"), "{first:?}");
    assert_eq!(first.usage.network.map(|n| n.requests), Some(1), "{first:?}");
    let second = shell.run(&format!("{curl}; echo; {curl}")).expect("run");
    let lines: Vec<&str> = second.stdout.lines().collect();
    assert!(lines[0].starts_with("origin saw GET /shell"), "{second:?}");
    // The session's second request was its last: max_requests counts over the session.
    assert!(lines[1].contains("network.max_requests"), "{second:?}");
    assert_eq!(second.usage.network.map(|n| n.requests), Some(1), "{second:?}");
    shell.close();
    assert_eq!(net.origin.seen().len(), 2, "{:?}", net.origin.seen());

    // A JavaScript session: each run's fetch goes through the session's engine.
    let js = sandbox.session(Language::JavaScript).expect("a JavaScript session with a network");
    js.run("let seen = [];").expect("run");
    let url = format!("http://allowed.test:{port}/js");
    let run = js.run(&format!("seen.push(await (await fetch({url:?})).text()); seen.length")).expect("run");
    assert_eq!(run.value, Some(1.into()), "{run:?}");
    let run = js.run("seen[0]").expect("run");
    assert_eq!(run.value, Some(format!("origin saw GET /js HTTP/1.1 host=allowed.test:{port}").into()));
    assert_eq!(run.usage.network.map(|n| n.requests), Some(0), "a run that made no request used none");
    let audit = net.audit();
    assert!(audit.contains(r#""rule":"network.max_requests""#), "{audit}");
}
