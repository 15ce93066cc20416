//! A CONNECT tunnel whose TLS the engine terminates: where a secret may go
//! or a rule restricts methods and paths, so each request must be seen.
//!
//! The guest's TLS ends here, under a leaf of the run's own authority for
//! the tunnel's host; the ClientHello's server name must be that host, and
//! every request's `Host` header too (domain fronting). Each request is
//! then vetted, has its secrets swapped in, and goes on over a TLS
//! connection of the engine's own to the vetted address, which checks the
//! destination's real certificate.

use crate::destination::Destination;
use crate::engine::Inner;
use crate::exchange::{admit, exchange};
use crate::proxy::{Body, HEADER_TIMEOUT, answer, check_host_header, check_server_name};
use crate::refusal::{Failed, Refusal};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;

/// Serves the tunnel opened to `destination` until the guest closes it.
pub(crate) async fn serve(
    engine: Arc<Inner>,
    guest: TokioIo<hyper::upgrade::Upgraded>,
    destination: Destination,
) {
    // The tunnel itself is recorded only if it is refused; each request in
    // it has a record of its own.
    let refuse = |refusal| engine.tally(&destination, "CONNECT").refuse(refusal);
    let Some(authority) = engine.authority.as_ref() else {
        return refuse(Refusal::Unsupported("this engine terminates no TLS".into()));
    };
    let acceptor = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), guest);
    let start = match tokio::time::timeout(HEADER_TIMEOUT, acceptor).await {
        Ok(Ok(start)) => start,
        _ => {
            let why = "no TLS ClientHello in time";
            return refuse(Refusal::OpaqueTunnel { destination: destination.authority(), why });
        }
    };
    if let Err(refusal) = check_server_name(&destination, start.client_hello().server_name()) {
        return refuse(refusal);
    }
    let config = match authority.server_config(&destination.host) {
        Ok(config) => config,
        Err(e) => return refuse(Refusal::Unsupported(e.to_string())),
    };
    let Ok(Ok(tls)) = tokio::time::timeout(HEADER_TIMEOUT, start.into_stream(config)).await else {
        // The guest did not finish the handshake (it may not trust the
        // run's authority); nothing went out.
        return;
    };
    let service = hyper::service::service_fn(move |request| {
        let (engine, destination) = (engine.clone(), destination.clone());
        async move {
            let method = request.method().to_string();
            let result = handle(&engine, &destination, request).await;
            Ok::<_, std::convert::Infallible>(answer(&engine, &method, &destination.authority(), result))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

async fn handle(
    engine: &Arc<Inner>,
    destination: &Destination,
    request: Request<Incoming>,
) -> Result<Response<Body>, Failed> {
    check_host_header(request.headers(), &destination.host, None, destination.port, 443)?;
    // A request in absolute form names its destination once more: it must
    // be the tunnel's.
    if let Some(named) = request.uri().authority() {
        let port = named.port_u16().unwrap_or(443);
        let same =
            stockade_policy::network::Host::parse(named.host()).ok().as_ref() == Some(&destination.host);
        if !same || port != destination.port || request.uri().scheme_str() != Some("https") {
            return Err(crate::proxy::mismatch(
                "the request's target",
                named.as_str(),
                &destination.host,
                destination.port,
            )
            .into());
        }
    }
    admit(engine, destination, &request)?;
    let upstream = crate::pool::lease(engine, destination, true).await?;
    exchange(engine, destination, upstream, crate::proxy::boxed(request), true).await
}

/// Makes `tcp`, a connection to the vetted address, the engine's own TLS,
/// checking the destination's certificate for its host.
pub(crate) async fn handshake_tls(
    engine: &Inner,
    destination: &Destination,
    tcp: tokio::net::TcpStream,
) -> Result<SendRequest<Body>, Refusal> {
    let failed = |why: String| Refusal::Unresolved { destination: destination.authority(), why };
    let client = engine.client().map_err(|e| failed(e.to_string()))?;
    let connector = tokio_rustls::TlsConnector::from(client);
    let tls = tokio::time::timeout(
        HEADER_TIMEOUT,
        connector.connect(crate::tls::server_name(&destination.host), tcp),
    )
    .await
    .map_err(|_| failed("no TLS handshake in time".into()))?
    .map_err(|e| failed(format!("TLS: {e}")))?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| failed(e.to_string()))?;
    engine.spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}
