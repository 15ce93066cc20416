//! The HTTP proxy a jailed program talks to (`HTTP_PROXY`, `HTTPS_PROXY`):
//! plain HTTP requests in absolute form, forwarded one by one, and CONNECT
//! tunnels, let through only when their TLS ClientHello names the host they
//! were opened to.
//!
//! The destination always comes from the request target (the absolute URI
//! or the CONNECT authority), never from the `Host` header, which must agree
//! with it. Every request on a kept-alive connection is vetted again.

use crate::destination::{Destination, authority};
use crate::engine::Inner;
use crate::event::NetEvent;
use crate::exchange::{admit, exchange};
use crate::refusal::{Failed, Refusal};
use crate::sni::{Hello, MAX_HELLO_BYTES, client_hello};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use stockade_policy::network::{Host, printable as escaped};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A response body: a refusal's text, or the destination's body, counted.
pub(crate) type Body = BoxBody<Bytes, BoxError>;
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a connection's request headers, and a tunnel's ClientHello, may take.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting to a vetted address may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one proxy connection from the guest until it closes.
///
/// The listener has `TCP_NODELAY` set, which `stream` inherits.
pub(crate) async fn serve(engine: Arc<Inner>, stream: TcpStream) {
    let service = hyper::service::service_fn(move |request| {
        let engine = engine.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(engine, request).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

async fn handle(engine: Arc<Inner>, request: Request<Incoming>) -> Response<Body> {
    // Kept as they came (cheap copies), and written out only for a refusal.
    let method = request.method().clone();
    let asked = request.uri().authority().cloned();
    let result = if method == Method::CONNECT {
        connect(&engine, request).await
    } else {
        forward(&engine, request).await
    };
    answer(&engine, method.as_str(), asked.as_ref().map_or("", |a| a.as_str()), result)
}

/// The guest's answer: the destination's, or a refusal, which is recorded
/// unless its request's own record says it already.
pub(crate) fn answer(
    engine: &Inner,
    method: &str,
    asked: &str,
    result: Result<Response<Body>, Failed>,
) -> Response<Body> {
    result.unwrap_or_else(|failed| {
        record_refusal(engine, method, asked, &failed);
        refused(&failed.refusal)
    })
}

/// Records a request refused before its tally began (and so with nothing
/// sent): the destination as the guest asked for it, and the rule.
pub(crate) fn record_refusal(engine: &Inner, method: &str, asked: &str, failed: &Failed) {
    if failed.recorded {
        return;
    }
    engine.record(NetEvent {
        destination: escaped(asked),
        method: escaped(method),
        allowed: false,
        rule: failed.refusal.rule(),
        bytes_out: 0,
        bytes_in: 0,
        secrets: Vec::new(),
    });
}

/// The proxy's answer to a refused request: the reason in the body and in
/// `X-Stockade-Refusal`, so that a program (or the model reading its
/// output) can tell a policy refusal from a failing server.
fn refused(refusal: &Refusal) -> Response<Body> {
    let status = match refusal {
        Refusal::Budget(_) => StatusCode::TOO_MANY_REQUESTS,
        Refusal::Unresolved { .. } => StatusCode::BAD_GATEWAY,
        Refusal::Unsupported(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    let mut response = Response::new(text(format!("stockade: {refusal}\n")));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    if let Ok(rule) = HeaderValue::from_str(&refusal.rule()) {
        headers.insert("x-stockade-refusal", rule);
    }
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A body that is `body`, whole.
pub(crate) fn text(body: String) -> Body {
    Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed()
}

/// A plain HTTP request in absolute form, forwarded to its vetted address.
async fn forward(engine: &Arc<Inner>, request: Request<Incoming>) -> Result<Response<Body>, Failed> {
    let uri = request.uri().clone();
    let (Some(host), Some("http")) = (uri.host(), uri.scheme_str()) else {
        return Err(Refusal::Unsupported(
            "this is stockade's egress proxy: send requests as absolute http:// URLs, or CONNECT for https"
                .into(),
        )
        .into());
    };
    let port = uri.port_u16().unwrap_or(80);
    let target = Host::parse(host).map_err(Refusal::from)?;
    let written = uri.authority().map(|authority| authority.as_str());
    check_host_header(request.headers(), &target, written, port, 80)?;
    if request.headers().contains_key(header::UPGRADE) {
        return Err(Refusal::Unsupported(
            "stockade's proxy does not follow protocol upgrades over plain HTTP".into(),
        )
        .into());
    }
    let destination = engine.vetting().vet_host(target, port).await?;
    admit(engine, &destination, &request)?;
    let upstream = crate::pool::lease(engine, &destination, false).await?;
    exchange(engine, &destination, upstream, boxed(request), false).await
}

/// A guest's request with its body boxed, as the exchange takes it.
pub(crate) fn boxed(request: Request<Incoming>) -> Request<Body> {
    request.map(|body| body.map_err(|e| Box::new(e) as BoxError).boxed())
}

/// Refuses a `Host` header that names another host or port than the target
/// (`target` on `port`; `default_port` where the header names none: 80 for
/// HTTP, 443 inside TLS). `written` is the target's authority as the
/// request wrote it, where it wrote one: a header that repeats it byte for
/// byte names the same host and port without being parsed again.
pub(crate) fn check_host_header(
    headers: &HeaderMap,
    target: &Host,
    written: Option<&str>,
    port: u16,
    default_port: u16,
) -> Result<(), Refusal> {
    let mut values = headers.get_all(header::HOST).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match headers.get_all(header::HOST).iter().count() {
            0 => Ok(()),
            _ => Err(mismatch("the Host header", "(more than one)", target, port)),
        };
    };
    let claimed = value.to_str().unwrap_or("");
    // A user name is no part of a host, in the header or the target.
    if claimed.contains('@') {
        return Err(mismatch("the Host header", claimed, target, port));
    }
    if written == Some(claimed) {
        return Ok(());
    }
    let agrees = claimed.parse::<hyper::http::uri::Authority>().is_ok_and(|named| {
        Host::parse(named.host()).as_ref() == Ok(target) && named.port_u16().unwrap_or(default_port) == port
    });
    if !agrees {
        return Err(mismatch("the Host header", claimed, target, port));
    }
    Ok(())
}

pub(crate) fn mismatch(what: &'static str, claimed: &str, target: &Host, port: u16) -> Refusal {
    Refusal::Mismatch { what, claimed: escaped(claimed), destination: authority(target, port) }
}

/// The headers that are always the connection's own.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
];

/// Connection-level headers, which are the proxy's, not the destination's:
/// those of [`HOP_BY_HOP`], and those the `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the few headers a message has finds what to remove;
    // most messages carry one such header or none.
    let listed: Vec<&str> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(str::trim))
        .collect();
    let doomed: Vec<header::HeaderName> = headers
        .keys()
        .filter(|name| {
            HOP_BY_HOP.contains(&name.as_str())
                || listed.iter().any(|l| l.eq_ignore_ascii_case(name.as_str()))
        })
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
}

/// Connects to the first vetted address that answers.
pub(crate) async fn connect_to(destination: &Destination) -> Result<TcpStream, Refusal> {
    let mut last = String::from("no address");
    for address in &destination.addresses {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => last = format!("{address}: {e}"),
            Err(_) => last = format!("{address}: no answer in {} s", CONNECT_TIMEOUT.as_secs()),
        }
    }
    Err(Refusal::Unresolved { destination: destination.authority(), why: last })
}

/// A CONNECT tunnel: vetted now, then opened once the client's ClientHello
/// shows that it goes to the host the tunnel names.
async fn connect(engine: &Arc<Inner>, request: Request<Incoming>) -> Result<Response<Body>, Failed> {
    let needs_target = || Failed::from(Refusal::Unsupported("CONNECT needs a host:port target".into()));
    let Some(target) = request.uri().authority().cloned() else { return Err(needs_target()) };
    let Some(port) = target.port_u16() else { return Err(needs_target()) };
    let destination = engine.vetting().vet(target.host(), port).await?;
    let engine = engine.clone();
    if engine.terminates(&destination) {
        // Each request inside is admitted (and counted) on its own.
        engine.clone().spawn(async move {
            let Ok(upgraded) = hyper::upgrade::on(request).await else { return };
            crate::terminate::serve(engine, TokioIo::new(upgraded), destination).await;
        });
        return Ok(Response::new(text(String::new())));
    }
    engine.budgets.take_request()?;
    engine.clone().spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(request).await else { return };
        tunnel(&engine, TokioIo::new(upgraded), destination).await;
    });
    Ok(Response::new(text(String::new())))
}

