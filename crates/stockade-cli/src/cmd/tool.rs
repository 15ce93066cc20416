//! `--tool NAME=COMMAND`: a host tool backed by a shell command, for demos
//! and scripting.
//!
//! For each allowed call the host runs `sh -c COMMAND` (on the host, as the
//! operator, not in the sandbox), writes the arguments as JSON to its stdin
//! and reads its stdout: JSON if it parses, else the text. A non-zero exit
//! is an error whose message is the command's stderr. A command that runs
//! longer than the policy's wall time is killed.

use anyhow::{Context, bail};
use serde_json::Value;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use stockade::{Tool, ToolError};

/// Largest output read from a tool command: 16 MiB, the protocol's cap.
const MAX_OUTPUT: u64 = 16 << 20;

/// Parses `NAME=COMMAND` into a tool that runs COMMAND.
pub fn parse(spec: &str, timeout: Duration) -> anyhow::Result<Tool> {
    let Some((name, command)) = spec.split_once('=') else {
        bail!("--tool takes NAME=COMMAND, got {spec:?}");
    };
    if command.trim().is_empty() {
        bail!("--tool {name}: the command is empty");
    }
    let command = command.to_string();
    Ok(Tool::new(name)
        .description(format!("runs `{command}` on the host"))
        .handler(move |args| run_command(&command, &args, timeout)))
}

fn run_command(command: &str, args: &Value, timeout: Duration) -> Result<Value, ToolError> {
    let mut child = Command::new("/bin/sh")
        .args(["-c", command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ToolError::new(format!("cannot start the tool command: {e}")))?;
    let input = serde_json::to_vec(args).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input closes the pipe early; that is its business.
        let _ = stdin.write_all(&input);
    }
    let stdout = child.stdout.take().map(|out| std::thread::spawn(move || read_capped(out)));
    let stderr = child.stderr.take().map(|err| std::thread::spawn(move || read_capped(err)));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ToolError::new(format!(
                    "the tool command ran longer than {timeout:?} and was killed"
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => return Err(ToolError::new(format!("cannot wait for the tool command: {e}"))),
        }
    };
    let out = stdout.and_then(|t| t.join().ok()).unwrap_or_default();
    let err = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        return Err(ToolError::new(format!("the tool command failed ({status}): {}", err.trim())));
    }
    let text = String::from_utf8_lossy(&out);
    Ok(serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.trim_end().to_string())))
}

fn read_capped(stream: impl Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = stream.take(MAX_OUTPUT).read_to_end(&mut bytes);
    bytes
}

/// Reads `--tool` specs into tools.
pub fn parse_all(specs: &[String], timeout: Duration) -> anyhow::Result<Vec<Tool>> {
    specs.iter().map(|spec| parse(spec, timeout).with_context(|| format!("in --tool {spec}"))).collect()
}
