//! TLS the engine terminates, and the secrets it swaps in there, against a
//! TLS origin on loopback with an authority of its own (which the engine
//! trusts through `network.upstream_ca`, as a user's local service would).

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use stockade_net::Secrets;
use stockade_net::testing::{TestDns, TlsOrigin};
use stockade_policy::{NetworkPolicy, NetworkRule, SecretPolicy};
use support::{LOOPBACK, Proxy, policy, read_answer, status};

const REAL: &str = "sk-test-R3alValueThatMustNeverLeak000";

/// A TLS origin for `api.test` and `other.test` (both resolved to
/// loopback), a policy allowing both on its port, and a file of its CA.
struct Setup {
    origin: TlsOrigin,
    _dns: TestDns,
    policy: NetworkPolicy,
    _ca: tempfile::NamedTempFile,
}

fn setup() -> Setup {
    let origin = TlsOrigin::start(&["api.test", "other.test"]).expect("origin");
    let dns = TestDns::start(|name, _| match name {
        "api.test" | "other.test" => vec![LOOPBACK],
        _ => vec![],
    })
    .expect("dns");
    let port = origin.port;
    let mut policy = policy(
        &[format!("api.test:{port}"), format!("other.test:{port}"), format!("127.0.0.1/32:{port}")],
        &[],
        &dns,
    );
    let ca = tempfile::NamedTempFile::new().expect("a file");
    std::fs::write(ca.path(), &origin.ca_pem).expect("write");
    policy.upstream_ca = vec![ca.path().to_string_lossy().into_owned()];
    Setup { origin, _dns: dns, policy, _ca: ca }
}

/// `API_KEY`, whose real value goes to `api.test` on `port` only.
fn secret_for_api(port: u16, plain_http: bool) -> Secrets {
    let policy = BTreeMap::from([(
        "API_KEY".to_string(),
        SecretPolicy {
            allow_plain_http: plain_http,
            ..SecretPolicy::new("REAL", [format!("api.test:{port}")])
        },
    )]);
    Secrets::new(&policy, |_| Some(REAL.to_string())).expect("secrets")
}

/// Opens a tunnel to `target`, speaks TLS in it as `server_name` trusting
/// `ca_pem` alone, sends `request` and reads the answer; `Err` if the
/// tunnel or the handshake failed.
fn https(
    proxy: &Proxy,
    target: &str,
    server_name: &str,
    ca_pem: &str,
    request: &str,
) -> Result<String, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).map_err(|e| e.to_string())?;
    stream
        .write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 1024];
    let n = stream.read(&mut head).map_err(|e| e.to_string())?;
    let head = String::from_utf8_lossy(&head[..n]).to_string();
    if status(&head) != 200 {
        return Err(head);
    }
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for certificate in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(certificate.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(server_name.to_string()).map_err(|e| e.to_string())?;
    let connection = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    tls.write_all(request.as_bytes()).map_err(|e| format!("TLS: {e}"))?;
    let answer = read_answer(&mut tls);
    if answer.is_empty() { Err("no answer".into()) } else { Ok(answer) }
}

fn get(host: &str, authorization: &str, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {authorization}\r\nConnection: close\r\n\r\n"
    )
}

#[test]
fn a_secret_is_swapped_in_for_its_host_only_and_never_comes_back() {
    let setup = setup();
    let port = setup.origin.port;
    let proxy = Proxy::with_secrets(&setup.policy, secret_for_api(port, false));
    let env = proxy.engine.guest_env();
    assert_eq!(env.len(), 1);
    let (name, placeholder) = &env[0];
    assert_eq!(name, "API_KEY");
    assert!(placeholder.starts_with("sk-test-") && placeholder.len() == REAL.len() && placeholder != REAL);
    let authority = proxy.engine.authority_pem().expect("the engine terminates TLS for api.test");

    // Its own host: the origin gets the real value, the guest sees only
    // the placeholder, even where the origin echoes it back.
    let api = format!("api.test:{port}");
    let answer =
        https(&proxy, &api, "api.test", &authority, &get(&api, placeholder, "/v1/chat")).expect("https");
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(!answer.contains(REAL), "the real value came back to the guest: {answer}");
    assert!(answer.contains(&format!("authorization=Bearer {placeholder}")), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains(&format!("x-echo: bearer {}", placeholder.to_ascii_lowercase()))
    );
    let seen = setup.origin.seen();
    assert_eq!(seen, [format!("GET /v1/chat HTTP/1.1 host={api} authorization=Bearer {REAL}")]);

    // Another allowed host is not terminated (no secret goes there): the
    // guest talks TLS with the origin itself, and the placeholder goes as it is.
    let other = format!("other.test:{port}");
    let answer = https(&proxy, &other, "other.test", &setup.origin.ca_pem, &get(&other, placeholder, "/"))
        .expect("https");
    assert!(answer.contains(&format!("authorization=Bearer {placeholder}")), "{answer}");
    assert!(setup.origin.seen()[1].ends_with(&format!("authorization=Bearer {placeholder}")));

    let events = proxy.events();
    assert!(events.iter().all(|event| !format!("{event:?}").contains(REAL)), "{events:?}");
    let swapped = events.iter().find(|event| event.destination == api).expect("the api.test request");
    assert_eq!(
        (swapped.method.as_str(), swapped.secrets.clone()),
        ("GET", vec!["API_KEY swapped in".to_string()])
    );
}

