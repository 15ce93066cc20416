//! A client for a remote `stockade serve`: the untrusted code runs on the
//! server's machine, never on the caller's.
//!
//! [`Client`] has the in-process API's shape (fresh runs, sessions, their
//! files, output streamed as the guest writes it) and its types: a run
//! gives an [`Outcome`], a refusal a [`SandboxError`] of the server's
//! class (`SessionEnded`, `Busy` with its retry time, `Request`, or
//! [`SandboxError::Remote`] with the status and class), a file's failure a
//! [`FileError`], a background command's a [`stockade_core::CommandError`].
//! Uploads stream from a reader and downloads to a writer, neither held
//! whole.
//!
//! ```no_run
//! use stockade::remote::Client;
//! use stockade::{Language, Request};
//!
//! let client = Client::connect("http://127.0.0.1:8080", Some("token"))?;
//! let outcome = client.run(&Request::new(Language::JavaScript, "6 * 7"))?;
//! assert_eq!(outcome.value, Some(42.into()));
//! let session = client.session(Language::Python)?;
//! session.files().write("data.csv", &b"a,b\n1,2\n"[..])?;
//! session.run("import pandas as pd\nprint(pd.read_csv('/tmp/data.csv'))")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod commands;
mod transport;

pub use commands::RemoteCommand;

use crate::session_files::{Entry, EntryKind, FileError, Transfer};
use std::io::{Read, Write};
use std::sync::Arc;
use stockade_core::{Language, Outcome, OutputSink, Request, SandboxError, SessionRequest, Stream};
use transport::{Failure, Sent, Transport};

/// The media type of a streamed run.
const NDJSON: &str = "application/x-ndjson";

/// A connection to a `stockade serve` with a bearer token. Each call is a
/// request of its own, on the connection the last one left open when it
/// can; `Send + Sync`, but its calls take turns.
pub struct Client {
    transport: std::sync::Mutex<Transport>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `url` (`http://host:port`, with a path
    /// prefix if the server is behind one), sending `token` if given.
    pub fn connect(url: &str, token: Option<&str>) -> Result<Client, SandboxError> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            SandboxError::Request(format!(
                "{url:?}: the url must be http://host:port (a TLS proxy in front is the server's)"
            ))
        })?;
        let (authority, base) =
            rest.split_once('/').map_or((rest, ""), |(authority, path)| (authority, path));
        if authority.is_empty() || authority.contains(['@', ' ']) {
            return Err(SandboxError::Request(format!("{url:?}: no host:port in the url")));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| SandboxError::Network { step: "start the client's runtime", source })?;
        let base = if base.is_empty() { String::new() } else { format!("/{}", base.trim_end_matches('/')) };
        let authority =
            if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
        let transport = Transport::new(runtime, authority, base, token.map(String::from));
        Ok(Client { transport: std::sync::Mutex::new(transport) })
    }

    /// Runs `request` in a fresh sandbox on the server.
    pub fn run(&self, request: &Request) -> Result<Outcome, SandboxError> {
        self.json("POST", "/v1/runs", Some(request))
    }

    /// [`Client::run`], with the output handed to `output` as the guest
    /// writes it (the server's `application/x-ndjson` answer).
    pub fn run_with(&self, request: &Request, output: Arc<dyn OutputSink>) -> Result<Outcome, SandboxError> {
        self.streamed("/v1/runs", request, output)
    }

    /// Opens a session on the server.
    pub fn session(&self, language: Language) -> Result<RemoteSession<'_>, SandboxError> {
        #[derive(serde::Deserialize)]
        struct Opened {
            id: String,
        }
        let opened: Opened = self.json("POST", "/v1/sessions", Some(&SessionRequest::new(language)))?;
        Ok(RemoteSession { client: self, id: opened.id, language })
    }

    /// Whether the server answers its health check.
    pub fn healthy(&self) -> bool {
        self.json::<serde_json::Value>("GET", "/v1/health", None::<&()>).is_ok()
    }

    fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Sent<'_>,
        accept: Option<&str>,
        answer: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u16, Failure> {
        let mut transport = self.transport.lock().unwrap_or_else(|p| p.into_inner());
        transport.exchange(method, path, body, accept, answer)
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl serde::Serialize>,
    ) -> Result<T, SandboxError> {
        let sent = match body {
            Some(body) => {
                Sent::Json(serde_json::to_vec(body).map_err(|e| SandboxError::Request(e.to_string()))?)
            }
            None => Sent::Empty,
        };
        let mut answer = Vec::new();
        self.exchange(method, path, sent, None, &mut transport::into(&mut answer))?;
        let answer = if answer.is_empty() { b"null".to_vec() } else { answer };
        serde_json::from_slice(&answer).map_err(|e| unreadable(path, e))
    }

    fn streamed(
        &self,
        path: &str,
        request: &Request,
        output: Arc<dyn OutputSink>,
    ) -> Result<Outcome, SandboxError> {
        let body = serde_json::to_vec(request).map_err(|e| SandboxError::Request(e.to_string()))?;
        let mut lines = Lines::default();
        let mut last = None;
        let mut take = |bytes: &[u8]| {
            lines.feed(bytes, &mut |line| {
                if let Some(end) = event(line, &*output)? {
                    last = Some(end);
                }
                Ok(())
            })
        };
        self.exchange("POST", path, Sent::Json(body), Some(NDJSON), &mut take)?;
        match last {
            Some(Ok(outcome)) => Ok(outcome),
            Some(Err(error)) => Err(error),
            None => Err(unreadable(path, "the stream ended before the run's outcome")),
        }
    }
}

