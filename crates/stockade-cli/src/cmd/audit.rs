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
        /// The writer's Ed25519 public key (64 hex digits): checkpoints must
        /// be signed by it, and the report says how far the log is signed.
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
    },
    /// Print the log, one readable line per record.
    Show {
        /// The log (JSON lines).
        file: PathBuf,
    },
    /// Make an Ed25519 key for signed checkpoints (`audit.signing_key`).
    Keygen {
        /// Where to write the secret key (created with mode 0600; never overwritten).
        file: PathBuf,
    },
}

/// Runs the subcommand. `verify` exits 0 for an intact log, 1 for a broken
/// or empty one.
pub fn run(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Verify { file, public_key } => verify(file, public_key.as_deref()),
        Command::Show { file } => show(file),
        Command::Keygen { file } => keygen(file),
    }
}

fn keygen(path: PathBuf) -> anyhow::Result<i32> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let signer = stockade::audit_log::Signer::generate().context("cannot get random bytes")?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    writeln!(file, "{}", signer.seed_hex()).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{}", signer.public_key_hex());
    eprintln!(
        "secret key written to {}; the line above is its public key, for `audit verify --public-key`",
        path.display()
    );
    Ok(0)
}

fn verify(path: PathBuf, public_key: Option<&str>) -> anyhow::Result<i32> {
    let file = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let report = stockade::audit_log::verify_with(file, public_key)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let partial = match report.partial_tail_bytes {
        0 => String::new(),
        n => format!("; the last line is cut short ({n} bytes, a crash mid-write) and was not checked"),
    };
    match report.broken {
        // A log that was ever opened has its `log_opened` record: nothing
        // checked is not "intact".
        None if report.records == 0 => {
            println!("empty: no records{partial}");
            Ok(1)
        }
        None if public_key.is_some() && report.signed_through.is_none() => {
            println!("UNSIGNED: {} records intact, but no checkpoint is signed by that key", report.records);
            Ok(1)
        }
        None => {
            println!("ok: {} records intact, last hash {}{partial}", report.records, report.last_hash);
            if let Some(upto) = report.signed_through {
                let after = report.records.saturating_sub(upto + 2);
                println!(
                    "signed through record {upto} ({} checkpoints); {after} records after it",
                    report.checkpoints
                );
            }
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
        // A record's strings are the guest's choosing (a tool's name, its
        // arguments): each line is shown escaped, so it stays one line and
        // no escape sequence reaches the terminal.
        let shown = match serde_json::from_slice::<serde_json::Value>(&line) {
            Ok(record) => describe(&record),
            Err(_) => format!("line {}: not a record: {}", i + 1, String::from_utf8_lossy(&line)),
        };
        println!("{}", crate::escape::controls(&shown, crate::escape::Keep::Nothing));
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
