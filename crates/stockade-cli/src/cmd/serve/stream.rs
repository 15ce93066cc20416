//! A run asked for with `Accept: application/x-ndjson`: its output as the
//! guest writes it, one JSON line per chunk, then one line with how it
//! ended. The lines:
//!
//! ```text
//! {"type":"output","stream":"stdout","text":"loaded 2 rows\n"}
//! {"type":"cut","stream":"stdout"}
//! {"type":"outcome","outcome":{...the Outcome, as POST /v1/runs answers...}}
//! {"type":"error","error":"...","class":"busy"}
//! ```
//!
//! The caps hold as for any run (`cut` says where one cut a stream). A
//! client that goes away cancels the run (when the server notices: at once
//! if the connection drops, else at the guest's next output). A slow
//! client slows the guest:
//! a few lines are buffered, then the guest waits, so memory stays bounded.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use std::sync::{Arc, Mutex};
use stockade::{Cancel, Outcome, OutputSink, SandboxError, Stream};
use tokio::sync::mpsc;

/// The media type of the stream.
pub const NDJSON: &str = "application/x-ndjson";
/// Lines held for a client that reads slower than the guest writes.
const BUFFERED_LINES: usize = 64;

/// Whether the request asks for its run's output as it comes.
pub fn wanted(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|kind| kind.split(';').next().is_some_and(|kind| kind.trim().eq_ignore_ascii_case(NDJSON)))
}

/// A run's output as lines on their way to the client.
pub struct Lines {
    sender: Mutex<Option<mpsc::Sender<Bytes>>>,
    whole: crate::render::Whole,
    /// Made when the client has gone: the run stops.
    pub gone: Cancel,
}

impl Lines {
    /// Lines, and the response that carries them.
    pub fn open() -> (Arc<Lines>, Response) {
        let (sender, receiver) = mpsc::channel::<Bytes>(BUFFERED_LINES);
        let lines = Arc::new(Lines {
            sender: Mutex::new(Some(sender)),
            whole: Default::default(),
            gone: Cancel::new(),
        });
        // The body is dropped when the client goes (or once it has all of
        // it): either way the run has no one left to run for.
        let gone = CancelOnDrop(lines.gone.clone());
        let body = futures_util::stream::unfold((receiver, gone), |(mut receiver, gone)| async move {
            let line = receiver.recv().await?;
            Some((Ok::<_, std::convert::Infallible>(line), (receiver, gone)))
        });
        let mut response = Response::new(Body::from_stream(body));
        *response.status_mut() = StatusCode::OK;
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
        (lines, response)
    }

    /// The last line, how the run ended; the stream ends with it.
    pub fn end(&self, result: &Result<Outcome, SandboxError>) {
        self.last(&match result {
            Ok(outcome) => serde_json::json!({"type": "outcome", "outcome": outcome}),
            Err(e) => serde_json::json!({"type": "error", "error": e.to_string(), "class": e.class()}),
        });
    }

    /// Sends what is held of an unfinished character, then `line`; the
    /// stream ends with it.
    pub fn last(&self, line: &serde_json::Value) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            self.text(stream, &[], true);
        }
        self.send(line);
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn send(&self, line: &serde_json::Value) {
        let mut text = line.to_string();
        text.push('\n');
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // Called on the run's thread (or a jail's reader), never on the
        // server's runtime: waiting for the client here is what slows the
        // guest. That thread may be inside wasmtime-wasi's own `block_on`,
        // where tokio refuses `blocking_send`: pollster waits without it.
        if sender.is_some_and(|sender| pollster::block_on(sender.send(Bytes::from(text))).is_err()) {
            self.gone.cancel();
        }
    }

    /// Sends the whole characters of `bytes` (after what was held), holding
    /// an unfinished one back unless `end`.
    fn text(&self, stream: Stream, bytes: &[u8], end: bool) {
        let whole = self.whole.take(stream, bytes, end);
        if !whole.is_empty() {
            let text = String::from_utf8_lossy(&whole);
            self.send(&serde_json::json!({"type": "output", "stream": stream, "text": text}));
        }
    }
}

impl OutputSink for Lines {
    fn chunk(&self, stream: Stream, bytes: &[u8]) {
        self.text(stream, bytes, false);
    }

    fn cut(&self, stream: Stream) {
        self.text(stream, &[], true);
        self.send(&serde_json::json!({"type": "cut", "stream": stream}));
    }
}

/// Cancels the run when dropped.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
