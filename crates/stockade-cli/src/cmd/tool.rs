//! `--tool NAME=COMMAND` (and a `stockade serve` token's `tools`): a host
//! tool backed by a shell command, for demos and scripting.
//!
//! For each allowed call the host runs `sh -c COMMAND` (on the host, as the
//! operator, not in the sandbox), writes the arguments as JSON to its stdin
//! and reads its stdout: JSON if it parses, else the text. A non-zero exit
//! is an error whose message is the command's stderr.
//!
//! One deadline (the policy's wall time) covers the whole call: writing the
//! arguments, the command's run and reading its answer all happen at once,
//! so a command that echoes a large input, or never reads it, cannot stall
//! the call past it. The command runs in a process group of its own, and
//! when the call ends, however it ends, the whole group is killed: nothing
//! it started outlives the call.

use anyhow::{Context, bail};
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use stockade::{Tool, ToolError};

/// Largest answer read from a tool command: 16 MiB, the protocol's cap.
const MAX_OUTPUT: usize = stockade::protocol::MAX_ANSWER_BYTES;

/// Most of a failing command's stderr kept for its error message; the rest
/// is read and dropped, so a chatty command never blocks on a full pipe.
const MAX_ERROR_TEXT: usize = 64 << 10;

/// How often the call looks at whether the command has exited.
const POLL: Duration = Duration::from_millis(1);

/// Parses `NAME=COMMAND` into a tool that runs COMMAND.
pub fn parse(spec: &str, timeout: Duration) -> anyhow::Result<Tool> {
    let Some((name, command)) = spec.split_once('=') else {
        bail!("--tool takes NAME=COMMAND, got {spec:?}");
    };
    self::command(name, command, timeout, None)
}

/// The tool `name`, which runs `command` with `sh -c` in `folder` (the
/// current one if `None`), each call within `timeout`.
pub fn command(name: &str, command: &str, timeout: Duration, folder: Option<&Path>) -> anyhow::Result<Tool> {
    if command.trim().is_empty() {
        bail!("tool {name}: the command is empty");
    }
    let command = command.to_string();
    let folder = folder.map(Path::to_path_buf);
    Ok(Tool::new(name)
        .description(format!("runs `{command}` on the host"))
        .handler(move |args| run_command(&command, folder.as_deref(), &args, timeout)))
}

/// The command's process group, killed when dropped: on every way out of
/// a call, including its errors.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.0.id()) {
            // SAFETY: `killpg` takes no pointers. The group is the child's
            // own (it was spawned with `process_group(0)`, so its id is the
            // child's pid), and the child is not yet reaped (it is waited
            // for below), so its pid, and with it the group's id, cannot
            // have been reused.
            unsafe { libc::killpg(pid, libc::SIGKILL) };
        }
        let _ = self.0.wait();
    }
}

/// What a reader of one of the command's streams found.
enum Report {
    /// The stream ended; everything it held (up to its cap).
    Ended(Stream, Vec<u8>),
    /// Stdout passed [`MAX_OUTPUT`]: the answer cannot be used.
    TooLong,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

fn run_command(
    command: &str,
    folder: Option<&Path>,
    args: &Value,
    timeout: Duration,
) -> Result<Value, ToolError> {
    let deadline = Instant::now() + timeout;
    let input = serde_json::to_vec(args).map_err(|e| ToolError::new(format!("the arguments: {e}")))?;
    let mut child = Command::new("/bin/sh");
    if let Some(folder) = folder {
        child.current_dir(folder);
    }
    let mut child = child
        .args(["-c", command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| ToolError::new(format!("cannot start the tool command: {e}")))?;
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let mut group = Group(child);
    if let Some(mut stdin) = stdin {
        // A command that does not read its input closes the pipe early (its
        // business); one that never reads blocks this thread only until
        // the group is killed, which closes the pipe.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let (sender, answers) = mpsc::channel();
    let mut open = 0;
    if let Some(stdout) = stdout {
        open += 1;
        read_stream(stdout, Stream::Out, sender.clone());
    }
    if let Some(stderr) = stderr {
        open += 1;
        read_stream(stderr, Stream::Err, sender);
    }
    let too_late = || {
        ToolError::new(format!(
            "the tool command ran longer than {timeout:?} and was killed with its children"
        ))
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while open > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match answers.recv_timeout(left) {
            Ok(Report::Ended(Stream::Out, bytes)) => out = bytes,
            Ok(Report::Ended(Stream::Err, bytes)) => err = bytes,
            Ok(Report::TooLong) => {
                return Err(ToolError::new(format!(
                    "the tool command's answer passed its size cap of {MAX_OUTPUT} bytes"
                )));
            }
            Err(_) => return Err(too_late()),
        }
        open -= 1;
    }
    let status = loop {
        match group.0.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => return Err(too_late()),
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => return Err(ToolError::new(format!("cannot wait for the tool command: {e}"))),
        }
    };
    drop(group);
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        return Err(ToolError::new(format!("the tool command failed ({status}): {}", err.trim())));
    }
    let text = String::from_utf8_lossy(&out);
    Ok(serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.trim_end().to_string())))
}

/// Reads `stream` to its end on a thread of its own and reports to
/// `answers`. Stdout past [`MAX_OUTPUT`] is reported at once (the call
/// fails, and kills the command); stderr past [`MAX_ERROR_TEXT`] is read
/// and dropped.
fn read_stream(mut stream: impl Read + Send + 'static, which: Stream, answers: mpsc::Sender<Report>) {
    std::thread::spawn(move || {
        let keep = if which == Stream::Out { MAX_OUTPUT } else { MAX_ERROR_TEXT };
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 64 << 10];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) if bytes.len() + n <= keep => bytes.extend_from_slice(&chunk[..n]),
                Ok(_) if which == Stream::Out => {
                    let _ = answers.send(Report::TooLong);
                    return;
                }
                Ok(n) => bytes.extend_from_slice(&chunk[..n.min(keep - bytes.len())]),
            }
        }
        let _ = answers.send(Report::Ended(which, bytes));
    });
}

/// Reads `--tool` specs into tools.
pub fn parse_all(specs: &[String], timeout: Duration) -> anyhow::Result<Vec<Tool>> {
    specs.iter().map(|spec| parse(spec, timeout).with_context(|| format!("in --tool {spec}"))).collect()
}