async fn tunnel(engine: &Arc<Inner>, mut guest: TokioIo<hyper::upgrade::Upgraded>, destination: Destination) {
    let mut tally = engine.tally(&destination, "CONNECT");
    let hello = match tokio::time::timeout(HEADER_TIMEOUT, read_hello(&mut guest, &destination)).await {
        Ok(Ok(hello)) => hello,
        Ok(Err(refusal)) => return tally.refuse(refusal),
        Err(_) => {
            let why = "no ClientHello in time";
            return tally.refuse(Refusal::OpaqueTunnel { destination: destination.authority(), why });
        }
    };
    let mut upstream = match connect_to(&destination).await {
        Ok(upstream) => upstream,
        Err(refusal) => return tally.refuse(refusal),
    };
    if let Err(refusal) = engine.budgets.take_out(hello.len() as u64) {
        return tally.refuse(refusal);
    }
    if tokio::io::AsyncWriteExt::write_all(&mut upstream, &hello).await.is_err() {
        return;
    }
    let relayed = crate::relay::relay(guest, upstream, &engine.budgets, engine.idle).await;
    tally.add(hello.len() as u64 + relayed.out, relayed.inward);
    if let Some(cut) = relayed.cut {
        tally.cut(cut);
    }
}

/// Reads the tunnel's first bytes until they hold a whole ClientHello, and
/// checks its server name against the destination.
async fn read_hello(
    guest: &mut TokioIo<hyper::upgrade::Upgraded>,
    destination: &Destination,
) -> Result<Vec<u8>, Refusal> {
    let opaque = |why| Refusal::OpaqueTunnel { destination: destination.authority(), why };
    let mut bytes = Vec::with_capacity(2048);
    loop {
        match client_hello(&bytes).map_err(opaque)? {
            Hello::Incomplete if bytes.len() >= MAX_HELLO_BYTES => {
                return Err(opaque("a ClientHello too long"));
            }
            Hello::Incomplete => {
                let mut chunk = [0u8; 4096];
                let n = guest.read(&mut chunk).await.map_err(|_| opaque("the tunnel closed"))?;
                if n == 0 {
                    return Err(opaque("the tunnel closed before its ClientHello"));
                }
                bytes.extend_from_slice(&chunk[..n]);
            }
            Hello::ServerName(name) => {
                return check_server_name(destination, name.as_deref()).map(|()| bytes);
            }
        }
    }
}