#[test]
fn over_plain_http_a_secret_is_withheld_unless_it_allows_it() {
    let setup = setup();
    let port = setup.origin.port;
    // The TLS origin cannot answer plain HTTP, but the decision is made
    // and recorded before anything is sent.
    let proxy = Proxy::with_secrets(&setup.policy, secret_for_api(port, false));
    let placeholder = proxy.engine.guest_env()[0].1.clone();
    let host = format!("api.test:{port}");
    let request = format!(
        "GET http://{host}/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: {placeholder}\r\nConnection: close\r\n\r\n"
    );
    let _ = proxy.send(&request);
    let events = proxy.events();
    let withheld = events.iter().find(|event| !event.secrets.is_empty()).expect("a record");
    assert_eq!(withheld.secrets, ["API_KEY withheld: plain HTTP, and the secret has no allow_plain_http"]);

    let proxy = Proxy::with_secrets(&setup.policy, secret_for_api(port, true));
    let placeholder = proxy.engine.guest_env()[0].1.clone();
    let request = request.replace(&proxy_placeholder(&request), &placeholder);
    let _ = proxy.send(&request);
    let events = proxy.events();
    let swapped = events.iter().find(|event| !event.secrets.is_empty()).expect("a record");
    assert_eq!(swapped.secrets, ["API_KEY swapped in"]);
}

/// The Authorization value of a raw request.
fn proxy_placeholder(request: &str) -> String {
    request.lines().find_map(|line| line.strip_prefix("Authorization: ")).unwrap_or_default().to_string()
}

#[test]
fn a_terminated_tunnel_refuses_another_server_name_or_host() {
    let setup = setup();
    let port = setup.origin.port;
    let proxy = Proxy::with_secrets(&setup.policy, secret_for_api(port, false));
    let authority = proxy.engine.authority_pem().expect("authority");
    let api = format!("api.test:{port}");
    // The SNI names another (allowed) host than the tunnel's target.
    let fronted = https(&proxy, &api, "other.test", &authority, &get(&api, "x", "/"));
    assert!(fronted.is_err(), "{fronted:?}");
    // The Host header inside names another host.
    let other = format!("other.test:{port}");
    let answer = https(&proxy, &api, "api.test", &authority, &get(&other, "x", "/")).expect("https");
    assert_eq!(status(&answer), 403, "{answer}");
    assert!(answer.contains("does not match the destination"), "{answer}");
    // A guest that does not trust the run's authority gets no handshake:
    // the engine never shows it the origin's own certificate.
    assert!(https(&proxy, &api, "api.test", &setup.origin.ca_pem, &get(&api, "x", "/")).is_err());
    assert!(setup.origin.seen().is_empty(), "{:?}", setup.origin.seen());
    let rules: Vec<String> = proxy.events().into_iter().map(|event| event.rule).collect();
    assert!(rules.iter().any(|rule| rule == "the TLS server name (SNI) mismatch"), "{rules:?}");
    assert!(rules.iter().any(|rule| rule == "the Host header mismatch"), "{rules:?}");
}

