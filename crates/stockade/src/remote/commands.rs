//! A remote shell session's background commands: [`crate::Command`]'s API
//! over `/v1/sessions/{id}/commands`.

use super::transport::{Failure, Refusal, Sent};
use super::{Lines, NDJSON, RemoteSession};
use std::time::Duration;
use stockade_core::{CommandError, CommandOutput, OutputSink, Signal, Stream};

/// The longest wait the server takes in one request; a longer one asks again.
const LONGEST_WAIT: Duration = Duration::from_secs(300);

/// A background command of a remote session.
#[derive(Debug)]
pub struct RemoteCommand<'a> {
    session: &'a RemoteSession<'a>,
    id: String,
    command: String,
}

/// A command as the server describes it.
#[derive(serde::Deserialize)]
struct View {
    id: String,
    command: String,
}

impl<'a> RemoteSession<'a> {
    /// Starts `command` in the background of the (shell) session.
    pub fn spawn(&'a self, command: &str) -> Result<RemoteCommand<'a>, CommandError> {
        let body = serde_json::json!({ "command": command });
        let view: View = self
            .client
            .json("POST", &format!("/v1/sessions/{}/commands", self.id), Some(&body))
            .map_err(into_command)?;
        Ok(RemoteCommand { session: self, id: view.id, command: view.command })
    }

    /// The session's background commands, in the order they were started.
    pub fn commands(&'a self) -> Result<Vec<RemoteCommand<'a>>, CommandError> {
        #[derive(serde::Deserialize)]
        struct Listed {
            commands: Vec<View>,
        }
        let listed: Listed = self
            .client
            .json("GET", &format!("/v1/sessions/{}/commands", self.id), None::<&()>)
            .map_err(into_command)?;
        Ok(listed
            .commands
            .into_iter()
            .map(|view| RemoteCommand { session: self, id: view.id, command: view.command })
            .collect())
    }
}

impl RemoteCommand<'_> {
    /// Its id within its session (`c1`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The command line it was started with.
    pub fn command(&self) -> &str {
        &self.command
    }

    fn path(&self) -> String {
        format!("/v1/sessions/{}/commands/{}", self.session.id, self.id)
    }

    /// What it has written so far, and whether it has ended.
    pub fn output(&self) -> Result<CommandOutput, CommandError> {
        self.get(&self.path())
    }

    /// Waits until it ends, at most `timeout` (none: as long as it takes);
    /// then what it wrote.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<CommandOutput, CommandError> {
        let deadline = timeout.map(|timeout| std::time::Instant::now() + timeout);
        loop {
            let left = deadline.map_or(LONGEST_WAIT, |deadline| {
                deadline.saturating_duration_since(std::time::Instant::now())
            });
            let output =
                self.get(&format!("{}?wait_ms={}", self.path(), left.min(LONGEST_WAIT).as_millis()))?;
            if !output.running || deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
                return Ok(output);
            }
        }
    }

    /// Hands `sink` its output from the first byte, then as it comes, until
    /// it ends or `timeout` passes; then what it wrote.
    pub fn follow(
        &self,
        sink: &dyn OutputSink,
        timeout: Option<Duration>,
    ) -> Result<CommandOutput, CommandError> {
        #[derive(serde::Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum Line {
            Output { stream: Stream, text: String },
            Cut { stream: Stream },
            Command { command: CommandOutput },
        }
        let query = timeout.map_or(String::new(), |timeout| format!("?timeout_ms={}", timeout.as_millis()));
        let mut lines = Lines::default();
        let mut last = None;
        let mut take = |bytes: &[u8]| {
            lines.feed(bytes, &mut |line| {
                match serde_json::from_slice::<Line>(line).map_err(std::io::Error::other)? {
                    Line::Output { stream, text } => sink.chunk(stream, text.as_bytes()),
                    Line::Cut { stream } => sink.cut(stream),
                    Line::Command { command } => last = Some(command),
                }
                Ok(())
            })
        };
        let path = format!("{}{query}", self.path());
        self.session
            .client
            .exchange("GET", &path, Sent::Empty, Some(NDJSON), &mut take)
            .map_err(|f| self.refused(f))?;
        last.ok_or_else(|| CommandError::Io {
            step: "follow it",
            source: std::io::Error::other("the server's stream ended before the command's state"),
        })
    }

    /// Writes `bytes` to its stdin.
    pub fn write_stdin(&self, bytes: &[u8]) -> Result<(), CommandError> {
        self.post(&format!("{}/stdin", self.path()), Sent::Json(bytes.to_vec()))
    }

    /// Closes its stdin.
    pub fn close_stdin(&self) -> Result<(), CommandError> {
        self.post(&format!("{}/stdin?close=true", self.path()), Sent::Empty)
    }

    /// Sends `signal` to it and every process it started.
    pub fn signal(&self, signal: Signal) -> Result<(), CommandError> {
        let body = serde_json::to_vec(&serde_json::json!({ "signal": signal.name() })).unwrap_or_default();
        self.post(&format!("{}/signal", self.path()), Sent::Json(body))
    }

    /// Kills it and every process it started; then how it ended.
    pub fn kill(&self) -> Result<CommandOutput, CommandError> {
        let mut answer = Vec::new();
        let path = self.path();
        self.session
            .client
            .exchange("DELETE", &path, Sent::Empty, None, &mut super::transport::into(&mut answer))
            .map_err(|f| self.refused(f))?;
        serde_json::from_slice(&answer)
            .map_err(|e| CommandError::Io { step: "read how it ended", source: std::io::Error::other(e) })
    }

    fn get(&self, path: &str) -> Result<CommandOutput, CommandError> {
        let mut answer = Vec::new();
        self.session
            .client
            .exchange("GET", path, Sent::Empty, None, &mut super::transport::into(&mut answer))
            .map_err(|f| self.refused(f))?;
        serde_json::from_slice(&answer)
            .map_err(|e| CommandError::Io { step: "read its state", source: std::io::Error::other(e) })
    }

    fn post(&self, path: &str, body: Sent<'_>) -> Result<(), CommandError> {
        self.session
            .client
            .exchange("POST", path, body, None, &mut |_| Ok(()))
            .map(drop)
            .map_err(|f| self.refused(f))
    }

    /// A refusal as the in-process command error.
    fn refused(&self, failure: Failure) -> CommandError {
        match failure {
            Failure::Refused(Refusal { status: 404, message, .. }) if message.contains("command") => {
                CommandError::Missing(self.id.clone())
            }
            Failure::Refused(Refusal { status: 409, .. }) => CommandError::StdinClosed,
            failure => CommandError::Session(failure.into()),
        }
    }
}

fn into_command(error: stockade_core::SandboxError) -> CommandError {
    match error {
        stockade_core::SandboxError::Remote { status: 429, .. } => {
            CommandError::TooMany(crate::session_commands::MAX_COMMANDS)
        }
        error => CommandError::Session(error),
    }
}
