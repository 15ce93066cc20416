//! `stockade serve` from the outside: a real server on loopback, spoken to
//! with plain HTTP/1.1: auth, isolation between tokens, size and rate
//! limits, sessions, the audit trail and a graceful stop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

const TOKEN_A: &str = "token-for-agent-a";
const TOKEN_B: &str = "token-for-agent-b";
const TOKEN_C: &str = "token-for-agent-c";

fn sha256(text: &str) -> String {
    stockade::audit_log::sha256_hex(text.as_bytes())
}

/// A server on a free loopback port, killed when dropped.
struct Server {
    child: Child,
    address: String,
    dir: tempfile::TempDir,
}

/// Deadlines and a connection cap small enough for a test to pass them.
const QUICK: &str = "max_connections = 8\nheader_timeout_ms = 500\nbody_timeout_ms = 500\n";

impl Server {
    fn start() -> Server {
        Server::start_with("", None)
    }

    /// A server with `top` added to its configuration's top level, and at
    /// most `nofile` file descriptors if given.
    fn start_with(top: &str, nofile: Option<u32>) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("audit.jsonl");
        std::fs::write(dir.path().join("a.toml"), format!("[audit]\npath = {log:?}\n")).expect("policy a");
        std::fs::write(dir.path().join("b.toml"), "[limits]\nwall_ms = 5000\n").expect("policy b");
        let config = format!(
            "listen = \"127.0.0.1:0\"\nmax_body_bytes = 65536\n{top}\n\
             [[tokens]]\nid = \"agent-a\"\nsha256 = \"{}\"\npolicy = \"a.toml\"\nmax_concurrent = 1\n\n\
             [[tokens]]\nid = \"agent-b\"\nsha256 = \"{}\"\npolicy = \"b.toml\"\nrate = \"3/m\"\n\n\
             [[tokens]]\nid = \"agent-c\"\nsha256 = \"{}\"\npolicy = \"b.toml\"\nmax_sessions = 2\n",
            sha256(TOKEN_A),
            sha256(TOKEN_B),
            sha256(TOKEN_C)
        );
        Server::launch(dir, &config, nofile, &[])
    }

    /// A server with `files` (name, text) in its folder and `tokens` after
    /// the top of its configuration; `{sha:TOKEN}` in `tokens` stands for
    /// the SHA-256 of TOKEN, and `{dir}` in a file for the folder.
    fn custom(files: &[(&str, &str)], tokens: &str) -> Server {
        Server::custom_with_env(files, tokens, &[])
    }

    /// [`Server::custom`], with `env` added to the server's environment.
    fn custom_with_env(files: &[(&str, &str)], tokens: &str, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().to_str().expect("a UTF-8 folder").to_string();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text.replace("{dir}", &folder)).expect("a file");
        }
        let mut tokens = tokens.to_string();
        for token in [TOKEN_A, TOKEN_B, TOKEN_C] {
            tokens = tokens.replace(&format!("{{sha:{token}}}"), &sha256(token));
        }
        let config = format!("listen = \"127.0.0.1:0\"\nmax_body_bytes = 65536\n\n{tokens}");
        Server::launch(dir, &config, None, env)
    }

    fn launch(dir: tempfile::TempDir, config: &str, nofile: Option<u32>, env: &[(&str, &str)]) -> Server {
        let path = dir.path().join("server.toml");
        std::fs::write(&path, config).expect("config");
        let mut command = match nofile {
            // The shell lowers its own limit, then becomes the server.
            Some(n) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")]);
                sh.arg(env!("CARGO_BIN_EXE_stockade"));
                sh
            }
            None => Command::new(env!("CARGO_BIN_EXE_stockade")),
        };
        let mut child = command
            .args(["serve", "--config"])
            .arg(&path)
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        stderr.read_line(&mut line).expect("the server says where it listens");
        let address = line.trim().rsplit("http://").next().expect("an address").to_string();
        // Keep draining stderr so the server never blocks on it.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Server { child, address, dir }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        call(&self.address, method, path, token, body)
    }
}

/// One request to `address`; the status and the body as JSON (or as text).
fn call(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let (status, _, body) = call_with_headers(address, method, path, token, body);
    (status, body)
}

