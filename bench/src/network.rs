//! P11, the network's cost: one Python program (urllib, small GETs one
//! after another, then one large download) run bare against an origin on
//! loopback, in the jail through stockade's proxy, and in srt through its
//! proxy; and JavaScript's `fetch` in the WebAssembly guest against node's
//! own `fetch`, direct.

use crate::row::{Peer, Quantity, Row};
use crate::stats::median;
use anyhow::{Context, ensure};
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::Duration;
use stockade::{Language, Policy, Sandbox, Status};
use stockade_net::testing::{Origin, TestDns};

/// The large download, in bytes.
const BIG: usize = 64 << 20;

/// What the program measured: each small request, and the download.
#[derive(serde::Deserialize)]
struct Measured {
    small: Vec<f64>,
    big: f64,
}

/// Rounds of the program, direct and jailed in turn.
const ROUNDS: usize = 3;

impl Measured {
    /// The round whose per-request median is the middle one, with the
    /// middle of the rounds' downloads.
    fn middle(mut rounds: Vec<Measured>) -> Measured {
        let mut bigs: Vec<f64> = rounds.iter().map(|round| round.big).collect();
        bigs.sort_by(f64::total_cmp);
        rounds.sort_by_key(Measured::per_request);
        let mut middle = rounds.swap_remove(rounds.len() / 2);
        middle.big = bigs[bigs.len() / 2];
        middle
    }

    fn per_request(&self) -> Duration {
        median(&self.small.iter().map(|s| Duration::from_secs_f64(*s)).collect::<Vec<_>>())
    }
}

/// The program: warm up, then `n` small GETs of `base`, then the download.
fn program(base: &str, n: usize) -> String {
    format!(
        r#"
import json, time, urllib.request
opener = urllib.request.build_opener()
for _ in range(3):
    opener.open("{base}/warm").read()
small = []
for _ in range({n}):
    t = time.perf_counter()
    opener.open("{base}/small").read()
    small.append(time.perf_counter() - t)
t = time.perf_counter()
data = opener.open("{base}/big/{BIG}").read()
big = time.perf_counter() - t
assert len(data) == {BIG}, len(data)
print(json.dumps({{"small": small, "big": big}}))
"#
    )
}

/// Every P11 row.
pub fn all(requests: usize) -> anyhow::Result<Vec<Row>> {
    let origin = Origin::start().context("start the origin")?;
    let port = origin.port;
    // Answers cached for a minute, as a real resolver's are.
    let dns = TestDns::with_ttl(60, |name, _| match name {
        "bench.test" => vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        _ => vec![],
    })
    .context("start the test resolver")?;

    let policy = Policy::from_toml_str(&format!(
        "languages = [\"python-native\", \"js\"]\n[limits]\nwall_ms = 120000\n\
         [network]\nallow = [\"bench.test:{port}\", \"127.0.0.1/32:{port}\"]\ndns = [\"{}\"]\n",
        dns.address
    ))?;
    let sandbox = Sandbox::new(policy)?;
    // Direct and jailed take turns, so that the machine's drift (its load
    // changes by the second) falls on both alike.
    let (mut direct, mut jailed) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        direct.push(bare(&program(&format!("http://127.0.0.1:{port}"), requests))?);
        let outcome =
            sandbox.run(Language::PythonNative, &program(&format!("http://bench.test:{port}"), requests))?;
        ensure!(outcome.status == Status::Ok, "the jailed program failed: {outcome:?}");
        jailed.push(serde_json::from_str(outcome.stdout.trim()).context("the jailed program's output")?);
    }
    let (direct, jailed) = (Measured::middle(direct), Measured::middle(jailed));
    let srt = srt(&program(&format!("http://localhost:{port}"), requests)).map_err(|e| format!("{e:#}"));

    let added = |measured: &Measured| measured.per_request().saturating_sub(direct.per_request());
    let mut rows = vec![
        Row {
            id: "P11",
            what: format!(
                "per-request latency added, python3 urllib GET (100 B) through the jail's proxy ({} direct)",
                crate::stats::show(direct.per_request())
            ),
            ours: added(&jailed).into(),
            peer: Peer {
                name: "srt (@anthropic-ai/sandbox-runtime), its proxy, over direct".into(),
                median: srt.as_ref().map(|srt| Quantity::from(added(srt))).map_err(Clone::clone),
            },
            goal: Some(Duration::from_micros(200).into()),
        },
        Row {
            id: "P11",
            what: format!("a {} MiB download, python3 urllib through the jail's proxy", BIG >> 20),
            ours: Duration::from_secs_f64(jailed.big).into(),
            peer: Peer {
                name: "the same download direct".into(),
                median: Ok(Duration::from_secs_f64(direct.big).into()),
            },
            // At least 80 % of direct throughput: at most 1.25× its time.
            goal: Some(Duration::from_secs_f64(direct.big * 1.25).into()),
        },
        Row {
            id: "P11",
            what: format!("{requests} small GETs one after another, through the jail's proxy"),
            ours: Quantity::PerSecond(1.0 / jailed.per_request().as_secs_f64()),
            peer: Peer {
                name: "the same requests direct".into(),
                median: Ok(Quantity::PerSecond(1.0 / direct.per_request().as_secs_f64())),
            },
            goal: Some(Quantity::PerSecond(0.8 / direct.per_request().as_secs_f64())),
        },
    ];
    if let Ok(srt) = &srt {
        rows.push(Row {
            id: "P11",
            what: format!("the {} MiB download, stockade's jail", BIG >> 20),
            ours: Duration::from_secs_f64(jailed.big).into(),
            peer: Peer {
                name: "srt, through its proxy".into(),
                median: Ok(Duration::from_secs_f64(srt.big).into()),
            },
            goal: None,
        });
    }
    rows.push(fetch_row(&sandbox, port, requests)?);
    Ok(rows)
}

