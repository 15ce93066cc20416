//! P10: the HTTP API's throughput on loopback under a load generator
//! (`wrk` from Debian, installed on first use), fresh sandboxes per request.

use crate::row::{Peer, Quantity, Row};
use anyhow::{Context, bail, ensure};
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

const TOKEN: &str = "bench-token";

/// Connections wrk keeps open, and how long it runs per language.
const CONNECTIONS: u32 = 16;

/// Runs `stockade serve` and drives it with wrk, JavaScript then Python.
pub fn all(cli: &Path, seconds: u32) -> anyhow::Result<Vec<Row>> {
    let wrk = wrk()?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("policy.toml"), "")?;
    let digest = stockade::audit_log::sha256_hex(TOKEN.as_bytes());
    let config = format!(
        "listen = \"127.0.0.1:0\"\n[[tokens]]\nid = \"bench\"\nsha256 = \"{digest}\"\npolicy = \"policy.toml\"\n\
         max_concurrent = 1024\nmax_sessions = 1\n"
    );
    let (mut server, address) = serve(cli, dir.path(), &config)?;
    let measured = [("JavaScript", "js", "6 * 7", 2000.0), ("Python", "python", "6 * 7", 300.0)]
        .into_iter()
        .map(|(name, language, code, goal)| {
            let body = format!(r#"{{"language": "{language}", "code": "{code}"}}"#);
            let (rate, p99) = load(&wrk, &address, &body, seconds, dir.path())?;
            Ok(Row {
                id: "P10",
                what: format!(
                    "HTTP `POST /v1/runs`, {name} `{code}`, fresh sandbox per request, {CONNECTIONS} connections, \
                     p99 latency {p99}"
                ),
                ours: Quantity::PerSecond(rate),
                peer: Peer {
                    name: "the issue's goal (no peer named)".into(),
                    median: Err("none in this benchmark".into()),
                },
                goal: Some(Quantity::PerSecond(goal)),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>();
    let _ = server.kill();
    let _ = server.wait();
    measured
}

/// Starts `stockade serve` with `config` (written into `dir`, beside the
/// policies it names); the server and the address it listens on.
pub fn serve(cli: &Path, dir: &Path, config: &str) -> anyhow::Result<(std::process::Child, String)> {
    std::fs::write(dir.join("server.toml"), config)?;
    let mut server = Command::new(cli)
        .args(["serve", "--config"])
        .arg(dir.join("server.toml"))
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start stockade serve")?;
    let mut stderr = std::io::BufReader::new(server.stderr.take().context("stderr")?);
    let mut line = String::new();
    stderr.read_line(&mut line)?;
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let address = line.trim().rsplit("http://").next().unwrap_or_default().to_string();
    Ok((server, address))
}

/// wrk's requests per second and its 99th-percentile latency.
fn load(wrk: &Path, address: &str, body: &str, seconds: u32, dir: &Path) -> anyhow::Result<(f64, String)> {
    let script = dir.join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = {body:?}\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.headers[\"Authorization\"] = \"Bearer {TOKEN}\"\n"
        ),
    )?;
    // One warm-up second, so the guest is compiled and loaded.
    let run = |duration: u32| {
        Command::new(wrk)
            .args(["-t2", &format!("-c{CONNECTIONS}"), &format!("-d{duration}s"), "--latency", "-s"])
            .arg(&script)
            .arg(format!("http://{address}/v1/runs"))
            .output()
    };
    run(1)?;
    let output = run(seconds)?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(output.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    if let Some(line) = text.lines().find(|l| l.contains("Non-2xx")) {
        bail!("some requests failed: {line}");
    }
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|r| r.trim().parse().ok())
        .context("wrk printed no Requests/sec")?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|p| p.trim().to_string())
        .context("wrk printed no 99% latency")?;
    Ok((rate, p99))
}

/// The machine's wrk, installed from Debian if missing.
fn wrk() -> anyhow::Result<std::path::PathBuf> {
    installed("/usr/bin/wrk", "wrk")
}

/// The program at `path`, installed from the Debian `package` if missing.
pub fn installed(path: &str, package: &str) -> anyhow::Result<std::path::PathBuf> {
    if Path::new(path).exists() {
        return Ok(path.into());
    }
    eprintln!("==> installing {package} (Debian) for a benchmark");
    let deps = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/deps.sh");
    crate::peers::run(
        Command::new("bash")
            .arg("-c")
            .arg(format!("source {} && install_apt_packages {package}", deps.display())),
    )?;
    ensure!(Path::new(path).exists(), "{path} is still missing after installing {package}");
    Ok(path.into())
}
