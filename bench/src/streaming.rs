//! P13, streamed output: how long after a guest writes a line the caller's
//! sink has it. The guest prints the host's realtime clock (nanoseconds;
//! WASI's and a jail's clock are the host's) and the sink notes the clock
//! when the chunk reaches it; the difference is the delay. The peer is the
//! same program bare, read from its pipe line by line, as `subprocess`
//! readers do.

use crate::row::{Peer, Quantity, Row};
use crate::stats::median;
use anyhow::{Context, ensure};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use stockade::{Language, OutputSink, Request, Sandbox, Status, Stream};

/// Lines each program prints, a few milliseconds apart.
const LINES: usize = 20;

/// The program: `LINES` lines, each the realtime clock when it is printed.
fn program() -> String {
    format!(
        "import time\nfor _ in range({LINES}):\n    print(time.time_ns(), flush=True)\n    time.sleep(0.005)\n"
    )
}

fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// Each line's delay: when it arrived, less the clock it holds.
fn delays(arrivals: &[(i128, String)]) -> Vec<Duration> {
    arrivals
        .iter()
        .flat_map(|(at, text)| text.lines().map(move |line| (*at, line.trim().to_string())))
        .filter_map(|(at, line)| line.parse::<i128>().ok().map(|written| at - written))
        .map(|ns| Duration::from_nanos(u64::try_from(ns.max(0)).unwrap_or(0)))
        .collect()
}

/// Notes when each chunk of stdout arrives.
#[derive(Default)]
struct Arrivals(Mutex<Vec<(i128, String)>>);

impl OutputSink for Arrivals {
    fn chunk(&self, stream: Stream, bytes: &[u8]) {
        if stream == Stream::Stdout {
            let text = String::from_utf8_lossy(bytes).into_owned();
            self.0.lock().expect("arrivals").push((now_ns(), text));
        }
    }
}

/// The median delay of `LINES` lines of `language`'s program, streamed.
fn streamed(sandbox: &Sandbox, language: Language) -> anyhow::Result<Duration> {
    let arrivals = Arc::new(Arrivals::default());
    let outcome = sandbox.run_with(&Request::new(language, program()), None, arrivals.clone())?;
    ensure!(outcome.status == Status::Ok, "the {language} program failed: {outcome:?}");
    let all = delays(&arrivals.0.lock().expect("arrivals"));
    ensure!(all.len() == LINES, "{language}: {} lines arrived, not {LINES}", all.len());
    Ok(median(&all))
}

/// The same program bare, its pipe read a line at a time.
fn bare() -> anyhow::Result<Duration> {
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", &program()])
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start python3")?;
    let mut arrivals = Vec::new();
    for line in std::io::BufReader::new(child.stdout.take().context("stdout")?).lines() {
        arrivals.push((now_ns(), line?));
    }
    ensure!(child.wait()?.success(), "python3 failed");
    Ok(median(&delays(&arrivals)))
}

/// Every P13 row, each the median of `runs` runs' medians.
pub fn all(runs: usize) -> anyhow::Result<Vec<Row>> {
    let sandbox = Sandbox::new(stockade::Policy::default())?;
    let runs_of = |one: &dyn Fn() -> anyhow::Result<Duration>| -> anyhow::Result<Duration> {
        Ok(median(&(0..runs).map(|_| one()).collect::<anyhow::Result<Vec<_>>>()?))
    };
    let peer = runs_of(&bare);
    let mut rows = Vec::new();
    for (language, what) in
        [(Language::Python, "CPython guest (WebAssembly)"), (Language::PythonNative, "python3 in the jail")]
    {
        let ours = runs_of(&|| streamed(&sandbox, language))?;
        rows.push(Row {
            id: "P13",
            what: format!("a printed line reaches `run_with`'s sink, {what}"),
            ours: ours.into(),
            peer: Peer {
                name: "python3 bare, its pipe read line by line".into(),
                median: peer.as_ref().map(|d| Quantity::from(*d)).map_err(|e| format!("{e:#}")),
            },
            goal: Some(Duration::from_millis(1).into()),
        });
    }
    Ok(rows)
}
