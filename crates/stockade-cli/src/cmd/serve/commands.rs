//! A shell session's background commands over HTTP:
//!
//! - `POST /v1/sessions/{id}/commands` with `{"command": "..."}` starts one;
//! - `GET .../commands` lists them;
//! - `GET .../commands/{command}` says what it has written so far
//!   (`?wait_ms=` waits for its end first), or, with `Accept:
//!   application/x-ndjson`, follows its output as it comes (`?timeout_ms=`
//!   bounds how long), in the lines a streamed run has, ending with
//!   `{"type":"command","command":{...}}`;
//! - `POST .../commands/{command}/stdin` writes the body to its stdin
//!   (`?close=true` closes it after);
//! - `POST .../commands/{command}/signal` with `{"signal": "TERM"}`;
//! - `DELETE .../commands/{command}` kills it, and answers how it ended.

use super::api::{State, body, error, raw_body, sandbox_error};
use super::files::session;
use super::stream::Lines;
use axum::Json;
use axum::extract::{Path, Query, Request as HttpRequest, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use stockade::{Command, CommandError, CommandOutput, ErrorClass, Session, Signal};

/// The longest a request waits for a command (`wait_ms`, `timeout_ms`).
const MAX_WAIT: Duration = Duration::from_secs(300);
/// How long a kill waits for the command to end.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// The body of a start.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Start {
    /// The command line, run as `sh -c` (or `bash -c`) from the session's shell.
    command: String,
}

/// The body of a signal.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signalled {
    /// `HUP`, `INT`, `QUIT`, `KILL`, `USR1`, `USR2`, `TERM`, `CONT` or `STOP`
    /// (with or without `SIG`).
    signal: String,
}

/// A command, as the API answers it.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct CommandView {
    /// Its id within the session (`c1`).
    id: String,
    /// The command line it was started with.
    command: String,
    /// What it has written so far, and whether it has ended.
    #[serde(flatten)]
    output: CommandOutput,
}

/// The answer to a listing.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct CommandList {
    /// In the order they were started.
    commands: Vec<CommandView>,
}

/// `?wait_ms=` and `?timeout_ms=` of a look at a command.
#[derive(serde::Deserialize)]
pub struct Look {
    wait_ms: Option<u64>,
    timeout_ms: Option<u64>,
}

/// `?close=` of a write to stdin.
#[derive(serde::Deserialize)]
pub struct Feed {
    close: Option<bool>,
}

fn view(command: &Command) -> CommandView {
    CommandView { id: command.id().into(), command: command.command().into(), output: command.output() }
}

/// A command error as an answer: the status says which kind.
fn refused(e: CommandError) -> Response {
    let status = match &e {
        CommandError::Session(e) => return sandbox_error(e),
        CommandError::Missing(_) => StatusCode::NOT_FOUND,
        CommandError::StdinClosed => StatusCode::CONFLICT,
        CommandError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
        _ if e.class() == ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    error(status, &e.to_string())
}

/// Runs `work` on a blocking thread: starts, waits and signals all block.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CommandError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(refused),
        Err(e) => {
            Err(error(StatusCode::INTERNAL_SERVER_ERROR, &format!("the command operation failed: {e}")))
        }
    }
}

/// The command named in the path, of the caller's session.
fn command(state: &State, headers: &HeaderMap, id: &str, name: &str) -> Result<Command, Box<Response>> {
    let session: Arc<Session> = session(state, headers, id)?;
    session.command(name).map_err(|e| Box::new(refused(e)))
}

fn millis(ms: Option<u64>) -> Option<Duration> {
    ms.map(|ms| Duration::from_millis(ms).min(MAX_WAIT))
}

/// `POST .../commands`.
pub async fn start(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    request: HttpRequest,
) -> Response {
    let session = match session(&state, request.headers(), &id) {
        Ok(session) => session,
        Err(refused) => return *refused,
    };
    let start: Start = match body(&state, request).await {
        Ok(start) => start,
        Err(refused) => return refused,
    };
    match blocking(move || session.spawn(&start.command)).await {
        Ok(command) => (StatusCode::CREATED, Json(view(&command))).into_response(),
        Err(refused) => refused,
    }
}

/// `GET .../commands`.
pub async fn list(Shared(state): Shared<Arc<State>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match session(&state, &headers, &id) {
        Ok(session) => {
            Json(CommandList { commands: session.commands().iter().map(view).collect() }).into_response()
        }
        Err(refused) => *refused,
    }
}

/// `GET .../commands/{command}`: what it wrote, after a wait; or followed.
pub async fn show(
    Shared(state): Shared<Arc<State>>,
    Path((id, name)): Path<(String, String)>,
    Query(look): Query<Look>,
    headers: HeaderMap,
) -> Response {
    let command = match command(&state, &headers, &id, &name) {
        Ok(command) => command,
        Err(refused) => return *refused,
    };
    if super::stream::wanted(&headers) {
        let (lines, response) = Lines::open();
        let timeout = millis(look.timeout_ms).unwrap_or(MAX_WAIT);
        tokio::task::spawn_blocking(move || {
            command.follow(&*lines, Some(timeout), Some(&lines.gone));
            lines.last(&serde_json::json!({"type": "command", "command": view(&command)}));
        });
        return response;
    }
    let wait = millis(look.wait_ms);
    let waited = blocking(move || {
        if wait.is_some() {
            command.wait(wait, None);
        }
        Ok(view(&command))
    });
    match waited.await {
        Ok(view) => Json(view).into_response(),
        Err(refused) => refused,
    }
}

/// `POST .../commands/{command}/stdin`: the body, to its stdin.
pub async fn stdin(
    Shared(state): Shared<Arc<State>>,
    Path((id, name)): Path<(String, String)>,
    Query(feed): Query<Feed>,
    request: HttpRequest,
) -> Response {
    let command = match command(&state, request.headers(), &id, &name) {
        Ok(command) => command,
        Err(refused) => return *refused,
    };
    let bytes = match raw_body(&state, request).await {
        Ok(bytes) => bytes,
        Err(refused) => return refused,
    };
    let close = feed.close.unwrap_or(false);
    let fed = blocking(move || {
        if !bytes.is_empty() {
            command.write_stdin(&bytes)?;
        }
        if close {
            command.close_stdin();
        }
        Ok(())
    });
    match fed.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refused) => refused,
    }
}

/// `POST .../commands/{command}/signal`.
pub async fn signal(
    Shared(state): Shared<Arc<State>>,
    Path((id, name)): Path<(String, String)>,
    request: HttpRequest,
) -> Response {
    let command = match command(&state, request.headers(), &id, &name) {
        Ok(command) => command,
        Err(refused) => return *refused,
    };
    let asked: Signalled = match body(&state, request).await {
        Ok(asked) => asked,
        Err(refused) => return refused,
    };
    let sent = blocking(move || {
        let signal: Signal = asked.signal.parse()?;
        command.signal(signal)
    });
    match sent.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refused) => refused,
    }
}

/// `DELETE .../commands/{command}`: kills it; answers how it ended.
pub async fn kill(
    Shared(state): Shared<Arc<State>>,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let command = match command(&state, &headers, &id, &name) {
        Ok(command) => command,
        Err(refused) => return *refused,
    };
    let killed = blocking(move || {
        command.kill(KILL_WAIT)?;
        Ok(view(&command))
    });
    match killed.await {
        Ok(view) => Json(view).into_response(),
        Err(refused) => refused,
    }
}
