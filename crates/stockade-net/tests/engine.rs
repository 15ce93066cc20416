//! The egress engine against attacks, on loopback: a test resolver the
//! engine is pointed at, an origin server, and a client that speaks to the
//! proxy as curl would. The shared case tables (`tests/network/`) run
//! through the engine's own vetting.

mod support;

use std::io::{Read, Write};
use std::net::IpAddr;
use stockade_net::testing::{Origin, TestDns};
use stockade_net::{Engine, Refusal, Secrets};
use stockade_policy::NetworkRule;
use stockade_policy::network::cases::{Expected, address_cases, verdict_cases};
use support::{LOOPBACK, Proxy, policy, read_answer, status};

/// An origin on loopback, reached by the name `allowed.test` (which the
/// test resolver maps to 127.0.0.1) under a rule that names that exact
/// address and port: the only way a loopback answer gets through.
fn allowed_origin() -> (Origin, TestDns, Vec<String>) {
    let origin = Origin::start().expect("origin");
    let dns = TestDns::start(|name, _| match name {
        "allowed.test" | "other.test" => vec![LOOPBACK],
        "metadata.test" => vec!["169.254.169.254".parse().expect("ip")],
        "private.test" => vec!["10.0.0.7".parse().expect("ip")],
        "mixed.test" => vec!["93.184.216.34".parse().expect("ip"), LOOPBACK],
        _ => vec![],
    })
    .expect("dns");
    let port = origin.port;
    let allow = vec![format!("allowed.test:{port}"), format!("127.0.0.1/32:{port}")];
    (origin, dns, allow)
}

#[test]
fn an_allowed_host_is_reached_at_its_vetted_address_and_recorded() {
    let (origin, dns, allow) = allowed_origin();
    let proxy = Proxy::start(&policy(&allow, &[], &dns));
    let port = origin.port;
    let answer = proxy.get(&format!("http://allowed.test:{port}/hello?x=1"), &format!("allowed.test:{port}"));
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(
        answer.ends_with(&format!("origin saw GET /hello?x=1 HTTP/1.1 host=allowed.test:{port}")),
        "{answer}"
    );
    let events = proxy.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].allowed && events[0].rule == "network.allow[0]", "{events:?}");
    assert_eq!(events[0].destination, format!("allowed.test:{port}"));
    assert!(events[0].bytes_in > 0);
    assert_eq!(proxy.engine.usage().requests, 1);
}

