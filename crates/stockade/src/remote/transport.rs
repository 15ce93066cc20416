//! One HTTP/1.1 exchange with the server (hyper, on the client's own
//! single-thread runtime): a request whose body is bytes or streams from a
//! reader, and an answer whose body streams to a writer or a line reader.
//!
//! The connection of an exchange whose answer was read to its end is kept
//! for the next, which then skips the TCP handshake (a round trip, on a
//! real network). A kept connection the server has closed meanwhile is
//! found out before the request is written, and the request goes on a new
//! one; a request that was written is never sent again, since a run must
//! not run twice.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use std::io::{Read, Write};
use stockade_core::{ErrorClass, SandboxError};

/// The most of a body a read or write moves at once.
const CHUNK: usize = 64 * 1024;

/// How long a connection is kept unused: well under the server's header
/// timeout, after which it closes one (and a request crossing that close
/// could not be told from one the server dropped).
const KEEP_IDLE: std::time::Duration = std::time::Duration::from_secs(2);

type Body = BoxBody<Bytes, std::io::Error>;

/// A connection kept between exchanges.
struct Kept {
    sender: hyper::client::conn::http1::SendRequest<Body>,
    driver: tokio::task::JoinHandle<()>,
    since: std::time::Instant,
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Where a request is sent, and as whom.
pub(crate) struct Transport {
    pub runtime: tokio::runtime::Runtime,
    /// `host:port`.
    pub authority: String,
    /// The URL's path, without its last `/`, put before every request's.
    pub base: String,
    pub token: Option<String>,
    /// The last exchange's connection, if it can take another.
    kept: Option<Kept>,
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
    /// A transport to `authority`, on `runtime`.
    pub fn new(
        runtime: tokio::runtime::Runtime,
        authority: String,
        base: String,
        token: Option<String>,
    ) -> Self {
        Transport { runtime, authority, base, token, kept: None }
    }

    /// Sends `method path` with `body` (and `accept` as its `Accept`), and
    /// hands each chunk of a successful answer's body to `answer`.
    pub fn exchange(
        &mut self,
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
            // The connection's driver runs only inside this `block_on`.
            let mut kept = self.kept.take();
            let result = self.runtime.block_on(self.send(&mut kept, method, path, body, accept, answer));
            self.kept = kept;
            if let Some(feeder) = feeder {
                let _ = feeder.join();
            }
            result
        })
    }

    async fn send(
        &self,
        kept_slot: &mut Option<Kept>,
        method: &str,
        path: &str,
        body: Body,
        accept: Option<&str>,
        answer: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u16, Failure> {
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
        let (response, kept) = self.deliver(kept_slot.take(), request).await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.parse().ok());
        let mut body = response.into_body();
        if status >= 400 {
            let bytes = body.collect().await.map_err(|e| broken("read the answer", e))?.to_bytes();
            *kept_slot = Some(kept.renewed());
            return Err(Failure::Refused(refusal(status, &bytes, retry_after)));
        }
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| broken("read the answer", e))?;
            if let Some(data) = frame.data_ref() {
                answer(data).map_err(|e| broken("take the answer", e))?;
            }
        }
        *kept_slot = Some(kept.renewed());
        Ok(status)
    }

    /// Sends `request` on the kept connection if it is still open, else on
    /// a new one; the answer's head, and the connection it came on.
    async fn deliver(
        &self,
        kept: Option<Kept>,
        mut request: hyper::Request<Body>,
    ) -> Result<(hyper::Response<hyper::body::Incoming>, Kept), Failure> {
        if let Some(mut kept) = kept.filter(|kept| kept.since.elapsed() < KEEP_IDLE) {
            // The driver does not run while the client is idle: let it see a
            // close that came meanwhile.
            tokio::task::yield_now().await;
            if kept.sender.ready().await.is_ok() {
                match kept.sender.try_send_request(request).await {
                    Ok(response) => return Ok((response, kept)),
                    Err(mut failed) => match failed.take_message() {
                        // Closed before a byte of it was written.
                        Some(unsent) => request = unsent,
                        None => return Err(broken("send the request", failed.into_error())),
                    },
                }
            }
        }
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| broken("reach the server", e))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| broken("reach the server", e))?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        let response = sender.send_request(request).await.map_err(|e| broken("send the request", e))?;
        Ok((response, Kept { sender, driver, since: std::time::Instant::now() }))
    }
}

impl Kept {
    /// The connection, its answer read to the end, kept from now.
    fn renewed(mut self) -> Kept {
        self.since = std::time::Instant::now();
        self
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A server on loopback that answers each request with which of its
    /// connections and which request on it this is (`"1.2"`), closing a
    /// connection, with no word, after `per_connection` answers; its
    /// address, and how many connections it took.
    fn serve(per_connection: usize) -> (String, Arc<AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let taken = Arc::new(AtomicUsize::new(0));
        let counter = taken.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let connection = counter.fetch_add(1, Ordering::SeqCst) + 1;
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    for request in 1..=per_connection {
                        // Each request here is a head alone.
                        let mut line = String::new();
                        while line != "\r\n" {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                        }
                        let body = format!("{connection}.{request}");
                        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                        let _ = stream.write_all(format!("{head}{body}").as_bytes());
                    }
                });
            }
        });
        (address, taken)
    }

    fn get(transport: &mut Transport) -> String {
        let mut got = Vec::new();
        let status =
            transport.exchange("GET", "/x", Sent::Empty, None, &mut into(&mut got)).expect("an answer");
        assert_eq!(status, 200);
        String::from_utf8(got).expect("text")
    }

    fn transport(address: String) -> Transport {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        Transport::new(runtime, address, String::new(), None)
    }

    #[test]
    fn the_next_exchange_goes_on_the_last_ones_connection() {
        let (address, taken) = serve(usize::MAX);
        let mut transport = transport(address);
        assert_eq!([get(&mut transport), get(&mut transport), get(&mut transport)], ["1.1", "1.2", "1.3"]);
        assert_eq!(taken.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_kept_connection_the_server_closed_is_replaced_unseen() {
        let (address, taken) = serve(1);
        let mut transport = transport(address);
        assert_eq!(get(&mut transport), "1.1");
        // The server's close arrives while the client is idle.
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(get(&mut transport), "2.1");
        assert_eq!(taken.load(Ordering::SeqCst), 2);
    }
}