#[test]
fn a_compressed_answer_from_a_secrets_host_is_withheld_in_every_spelling() {
    let setup = setup();
    let port = setup.origin.port;
    let proxy = Proxy::with_secrets(&setup.policy, secret_for_api(port, false));
    let (authority, placeholder) =
        (proxy.engine.authority_pem().expect("ca"), proxy.engine.guest_env()[0].1.clone());
    let api = format!("api.test:{port}");
    // With the secret or without it (the host may have kept it), in the
    // first or the second Content-Encoding, or in the Transfer-Encoding.
    for (credential, path) in [
        (placeholder.as_str(), "/gzip"),
        ("none", "/gzip"),
        ("none", "/gzip-second"),
        ("none", "/gzip-transfer"),
    ] {
        let answer =
            https(&proxy, &api, "api.test", &authority, &get(&api, credential, path)).expect("https");
        assert_eq!(status(&answer), 400, "{path}: {answer}");
        assert!(answer.contains("gzip coding") && !answer.contains(REAL), "{path}: {answer}");
    }
    // One record for each, the refusal.
    let events = proxy.events();
    assert_eq!(events.len(), 4, "{events:?}");
    assert!(events.iter().all(|event| !event.allowed), "{events:?}");
}

#[test]
fn whatever_a_secrets_host_sends_back_is_redacted() {
    let setup = setup();
    let port = setup.origin.port;
    let proxy = Proxy::with_secrets(&setup.policy, secret_for_api(port, false));
    let (authority, placeholder) =
        (proxy.engine.authority_pem().expect("ca"), proxy.engine.guest_env()[0].1.clone());
    let api = format!("api.test:{port}");
    let send = |credential: &str, path: &str, extra: &str| {
        let request = get(&api, credential, path).replacen("\r\n", &format!("\r\n{extra}"), 1);
        https(&proxy, &api, "api.test", &authority, &request).expect("https")
    };
    // The origin keeps the real value, and the guest asks for it back in a
    // request that carries no secret, whole, in base64, in pieces (a range
    // is not sent on), and in the status line's reason.
    assert_eq!(status(&send(&placeholder, "/v1/chat", "")), 200);
    for (path, extra) in [("/seen", ""), ("/seen.b64", ""), ("/seen", "Range: bytes=60-70\r\n")] {
        let answer = send("none", path, extra);
        assert_eq!(status(&answer), 200, "{answer}");
        assert!(!answer.contains(REAL), "{path}: {answer}");
        let body = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
        if path == "/seen.b64" {
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD.decode(body.trim()).expect("base64");
            let decoded = String::from_utf8_lossy(&decoded);
            assert!(!decoded.contains(REAL) && decoded.contains("authorization=Bearer"), "{decoded}");
        } else {
            assert!(body.contains(&format!("authorization=Bearer {placeholder}")), "{body}");
        }
    }
    assert!(setup.origin.seen().iter().all(|seen| !seen.contains("range=")), "{:?}", setup.origin.seen());
    let answer = send(&placeholder, "/reason", "");
    let status_line = answer.lines().next().unwrap_or_default();
    assert_eq!(status_line, "HTTP/1.1 200 OK", "{answer}");
    assert!(!answer.contains(REAL), "{answer}");
}

#[test]
fn a_rule_with_paths_is_enforced_inside_https() {
    let setup = setup();
    let port = setup.origin.port;
    let mut policy = setup.policy.clone();
    policy.allow[0] = NetworkRule {
        host: format!("api.test:{port}"),
        methods: vec!["GET".into()],
        paths: vec!["/v1/".into()],
    };
    let proxy = Proxy::start(&policy);
    let authority = proxy.engine.authority_pem().expect("a rule with paths is terminated");
    let api = format!("api.test:{port}");
    let ok = https(&proxy, &api, "api.test", &authority, &get(&api, "-", "/v1/./models")).expect("https");
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(ok.contains("origin saw GET /v1/models HTTP/1.1"), "{ok}");
    for path in ["/admin", "/v1/../admin", "/v1%2fadmin"] {
        let answer = https(&proxy, &api, "api.test", &authority, &get(&api, "-", path)).expect("https");
        assert_eq!(status(&answer), 403, "{path}: {answer}");
    }
    let post =
        format!("POST /v1/x HTTP/1.1\r\nHost: {api}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!(status(&https(&proxy, &api, "api.test", &authority, &post).expect("https")), 403);
    assert_eq!(setup.origin.seen().len(), 1, "{:?}", setup.origin.seen());
}