/// A session on the server: [`crate::Session`]'s API.
pub struct RemoteSession<'a> {
    client: &'a Client,
    id: String,
    language: Language,
}

impl std::fmt::Debug for RemoteSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSession").field("id", &self.id).field("language", &self.language).finish()
    }
}

impl RemoteSession<'_> {
    /// The session's id on the server.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its language.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Runs `code` in the session.
    pub fn run(&self, code: &str) -> Result<Outcome, SandboxError> {
        self.run_request(&Request::in_session(self.id.clone(), code))
    }

    /// Runs `request` in the session (its timeout and language checked by the server).
    pub fn run_request(&self, request: &Request) -> Result<Outcome, SandboxError> {
        self.client.json("POST", &format!("/v1/sessions/{}/runs", self.id), Some(request))
    }

    /// [`RemoteSession::run_request`], with the output handed to `output` as it comes.
    pub fn run_with(&self, request: &Request, output: Arc<dyn OutputSink>) -> Result<Outcome, SandboxError> {
        self.client.streamed(&format!("/v1/sessions/{}/runs", self.id), request, output)
    }

    /// The session's files, under its guest's `/tmp`.
    pub fn files(&self) -> RemoteFiles<'_> {
        RemoteFiles { session: self }
    }

    /// Closes the session on the server. Closing twice is harmless.
    pub fn close(&self) -> Result<(), SandboxError> {
        match self.client.exchange(
            "DELETE",
            &format!("/v1/sessions/{}", self.id),
            Sent::Empty,
            None,
            &mut |_| Ok(()),
        ) {
            Ok(_) | Err(Failure::Refused(transport::Refusal { status: 404, .. })) => Ok(()),
            Err(failure) => Err(failure.into()),
        }
    }
}

/// A remote session's files: [`crate::SessionFiles`]' API.
pub struct RemoteFiles<'a> {
    session: &'a RemoteSession<'a>,
}

