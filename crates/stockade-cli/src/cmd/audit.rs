//! `stockade audit`: check and read audit logs.

use anyhow::Context;
use std::io::BufRead;
use std::path::PathBuf;

/// Subcommands of `stockade audit`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Check every line's hash and link; report the first broken line.
    Verify {
        /// The log (JSON lines).
        file: PathBuf,
    },
    /// Print the log, one readable line per record.
    Show {
        /// The log (JSON lines).
        file: PathBuf,
    },
}

/// Runs the subcommand. `verify` exits 0 for an intact log, 1 for a broken one.
pub fn run(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Verify { file } => verify(file),
        Command::Show { file } => show(file),
    }
}

fn verify(path: PathBuf) -> anyhow::Result<i32> {
    let file = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let report =
        stockade::audit_log::verify(file).with_context(|| format!("cannot read {}", path.display()))?;
    let partial = match report.partial_tail_bytes {
        0 => String::new(),
        n => format!("; the last line is cut short ({n} bytes, a crash mid-write) and was not checked"),
    };
    match report.broken {
        None => {
            println!("ok: {} records intact, last hash {}{partial}", report.records, report.last_hash);
            Ok(0)
        }
        Some(broken) => {
            println!("BROKEN at {broken}");
            println!("the {} records before it are intact{partial}", report.records);
            Ok(1)
        }
    }
}

fn show(path: PathBuf) -> anyhow::Result<i32> {
    let file = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    for (i, line) in std::io::BufReader::new(file).split(b'\n').enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        match serde_json::from_slice::<serde_json::Value>(&line) {
            Ok(record) => println!("{}", describe(&record)),
            Err(_) => println!("line {}: not a record: {}", i + 1, String::from_utf8_lossy(&line)),
        }
    }
    Ok(0)
}

/// `#3 2026-11-25T19:40:00.123Z tool_call run=… tool=transfer_money decision=denied …`
fn describe(record: &serde_json::Value) -> String {
    let event = &record["event"];
    let mut line = format!(
        "#{} {} {}",
        record["seq"],
        record["time"].as_str().unwrap_or("?"),
        event["kind"].as_str().unwrap_or("?")
    );
    if let Some(fields) = event.as_object() {
        for (key, value) in fields.iter().filter(|(k, _)| *k != "kind") {
            let shown = match value {
                serde_json::Value::String(s) if s.len() == 64 => format!("{}…", &s[..12]),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            line.push_str(&format!(" {key}={shown}"));
        }
    }
    line
}
