//! P14: a session's files over HTTP on loopback. curl uploads a 256 MiB
//! file into a session's `/tmp` through `stockade serve`, and downloads it
//! back, beside the same curl commands against nginx serving (and taking
//! `PUT`s into) a static folder; both keep the file in a tmpfs.

use crate::row::{Peer, Quantity, Row};
use anyhow::{Context, bail, ensure};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "bench-token";
/// A token whose policy is the default (deny-all, no /tmp): P15's runs.
const PLAIN_TOKEN: &str = "bench-plain-token";
const SIZE: u64 = 256 << 20;
/// What stockade's transfer may take, over nginx's: the issue's 0.8× throughput.
const GOAL: f64 = 1.0 / 0.8;

/// Alternating rounds of both servers in a full run: the two servers
/// differ in how the machine's state sways them, so one round decides little.
pub const ROUNDS: usize = 9;

/// Measures `rounds` alternating rounds of both servers.
pub fn all(cli: &Path, rounds: usize) -> anyhow::Result<Vec<Row>> {
    crate::http::installed("/usr/sbin/nginx", "nginx")?;
    let curl = crate::http::installed("/usr/bin/curl", "curl")?;
    let dir = tempfile::tempdir()?;
    // Both servers keep the file in memory: stockade's session in its
    // guest's tmpfs, nginx in /dev/shm.
    let shm = tempfile::tempdir_in("/dev/shm").context("a folder in /dev/shm")?;
    let payload = shm.path().join("payload.bin");
    let bytes: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    std::fs::write(&payload, &bytes)?;

    let mut stockade = Stockade::start(cli, dir.path())?;
    let session = stockade.open_session(&curl)?;
    let nginx = Nginx::start(dir.path(), shm.path())?;
    let ours_url = format!("http://{}/v1/sessions/{session}/files/payload.bin", stockade.address);
    let theirs_url = format!("http://{}/payload.bin", nginx.address);
    let auth = format!("Authorization: Bearer {TOKEN}");

    let (mut ours_up, mut theirs_up, mut ours_down, mut theirs_down) = (vec![], vec![], vec![], vec![]);
    let mut digest = Vec::new();
    for _ in 0..rounds {
        ours_up.push(timed(&curl, &["-T", path(&payload)?, "-H", &auth, &ours_url], &["201"])?);
        theirs_up.push(timed(&curl, &["-T", path(&payload)?, &theirs_url], &["201", "204"])?);
        ours_down.push(timed(&curl, &["-o", "/dev/null", "-H", &auth, &ours_url], &["200"])?);
        theirs_down.push(timed(&curl, &["-o", "/dev/null", &theirs_url], &["200"])?);
        digest.push(digest_alone(&bytes));
    }
    let remote = remote_runs(&stockade.address, rounds * 100)?;
    stockade.stop();
    let nginx_version = nginx.version();
    let row = |what: &str, ours: Vec<Duration>, theirs: Vec<Duration>| {
        let peer = crate::stats::median(&theirs);
        Row {
            id: "P14",
            what: format!(
                "{what} a 256 MiB file, curl over HTTP on loopback, a session's files through `stockade serve`"
            ),
            ours: Quantity::Time(crate::stats::median(&ours)),
            peer: Peer {
                name: format!("{nginx_version}, a static folder (PUT by its dav module)"),
                median: Ok(peer.into()),
            },
            goal: Some(Quantity::Time(peer.mul_f64(GOAL))),
        }
    };
    let floor = Row {
        id: "P14",
        what: "the BLAKE3 alone of the same 256 MiB in memory, which each transfer's audit record holds (one core)"
            .into(),
        ours: Quantity::Time(crate::stats::median(&digest)),
        peer: Peer {
            name: "nginx's whole download, as above".into(),
            median: Ok(crate::stats::median(&theirs_down).into()),
        },
        goal: None,
    };
    let [remote, fresh] = remote;
    Ok(vec![row("upload", ours_up, theirs_up), row("download", ours_down, theirs_down), floor, remote, fresh])
}

/// How long the digest of a transfer takes with nothing else to do: the
/// least a download that records it can take.
fn digest_alone(bytes: &[u8]) -> Duration {
    let started = std::time::Instant::now();
    let mut hash = blake3::Hasher::new();
    // The pieces a transfer hashes.
    for chunk in bytes.chunks(256 << 10) {
        hash.update(chunk);
    }
    std::hint::black_box(hash.finalize());
    started.elapsed()
}