#[test]
fn a_host_not_on_the_list_is_refused_without_being_resolved() {
    let (origin, dns, allow) = allowed_origin();
    let proxy = Proxy::start(&policy(&allow, &[], &dns));
    let port = origin.port;
    let answer = proxy.get(&format!("http://other.test:{port}/"), &format!("other.test:{port}"));
    assert_eq!(status(&answer), 403, "{answer}");
    assert!(answer.contains("not allowed by the policy"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-stockade-refusal: no network.allow rule"), "{answer}");
    assert!(!dns.asked().contains(&"other.test".to_string()), "a denied name is never looked up");
    assert!(origin.seen().is_empty());
    let events = proxy.events();
    assert!(!events[0].allowed && events[0].rule == "no network.allow rule", "{events:?}");
}

#[test]
fn an_allowed_name_that_resolves_to_a_non_public_address_is_refused() {
    let origin = Origin::start().expect("origin");
    let port = origin.port;
    let dns = TestDns::start(|name, _| match name {
        "evil.test" => vec![LOOPBACK],
        "metadata.test" => vec!["169.254.169.254".parse().expect("ip")],
        "mapped.test" => vec!["::ffff:169.254.169.254".parse().expect("ip")],
        "private.test" => vec!["10.0.0.7".parse().expect("ip")],
        "mixed.test" => vec!["93.184.216.34".parse().expect("ip"), LOOPBACK],
        _ => vec![],
    })
    .expect("dns");
    let names = ["evil.test", "metadata.test", "mapped.test", "private.test", "mixed.test"];
    let allow: Vec<String> = names.iter().map(|n| format!("{n}:{port}")).collect();
    let proxy = Proxy::start(&policy(&allow, &[], &dns));
    for name in names {
        let answer = proxy.get(&format!("http://{name}:{port}/"), &format!("{name}:{port}"));
        assert_eq!(status(&answer), 403, "{name}: {answer}");
        assert!(answer.contains("which no rule names"), "{name}: {answer}");
    }
    assert!(origin.seen().is_empty(), "nothing reached the origin: {:?}", origin.seen());
}

#[test]
fn ip_literals_in_every_form_are_vetted_as_the_address_they_are() {
    let (origin, dns, _) = allowed_origin();
    let port = origin.port;
    // A name rule never admits an address, whatever its spelling.
    let proxy =
        Proxy::start(&policy(&[format!("localhost:{port}"), format!("allowed.test:{port}")], &[], &dns));
    for literal in ["127.0.0.1", "2130706433", "127.1", "0x7f.1", "0177.0.0.1", "[::ffff:127.0.0.1]", "[::1]"]
    {
        let answer = proxy.get(&format!("http://{literal}:{port}/"), &format!("{literal}:{port}"));
        assert_eq!(status(&answer), 403, "{literal}: {answer}");
    }
    for literal in ["127.0.0.1%25lo", "127.0.0.1\u{0}"] {
        let answer = proxy.get(&format!("http://{literal}:{port}/"), "x");
        assert!(matches!(status(&answer), 400 | 403), "{literal:?}: {answer}");
    }
    assert!(origin.seen().is_empty(), "{:?}", origin.seen());
}

#[test]
fn a_host_header_that_names_another_host_is_refused() {
    let (origin, dns, allow) = allowed_origin();
    let proxy = Proxy::start(&policy(&allow, &[], &dns));
    let port = origin.port;
    let userinfo = format!("evil@allowed.test:{port}");
    for host in
        ["metadata.google.internal", "other.test:80", &format!("allowed.test:{}", port + 1), &userinfo]
    {
        let answer = proxy.get(&format!("http://allowed.test:{port}/"), host);
        assert_eq!(status(&answer), 403, "{host}: {answer}");
        assert!(answer.contains("the Host header"), "{answer}");
    }
    // A Host header that repeats the target byte for byte passes unparsed,
    // but never one with a user name in both.
    let answer = proxy.get(&format!("http://{userinfo}/"), &userinfo);
    assert_eq!(status(&answer), 403, "{answer}");
    assert!(answer.contains("the Host header"), "{answer}");
    assert!(origin.seen().is_empty(), "{:?}", origin.seen());
    // Another spelling of the same host and port is the same host.
    let answer = proxy.get(&format!("http://allowed.test:{port}/"), &format!("ALLOWED.test.:{port}"));
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(origin.seen().len(), 1, "{:?}", origin.seen());
    let twice = format!(
        "GET http://allowed.test:{port}/ HTTP/1.1\r\nHost: allowed.test:{port}\r\nHost: evil\r\n\r\n"
    );
    assert!(matches!(status(&proxy.send(&twice)), 400 | 403));
    // A request without an absolute URL is not forwarded by its Host header.
    let origin_form = format!("GET / HTTP/1.1\r\nHost: allowed.test:{port}\r\n\r\n");
    assert_eq!(status(&proxy.send(&origin_form)), 400);
    assert_eq!(origin.seen().len(), 1, "{:?}", origin.seen());
}

#[test]
fn a_rule_with_paths_and_methods_admits_only_those_and_forwards_the_path_it_checked() {
    let (origin, dns, _) = allowed_origin();
    let port = origin.port;
    let mut policy = policy(&[format!("127.0.0.1/32:{port}")], &[], &dns);
    policy.allow.insert(
        0,
        NetworkRule {
            host: format!("allowed.test:{port}"),
            methods: vec!["GET".into()],
            paths: vec!["/v1/".into()],
        },
    );
    let proxy = Proxy::start(&policy);
    let host = format!("allowed.test:{port}");
    let ok = proxy.get(&format!("http://{host}/v1/./x%41?q=1"), &host);
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(ok.ends_with(&format!("origin saw GET /v1/xA?q=1 HTTP/1.1 host={host}")), "{ok}");
    for path in ["/v1/../admin", "/v1/%2e%2e/admin", "/v1%2fadmin", "/v10/x", "/admin"] {
        let answer = proxy.get(&format!("http://{host}{path}"), &host);
        assert_eq!(status(&answer), 403, "{path}: {answer}");
    }
    let post = format!("POST http://{host}/v1/x HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(status(&proxy.send(&post)), 403);
    // Inside a tunnel the requests are seen only once the engine has
    // terminated its TLS: a ClientHello that is not real TLS gets nowhere
    // (tests/tls.rs has the requests that are).
    assert_eq!(tunnel(&proxy, &host, &client_hello("allowed.test")).0, 200);
    assert_eq!(origin.seen().len(), 1, "{:?}", origin.seen());
}

#[test]
fn deny_wins_over_allow_and_covers_the_answers_addresses() {
    let (origin, dns, allow) = allowed_origin();
    let port = origin.port;
    let proxy = Proxy::start(&policy(&allow, &["127.0.0.0/8"], &dns));
    let answer = proxy.get(&format!("http://allowed.test:{port}/"), &format!("allowed.test:{port}"));
    assert_eq!(status(&answer), 403, "{answer}");
    assert!(answer.contains("network.deny[0]"), "{answer}");
    let proxy = Proxy::start(&policy(&allow, &["allowed.test"], &dns));
    let answer = proxy.get(&format!("http://allowed.test:{port}/"), &format!("allowed.test:{port}"));
    assert!(answer.contains("network.deny[0]"), "{answer}");
    assert!(origin.seen().is_empty());
}

#[test]
fn a_rebinding_resolver_gets_nowhere() {
    let origin = Origin::start().expect("origin");
    let port = origin.port;
    // First the allowed address, then the metadata address.
    let dns = TestDns::start(|name, n| match (name, n) {
        ("rebind.test", 0) => vec![LOOPBACK],
        ("rebind.test", _) => vec!["169.254.169.254".parse().expect("ip")],
        _ => vec![],
    })
    .expect("dns");
    let allow = vec![format!("rebind.test:{port}"), format!("127.0.0.1/32:{port}")];
    let proxy = Proxy::start(&policy(&allow, &[], &dns));
    let first = proxy.get(&format!("http://rebind.test:{port}/a"), &format!("rebind.test:{port}"));
    assert_eq!(status(&first), 200, "{first}");
    let second = proxy.get(&format!("http://rebind.test:{port}/b"), &format!("rebind.test:{port}"));
    assert_eq!(status(&second), 403, "{second}");
    assert!(second.contains("169.254.169.254"), "{second}");
    assert_eq!(origin.seen().len(), 1);
}

#[test]
fn every_request_on_a_kept_alive_connection_is_vetted_again() {
    let (origin, dns, allow) = allowed_origin();
    let proxy = Proxy::start(&policy(&allow, &[], &dns));
    let port = origin.port;
    let mut stream = proxy.connect();
    let first = format!("GET http://allowed.test:{port}/1 HTTP/1.1\r\nHost: allowed.test:{port}\r\n\r\n");
    stream.write_all(first.as_bytes()).expect("send");
    assert_eq!(status(&read_answer(&mut stream)), 200);
    let second = format!("GET http://other.test:{port}/2 HTTP/1.1\r\nHost: other.test:{port}\r\n\r\n");
    stream.write_all(second.as_bytes()).expect("send");
    assert_eq!(status(&read_answer(&mut stream)), 403);
    assert_eq!(origin.seen().len(), 1, "{:?}", origin.seen());
}

#[test]
fn an_onward_connection_is_reused_only_within_the_run_and_to_an_address_vetted_again() {
    let origin = Origin::start().expect("origin");
    let port = origin.port;
    // Twice the origin's address, then another that nothing listens on.
    let dns = TestDns::start(|name, n| match (name, n) {
        ("pool.test", 0 | 1) => vec![LOOPBACK],
        ("pool.test", _) => vec!["127.0.0.2".parse().expect("ip")],
        _ => vec![],
    })
    .expect("dns");
    let allow =
        vec![format!("pool.test:{port}"), format!("127.0.0.1/32:{port}"), format!("127.0.0.2/32:{port}")];
    let proxy = Proxy::start(&policy(&allow, &[], &dns));
    let url = |path: &str| format!("http://pool.test:{port}/{path}");
    let host = format!("pool.test:{port}");
    for path in ["a", "b"] {
        let answer = proxy.get(&url(path), &host);
        assert_eq!(status(&answer), 200, "{answer}");
    }
    assert_eq!(origin.connections(), 1, "the second request took the first's connection");
    // The name now has another address: the kept connection, to the old
    // one, is not what the request was vetted for.
    let moved = proxy.get(&url("c"), &host);
    assert_eq!(status(&moved), 502, "{moved}");
    assert!(moved.contains("127.0.0.2"), "{moved}");
    assert_eq!(origin.seen().len(), 2, "{:?}", origin.seen());
    // Another run (another engine) never gets this run's connections.
    let other = Proxy::start(&policy(&[format!("127.0.0.1/32:{port}")], &[], &dns));
    let answer = other.get(&format!("http://127.0.0.1:{port}/d"), &format!("127.0.0.1:{port}"));
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(origin.connections(), 2);
}

/// Opens a CONNECT tunnel to `target` and sends `first` through it;
/// returns the CONNECT answer's status and what came back.
fn tunnel(proxy: &Proxy, target: &str, first: &[u8]) -> (u16, String) {
    let mut stream = proxy.connect();
    stream
        .write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .expect("send");
    let mut head = [0u8; 1024];
    let n = stream.read(&mut head).unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]).to_string();
    if status(&head) != 200 {
        return (status(&head), head);
    }
    stream.write_all(first).expect("send");
    let mut rest = String::new();
    let _ = stream.read_to_string(&mut rest);
    (200, rest)
}

/// A ClientHello that asks for `name`, in one record.
fn client_hello(name: &str) -> Vec<u8> {
    let mut sni = vec![0x00, 0x00];
    sni.extend_from_slice(&((name.len() + 5) as u16).to_be_bytes());
    sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name.as_bytes());
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[9; 32]);
    body.extend_from_slice(&[0, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
    body.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    body.extend_from_slice(&sni);
    let mut message = vec![0x01];
    message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    message.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(message.len() as u16).to_be_bytes());
    record.extend_from_slice(&message);
    record
}