/// Refuses a ClientHello whose server name is not the destination's host
/// (or that names none, for a destination that is a name).
pub(crate) fn check_server_name(destination: &Destination, name: Option<&str>) -> Result<(), Refusal> {
    match (&destination.host, name.map(Host::parse)) {
        (Host::Name(_), None) => Err(Refusal::OpaqueTunnel {
            destination: destination.authority(),
            why: "a ClientHello without a server name",
        }),
        (Host::Ip(_), None) => Ok(()),
        (host, Some(Ok(named))) if named == *host => Ok(()),
        (_, Some(_)) => Err(Refusal::Mismatch {
            what: "the TLS server name (SNI)",
            claimed: escaped(name.unwrap_or_default()),
            destination: destination.authority(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The connection's own headers go, those `Connection` names among
    /// them in any case, and the message's own stay.
    #[test]
    fn hop_by_hop_headers_are_stripped_and_the_rest_kept() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "close, X-Hop-Secret"),
            ("connection", "keep-alive"),
            ("x-hop-secret", "token"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("proxy-authorization", "Basic Zm9vOmJhcg=="),
            ("te", "trailers"),
            ("trailer", "x-checksum"),
            ("upgrade", "websocket"),
            ("host", "api.example"),
            ("accept", "*/*"),
            ("x-kept", "1"),
        ] {
            headers.append(header::HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(|name| name.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "host", "x-kept"]);

        let mut plain = HeaderMap::new();
        plain.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        strip_hop_by_hop(&mut plain);
        assert_eq!(plain.len(), 1);
    }
}