/// P15: `stockade::remote::Client::run` of JavaScript `1` against the same
/// run in process, and against a client made for each run (a connection of
/// its own), `runs` of each, in turn.
fn remote_runs(address: &str, runs: usize) -> anyhow::Result<[Row; 2]> {
    use stockade::{Language, Request};
    let url = format!("http://{address}");
    let client = stockade::remote::Client::connect(&url, Some(PLAIN_TOKEN))?;
    let sandbox = stockade::Sandbox::new(stockade::Policy::default())?;
    let request = Request::new(Language::JavaScript, "1");
    let (mut remote, mut local, mut fresh) =
        (Vec::with_capacity(runs), Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let started = std::time::Instant::now();
        let outcome = client.run(&request)?;
        remote.push(started.elapsed());
        ensure!(outcome.value == Some(1.into()), "the remote run gave {outcome:?}");
        let started = std::time::Instant::now();
        sandbox.run_request(&request, None)?;
        local.push(started.elapsed());
        let started = std::time::Instant::now();
        stockade::remote::Client::connect(&url, Some(PLAIN_TOKEN))?.run(&request)?;
        fresh.push(started.elapsed());
    }
    let what = "`stockade::remote::Client::run` of JavaScript `1`, `stockade serve` on loopback (its connection kept)";
    let ours = Quantity::Time(crate::stats::median(&remote));
    Ok([
        Row {
            id: "P15",
            what: what.into(),
            ours,
            peer: Peer {
                name: "the same run in process, `Sandbox::run_request`".into(),
                median: Ok(crate::stats::median(&local).into()),
            },
            goal: None,
        },
        Row {
            id: "P15",
            what: what.into(),
            ours,
            peer: Peer {
                name: "a `Client` made for each run (a TCP connection and a client runtime of its own)"
                    .into(),
                median: Ok(crate::stats::median(&fresh).into()),
            },
            goal: None,
        },
    ])
}

fn path(path: &Path) -> anyhow::Result<&str> {
    path.to_str().context("a path that is not UTF-8")
}

/// How long curl took (`time_total`), checking the status is one of `ok`.
fn timed(curl: &Path, args: &[&str], ok: &[&str]) -> anyhow::Result<Duration> {
    let output = Command::new(curl)
        .args(["-s", "-S", "-o", "/dev/null", "-w", "%{http_code} %{time_total}"])
        .args(args)
        .output()
        .context("cannot run curl")?;
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    let (status, seconds) = said.split_once(' ').context("curl printed no status and time")?;
    ensure!(
        ok.contains(&status),
        "curl {args:?} got HTTP {status}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(Duration::from_secs_f64(seconds.trim().parse().context("curl's time_total")?))
}

/// A `stockade serve` on loopback whose token's sessions have a /tmp big
/// enough for the file.
struct Stockade {
    server: std::process::Child,
    address: String,
}

impl Stockade {
    fn start(cli: &Path, dir: &Path) -> anyhow::Result<Stockade> {
        std::fs::write(dir.join("policy.toml"), format!("[files]\ntmp_bytes = {}\n", SIZE * 2))?;
        std::fs::write(dir.join("plain.toml"), "")?;
        let digest = stockade::audit_log::sha256_hex(TOKEN.as_bytes());
        let plain = stockade::audit_log::sha256_hex(PLAIN_TOKEN.as_bytes());
        let config = format!(
            "listen = \"127.0.0.1:0\"\n[[tokens]]\nid = \"bench\"\nsha256 = \"{digest}\"\npolicy = \"policy.toml\"\n\
             [[tokens]]\nid = \"plain\"\nsha256 = \"{plain}\"\npolicy = \"plain.toml\"\n"
        );
        let (server, address) = crate::http::serve(cli, dir, &config)?;
        Ok(Stockade { server, address })
    }

    /// Opens a JavaScript session; its id.
    fn open_session(&self, curl: &Path) -> anyhow::Result<String> {
        let output = Command::new(curl)
            .args(["-s", "-S", "-X", "POST", "-H", &format!("Authorization: Bearer {TOKEN}")])
            .args(["-d", r#"{"language": "js"}"#, &format!("http://{}/v1/sessions", self.address)])
            .output()
            .context("cannot run curl")?;
        let opened: serde_json::Value =
            serde_json::from_slice(&output.stdout).context("the session's JSON")?;
        match opened["id"].as_str() {
            Some(id) => Ok(id.to_string()),
            None => bail!("no session: {opened}"),
        }
    }

    fn stop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Drop for Stockade {
    fn drop(&mut self) {
        self.stop();
    }
}

/// nginx in the foreground, serving `root` and taking PUTs into it.
struct Nginx {
    process: std::process::Child,
    address: String,
}

impl Nginx {
    fn start(dir: &Path, root: &Path) -> anyhow::Result<Nginx> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let address = format!("127.0.0.1:{port}");
        let temp = root.join("incoming");
        std::fs::create_dir_all(&temp)?;
        let root_user = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self")?) == 0;
        let user = if root_user { "user root;\n" } else { "" };
        let config = format!(
            "{user}daemon off;\nmaster_process off;\nworker_processes 1;\npid {dir}/nginx.pid;\n\
             error_log {dir}/nginx-error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  sendfile on;\n\
               client_max_body_size 0;\n  client_body_temp_path {temp};\n  server {{\n    listen {address};\n\
                 root {root};\n    location / {{ dav_methods PUT; }}\n  }}\n}}\n",
            dir = dir.display(),
            temp = temp.display(),
            root = root.display(),
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config)?;
        let process = Command::new("/usr/sbin/nginx")
            .args(["-p"])
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nginx")?;
        for _ in 0..200 {
            if std::net::TcpStream::connect(&address).is_ok() {
                return Ok(Nginx { process, address });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        bail!("nginx did not listen on {address} (see {}/nginx-error.log)", dir.display())
    }

    fn version(&self) -> String {
        let output = Command::new("/usr/sbin/nginx").arg("-v").output();
        output
            .ok()
            .and_then(|o| String::from_utf8(o.stderr).ok())
            .and_then(|text| text.trim().rsplit(' ').next().map(str::to_string))
            .unwrap_or_else(|| "nginx".into())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
