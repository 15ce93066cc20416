//! The server's configuration file: where to listen, and the API tokens,
//! each mapped to a policy and its own limits.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! max_body_bytes = 1048576
//! max_connections = 128               # open connections at once; more wait
//! header_timeout_ms = 10000           # a request's headers must arrive by then
//! body_timeout_ms = 30000             # and its body by then, after the headers
//!
//! [[tokens]]
//! id = "agent-a"                      # recorded in the audit log
//! sha256 = "9f86d0…"                  # SHA-256 (hex) of the bearer token
//! policy = "policies/agent-a.toml"    # relative to this file
//! max_concurrent = 4                  # runs at once
//! rate = "20/s"                       # runs (and session opens) per second
//! max_sessions = 8
//! tools = { add = "python3 add.py" }  # host tools: name = command
//! ```
//!
//! `tools` registers host tools for the token's guests, as `stockade run
//! --tool NAME=COMMAND` does: each call runs the command with `sh -c` in
//! this file's folder, on the host, with the arguments as JSON on its
//! stdin, and its stdout (JSON, or else text) is the answer. The token's
//! policy must still allow each one (`[tools.add]`, or
//! `allow_unlisted_tools`); that is where its rules and budgets are. With
//! many tools, a table of its own reads better:
//!
//! ```toml
//! [[tokens]]
//! id = "agent-b"
//! # ...
//! [tokens.tools]                      # the tools of the token just above
//! add = "python3 add.py"
//! weather = "./weather.sh"
//! ```

use anyhow::{Context, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `host:port`; port 0 picks a free one (the server prints it).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Largest request body accepted; larger ones get 413.
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    /// Connections served at once. Past it, new ones wait in the kernel's
    /// backlog (holding none of the server's descriptors) until one closes,
    /// so a flood of idle connections delays callers but cannot exhaust the
    /// server's file descriptors.
    #[serde(default = "default_connections")]
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers, counted
    /// from when the server starts waiting for them (also between requests
    /// on a kept-alive connection); past it, the server closes it.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_ms: u64,
    /// How long a request's body may take to arrive once its headers have
    /// (and its token has been checked); past it, 408.
    #[serde(default = "default_body_timeout")]
    pub body_timeout_ms: u64,
    /// The tokens that may call the API.
    pub tokens: Vec<TokenConfig>,
    /// The file's folder: tool commands run there (not read from the file).
    #[serde(skip)]
    pub folder: PathBuf,
}

/// One API token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A name for logs and the audit trail (never the token itself).
    pub id: String,
    /// SHA-256 of the token, hex: the file never holds the token.
    pub sha256: String,
    /// The policy file every run of this token is held to.
    pub policy: PathBuf,
    /// Runs this token may have in flight at once; past it, 429.
    #[serde(default = "default_concurrent")]
    pub max_concurrent: usize,
    /// Requests that start work (runs, session opens), `"N/s"`, `"N/m"` or
    /// `"N/h"`; past it, 429.
    #[serde(default)]
    pub rate: Option<String>,
    /// Live sessions this token may hold.
    #[serde(default = "default_sessions")]
    pub max_sessions: usize,
    /// Host tools, `name = "command"`, run as `--tool NAME=COMMAND` runs
    /// them, in the configuration's folder. The policy must allow each.
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_body() -> usize {
    1 << 20
}

fn default_connections() -> usize {
    128
}

fn default_header_timeout() -> u64 {
    10_000
}

fn default_body_timeout() -> u64 {
    30_000
}

fn default_concurrent() -> usize {
    4
}

fn default_sessions() -> usize {
    8
}

impl Config {
    /// Reads and checks `path`; token policies are resolved against its folder.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut config: Config = toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        config.folder = if folder.as_os_str().is_empty() { PathBuf::from(".") } else { folder.to_path_buf() };
        if config.max_connections == 0 || config.max_connections > u32::MAX as usize {
            bail!("{}: max_connections: 1 to {}", path.display(), u32::MAX);
        }
        if config.header_timeout_ms == 0 || config.body_timeout_ms == 0 {
            bail!("{}: header_timeout_ms and body_timeout_ms: at least 1", path.display());
        }
        if config.tokens.is_empty() {
            bail!("{}: no [[tokens]]: nobody could call the server", path.display());
        }
        for (i, token) in config.tokens.iter_mut().enumerate() {
            let key = format!("tokens[{i}]");
            let digest = token.sha256.to_ascii_lowercase();
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!(
                    "{key}.sha256: 64 hex digits, the SHA-256 of the token (`printf %s TOKEN | sha256sum`)"
                );
            }
            token.sha256 = digest;
            if token.id.is_empty() || token.id.len() > 64 {
                bail!("{key}.id: 1 to 64 characters");
            }
            if token.max_concurrent == 0 {
                bail!("{key}.max_concurrent: at least 1");
            }
            if let Some(rate) = &token.rate {
                stockade::policy::parse_rate(rate).map_err(|why| anyhow::anyhow!("{key}.rate: {why}"))?;
            }
            if token.policy.is_relative() {
                token.policy = folder.join(&token.policy);
            }
        }
        Ok(config)
    }
}