/// JavaScript's `fetch` in the WebAssembly guest (the host makes each
/// request) against node's `fetch` direct, per request.
fn fetch_row(sandbox: &Sandbox, port: u16, requests: usize) -> anyhow::Result<Row> {
    let loop_of = |n: usize| {
        format!(
            "for (let i = 0; i < {n}; i++) {{ const r = await fetch('http://bench.test:{port}/small'); await r.text(); }}"
        )
    };
    let runs = |n: usize| -> anyhow::Result<Vec<Duration>> {
        (0..5)
            .map(|_| {
                let outcome = sandbox.run(Language::JavaScript, &loop_of(n))?;
                ensure!(outcome.status == Status::Ok, "the fetch loop failed: {outcome:?}");
                Ok(outcome.usage.wall)
            })
            .collect()
    };
    let (empty, full) = (median(&runs(0)?), median(&runs(requests)?));
    let ours = full.saturating_sub(empty) / requests as u32;
    let (node, version) = crate::peers::node()?;
    let direct = crate::peers::node_timed(
        &node,
        &["--input-type=module"],
        "",
        &format!("await (await fetch('http://127.0.0.1:{port}/small')).text()"),
        requests,
    );
    Ok(Row {
        id: "P11",
        what: "per request, JavaScript `fetch` in the WebAssembly guest (the host makes it)".into(),
        ours: ours.into(),
        peer: Peer {
            name: format!("node {version} `fetch`, direct"),
            median: direct.map(|samples| median(&samples).into()).map_err(|e| format!("{e:#}")),
        },
        goal: None,
    })
}

/// The program run bare, with no proxy.
fn bare(program: &str) -> anyhow::Result<Measured> {
    let output = Command::new("/usr/bin/python3")
        .args(["-c", program])
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .context("cannot start python3")?;
    ensure!(output.status.success(), "python3 failed: {}", String::from_utf8_lossy(&output.stderr));
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// The program in srt, allowed `localhost` only.
fn srt(program: &str) -> anyhow::Result<Measured> {
    let srt = crate::jail::srt()?;
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("p11.py");
    std::fs::write(&script, program)?;
    let settings = dir.path().join("srt-settings.json");
    std::fs::write(
        &settings,
        r#"{"network": {"allowedDomains": ["localhost", "127.0.0.1"], "deniedDomains": []},
            "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}}"#,
    )?;
    let output = Command::new(&srt)
        .arg("--settings")
        .arg(&settings)
        .arg("-c")
        // srt exempts localhost from its proxy; the program must go through it.
        .arg(format!("env NO_PROXY= no_proxy= /usr/bin/python3 {}", script.display()))
        .current_dir(dir.path())
        .output()
        .context("cannot start srt")?;
    ensure!(
        output.status.success(),
        "srt failed: {}",
        String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default()
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("srt printed {stdout:?}"))
}
