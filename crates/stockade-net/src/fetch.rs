//! Requests a WebAssembly guest asks the host to make (`fetch` in
//! JavaScript, `urllib` in Python), through the `http` operation of the
//! door. The guest has no socket: the host vets the destination, makes the
//! connection (its own TLS for `https`), swaps the secrets in and hands the
//! answer back whole, under the same rules, budgets and audit as the jail's
//! proxy.

use crate::engine::Inner;
use crate::exchange::{admit, exchange};
use crate::proxy::{BoxError, check_host_header};
use crate::refusal::{Failed, Refusal};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request};
use std::sync::Arc;
use std::time::Duration;
use stockade_core::protocol::{HttpRequest, HttpResponse};
use stockade_policy::network::Host;

/// The largest answer body a guest's request takes: the door's answer
/// frame is capped, and base64 makes a body a third longer.
pub const MAX_FETCH_BODY_BYTES: usize = stockade_core::protocol::MAX_ANSWER_BYTES / 4 * 3 - 64 * 1024;

/// Makes `request` and returns the destination's answer, within `timeout`.
pub(crate) async fn fetch(
    engine: &Arc<Inner>,
    request: HttpRequest,
    timeout: Duration,
) -> Result<HttpResponse, Refusal> {
    let (asked, method) = (request.url.clone(), request.method.to_ascii_uppercase());
    let failed = match tokio::time::timeout(timeout, fetch_within(engine, request)).await {
        Ok(Ok(response)) => return Ok(response),
        Ok(Err(failed)) => failed,
        Err(_) => Failed::from(Refusal::Unresolved {
            destination: stockade_policy::network::printable(&asked),
            why: format!("no answer within {} ms", timeout.as_millis()),
        }),
    };
    crate::proxy::record_refusal(engine, &method, &asked, &failed);
    Err(failed.refusal)
}

async fn fetch_within(engine: &Arc<Inner>, request: HttpRequest) -> Result<HttpResponse, Failed> {
    let unsupported = |why: &str| Failed::from(Refusal::Unsupported(why.to_string()));
    let uri: hyper::Uri =
        request.url.parse().map_err(|_| unsupported("the URL is not an absolute http(s) URL"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(unsupported("only http:// and https:// URLs are fetched")),
    };
    let Some(authority) = uri.authority() else { return Err(unsupported("the URL names no host")) };
    if authority.as_str().contains('@') {
        return Err(unsupported(
            "a URL with a user name or password is not fetched; send an Authorization header",
        ));
    }
    let default_port = if tls { 443 } else { 80 };
    let port = uri.port_u16().unwrap_or(default_port);
    let method = Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| unsupported("the method is not an HTTP method"))?;
    if method == Method::CONNECT {
        return Err(unsupported("CONNECT is not a request a guest makes"));
    }
    let mut builder = Request::builder().method(method).uri(uri.clone());
    for (name, value) in &request.headers {
        let name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| unsupported("a header name is not valid"))?;
        let value = HeaderValue::from_str(value).map_err(|_| unsupported("a header value is not valid"))?;
        builder = builder.header(name, value);
    }
    let outgoing = builder
        .body(Full::new(Bytes::from(request.body)).map_err(never_fails).boxed())
        .map_err(|_| unsupported("the request is not valid HTTP"))?;
    let target = Host::parse(authority.host()).map_err(Refusal::from)?;
    check_host_header(outgoing.headers(), &target, Some(authority.as_str()), port, default_port)?;
    let destination = engine.vetting().vet_host(target, port).await?;
    admit(engine, &destination, &outgoing)?;
    let upstream = crate::pool::lease(engine, &destination, tls).await?;
    let response = exchange(engine, &destination, upstream, outgoing, tls).await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        // The request's own record is written: as sent, with its cut noted.
        let frame = frame.map_err(|e| Failed {
            refusal: match e.downcast::<Refusal>() {
                Ok(refusal) => *refusal,
                Err(e) => Refusal::Unresolved { destination: destination.authority(), why: e.to_string() },
            },
            recorded: true,
        })?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > MAX_FETCH_BODY_BYTES {
                return Err(Failed {
                    refusal: Refusal::Unsupported(format!(
                        "the answer is larger than the {MAX_FETCH_BODY_BYTES} bytes a guest's request takes"
                    )),
                    recorded: true,
                });
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(HttpResponse { status, headers, body: bytes })
}

fn never_fails(never: std::convert::Infallible) -> BoxError {
    match never {}
}
