//! One HTTP/1.1 exchange with the server (hyper, on the client's own
//! single-thread runtime): a request whose body is bytes or streams from a
//! reader, and an answer whose body streams to a writer or a line reader.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use std::io::{Read, Write};
use stockade_core::{ErrorClass, SandboxError};

/// The most of a body a read or write moves at once.
const CHUNK: usize = 64 * 1024;

/// Where a request is sent, and as whom.
pub(crate) struct Transport {
    pub runtime: tokio::runtime::Runtime,
    /// `host:port`.
    pub authority: String,
    /// The URL's path, without its last `/`, put before every request's.
    pub base: String,
    pub token: Option<String>,
}

/// What goes in a request's body.
pub(crate) enum Sent<'a> {
    Empty,
    Json(Vec<u8>),
    /// Streamed, a chunk at a time, from the reader.
    Reader(&'a mut (dyn Read + Send)),
}

/// An answer the server refused with, as it said it.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub status: u16,
    pub message: String,
    pub class: Option<ErrorClass>,
    pub retry_after: Option<u64>,
}

impl Refusal {
    /// The refusal as the in-process error of the same class.
    pub fn into_error(self) -> SandboxError {
        let message = self.message;
        match self.class {
            Some(ErrorClass::Ended) => SandboxError::SessionEnded(message),
            Some(ErrorClass::Busy) => SandboxError::Busy {
                what: message,
                retry_after: std::time::Duration::from_secs(self.retry_after.unwrap_or(1)),
            },
            Some(ErrorClass::InvalidRequest) => SandboxError::Request(message),
            class => SandboxError::Remote { status: self.status, class, message },
        }
    }
}

/// Why an exchange failed: the server refused, or it could not be had.
#[derive(Debug)]
pub(crate) enum Failure {
    Refused(Refusal),
    Broken(SandboxError),
}

impl From<Failure> for SandboxError {
    fn from(failure: Failure) -> SandboxError {
        match failure {
            Failure::Refused(refusal) => refusal.into_error(),
            Failure::Broken(error) => error,
        }
    }
}

fn broken(step: &'static str, error: impl std::fmt::Display) -> Failure {
    Failure::Broken(SandboxError::Network { step, source: std::io::Error::other(error.to_string()) })
}

impl Transport {
    /// Sends `method path` with `body` (and `accept` as its `Accept`), and
    /// hands each chunk of a successful answer's body to `answer`.
    pub fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Sent<'_>,
        accept: Option<&str>,
        answer: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u16, Failure> {
        std::thread::scope(|scope| {
            let (body, feeder) = match body {
                Sent::Empty => (Full::new(Bytes::new()).map_err(|never| match never {}).boxed(), None),
                Sent::Json(bytes) => {
                    (Full::new(Bytes::from(bytes)).map_err(|never| match never {}).boxed(), None)
                }
                Sent::Reader(reader) => {
                    // The reader is read on a thread of its own, a chunk
                    // ahead of the connection, which waits for it.
                    let (send, receive) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
                    let feeder = scope.spawn(move || feed(reader, &send));
                    let frames = futures_util::stream::unfold(receive, |mut receive| async move {
                        let chunk = receive.recv().await?;
                        Some((chunk.map(Frame::data), receive))
                    });
                    (StreamBody::new(frames).boxed(), Some(feeder))
                }
            };
            let result = self.runtime.block_on(self.send(method, path, body, accept, answer));
            if let Some(feeder) = feeder {
                let _ = feeder.join();
            }
            result
        })
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: BoxBody<Bytes, std::io::Error>,
        accept: Option<&str>,
        answer: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u16, Failure> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| broken("reach the server", e))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| broken("reach the server", e))?;
        let driver = tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(hyper::header::HOST, &self.authority);
        if let Some(token) = &self.token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(accept) = accept {
            request = request.header(hyper::header::ACCEPT, accept);
        }
        let request = request
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|e| broken("make the request", e))?;
        let response = sender.send_request(request).await.map_err(|e| broken("send the request", e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.parse().ok());
        let mut body = response.into_body();
        if status >= 400 {
            let bytes = body.collect().await.map_err(|e| broken("read the answer", e))?.to_bytes();
            driver.abort();
            return Err(Failure::Refused(refusal(status, &bytes, retry_after)));
        }
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| broken("read the answer", e))?;
            if let Some(data) = frame.data_ref() {
                answer(data).map_err(|e| broken("take the answer", e))?;
            }
        }
        driver.abort();
        Ok(status)
    }
}

/// The refusal a server's `{"error", "class"}` body says.
fn refusal(status: u16, body: &[u8], retry_after: Option<u64>) -> Refusal {
    #[derive(serde::Deserialize)]
    struct Said {
        error: String,
        #[serde(default)]
        class: Option<ErrorClass>,
    }
    match serde_json::from_slice::<Said>(body) {
        Ok(said) => Refusal { status, message: said.error, class: said.class, retry_after },
        Err(_) => {
            Refusal { status, message: String::from_utf8_lossy(body).into_owned(), class: None, retry_after }
        }
    }
}

/// Reads `reader` into the request's body, a chunk at a time; a read that
/// fails fails the body, so the server never takes a short upload as whole.
fn feed(reader: &mut (dyn Read + Send), send: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) {
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let chunk = match reader.read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => Ok(Bytes::copy_from_slice(&buffer[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => Err(e),
        };
        let failed = chunk.is_err();
        if send.blocking_send(chunk).is_err() || failed {
            return;
        }
    }
}

/// A writer for an answer's body.
pub(crate) fn into(out: &mut dyn Write) -> impl FnMut(&[u8]) -> std::io::Result<()> + '_ {
    move |bytes| out.write_all(bytes)
}