#[test]
fn a_tunnel_goes_through_only_when_its_server_name_is_its_target() {
    let (origin, dns, allow) = allowed_origin();
    let proxy = Proxy::start(&policy(&allow, &[], &dns));
    let target = format!("allowed.test:{}", origin.port);
    let hello = client_hello("allowed.test");
    let (code, through) = tunnel(&proxy, &target, &hello);
    assert_eq!(code, 200);
    assert_eq!(through, format!("tls hello {} bytes", hello.len()));
    // Fronting: the tunnel names one host, the ClientHello another.
    let (code, through) = tunnel(&proxy, &target, &client_hello("evil.example"));
    assert_eq!((code, through.as_str()), (200, ""), "the tunnel closes with nothing through");
    // Not TLS at all: a relayed CONNECT to a second proxy, or plain bytes.
    let relayed = b"CONNECT metadata.google.internal:80 HTTP/1.1\r\n\r\n";
    assert_eq!(tunnel(&proxy, &target, relayed), (200, String::new()));
    assert_eq!(tunnel(&proxy, &target, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), (200, String::new()));
    // A tunnel to a host the policy does not allow is refused before it opens.
    assert_eq!(tunnel(&proxy, &format!("other.test:{}", origin.port), &hello).0, 403);
    assert_eq!(origin.seen().len(), 1, "{:?}", origin.seen());
    let rules: Vec<String> = proxy.events().iter().map(|e| e.rule.clone()).collect();
    assert!(rules.iter().any(|r| r == "the TLS server name (SNI) mismatch"), "{rules:?}");
    assert!(rules.iter().filter(|r| r.starts_with("opaque tunnel")).count() == 2, "{rules:?}");
}

