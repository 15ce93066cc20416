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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::testing::Origin;
    use http_body_util::BodyExt;
    use std::net::{IpAddr, Ipv4Addr};
    use stockade_policy::NetworkPolicy;
    use stockade_policy::network::Host;

    fn request(port: u16) -> Request<Body> {
        let empty = crate::proxy::text(String::new());
        Request::get("/again").header("host", format!("127.0.0.1:{port}")).body(empty).expect("request")
    }

    /// A kept connection that died before its next request went out: the
    /// request is sent once more on a new connection, and only when the
    /// dead one was a reused one (a new connection's failure is the
    /// destination's answer).
    #[test]
    fn a_request_on_a_reused_connection_that_died_goes_out_once_on_a_new_one() {
        let origin = Origin::start().expect("origin");
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, origin.port));
        let destination =
            Destination::new(Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)), origin.port, 0, vec![address]);
        let engine = Engine::new(&NetworkPolicy::default(), Default::default(), None).expect("engine");
        let inner = engine.inner();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            // A connection whose driver is gone, as one the destination
            // closed between two requests is: hyper hands the request back.
            let (pool, authority) = (inner.pool.clone(), destination.authority());
            let dead = |reused| {
                let (pool, authority) = (pool.clone(), authority.clone());
                async move {
                    let tcp = tokio::net::TcpStream::connect(address).await.expect("connect");
                    let (sender, connection) =
                        hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("handshake");
                    drop(connection);
                    let key = Key { authority, tls: false };
                    Lease { pool, key, idle: Idle { address, sender, since: Instant::now() }, reused }
                }
            };
            let mut reused = dead(true).await;
            let response = reused.send(&inner, &destination, request(origin.port)).await.expect("sent again");
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.expect("body").to_bytes();
            assert_eq!(
                body,
                "origin saw GET /again HTTP/1.1 host=127.0.0.1:".to_string() + &origin.port.to_string()
            );
            assert!(!reused.reused, "the lease now holds the new connection");
            // The dead one and the one the request went out on.
            assert_eq!(origin.connections(), 2);

            let mut fresh = dead(false).await;
            let failed = fresh.send(&inner, &destination, request(origin.port)).await;
            assert!(matches!(failed, Err(Refusal::Unresolved { .. })), "{failed:?}");
        });
        assert_eq!(origin.seen().len(), 1, "{:?}", origin.seen());
    }
}
