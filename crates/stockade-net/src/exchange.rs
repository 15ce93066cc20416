//! One request the engine can see, sent on to its vetted destination: a
//! plain HTTP request, or one inside TLS the engine terminated. Both pass
//! the same checks (the rule's methods and paths, the budgets), get the
//! same secrets swapped in, and come back counted and redacted.

use crate::body::{Counted, Redacted};
use crate::destination::Destination;
use crate::engine::Inner;
use crate::pool::{Lease, Returning};
use crate::proxy::{Body, strip_hop_by_hop};
use crate::refusal::{Failed, Refusal};
use http_body_util::BodyExt;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, Uri};
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

/// Sends an admitted request on `upstream`, a connection to `destination`
/// (`tls`: inside TLS the engine terminated, or the host's own), and
/// returns the answer; the connection goes back to the run's pool once the
/// answer has been read.
pub(crate) async fn exchange(
    engine: &Arc<Inner>,
    destination: &Destination,
    mut upstream: Lease,
    request: Request<Body>,
    tls: bool,
) -> Result<Response<Body>, Failed> {
    let (mut parts, body) = request.into_parts();
    parts.uri = origin_form(&parts.uri, engine.restricts_requests(destination.rule))?;
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
    // Every answer from a host a secret may go to is searched for real
    // values before the guest sees it, whether or not this request carried
    // one (the host may have kept one): a compressed body would hide a
    // value, and a range could cut one into pieces too short to find.
    let guarded = engine.secrets.go_to(&destination.host, destination.port);
    if guarded {
        parts.headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        parts.headers.remove(header::RANGE);
        parts.headers.remove(header::IF_RANGE);
    }
    let mut tally = engine.tally(destination, parts.method.as_str());
    tally.note(swapped.notes());
    // A request whose head alone passes the budget is refused, and only
    // the refusal is recorded.
    let target = parts.uri.path_and_query().map_or("/", |target| target.as_str());
    let head = head_bytes(parts.method.as_str().len() + target.len() + 11, &parts.headers);
    if let Err(refusal) = engine.budgets.take_out(head) {
        return Err(tally.fail(refusal));
    }
    tally.add(head, 0);
    let body = Counted::outward(body, engine.clone(), tally.clone()).boxed();
    let response = match upstream.send(engine, destination, Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(refusal) => return Err(tally.fail(refusal)),
    };
    let (mut parts, body) = response.into_parts();
    if guarded && let Some(coding) = compressed(&parts.headers) {
        return Err(tally.fail(Refusal::Unsupported(format!(
            "{} answered with a body in the {coding} coding, which stockade cannot search for the \
             secrets that may go there; the answer is withheld",
            destination.authority()
        ))));
    }
    // The reason phrase is the destination's free text, sent on as it
    // came if kept: the guest gets the status code's own.
    parts.extensions.remove::<hyper::ext::ReasonPhrase>();
    strip_hop_by_hop(&mut parts.headers);
    let head = head_bytes(15, &parts.headers);
    if let Err(refusal) = engine.budgets.take_in(head) {
        return Err(tally.fail(refusal));
    }
    tally.add(0, head);
    let body = Counted::inward(Returning::new(body, upstream), engine.clone(), tally);
    if !guarded {
        return Ok(Response::from_parts(parts, body.boxed()));
    }
    engine.secrets.redact_headers(&mut parts.headers);
    Ok(Response::from_parts(parts, Redacted::new(body, engine.clone()).boxed()))
}

/// The request target the destination gets: `uri`'s path and query, the
/// path normalized where a rule restricts paths (`restricted`), so that
/// the destination reads the path that was checked and not another
/// spelling of it.
fn origin_form(uri: &Uri, restricted: bool) -> Result<Uri, Failed> {
    if !restricted && let Some(target) = uri.path_and_query() {
        return Ok(Uri::from(target.clone()));
    }
    let path = match restricted {
        true => normalize_path(uri.path()).unwrap_or_default(),
        false => uri.path().to_string(),
    };
    let target = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    target
        .parse()
        .map_err(|_| Failed::from(Refusal::Unsupported("a request target that is not a URI".into())))
}

/// The content or transfer coding, other than `identity` and `chunked`, an
/// answer's body is in, if any: in any value of either header.
fn compressed(headers: &HeaderMap) -> Option<String> {
    let codings = |name| {
        headers
            .get_all(name)
            .iter()
            .flat_map(|value| value.as_bytes().split(|&b| b == b','))
            .map(|coding| String::from_utf8_lossy(coding).trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    let content = codings(header::CONTENT_ENCODING).into_iter().find(|c| !c.is_empty() && c != "identity");
    let transfer = || {
        codings(header::TRANSFER_ENCODING)
            .into_iter()
            .find(|c| !c.is_empty() && c != "chunked" && c != "identity")
    };
    content.or_else(transfer)
}

/// The bytes a message head takes on the wire: its first line
/// (`first_line` bytes, its CRLF included) and its headers.
pub(crate) fn head_bytes(first_line: usize, headers: &HeaderMap) -> u64 {
    let fields: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    (first_line + fields + 2) as u64
}
