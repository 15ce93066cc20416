//! One request the engine can see, sent on to its vetted destination: a
//! plain HTTP request, or one inside TLS the engine terminated. Both pass
//! the same checks (the rule's methods and paths, the budgets), get the
//! same secrets swapped in, and come back counted and redacted.

use crate::body::{Counted, Redacted};
use crate::destination::Destination;
use crate::engine::Inner;
use crate::proxy::{Body, strip_hop_by_hop};
use crate::refusal::Refusal;
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response};
use std::sync::Arc;
use stockade_policy::network::{normalize_path, printable};

/// Admits a request to `destination`: its rule must allow the method and
/// the path, and the run must have a request left. Nothing is connected
/// before this passes.
pub(crate) fn admit<B>(
    engine: &Inner,
    destination: &Destination,
    request: &Request<B>,
) -> Result<(), Refusal> {
    let path = request.uri().path();
    if !engine.rules.admits(destination.rule, request.method().as_str(), path) {
        return Err(Refusal::MethodOrPath {
            method: request.method().to_string(),
            path: printable(path),
            destination: destination.authority(),
            rule: destination.rule,
        });
    }
    engine.budgets.take_request()
}

/// Sends an admitted request on `sender`, a connection to `destination`
/// (`tls`: inside TLS the engine terminated, or the host's own), and
/// returns the answer.
pub(crate) async fn exchange(
    engine: &Arc<Inner>,
    destination: &Destination,
    sender: &mut SendRequest<Body>,
    request: Request<Body>,
    tls: bool,
) -> Result<Response<Body>, Refusal> {
    let (mut parts, body) = request.into_parts();
    let uri = parts.uri.clone();
    // Where a rule restricts paths, the destination gets the path that was
    // checked, not a spelling of it that it might read otherwise.
    let path = match engine.restricts_requests(destination.rule) {
        true => normalize_path(uri.path()).unwrap_or_default(),
        false => uri.path().to_string(),
    };
    let target = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    parts.uri =
        target.parse().map_err(|_| Refusal::Unsupported("a request target that is not a URI".into()))?;
    strip_hop_by_hop(&mut parts.headers);
    if !parts.headers.contains_key(header::HOST) {
        let default_port = if tls { 443 } else { 80 };
        let host = match destination.port {
            port if port == default_port => crate::destination::host_text(&destination.host),
            _ => destination.authority(),
        };
        if let Ok(host) = HeaderValue::from_str(&host) {
            parts.headers.insert(header::HOST, host);
        }
    }
    let swapped = engine.secrets.swap_in(&mut parts.headers, &destination.host, destination.port, tls);
    let carries_secret = !swapped.swapped.is_empty();
    if carries_secret {
        // The answer is searched for the real value before the guest sees
        // it, which a compressed body would hide.
        parts.headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    }
    let mut tally = engine.tally(destination, parts.method.as_str());
    tally.note(swapped.notes());
    let body = Counted::outward(body, engine.clone(), tally.clone()).boxed();
    let response = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .map_err(|e| Refusal::Unresolved { destination: destination.authority(), why: e.to_string() })?;
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let body = Counted::inward(body, engine.clone(), tally);
    if !carries_secret {
        return Ok(Response::from_parts(parts, body.boxed()));
    }
    let encoded = parts
        .headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|encoding| !encoding.as_bytes().eq_ignore_ascii_case(b"identity"));
    if encoded {
        return Err(Refusal::Unsupported(format!(
            "{} answered a request that carried a secret with a compressed body, which stockade cannot \
             search for the secret; the answer is withheld",
            destination.authority()
        )));
    }
    engine.secrets.redact_headers(&mut parts.headers);
    Ok(Response::from_parts(parts, Redacted::new(body, engine.clone()).boxed()))
}
