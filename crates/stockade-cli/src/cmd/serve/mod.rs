//! `stockade serve`: the HTTP API (axum). Bearer tokens from a config file,
//! each mapped to a policy, with per-token concurrency, rate and session
//! limits; fresh runs and sessions; graceful shutdown.
//!
//! The server keeps no state but live sessions, so several can run behind
//! a load balancer with session affinity (docs/deploy.md).

mod api;
mod commands;
mod config;
mod files;
mod listen;
mod openapi;
mod sessions;
mod stream;

use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `stockade serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The server's configuration (TOML): `listen`, `max_body_bytes`,
    /// `max_connections`, `header_timeout_ms`, `body_timeout_ms`, and
    /// `[[tokens]]` with `id`, `sha256`, `policy`, `max_concurrent`, `rate`,
    /// `max_sessions`, `tools`.
    #[arg(long, short)]
    config: PathBuf,
}

/// Serves until SIGINT or SIGTERM; runs in flight finish first.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let config = config::Config::load(&args.config)?;
    let state = Arc::new(api::State::new(&config)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        eprintln!("stockade: listening on http://{}", listener.local_addr()?);
        let reaper = tokio::spawn(api::reap(state.clone()));
        let app = api::router(state.clone());
        let stopping = state.clone();
        let limits = listen::Limits {
            max_connections: config.max_connections,
            header_timeout: Duration::from_millis(config.header_timeout_ms),
        };
        listen::serve(listener, app, limits, async move {
            shutdown_signal().await;
            eprintln!("stockade: shutting down; runs in flight finish, new requests get 503");
            stopping.stop();
        })
        .await?;
        reaper.abort();
        anyhow::Ok(())
    })?;
    Ok(0)
}

pub(crate) async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