#[test]
fn budgets_stop_a_request_flood_and_a_large_download() {
    let (origin, dns, allow) = allowed_origin();
    let port = origin.port;
    let mut flood = policy(&allow, &[], &dns);
    flood.max_requests = Some(3);
    let proxy = Proxy::start(&flood);
    let codes: Vec<u16> = (0..5)
        .map(|i| {
            status(&proxy.get(&format!("http://allowed.test:{port}/{i}"), &format!("allowed.test:{port}")))
        })
        .collect();
    assert_eq!(codes, [200, 200, 200, 429, 429]);
    assert_eq!(origin.seen().len(), 3);

    let mut download = policy(&allow, &[], &dns);
    download.max_bytes_in = Some(100_000);
    let proxy = Proxy::start(&download);
    let answer =
        proxy.get(&format!("http://allowed.test:{port}/big/5000000"), &format!("allowed.test:{port}"));
    assert!(answer.len() < 200_000, "cut near its budget, not after 5 MB: {} bytes", answer.len());
    assert!(proxy.engine.usage().bytes_in <= 100_000);
    let rules: Vec<String> = proxy.events().iter().map(|e| e.rule.clone()).collect();
    assert!(rules.contains(&"network.max_bytes_in".to_string()), "{rules:?}");
}

/// Every row of `tests/network/verdicts.txt` through the engine's vetting,
/// with a resolver that gives every name a public address (vetting makes
/// no connection, so none is ever used).
#[test]
fn the_verdict_table_holds_through_the_engine() {
    let text = include_str!("../../../tests/network/verdicts.txt");
    let cases = verdict_cases(text).expect("the table parses");
    let dns = TestDns::start(|_, _| vec!["93.184.216.34".parse().expect("ip")]).expect("dns");
    let mut failures = Vec::new();
    for case in &cases {
        if case.allow.is_empty() {
            continue;
        }
        let mut policy = policy(&case.allow, &[], &dns);
        policy.deny = case.deny.clone();
        let engine = Engine::new(&policy, Secrets::default(), None).expect("engine");
        let verdict = engine.vet(&case.host, case.port);
        let ok = match (&case.verdict, &verdict) {
            (Expected::Allow, Ok(_)) => true,
            // An allowed IP literal is let through by the rule that names it.
            (Expected::Deny, Err(Refusal::NotAllowed { .. } | Refusal::Denied { .. })) => true,
            (Expected::Invalid, Err(Refusal::InvalidHost(_))) => true,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{:?} {}:{} expected {:?}, got {verdict:?}",
                case.allow, case.host, case.port, case.verdict
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Every row of `tests/network/addresses.txt` as the answer for an allowed
/// name: a public one is let through, any other refused.
#[test]
fn the_address_table_holds_for_answers() {
    let text = include_str!("../../../tests/network/addresses.txt");
    let cases = address_cases(text).expect("the table parses");
    let table: Vec<(String, IpAddr)> = cases
        .iter()
        .enumerate()
        .map(|(i, (address, _))| (format!("a{i}.addresses.test"), address.parse().expect("an address")))
        .collect();
    let answers = table.clone();
    let dns =
        TestDns::start(move |name, _| answers.iter().filter(|(n, _)| n == name).map(|(_, ip)| *ip).collect())
            .expect("dns");
    let engine = Engine::new(&policy(&["*.addresses.test".to_string()], &[], &dns), Secrets::default(), None)
        .expect("engine");
    let mut failures = Vec::new();
    for ((name, ip), (_, public)) in table.iter().zip(&cases) {
        let verdict = engine.vet(name, 443);
        let ok = match verdict {
            Ok(_) => *public,
            Err(Refusal::NonPublic { .. }) => !public,
            _ => false,
        };
        if !ok {
            failures.push(format!("{ip} (public: {public}): {verdict:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn an_open_tunnel_ends_with_the_run() {
    // An upstream that reads and never answers or closes: only the end of
    // the run can end the tunnel to it.
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = upstream.local_addr().expect("address").port();
    let held = std::thread::spawn(move || {
        let (mut stream, _) = upstream.accept().expect("the tunnel reaches upstream");
        let mut buffer = [0u8; 4096];
        // Returns once the engine drops its side of the connection.
        while matches!(stream.read(&mut buffer), Ok(n) if n > 0) {}
    });
    let dns =
        TestDns::start(|name, _| if name == "allowed.test" { vec![LOOPBACK] } else { vec![] }).expect("dns");
    let allow = vec![format!("allowed.test:{port}"), format!("127.0.0.1/32:{port}")];
    let proxy = Proxy::start(&policy(&allow, &[], &dns));
    let mut stream = proxy.connect();
    let target = format!("allowed.test:{port}");
    stream
        .write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .expect("send");
    let mut head = [0u8; 1024];
    let n = stream.read(&mut head).expect("the CONNECT answer");
    assert_eq!(status(&String::from_utf8_lossy(&head[..n])), 200);
    stream.write_all(&client_hello("allowed.test")).expect("the hello");
    std::thread::sleep(std::time::Duration::from_millis(200));
    proxy.engine.finish();
    // The guest's side closes (not the read timeout), and so does upstream's.
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    assert!(read.is_ok(), "the tunnel stayed open after the run ended: {read:?}");
    held.join().expect("upstream saw the tunnel close");
}

#[test]
fn a_kept_alive_proxy_connection_ends_with_the_run() {
    let (origin, dns, allow) = allowed_origin();
    let proxy = Proxy::start(&policy(&allow, &[], &dns));
    let port = origin.port;
    let mut stream = proxy.connect();
    let request = format!("GET http://allowed.test:{port}/1 HTTP/1.1\r\nHost: allowed.test:{port}\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    assert_eq!(status(&read_answer(&mut stream)), 200);
    proxy.engine.finish();
    // The engine closes its side (not the read timeout).
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    assert!(read.is_ok(), "the connection stayed open after the run ended: {read:?}");
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
}