impl RemoteFiles<'_> {
    fn url(&self, path: &str) -> Result<String, FileError> {
        let relative = path.strip_prefix("/tmp/").unwrap_or(path).trim_start_matches('/');
        if relative.chars().any(|c| c.is_control() || matches!(c, '?' | '#' | '%' | ' ')) {
            return Err(FileError::Path {
                path: path.into(),
                why: "it holds a character a URL's path cannot carry",
            });
        }
        Ok(format!("/v1/sessions/{}/files/{relative}", self.session.id))
    }

    /// Writes `body` to `path`, streamed; returns what the server wrote.
    pub fn write(&self, path: &str, mut body: impl Read + Send) -> Result<Transfer, FileError> {
        let url = self.url(path)?;
        let mut answer = Vec::new();
        self.session
            .client
            .exchange("PUT", &url, Sent::Reader(&mut body), None, &mut transport::into(&mut answer))
            .map_err(|failure| file_error(path, failure))?;
        moved(path, &answer)
    }

    /// Streams the file at `path` into `out`; returns what was read.
    pub fn read(&self, path: &str, mut out: impl Write) -> Result<Transfer, FileError> {
        let url = self.url(path)?;
        let mut hash = blake3::Hasher::new();
        let mut bytes = 0u64;
        let mut take = |chunk: &[u8]| {
            hash.update(chunk);
            bytes += chunk.len() as u64;
            out.write_all(chunk)
        };
        self.session
            .client
            .exchange("GET", &url, Sent::Empty, None, &mut take)
            .map_err(|failure| file_error(path, failure))?;
        out.flush().map_err(|source| FileError::Io { path: path.into(), source })?;
        Ok(Transfer { path: shown(path), bytes, blake3: hash.finalize().to_hex().to_string() })
    }

    /// The entries of the folder at `path` (`""`: the session's `/tmp`).
    pub fn list(&self, path: &str) -> Result<Vec<Entry>, FileError> {
        #[derive(serde::Deserialize)]
        struct Listing {
            entries: Vec<Listed>,
        }
        #[derive(serde::Deserialize)]
        struct Listed {
            path: String,
            kind: String,
            bytes: u64,
        }
        let query = match path.strip_prefix("/tmp").unwrap_or(path).trim_matches('/') {
            "" => String::new(),
            folder => {
                // The same characters as a file's path may hold.
                self.url(folder)?;
                format!("?path={folder}")
            }
        };
        let listing: Listing = self
            .session
            .client
            .json("GET", &format!("/v1/sessions/{}/files{query}", self.session.id), None::<&()>)
            .map_err(FileError::Session)?;
        Ok(listing
            .entries
            .into_iter()
            .map(|listed| Entry {
                path: listed.path,
                kind: match listed.kind.as_str() {
                    "file" => EntryKind::File,
                    "dir" => EntryKind::Dir,
                    _ => EntryKind::Other,
                },
                bytes: listed.bytes,
            })
            .collect())
    }

    /// Removes the file (or empty folder) at `path`.
    pub fn remove(&self, path: &str) -> Result<(), FileError> {
        let url = self.url(path)?;
        self.session
            .client
            .exchange("DELETE", &url, Sent::Empty, None, &mut |_| Ok(()))
            .map_err(|failure| file_error(path, failure))?;
        Ok(())
    }
}

/// The path as the guest sees it.
fn shown(path: &str) -> String {
    if path.starts_with("/tmp/") {
        path.to_string()
    } else {
        format!("/tmp/{}", path.trim_start_matches('/'))
    }
}

fn moved(path: &str, answer: &[u8]) -> Result<Transfer, FileError> {
    #[derive(serde::Deserialize)]
    struct Moved {
        path: String,
        bytes: u64,
        blake3: String,
    }
    let moved: Moved = serde_json::from_slice(answer).map_err(|e| FileError::Session(unreadable(path, e)))?;
    Ok(Transfer { path: moved.path, bytes: moved.bytes, blake3: moved.blake3 })
}

/// A file's failure as in-process: the status says which.
fn file_error(path: &str, failure: Failure) -> FileError {
    match failure {
        Failure::Refused(refusal) => match refusal.status {
            404 if refusal.message.contains("file") || refusal.message.contains("exist") => {
                FileError::Missing { path: shown(path) }
            }
            409 => FileError::NotAFile { path: shown(path) },
            413 => FileError::Full { path: shown(path) },
            _ => FileError::Session(refusal.into_error()),
        },
        Failure::Broken(error) => FileError::Session(error),
    }
}

fn unreadable(path: &str, why: impl std::fmt::Display) -> SandboxError {
    SandboxError::Network {
        step: "read the server's answer",
        source: std::io::Error::other(format!("{path}: {why}")),
    }
}

/// One line of a streamed run: output goes to `output`; the last line is
/// the run's end.
fn event(line: &[u8], output: &dyn OutputSink) -> std::io::Result<Option<Result<Outcome, SandboxError>>> {
    #[derive(serde::Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Line {
        Output { stream: Stream, text: String },
        Cut { stream: Stream },
        Outcome { outcome: Box<Outcome> },
        Error { error: String, class: Option<stockade_core::ErrorClass> },
    }
    let line: Line = serde_json::from_slice(line).map_err(std::io::Error::other)?;
    Ok(match line {
        Line::Output { stream, text } => {
            output.chunk(stream, text.as_bytes());
            None
        }
        Line::Cut { stream } => {
            output.cut(stream);
            None
        }
        Line::Outcome { outcome } => Some(Ok(*outcome)),
        Line::Error { error, class } => {
            let refusal = transport::Refusal { status: 200, message: error, class, retry_after: None };
            Some(Err(refusal.into_error()))
        }
    })
}

/// Splits a body into its lines, however its chunks fall.
#[derive(Default)]
struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    fn feed(
        &mut self,
        bytes: &[u8],
        line: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.pending.extend_from_slice(bytes);
        while let Some(at) = self.pending.iter().position(|b| *b == b'\n') {
            let whole: Vec<u8> = self.pending.drain(..=at).collect();
            if whole.len() > 1 {
                line(&whole[..whole.len() - 1])?;
            }
        }
        Ok(())
    }
}
