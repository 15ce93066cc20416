//! MCP over streamable HTTP (`stockade mcp --listen ADDR`), served at `/mcp`.
//!
//! Code execution on a network port needs a gate: a bearer token (its value
//! read from an environment variable, never from the command line, where
//! `ps` shows it) is required on every request when set, and required to
//! listen anywhere but loopback. rmcp checks the `Host` header against the
//! allowed hosts (loopback by default), which stops DNS rebinding from a
//! browser.

use super::Server;
use anyhow::{Context, bail};
use axum::http::{Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest request body accepted, in bytes (code is capped lower by the policy).
const MAX_BODY_BYTES: usize = 16 << 20;

/// The HTTP options of `stockade mcp`.
#[derive(clap::Args)]
pub struct HttpArgs {
    /// Serve MCP over streamable HTTP at `http://ADDR/mcp` instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Require `Authorization: Bearer TOKEN`, where TOKEN is the value of
    /// this environment variable. Needed to listen beyond loopback.
    #[arg(long, value_name = "VAR", requires = "listen")]
    pub token_env: Option<String>,
    /// A `Host` header value to accept besides loopback names (repeatable),
    /// for clients that reach the server by a DNS name.
    #[arg(long = "allowed-host", value_name = "HOST", requires = "listen")]
    pub allowed_hosts: Vec<String>,
}

/// Serves `server` over HTTP until SIGTERM or Ctrl-C.
pub async fn serve(server: Server, args: &HttpArgs) -> anyhow::Result<()> {
    let Some(listen) = args.listen else { bail!("--listen is missing") };
    let token_sha256 = match &args.token_env {
        Some(var) => {
            let token =
                std::env::var(var).with_context(|| format!("--token-env {var}: the variable is not set"))?;
            if token.trim().len() < 16 {
                bail!("--token-env {var}: the token is shorter than 16 characters");
            }
            Some(Arc::<str>::from(stockade::audit_log::sha256_hex(token.trim().as_bytes())))
        }
        None if listen.ip().is_loopback() => None,
        None => bail!(
            "listening on {listen}, beyond loopback, needs --token-env: anyone who reaches the port could run code"
        ),
    };
    let mut config = StreamableHttpServerConfig::default();
    config.max_request_body_bytes = MAX_BODY_BYTES;
    config.allowed_hosts.extend(args.allowed_hosts.iter().cloned());
    if !listen.ip().is_loopback() && !listen.ip().is_unspecified() {
        config.allowed_hosts.push(listen.ip().to_string());
    }
    let cancel = config.cancellation_token.clone();
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    // Layers run outermost last: the token is checked before the body is read.
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(mark_duplicates))
        .layer(axum::middleware::from_fn(move |request, next| {
            authorize(token_sha256.clone(), request, next)
        }));
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    eprintln!("stockade: MCP on http://{}/mcp", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            crate::cmd::serve::shutdown_signal().await;
            cancel.cancel();
        })
        .await?;
    Ok(())
}

/// Reads a POST's body (at most [`MAX_BODY_BYTES`]) and passes it on with
/// a tool call's repeated keys marked (see [`super::raw`]).
async fn mark_duplicates(request: Request<axum::body::Body>, next: Next) -> Response {
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, "the body is too large or cut short\n").into_response();
        }
    };
    let bytes = match super::raw::mark(&bytes) {
        Some(marked) => axum::body::Bytes::from(marked),
        None => bytes,
    };
    let mut request = Request::from_parts(parts, axum::body::Body::from(bytes));
    // The length may have changed; hyper sets it again from the new body.
    request.headers_mut().remove(axum::http::header::CONTENT_LENGTH);
    next.run(request).await
}

/// Lets a request through when no token is required or it carries the token
/// (its digest compared in constant time).
async fn authorize(
    token_sha256: Option<Arc<str>>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let Some(expected) = token_sha256 else { return next.run(request).await };
    match crate::bearer::Bearer::of(request.headers(), [&*expected]) {
        crate::bearer::Bearer::Known(_) => next.run(request).await,
        refused => {
            let body = axum::Json(serde_json::json!({"error": refused.refusal()}));
            (StatusCode::UNAUTHORIZED, body).into_response()
        }
    }
}
