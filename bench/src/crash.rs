//! R4: the audit trail survives a crash under load. 200 clients send fresh
//! runs to `stockade serve` (audit log on, `fsync = "batch"`); halfway, the
//! server is killed with SIGKILL and started again on the same port, and
//! the clients go on until the target count. Then `stockade audit verify`
//! must pass, and every run a client saw finish must have its `run_end`
//! record at the sequence number its outcome named.

use crate::row::{Peer, Quantity, Row};
use anyhow::{Context, bail, ensure};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-crash-token";
const CLIENTS: usize = 200;
const BODY: &str = r#"{"language": "js", "code": "6 * 7"}"#;

/// Runs the scenario with `runs` runs in all.
pub fn all(cli: &Path, runs: u64) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("audit.jsonl");
    std::fs::write(dir.path().join("policy.toml"), format!("[audit]\npath = {log:?}\nfsync = \"batch\"\n"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let address = format!("127.0.0.1:{port}");
    let digest = stockade::audit_log::sha256_hex(TOKEN.as_bytes());
    std::fs::write(
        dir.path().join("server.toml"),
        format!(
            "listen = \"{address}\"\n[[tokens]]\nid = \"crash\"\nsha256 = \"{digest}\"\npolicy = \"policy.toml\"\n\
             max_concurrent = 1024\nmax_sessions = 1\n"
        ),
    )?;
    let config = dir.path().join("server.toml");
    let mut server = start(cli, &config)?;

    let done = Arc::new(AtomicU64::new(0));
    let claimed = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(Mutex::new(Vec::<u64>::with_capacity(runs as usize)));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (address, done, claimed, failures, finished) =
                (address.clone(), done.clone(), claimed.clone(), failures.clone(), finished.clone());
            std::thread::spawn(move || client(&address, runs, &done, &claimed, &failures, &finished))
        })
        .collect();
    while done.load(Ordering::Relaxed) < runs / 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL: no shutdown path runs; whatever the log holds is what a crash leaves.
    server.kill()?;
    server.wait()?;
    let killed_at = done.load(Ordering::Relaxed);
    server = start(cli, &config)?;
    for client in clients {
        let _ = client.join();
    }
    let elapsed = started.elapsed();
    let _ = server.kill();
    let _ = server.wait();

    let verify = Command::new(cli).args(["audit", "verify"]).arg(&log).output()?;
    ensure!(
        verify.status.success(),
        "stockade audit verify failed after the crash: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let ends = run_ends(&log)?;
    let finished = finished.lock().map_err(|_| anyhow::anyhow!("a client panicked"))?;
    let missing = finished.iter().filter(|seq| !ends.contains(seq)).count();
    if missing > 0 {
        bail!(
            "{missing} of {} finished runs have no run_end record at the sequence their outcome named",
            finished.len()
        );
    }
    let rate = finished.len() as f64 / elapsed.as_secs_f64();
    Ok(vec![Row {
        id: "R4",
        what: format!(
            "{CLIENTS} clients, {} runs finished (SIGKILL and restart after {killed_at}, {} requests lost to the crash); \
             `audit verify` passes, 0 finished runs lack their record",
            finished.len(),
            failures.load(Ordering::Relaxed)
        ),
        ours: Quantity::PerSecond(rate),
        peer: Peer {
            name: "the issue's check (no peer named)".into(),
            median: Err("none in this benchmark".into()),
        },
        goal: None,
    }])
}

/// Starts the server and waits until it listens.
fn start(cli: &Path, config: &Path) -> anyhow::Result<Child> {
    let mut server = Command::new(cli)
        .args(["serve", "--config"])
        .arg(config)
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start stockade serve")?;
    let mut stderr = BufReader::new(server.stderr.take().context("stderr")?);
    let mut line = String::new();
    stderr.read_line(&mut line)?;
    ensure!(line.contains("listening"), "stockade serve did not start: {line}");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    Ok(server)
}

/// One client: keep-alive requests until `runs` have been claimed,
/// reconnecting when the server goes away.
fn client(
    address: &str,
    runs: u64,
    done: &AtomicU64,
    claimed: &AtomicU64,
    failures: &AtomicU64,
    finished: &Mutex<Vec<u64>>,
) {
    let mut stream: Option<BufReader<TcpStream>> = None;
    while claimed.fetch_add(1, Ordering::Relaxed) < runs {
        loop {
            let connection = match stream.as_mut() {
                Some(connection) => connection,
                None => match TcpStream::connect(address) {
                    Ok(fresh) => stream.insert(BufReader::new(fresh)),
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                },
            };
            match exchange(connection, address) {
                Ok(Some(last)) => {
                    if let Ok(mut finished) = finished.lock() {
                        finished.push(last);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                // Refused (429, 503): try again.
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                // The crash: the request may or may not have run; it is not
                // counted as finished.
                Err(_) => {
                    failures.fetch_add(1, Ordering::Relaxed);
                    stream = None;
                    done.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
}

/// One request; the `audit.last` of a finished run, `None` for a refusal.
fn exchange(connection: &mut BufReader<TcpStream>, address: &str) -> anyhow::Result<Option<u64>> {
    let request = format!(
        "POST /v1/runs HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    connection.get_mut().write_all(request.as_bytes())?;
    let mut status = String::new();
    ensure!(connection.read_line(&mut status)? > 0, "the server closed the connection");
    let mut length = 0;
    loop {
        let mut header = String::new();
        ensure!(connection.read_line(&mut header)? > 0, "the server closed the connection");
        if header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    connection.read_exact(&mut body)?;
    if !status.contains(" 200 ") {
        return Ok(None);
    }
    let outcome: serde_json::Value = serde_json::from_slice(&body)?;
    outcome["audit"]["last"].as_u64().map(Some).context("a finished run's outcome names no audit record")
}

/// The sequence numbers of the log's `run_end` records.
fn run_ends(log: &Path) -> anyhow::Result<HashSet<u64>> {
    let text = std::fs::read_to_string(log)?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|record| record["event"]["kind"] == "run_end")
        .filter_map(|record| record["seq"].as_u64())
        .collect())
}
