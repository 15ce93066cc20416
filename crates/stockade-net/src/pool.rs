//! The run's kept-alive onward connections, so that a program's next
//! request to the same destination skips the TCP (and TLS) handshake, as
//! any proxy's clients expect.
//!
//! A connection is only ever reused for the destination it was opened to,
//! and only while its address is still among those the request's own
//! vetting gave: every request is vetted afresh, and reuse never sends it
//! somewhere that vetting did not name. A connection goes back only once
//! its answer was read to the end; one cut off (by a budget, a refusal or
//! the guest) is dropped. The pool belongs to one run's engine and ends
//! with it, so no run sees another's connections.

use crate::destination::Destination;
use crate::engine::Inner;
use crate::proxy::{Body, connect_to};
use crate::refusal::Refusal;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How long an idle connection stays reusable: under the shortest
/// keep-alive servers commonly use (node's is 5 s), so that a reused one is
/// rarely one the destination is closing at that moment.
const REUSABLE_FOR: Duration = Duration::from_secs(4);
/// The idle connections kept per destination.
const IDLE_PER_DESTINATION: usize = 8;

/// Which connections may serve a request: the same destination, over the
/// same protocol.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    authority: String,
    tls: bool,
}

struct Idle {
    address: SocketAddr,
    sender: SendRequest<Body>,
    since: Instant,
}

/// Idle connections by destination.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<HashMap<Key, Vec<Idle>>>,
}

impl Pool {
    /// An idle connection for `key` to one of `addresses`, freshest first;
    /// stale and closed ones are dropped on the way.
    fn take(&self, key: &Key, addresses: &[SocketAddr]) -> Option<Idle> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let kept = idle.get_mut(key)?;
        kept.retain(|idle| idle.since.elapsed() < REUSABLE_FOR && !idle.sender.is_closed());
        let found = kept.iter().rposition(|idle| addresses.contains(&idle.address));
        found.map(|at| kept.remove(at))
    }

    fn keep(&self, key: Key, mut idle: Idle) {
        if idle.sender.is_closed() {
            return;
        }
        idle.since = Instant::now();
        let mut all = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let kept = all.entry(key).or_default();
        if kept.len() >= IDLE_PER_DESTINATION {
            kept.remove(0);
        }
        kept.push(idle);
    }

    /// Drops every idle connection (the run is over).
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// A connection to a vetted destination, the request's for as long as its
/// answer is read.
pub(crate) struct Lease {
    pool: Arc<Pool>,
    key: Key,
    idle: Idle,
    reused: bool,
}

/// A connection to `destination` (plain, or the engine's own TLS): an idle
/// one of the run's if there is one, else a new one to a vetted address.
pub(crate) async fn lease(engine: &Inner, destination: &Destination, tls: bool) -> Result<Lease, Refusal> {
    let key = Key { authority: destination.authority(), tls };
    while let Some(mut idle) = engine.pool.take(&key, &destination.addresses) {
        if idle.sender.ready().await.is_ok() {
            return Ok(Lease { pool: engine.pool.clone(), key, idle, reused: true });
        }
    }
    let idle = open(engine, destination, tls).await?;
    Ok(Lease { pool: engine.pool.clone(), key, idle, reused: false })
}

async fn open(engine: &Inner, destination: &Destination, tls: bool) -> Result<Idle, Refusal> {
    let failed = |why: String| Refusal::Unresolved { destination: destination.authority(), why };
    let tcp = connect_to(destination).await?;
    let address = tcp.peer_addr().map_err(|e| failed(e.to_string()))?;
    let sender = match tls {
        true => crate::terminate::handshake_tls(engine, destination, tcp).await?,
        false => {
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .map_err(|e| failed(e.to_string()))?;
            engine.spawn(async move {
                let _ = connection.await;
            });
            sender
        }
    };
    Ok(Idle { address, sender, since: Instant::now() })
}

impl Lease {
    /// Sends `request`. A reused connection the destination closed before
    /// the request went out is replaced by a new one, once.
    pub async fn send(
        &mut self,
        engine: &Inner,
        destination: &Destination,
        request: Request<Body>,
    ) -> Result<Response<Incoming>, Refusal> {
        let failed = |e: hyper::Error| Refusal::Unresolved {
            destination: destination.authority(),
            why: e.to_string(),
        };
        let mut refused = match self.idle.sender.try_send_request(request).await {
            Ok(response) => return Ok(response),
            Err(refused) => refused,
        };
        match refused.take_message() {
            Some(request) if self.reused => {
                self.idle = open(engine, destination, self.key.tls).await?;
                self.reused = false;
                self.idle.sender.send_request(request).await.map_err(failed)
            }
            _ => Err(failed(refused.into_error())),
        }
    }
}

/// An answer's body that gives its connection back to the pool once it
/// has been read to the end (and drops it otherwise).
pub(crate) struct Returning {
    inner: Incoming,
    lease: Option<Lease>,
    ended: bool,
}

impl Returning {
    pub fn new(inner: Incoming, lease: Lease) -> Returning {
        Returning { inner, lease: Some(lease), ended: false }
    }
}

impl hyper::body::Body for Returning {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if (self.ended || hyper::body::Body::is_end_stream(&self.inner))
            && let Some(lease) = self.lease.take()
        {
            lease.pool.keep(lease.key, lease.idle);
        }
    }
}