/// [`call`], with the response's headers too (lowercase names).
fn call_with_headers(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, std::collections::HashMap<String, String>, serde_json::Value) {
    let mut stream = TcpStream::connect(address).expect("connect");
    // Bounded: a server that never answers fails the test, not hangs it.
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or("");
    request
        .push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let json = serde_json::from_str(body).unwrap_or_else(|_| serde_json::Value::String(body.to_string()));
    (status, headers, json)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_http_api_authenticates_isolates_and_limits() {
    let server = Server::start();
    assert_eq!(server.call("GET", "/v1/health", None, None).0, 200);
    // The OpenAPI document is made from the code: every route, and the outcome's schema.
    let (status, api) = server.call("GET", "/v1/openapi.json", None, None);
    assert_eq!((status, &api["openapi"]), (200, &serde_json::json!("3.1.0")));
    for path in ["/v1/runs", "/v1/sessions", "/v1/sessions/{id}/runs", "/v1/sessions/{id}", "/v1/health"] {
        assert!(api["paths"][path].is_object(), "{path} is missing");
    }
    let outcome = &api["components"]["schemas"]["Outcome"]["properties"];
    assert!(outcome["status"].is_object() && outcome["usage"].is_object(), "{api}");
    let run = r#"{"language": "js", "code": "console.log('hi'); 6 * 7"}"#;
    // No token, or a wrong one: 401, and nothing runs.
    assert_eq!(server.call("POST", "/v1/runs", None, Some(run)).0, 401);
    assert_eq!(server.call("POST", "/v1/runs", Some("not-a-token"), Some(run)).0, 401);
    let (status, outcome) = server.call("POST", "/v1/runs", Some(TOKEN_A), Some(run));
    assert_eq!(
        (status, &outcome["value"], &outcome["stdout"]),
        (200, &serde_json::json!(42), &serde_json::json!("hi\n"))
    );
    // Bad input is a clear 4xx.
    assert_eq!(
        server.call("POST", "/v1/runs", Some(TOKEN_A), Some(r#"{"language": "ruby", "code": "1"}"#)).0,
        400
    );
    assert!(server.call("POST", "/v1/runs", Some(TOKEN_A), Some("{not json")).0 >= 400);
    // A body over max_body_bytes: 413.
    let huge = format!(r#"{{"language": "js", "code": "{}"}}"#, "x".repeat(100_000));
    assert_eq!(server.call("POST", "/v1/runs", Some(TOKEN_A), Some(&huge)).0, 413);

    // Sessions keep state, and belong to their token.
    let (status, opened) =
        server.call("POST", "/v1/sessions", Some(TOKEN_A), Some(r#"{"language": "javascript"}"#));
    assert_eq!(status, 201, "{opened}");
    let id = opened["id"].as_str().expect("an id").to_string();
    let runs = format!("/v1/sessions/{id}/runs");
    assert_eq!(server.call("POST", &runs, Some(TOKEN_A), Some(r#"{"code": "globalThis.n = 41"}"#)).0, 200);
    let (status, outcome) = server.call("POST", &runs, Some(TOKEN_A), Some(r#"{"code": "n + 1"}"#));
    assert_eq!((status, &outcome["value"]), (200, &serde_json::json!(42)));
    assert_eq!(
        server.call("POST", &runs, Some(TOKEN_B), Some(r#"{"code": "n"}"#)).0,
        404,
        "another token's session"
    );
    assert_eq!(server.call("DELETE", &format!("/v1/sessions/{id}"), Some(TOKEN_B), None).0, 404);
    assert_eq!(server.call("DELETE", &format!("/v1/sessions/{id}"), Some(TOKEN_A), None).0, 204);
    assert_eq!(server.call("POST", &runs, Some(TOKEN_A), Some(r#"{"code": "n"}"#)).0, 404);

    // Token B's rate is 3 a minute.
    let statuses: Vec<u16> =
        (0..5).map(|_| server.call("POST", "/v1/runs", Some(TOKEN_B), Some(run)).0).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);

    // The audit log names the token with every run.
    let log = std::fs::read_to_string(server.dir.path().join("audit.jsonl")).expect("log");
    let starts: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|e| e["event"]["kind"] == "run_start")
        .collect();
    assert!(!starts.is_empty() && starts.iter().all(|e| e["event"]["principal"] == "agent-a"), "{log}");
}

#[test]
fn a_stop_signal_lets_runs_in_flight_finish() {
    let mut server = Server::start();
    let address = server.address.clone();
    let slow = std::thread::spawn(move || {
        let code =
            r#"{"language": "js", "code": "const t = Date.now(); while (Date.now() - t < 1500) {} 'done'"}"#;
        call(&address, "POST", "/v1/runs", Some(TOKEN_A), Some(code))
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: kill(2) with a child's pid and SIGTERM touches no memory.
    let sent = unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    assert_eq!(sent, 0);
    let (status, outcome) = slow.join().expect("the slow run");
    assert_eq!((status, &outcome["value"]), (200, &serde_json::json!("done")), "{outcome}");
    let exited = server.child.wait().expect("the server exits");
    assert!(exited.success(), "{exited:?}");
}

#[test]
fn a_token_over_its_concurrency_gets_429() {
    let server = Server::start();
    let address = server.address.clone();
    let slow = std::thread::spawn(move || {
        let code =
            r#"{"language": "js", "code": "const t = Date.now(); while (Date.now() - t < 1500) {} 1"}"#;
        call(&address, "POST", "/v1/runs", Some(TOKEN_A), Some(code))
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Token A may have one run in flight; token B is not held up by it.
    let quick = r#"{"language": "js", "code": "1"}"#;
    assert_eq!(server.call("POST", "/v1/runs", Some(TOKEN_A), Some(quick)).0, 429);
    assert_eq!(server.call("POST", "/v1/runs", Some(TOKEN_B), Some(quick)).0, 200);
    assert_eq!(slow.join().expect("the slow run").0, 200);
    assert_eq!(server.call("POST", "/v1/runs", Some(TOKEN_A), Some(quick)).0, 200);
}

/// schemathesis (PyPI, in `.venv`) generates requests from the OpenAPI
/// document, valid and not, for every operation, with the token: none may
/// get a 5xx.
#[test]
fn schemathesis_finds_no_server_error() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let schemathesis = root.join(".venv/bin/schemathesis");
    assert!(schemathesis.exists(), "no {}: scripts/test.sh installs it", schemathesis.display());
    let server = Server::start();
    let out = Command::new(schemathesis)
        .args(["run", &format!("http://{}/v1/openapi.json", server.address)])
        .args(["-H", &format!("Authorization: Bearer {TOKEN_A}")])
        .args(["--checks", "not_a_server_error", "--max-examples", "30", "--seed", "7", "--workers", "1"])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("passed"), "{report}");
}

/// Issue 20, finding 1: connections that never finish their headers, more
/// than the connection cap and than the server's descriptor limit, do not
/// lock callers out: the header deadline closes them, and health and an
/// authorised run answer.
#[test]
fn half_open_connections_do_not_exhaust_the_server() {
    let server = Server::start_with(QUICK, Some(96));
    let half_open: Vec<TcpStream> = (0..120)
        .map(|_| {
            let mut stream = TcpStream::connect(&server.address).expect("connect");
            stream.write_all(b"POST /v1/runs HTTP/1.1\r\nHost: x\r\n").expect("half a header");
            stream
        })
        .collect();
    let started = std::time::Instant::now();
    assert_eq!(server.call("GET", "/v1/health", None, None).0, 200);
    let run = r#"{"language": "js", "code": "6 * 7"}"#;
    let (status, outcome) = server.call("POST", "/v1/runs", Some(TOKEN_A), Some(run));
    assert_eq!((status, &outcome["value"]), (200, &serde_json::json!(42)), "{outcome}");
    assert!(started.elapsed() < std::time::Duration::from_secs(25), "{:?}", started.elapsed());
    drop(half_open);
}

/// Issue 20, finding 1: the server closes a connection whose headers do
/// not arrive within `header_timeout_ms`.
#[test]
fn a_half_open_connection_is_closed_after_the_header_timeout() {
    let server = Server::start_with(QUICK, None);
    let mut stream = TcpStream::connect(&server.address).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    stream.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n").expect("half a header");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("the server closes the connection");
    assert!(started.elapsed() >= std::time::Duration::from_millis(400), "{:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
}

/// Issue 20, finding 1: a body that stops arriving gets 408 after
/// `body_timeout_ms`, for a caller with a token; without one, 401 at once.
#[test]
fn a_body_that_stops_arriving_gets_408() {
    let server = Server::start_with(QUICK, None);
    let partial = |token: Option<&str>| {
        let mut stream = TcpStream::connect(&server.address).expect("connect");
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let head = format!("POST /v1/runs HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 100\r\n\r\n{{\"lang");
        stream.write_all(head.as_bytes()).expect("send");
        let mut answer = [0u8; 12];
        stream.read_exact(&mut answer).expect("an answer before the body ends");
        String::from_utf8_lossy(&answer).into_owned()
    };
    assert_eq!(partial(Some(TOKEN_A)), "HTTP/1.1 408");
    assert_eq!(partial(None), "HTTP/1.1 401");
}

/// Issue 20, finding 1: the token is checked before the body is parsed,
/// so an unknown caller learns nothing from its body: 401, not 400 or 422.
#[test]
fn an_unauthenticated_malformed_body_gets_401() {
    let server = Server::start();
    for body in ["{not json", r#"{"language": "js"}"#, r#"{"language": "js", "code": "1", "x": 1}"#] {
        for path in ["/v1/runs", "/v1/sessions", "/v1/sessions/nope/runs"] {
            assert_eq!(server.call("POST", path, None, Some(body)).0, 401, "{path} {body}");
            assert_eq!(server.call("POST", path, Some("not-a-token"), Some(body)).0, 401, "{path} {body}");
        }
    }
    assert!(server.call("POST", "/v1/runs", Some(TOKEN_A), Some("{not json")).0 == 400);
}

/// Issue 20, finding 2: with `max_sessions = 2`, eight opens at once give
/// exactly two sessions; the refused ones leave no slot behind, so closing
/// one lets the next open.
#[test]
fn concurrent_session_opens_stay_within_max_sessions() {
    let server = Server::start();
    let open = r#"{"language": "js"}"#;
    let start = std::sync::Arc::new(std::sync::Barrier::new(8));
    let opens: Vec<_> = (0..8)
        .map(|_| {
            let (address, start) = (server.address.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                call(&address, "POST", "/v1/sessions", Some(TOKEN_C), Some(open))
            })
        })
        .collect();
    let answers: Vec<(u16, serde_json::Value)> =
        opens.into_iter().map(|open| open.join().expect("an open")).collect();
    let mut statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 429, 429, 429, 429, 429, 429], "{answers:?}");
    let id = answers.iter().find(|(status, _)| *status == 201).and_then(|(_, b)| b["id"].as_str());
    let id = id.expect("an opened session's id");
    assert_eq!(server.call("POST", "/v1/sessions", Some(TOKEN_C), Some(open)).0, 429);
    assert_eq!(server.call("DELETE", &format!("/v1/sessions/{id}"), Some(TOKEN_C), None).0, 204);
    assert_eq!(server.call("POST", "/v1/sessions", Some(TOKEN_C), Some(open)).0, 201);
}

/// Issue 19: a session open that finds every instance slot it may take
/// held is "busy": 503 with `Retry-After` and the class `busy`, not a 500.
/// The server has two slots (`STOCKADE_MAX_INSTANCES=2`), of which
/// sessions may hold one.
#[test]
fn a_request_that_finds_every_instance_slot_held_is_busy_503_with_retry_after() {
    let server = Server::custom_with_env(
        &[("p.toml", "")],
        "[[tokens]]\nid = \"a\"\nsha256 = \"{sha:token-for-agent-a}\"\npolicy = \"p.toml\"\n",
        &[("STOCKADE_MAX_INSTANCES", "2")],
    );

    let (status, opened) = server.call("POST", "/v1/sessions", Some(TOKEN_A), Some(r#"{"language": "js"}"#));
    assert_eq!(status, 201, "{opened}");
    let body = r#"{"language": "js"}"#;
    let mut stream = TcpStream::connect(&server.address).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).expect("timeout");
    let request = format!(
        "POST /v1/sessions HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: Bearer {TOKEN_A}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.address,
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let (head, answer) = response.split_once("\r\n\r\n").expect("a response");
    assert!(head.starts_with("HTTP/1.1 503"), "{response}");
    assert!(head.to_ascii_lowercase().contains("\r\nretry-after: 1"), "{response}");
    let answer: serde_json::Value = serde_json::from_str(answer).expect("a JSON error");
    assert_eq!(answer["class"], "busy", "{answer}");
    // A fresh run still has the other slot.
    let (status, outcome) =
        server.call("POST", "/v1/runs", Some(TOKEN_A), Some(r#"{"language": "js", "code": "1"}"#));
    assert_eq!((status, &outcome["value"]), (200, &serde_json::json!(1)), "{outcome}");
    // A language given in a session's run must be the session's.
    let id = opened["id"].as_str().expect("an id");
    let wrong = r#"{"language": "python", "code": "1"}"#;
    let (status, refused) =
        server.call("POST", &format!("/v1/sessions/{id}/runs"), Some(TOKEN_A), Some(wrong));
    assert_eq!((status, &refused["class"]), (400, &serde_json::json!("invalid_request")), "{refused}");
}

/// Issue 19, item 8: a token's `tools` register host tools, run like
/// `--tool`, in the configuration's folder; a guest's call over HTTP gets
/// the tool's answer.
#[test]
fn a_tool_in_the_serve_config_answers_a_guest() {
    let add =
        "import json, sys\nargs = json.load(sys.stdin)\nprint(json.dumps({'sum': args['a'] + args['b']}))\n";
    let server = Server::custom(
        &[("add.py", add), ("p.toml", "[tools.add]\nmax_calls = 3\n")],
        "[[tokens]]\nid = \"agent-a\"\nsha256 = \"{sha:token-for-agent-a}\"\npolicy = \"p.toml\"\n\
         tools = { add = \"python3 add.py\" }\n",
    );
    let run = r#"{"language": "js", "code": "(await add({a: 40, b: 2})).sum"}"#;
    let (status, outcome) = server.call("POST", "/v1/runs", Some(TOKEN_A), Some(run));
    assert_eq!((status, &outcome["value"]), (200, &serde_json::json!(42)), "{outcome}");
}

/// Issue 19, item 8: a tool the config names but cannot build (an empty
/// command) stops the server with an error naming the token.
#[test]
fn a_bad_tool_in_the_serve_config_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("p.toml"), "").expect("policy");
    let config = format!(
        "[[tokens]]\nid = \"agent-a\"\nsha256 = \"{}\"\npolicy = \"p.toml\"\ntools = {{ add = \" \" }}\n",
        sha256(TOKEN_A)
    );
    std::fs::write(dir.path().join("server.toml"), config).expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["serve", "--config"])
        .arg(dir.path().join("server.toml"))
        .output()
        .expect("run the server");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("tokens[0] (agent-a)") && stderr.contains("the command is empty"), "{stderr}");
}

/// Issue 19, item 8: every error body is `{"error": "..."}`, the
/// framework's own rejections included, and they are in the OpenAPI
/// document; a 429 says when to come back.
#[test]
fn every_error_is_json_and_429_says_when_to_retry() {
    let server = Server::start();
    let huge = format!(r#"{{"language": "js", "code": "{}"}}"#, "x".repeat(100_000));
    let cases: [(&str, &str, Option<&str>, u16); 6] = [
        ("POST", "/v1/runs", Some(&huge), 413),
        ("POST", "/v1/runs", Some(r#"{"language": "js"}"#), 422),
        ("POST", "/v1/runs", Some("{not json"), 400),
        ("POST", "/v1/nowhere", Some("{}"), 404),
        ("GET", "/v1/runs", None, 405),
        ("POST", "/v1/sessions/nope/runs", Some(r#"{"code": "1"}"#), 404),
    ];
    for (method, path, body, expected) in cases {
        let (status, headers, answer) = call_with_headers(&server.address, method, path, Some(TOKEN_A), body);
        assert_eq!(status, expected, "{method} {path}: {answer}");
        assert!(headers["content-type"].starts_with("application/json"), "{method} {path}: {headers:?}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{method} {path}: {answer}");
    }
    let (_, api) = server.call("GET", "/v1/openapi.json", None, None);
    let runs = &api["paths"]["/v1/runs"]["post"]["responses"];
    for code in ["400", "401", "408", "413", "422", "429", "503"] {
        assert_eq!(runs[code]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error");
    }
    assert!(runs["429"]["headers"]["Retry-After"].is_object(), "{runs}");
    assert!(api["components"]["schemas"]["Error"]["required"] == serde_json::json!(["error"]), "{api}");
    // Token B's rate is 3 a minute: the fourth run waits for a token to
    // come back, some seconds, at least one and at most the minute.
    let run = r#"{"language": "js", "code": "1"}"#;
    for _ in 0..3 {
        assert_eq!(server.call("POST", "/v1/runs", Some(TOKEN_B), Some(run)).0, 200);
    }
    let (status, headers, answer) =
        call_with_headers(&server.address, "POST", "/v1/runs", Some(TOKEN_B), Some(run));
    assert_eq!(status, 429, "{answer}");
    let retry: u64 =
        headers.get("retry-after").and_then(|v| v.parse().ok()).expect("a Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    // Token C's sessions are at max_sessions: come back in a second.
    let open = r#"{"language": "js"}"#;
    for _ in 0..2 {
        assert_eq!(server.call("POST", "/v1/sessions", Some(TOKEN_C), Some(open)).0, 201);
    }
    let (status, headers, _) =
        call_with_headers(&server.address, "POST", "/v1/sessions", Some(TOKEN_C), Some(open));
    assert_eq!((status, headers.get("retry-after").map(String::as_str)), (429, Some("1")));
}

/// Issue 19, item 8: a session that ended, after `max_runs` or after a
/// limit, answers 410 every time until it is closed (204, then 404), and
/// the listing shows it ended; another token sees none of it.
#[test]
fn an_ended_session_answers_410_until_it_is_closed() {
    let server = Server::custom(
        &[("runs.toml", "[session]\nmax_runs = 2\n"), ("wall.toml", "[limits]\nwall_ms = 300\n")],
        "[[tokens]]\nid = \"agent-a\"\nsha256 = \"{sha:token-for-agent-a}\"\npolicy = \"runs.toml\"\n\n\
         [[tokens]]\nid = \"agent-b\"\nsha256 = \"{sha:token-for-agent-b}\"\npolicy = \"wall.toml\"\n",
    );
    let open = |token| {
        let (status, opened) =
            server.call("POST", "/v1/sessions", Some(token), Some(r#"{"language": "js"}"#));
        assert_eq!(status, 201, "{opened}");
        opened["id"].as_str().expect("an id").to_string()
    };
    let run = |token, id: &str, code: &str| {
        let body = serde_json::json!({"code": code}).to_string();
        server.call("POST", &format!("/v1/sessions/{id}/runs"), Some(token), Some(&body))
    };
    // max_runs = 2: the third run and every one after it get 410.
    let counted = open(TOKEN_A);
    assert_eq!(run(TOKEN_A, &counted, "1").0, 200);
    assert_eq!(run(TOKEN_A, &counted, "2").0, 200);
    for _ in 0..3 {
        let (status, answer) = run(TOKEN_A, &counted, "3");
        assert_eq!(status, 410, "{answer}");
        assert!(answer["error"].as_str().is_some_and(|e| e.contains("ended")), "{answer}");
    }
    // A limit ends the session: 410 from then on, not 404.
    let limited = open(TOKEN_B);
    assert_eq!(run(TOKEN_B, &limited, "for (;;) {}").0, 200);
    for _ in 0..2 {
        assert_eq!(run(TOKEN_B, &limited, "1").0, 410);
    }
    // Each token lists its own sessions only, ended ones marked so.
    let live = open(TOKEN_A);
    let (status, listing) = server.call("GET", "/v1/sessions", Some(TOKEN_A), None);
    assert_eq!(status, 200, "{listing}");
    let mut listed: Vec<(String, bool)> = listing["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| {
            assert_eq!(s["language"], "js", "{s}");
            (s["id"].as_str().expect("id").to_string(), s["ended"].as_bool().expect("ended"))
        })
        .collect();
    listed.sort();
    let mut expected = vec![(counted.clone(), true), (live.clone(), false)];
    expected.sort();
    assert_eq!(listed, expected, "{listing}");
    let (_, listing) = server.call("GET", "/v1/sessions", Some(TOKEN_B), None);
    assert_eq!(listing["sessions"].as_array().map(Vec::len), Some(1), "{listing}");
    assert_eq!(listing["sessions"][0]["id"], limited.as_str(), "{listing}");
    assert_eq!(server.call("GET", "/v1/sessions", None, None).0, 401);
    // Another token cannot see or close it; its owner closes it once.
    assert_eq!(run(TOKEN_B, &counted, "1").0, 404);
    assert_eq!(server.call("DELETE", &format!("/v1/sessions/{counted}"), Some(TOKEN_B), None).0, 404);
    assert_eq!(server.call("DELETE", &format!("/v1/sessions/{counted}"), Some(TOKEN_A), None).0, 204);
    assert_eq!(server.call("DELETE", &format!("/v1/sessions/{counted}"), Some(TOKEN_A), None).0, 404);
    assert_eq!(run(TOKEN_A, &counted, "1").0, 404);
    let (_, api) = server.call("GET", "/v1/openapi.json", None, None);
    let listing = &api["paths"]["/v1/sessions"]["get"]["responses"]["200"];
    assert!(listing.is_object(), "{api}");
}

/// Issue 19, item 8: two tokens whose policies name the same audit log
/// share its one writer: the server starts, both run, and the log verifies.
#[test]
fn two_tokens_share_one_audit_log() {
    let policy = "[audit]\npath = \"{dir}/audit.jsonl\"\n";
    let server = Server::custom(
        &[("a.toml", policy), ("b.toml", &format!("{policy}[limits]\nwall_ms = 4000\n"))],
        "[[tokens]]\nid = \"agent-a\"\nsha256 = \"{sha:token-for-agent-a}\"\npolicy = \"a.toml\"\n\n\
         [[tokens]]\nid = \"agent-b\"\nsha256 = \"{sha:token-for-agent-b}\"\npolicy = \"b.toml\"\n",
    );
    let run = r#"{"language": "js", "code": "6 * 7"}"#;
    for token in [TOKEN_A, TOKEN_B, TOKEN_A] {
        assert_eq!(server.call("POST", "/v1/runs", Some(token), Some(run)).0, 200);
    }
    let log = server.dir.path().join("audit.jsonl");
    let text = std::fs::read_to_string(&log).expect("the log");
    let principals: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|e| e["event"]["kind"] == "run_start")
        .map(|e| e["event"]["principal"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(principals, ["agent-a", "agent-b", "agent-a"], "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["audit", "verify"])
        .arg(&log)
        .output()
        .expect("stockade audit verify");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One request with a raw body; the status and the raw answer body.
fn call_raw(address: &str, method: &str, path: &str, token: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send the head");
    // The server may answer (413) before taking the whole body.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    let status = String::from_utf8_lossy(&response[..end])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, response[end..].to_vec())
}

#[test]
fn a_sessions_files_go_in_and_out_over_http() {
    let server = Server::custom(
        &[("files.toml", "[files]\ntmp_bytes = 20971520\n")],
        "[[tokens]]\nid = \"agent-a\"\nsha256 = \"{sha:token-for-agent-a}\"\npolicy = \"files.toml\"\n\n\
         [[tokens]]\nid = \"agent-b\"\nsha256 = \"{sha:token-for-agent-b}\"\npolicy = \"files.toml\"\n",
    );
    let (status, opened) = server.call("POST", "/v1/sessions", Some(TOKEN_A), Some(r#"{"language": "js"}"#));
    assert_eq!(status, 201, "{opened}");
    let id = opened["id"].as_str().expect("an id").to_string();
    let files = format!("/v1/sessions/{id}/files");

    // 17 KB and 5 MiB (past max_body_bytes, which uploads are not held to).
    for (name, len) in [("in.bin", 17 * 1024), ("big/five.bin", 5 << 20)] {
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let (status, answer) = call_raw(&server.address, "PUT", &format!("{files}/{name}"), TOKEN_A, &body);
        let answer: serde_json::Value = serde_json::from_slice(&answer).expect("JSON");
        assert_eq!(status, 201, "{answer}");
        assert_eq!(answer["bytes"], len, "{answer}");
        assert_eq!(answer["blake3"], blake3::hash(&body).to_hex().as_str(), "{answer}");
        let (status, back) = call_raw(&server.address, "GET", &format!("{files}/{name}"), TOKEN_A, b"");
        assert_eq!(status, 200);
        assert!(back == body, "{name} came back different ({} bytes)", back.len());
    }
    let run = serde_json::json!({"code": "fs.writeFileSync('/tmp/out.txt', String(fs.statSync('/tmp/in.bin').size)); 1"});
    let (status, outcome) =
        server.call("POST", &format!("/v1/sessions/{id}/runs"), Some(TOKEN_A), Some(&run.to_string()));
    assert_eq!((status, &outcome["status"]["kind"]), (200, &serde_json::json!("ok")), "{outcome}");
    let (status, out) = call_raw(&server.address, "GET", &format!("{files}/out.txt"), TOKEN_A, b"");
    assert_eq!((status, out.as_slice()), (200, &b"17408"[..]));

    let (status, listing) = server.call("GET", &files, Some(TOKEN_A), None);
    assert_eq!(status, 200, "{listing}");
    let paths: Vec<&str> =
        listing["entries"].as_array().expect("entries").iter().filter_map(|e| e["path"].as_str()).collect();
    assert_eq!(paths, ["/tmp/big", "/tmp/in.bin", "/tmp/out.txt"], "{listing}");
    let (status, listing) = server.call("GET", &format!("{files}?path=big"), Some(TOKEN_A), None);
    assert_eq!((status, &listing["entries"][0]["bytes"]), (200, &serde_json::json!(5 << 20)), "{listing}");

    // Over the session's space: 413, and nothing half-written.
    let (status, answer) =
        call_raw(&server.address, "PUT", &format!("{files}/huge.bin"), TOKEN_A, &vec![7u8; 24 << 20]);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(call_raw(&server.address, "GET", &format!("{files}/huge.bin"), TOKEN_A, b"").0, 404);
    // Hostile paths, another token, a folder, a removal.
    assert_eq!(call_raw(&server.address, "GET", &format!("{files}/a/../../etc/passwd"), TOKEN_A, b"").0, 400);
    assert_eq!(call_raw(&server.address, "GET", &format!("{files}/in.bin"), TOKEN_B, b"").0, 404);
    assert_eq!(call_raw(&server.address, "GET", &format!("{files}/big"), TOKEN_A, b"").0, 409);
    assert_eq!(call_raw(&server.address, "DELETE", &format!("{files}/out.txt"), TOKEN_A, b"").0, 204);
    assert_eq!(call_raw(&server.address, "GET", &format!("{files}/out.txt"), TOKEN_A, b"").0, 404);
    assert_eq!(server.call("GET", &files, None, None).0, 401);
}

/// Sends `body` to `path` asking for ndjson; the open stream.
fn ask_for_lines(address: &str, path: &str, token: &str, body: &str) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).expect("timeout");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Accept: application/x-ndjson\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    BufReader::new(stream)
}

/// The next JSON line of a chunked ndjson answer (skipping the head and
/// the chunk sizes); `None` at its end.
fn next_line(reader: &mut BufReader<TcpStream>) -> Option<serde_json::Value> {
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.starts_with('{') {
            return Some(serde_json::from_str(line.trim()).expect("a JSON line"));
        }
    }
}

#[test]
fn a_run_asked_for_as_ndjson_streams_its_output_then_its_outcome() {
    let server = Server::start();
    // A whole run: each line as it was written, then the outcome.
    let body = r#"{"language": "js", "code": "console.log('one'); console.error('two'); 42"}"#;
    let mut reader = ask_for_lines(&server.address, "/v1/runs", TOKEN_C, body);
    let lines: Vec<serde_json::Value> = std::iter::from_fn(|| next_line(&mut reader)).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], serde_json::json!({"type": "output", "stream": "stdout", "text": "one\n"}));
    assert_eq!(lines[1], serde_json::json!({"type": "output", "stream": "stderr", "text": "two\n"}));
    assert_eq!(lines[2]["type"], "outcome");
    assert_eq!(lines[2]["outcome"]["value"], 42);
    assert_eq!(lines[2]["outcome"]["stdout"], "one\n");

    // A guest that prints, then spins until its wall time: the line comes
    // long before the outcome can.
    let body = r#"{"language": "js", "code": "console.log('first'); while (true) {}"}"#;
    let mut reader = ask_for_lines(&server.address, "/v1/runs", TOKEN_C, body);
    let first = next_line(&mut reader).expect("a line");
    assert_eq!(first["text"], "first\n", "{first}");
    assert!(reader.buffer().iter().all(|b| *b != b'{'), "the outcome came with the first line");
    let last = next_line(&mut reader).expect("the outcome");
    assert_eq!(last["outcome"]["status"]["kind"], "limit_exceeded", "{last}");

    // In a session, the same.
    let (status, opened) = server.call("POST", "/v1/sessions", Some(TOKEN_C), Some(r#"{"language": "js"}"#));
    assert_eq!(status, 201, "{opened}");
    let path = format!("/v1/sessions/{}/runs", opened["id"].as_str().expect("id"));
    let mut reader =
        ask_for_lines(&server.address, &path, TOKEN_C, r#"{"code": "console.log('in session')"}"#);
    let lines: Vec<serde_json::Value> = std::iter::from_fn(|| next_line(&mut reader)).collect();
    assert_eq!(lines[0]["text"], "in session\n", "{lines:?}");
    assert_eq!(lines[1]["type"], "outcome", "{lines:?}");
}

#[test]
fn a_client_that_leaves_a_streamed_run_cancels_it() {
    let server = Server::start();
    let code =
        "console.log('first'); let i = 0; while (true) { if (++i % 100000 === 0) console.log('tick'); }";
    let body = serde_json::json!({"language": "js", "code": code}).to_string();
    let mut reader = ask_for_lines(&server.address, "/v1/runs", TOKEN_A, &body);
    assert_eq!(next_line(&mut reader).expect("a line")["text"], "first\n");
    drop(reader);
    // Token A's policy logs to audit.jsonl: its run ends cancelled, well
    // before the 30 s wall time would have stopped it.
    let log = server.dir.path().join("audit.jsonl");
    let end = (0..200)
        .find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.lines().find(|line| line.contains("\"run_end\"")).map(str::to_string)
        })
        .expect("the run ended");
    assert!(end.contains("cancelled"), "{end}");
}

/// Follows `path` (a GET) as ndjson; the open stream.
fn follow_lines(address: &str, path: &str, token: &str) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).expect("timeout");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Accept: application/x-ndjson\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    BufReader::new(stream)
}

#[test]
fn a_sessions_background_commands_are_started_fed_followed_and_killed_over_http() {
    let server = Server::custom(
        &[("sh.toml", "languages = [\"sh\", \"js\"]\n")],
        "[[tokens]]\nid = \"agent-a\"\nsha256 = \"{sha:token-for-agent-a}\"\npolicy = \"sh.toml\"\n\n\
         [[tokens]]\nid = \"agent-b\"\nsha256 = \"{sha:token-for-agent-b}\"\npolicy = \"sh.toml\"\n",
    );
    let (status, opened) = server.call("POST", "/v1/sessions", Some(TOKEN_A), Some(r#"{"language": "sh"}"#));
    assert_eq!(status, 201, "{opened}");
    let commands = format!("/v1/sessions/{}/commands", opened["id"].as_str().expect("an id"));
    let start = |command: &str| {
        let body = serde_json::json!({ "command": command }).to_string();
        server.call("POST", &commands, Some(TOKEN_A), Some(&body))
    };

    let (status, started) = start("echo ready; while read line; do echo \"got $line\"; done; echo bye >&2");
    assert_eq!((status, &started["id"], &started["running"]), (201, &"c1".into(), &true.into()), "{started}");
    let c1 = format!("{commands}/c1");
    // Followed: the first line comes while the command waits for input
    // that is sent only once it has.
    let mut follower = follow_lines(&server.address, &c1, TOKEN_A);
    assert_eq!(next_line(&mut follower).expect("a line")["text"], "ready\n");
    assert_eq!(call_raw(&server.address, "POST", &format!("{c1}/stdin"), TOKEN_A, b"hello\n").0, 204);
    assert_eq!(next_line(&mut follower).expect("a line")["text"], "got hello\n");
    assert_eq!(call_raw(&server.address, "POST", &format!("{c1}/stdin?close=true"), TOKEN_A, b"").0, 204);
    let rest: Vec<serde_json::Value> = std::iter::from_fn(|| next_line(&mut follower)).collect();
    assert_eq!(
        rest[0],
        serde_json::json!({"type": "output", "stream": "stderr", "text": "bye\n"}),
        "{rest:?}"
    );
    let last = &rest[rest.len() - 1];
    assert_eq!((&last["type"], &last["command"]["exit_code"]), (&"command".into(), &0.into()), "{rest:?}");
    let (status, done) = server.call("GET", &c1, Some(TOKEN_A), None);
    assert_eq!(
        (status, &done["stdout"], &done["running"]),
        (200, &"ready\ngot hello\n".into(), &false.into())
    );
    assert_eq!(call_raw(&server.address, "POST", &format!("{c1}/stdin"), TOKEN_A, b"late\n").0, 409);

    // Signalled, waited for; killed.
    let (_, term) = start("echo up; sleep 1000");
    let c2 = format!("{commands}/{}", term["id"].as_str().expect("an id"));
    let (status, answer) =
        server.call("POST", &format!("{c2}/signal"), Some(TOKEN_A), Some(r#"{"signal": "SIGBOGUS"}"#));
    assert_eq!(status, 400, "{answer}");
    let (status, _) =
        server.call("POST", &format!("{c2}/signal"), Some(TOKEN_A), Some(r#"{"signal": "TERM"}"#));
    assert_eq!(status, 204);
    let (status, ended) = server.call("GET", &format!("{c2}?wait_ms=30000"), Some(TOKEN_A), None);
    assert_eq!((status, &ended["exit_code"]), (200, &143.into()), "{ended}");
    let (_, sleeper) = start("sleep 1000");
    let c3 = format!("{commands}/{}", sleeper["id"].as_str().expect("an id"));
    let (status, killed) = server.call("DELETE", &c3, Some(TOKEN_A), None);
    assert_eq!(
        (status, &killed["running"], &killed["exit_code"]),
        (200, &false.into(), &137.into()),
        "{killed}"
    );

    let (status, listed) = server.call("GET", &commands, Some(TOKEN_A), None);
    let ids: Vec<&str> =
        listed["commands"].as_array().expect("commands").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!((status, ids), (200, vec!["c1", "c2", "c3"]), "{listed}");
    // Another token's, an unknown one, a body off the schema, a NUL.
    assert_eq!(server.call("GET", &c1, Some(TOKEN_B), None).0, 404);
    assert_eq!(server.call("GET", &format!("{commands}/c99"), Some(TOKEN_A), None).0, 404);
    assert_eq!(server.call("POST", &commands, Some(TOKEN_A), Some(r#"{"cmd": "true"}"#)).0, 422);
    assert_eq!(start("echo \u{0}").0, 400);
    // A session of another language has none.
    let (_, js) = server.call("POST", "/v1/sessions", Some(TOKEN_A), Some(r#"{"language": "js"}"#));
    let js_commands = format!("/v1/sessions/{}/commands", js["id"].as_str().expect("an id"));
    let (status, refused) = server.call("POST", &js_commands, Some(TOKEN_A), Some(r#"{"command": "true"}"#));
    assert_eq!(status, 400, "{refused}");
}

/// The server's peak resident memory so far (`VmHWM`), in bytes.
fn peak_memory(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).expect("its status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

/// The `i`th byte of the transfer test's pattern.
fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8 ^ (i >> 20) as u8
}

#[test]
fn a_200_mib_file_goes_in_and_out_without_the_server_holding_it() {
    const SIZE: u64 = 200 << 20;
    let server = Server::custom(
        &[("big.toml", "[files]\ntmp_bytes = 268435456\n")],
        "[[tokens]]\nid = \"agent-a\"\nsha256 = \"{sha:token-for-agent-a}\"\npolicy = \"big.toml\"\n",
    );
    let (status, opened) = server.call("POST", "/v1/sessions", Some(TOKEN_A), Some(r#"{"language": "js"}"#));
    assert_eq!(status, 201, "{opened}");
    let path = format!("/v1/sessions/{}/files/big.bin", opened["id"].as_str().expect("an id"));
    let before = peak_memory(&server);

    // Up: the body is made as it is sent, a chunk at a time.
    let mut up = TcpStream::connect(&server.address).expect("connect");
    up.set_read_timeout(Some(std::time::Duration::from_secs(120))).expect("timeout");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN_A}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {SIZE}\r\n\r\n"
    );
    up.write_all(head.as_bytes()).expect("the head");
    let mut chunk = vec![0u8; 1 << 20];
    for start in (0..SIZE).step_by(chunk.len()) {
        for (at, byte) in chunk.iter_mut().enumerate() {
            *byte = pattern_byte(start + at as u64);
        }
        up.write_all(&chunk).expect("the body");
    }
    let mut answer = String::new();
    up.read_to_string(&mut answer).expect("the answer");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.contains(&format!("\"bytes\":{SIZE}")), "{answer}");

    // Down: read a chunk at a time, checking every byte.
    let mut down = TcpStream::connect(&server.address).expect("connect");
    down.set_read_timeout(Some(std::time::Duration::from_secs(120))).expect("timeout");
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN_A}\r\n\r\n"
    );
    down.write_all(head.as_bytes()).expect("the request");
    let mut reader = BufReader::new(down);
    let mut line = String::new();
    while line != "\r\n" {
        line.clear();
        reader.read_line(&mut line).expect("a header");
    }
    let mut at = 0u64;
    loop {
        let n = reader.read(&mut chunk).expect("the body");
        if n == 0 {
            break;
        }
        for byte in &chunk[..n] {
            assert_eq!(*byte, pattern_byte(at), "byte {at} came back different");
            at += 1;
        }
    }
    assert_eq!(at, SIZE, "the download was short");
    let grown = peak_memory(&server).saturating_sub(before);
    assert!(grown < 64 << 20, "the server's peak memory grew by {} MiB for a 200 MiB file", grown >> 20);
}

#[test]
fn the_rust_remote_client_runs_streams_and_moves_files_as_in_process() {
    use std::sync::{Arc, Mutex};
    use stockade::remote::Client;
    use stockade::{FileError, Language, Request, SandboxError, Stream};
    let server = Server::custom(
        &[("remote.toml", "[files]\ntmp_bytes = 33554432\n")],
        "[[tokens]]\nid = \"agent-a\"\nsha256 = \"{sha:token-for-agent-a}\"\npolicy = \"remote.toml\"\n",
    );
    let url = format!("http://{}", server.address);
    let client = Client::connect(&url, Some(TOKEN_A)).expect("a client");
    assert!(client.healthy());
    let code = "console.log('hi'); 6 * 7";
    let remote = client.run(&Request::new(Language::JavaScript, code)).expect("a remote run");
    let local = stockade::Sandbox::new(stockade::Policy::default())
        .expect("sandbox")
        .run(Language::JavaScript, code)
        .expect("a local run");
    assert_eq!((&remote.status, &remote.stdout, &remote.value), (&local.status, &local.stdout, &local.value));

    // Streamed: the output reaches the sink, then the outcome comes.
    let seen = Arc::new(Mutex::new(Vec::<(Stream, String)>::new()));
    let sink = {
        let seen = seen.clone();
        move |stream: Stream, bytes: &[u8]| {
            seen.lock().expect("lock").push((stream, String::from_utf8_lossy(bytes).into()))
        }
    };
    let request = Request::new(Language::JavaScript, "console.log('one'); console.error('two'); 3");
    let streamed = client.run_with(&request, Arc::new(sink)).expect("a streamed run");
    assert_eq!(streamed.value, Some(3.into()));
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![(Stream::Stdout, "one\n".to_string()), (Stream::Stderr, "two\n".to_string())]
    );

    // Refusals are the in-process errors of the server's class.
    let refused = client.run(&Request::new(Language::JavaScript, "1").with_env("NOT_LISTED", "x"));
    assert!(matches!(refused, Err(SandboxError::Request(_))), "{refused:?}");
    let stranger = Client::connect(&url, Some("wrong-token")).expect("a client");
    let refused = stranger.run(&Request::new(Language::JavaScript, "1"));
    assert!(matches!(refused, Err(SandboxError::Remote { status: 401, .. })), "{refused:?}");
    assert!(Client::connect("https://example.com", None).is_err());

    // A session and its files, streamed both ways.
    let session = client.session(Language::JavaScript).expect("a session");
    let sent = session.files().write("in.txt", &b"hello"[..]).expect("write");
    assert_eq!((sent.path.as_str(), sent.bytes), ("/tmp/in.txt", 5));
    // `printf hello | b3sum`
    assert_eq!(sent.blake3, "ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f");
    let big: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8).collect();
    assert_eq!(session.files().write("/tmp/big.bin", &big[..]).expect("16 MiB up").bytes, big.len() as u64);
    let ran = session
        .run("fs.writeFileSync('/tmp/out.txt', fs.readFileSync('/tmp/in.txt', 'utf8').toUpperCase()); 1");
    assert_eq!(ran.expect("a run").value, Some(1.into()));
    let mut out = Vec::new();
    let got = session.files().read("out.txt", &mut out).expect("read");
    assert_eq!((out.as_slice(), got.bytes), (&b"HELLO"[..], 5));
    let mut back = Vec::new();
    session.files().read("big.bin", &mut back).expect("16 MiB down");
    assert!(back == big, "the 16 MiB file came back different");
    let listed: Vec<String> = session.files().list("").expect("list").into_iter().map(|e| e.path).collect();
    assert_eq!(listed, ["/tmp/big.bin", "/tmp/in.txt", "/tmp/out.txt"]);
    assert!(matches!(session.files().read("nothing.txt", Vec::new()), Err(FileError::Missing { .. })));
    assert!(matches!(session.files().read("../etc/passwd", Vec::new()), Err(FileError::Session(_))));
    session.files().remove("out.txt").expect("remove");
    assert!(matches!(session.files().read("out.txt", Vec::new()), Err(FileError::Missing { .. })));
    session.close().expect("close");
    session.close().expect("closing twice is harmless");
    assert!(matches!(session.run("1"), Err(SandboxError::Remote { status: 404, .. })));
}

#[test]
fn the_rust_remote_client_runs_background_commands_as_in_process() {
    use std::sync::{Arc, Mutex};
    use stockade::remote::Client;
    use stockade::{CommandError, Language, Signal, Stream};
    let server = Server::custom(
        &[("sh.toml", "languages = [\"sh\"]\n")],
        "[[tokens]]\nid = \"agent-a\"\nsha256 = \"{sha:token-for-agent-a}\"\npolicy = \"sh.toml\"\n",
    );
    let client = Client::connect(&format!("http://{}", server.address), Some(TOKEN_A)).expect("a client");
    let session = client.session(Language::Shell).expect("a session");
    let command = session.spawn("echo ready; read reply; echo \"got $reply\" >&2").expect("spawn");
    assert_eq!((command.id(), command.output().expect("output").running), ("c1", true));
    // Followed: the reply is written only once the follower has seen "ready".
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = {
        let seen = seen.clone();
        let session_id = session.id().to_string();
        let (address, answered) =
            (server.address.clone(), Arc::new(std::sync::atomic::AtomicBool::new(false)));
        move |_: Stream, bytes: &[u8]| {
            let mut seen = seen.lock().expect("lock");
            seen.push_str(&String::from_utf8_lossy(bytes));
            if seen.contains("ready") && !answered.swap(true, std::sync::atomic::Ordering::SeqCst) {
                let path = format!("/v1/sessions/{session_id}/commands/c1/stdin");
                assert_eq!(call_raw(&address, "POST", &path, TOKEN_A, b"yes\n").0, 204);
            }
        }
    };
    let done = command.follow(&sink, Some(std::time::Duration::from_secs(30))).expect("follow");
    assert_eq!((done.running, done.exit_code, done.stderr.as_str()), (false, Some(0), "got yes\n"));
    assert_eq!(*seen.lock().expect("lock"), "ready\ngot yes\n");
    assert!(matches!(command.write_stdin(b"late\n"), Err(CommandError::StdinClosed)));

    let squares = session.spawn("while read n; do echo $((n * n)); done").expect("spawn");
    squares.write_stdin(b"12\n").expect("write");
    squares.close_stdin().expect("close");
    assert_eq!(squares.wait(Some(std::time::Duration::from_secs(30))).expect("wait").stdout, "144\n");
    let trapped = session.spawn("trap 'exit 6' TERM; echo up; while :; do sleep 0.05; done").expect("spawn");
    while !trapped.output().expect("output").stdout.contains("up") {}
    trapped.signal(Signal::Term).expect("signal");
    assert_eq!(trapped.wait(Some(std::time::Duration::from_secs(30))).expect("wait").exit_code, Some(6));
    let killed = session.spawn("sleep 1000").expect("spawn").kill().expect("kill");
    assert_eq!((killed.running, killed.exit_code), (false, Some(137)));
    let ids: Vec<String> = session.commands().expect("list").iter().map(|c| c.id().to_string()).collect();
    assert_eq!(ids, ["c1", "c2", "c3", "c4"]);
    assert!(matches!(
        session.spawn("echo \0"),
        Err(CommandError::Session(stockade::SandboxError::Request(_)))
    ));
}
