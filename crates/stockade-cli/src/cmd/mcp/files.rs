//! The MCP tools on a named session's files. A tool call is one JSON
//! message, so a file goes whole, as text or base64, and is capped at
//! [`MAX_FILE_BYTES`]; the HTTP API and the Rust and Python ones stream.

use super::refusal;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rmcp::model::CallToolResult;
use rmcp::schemars;
use std::sync::Arc;
use stockade::{EntryKind, Session};

/// The largest file a tool call carries either way.
pub const MAX_FILE_BYTES: u64 = 8 << 20;

/// What `write_file` takes.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteFile {
    /// The session's name.
    pub session: String,
    /// A path under the session's /tmp (`/tmp/data.csv` or `data.csv`).
    pub path: String,
    /// The file's content: text, or base64 with `base64`.
    pub content: String,
    /// Whether `content` is base64.
    #[serde(default)]
    pub base64: bool,
}

/// What `read_file` takes.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadFile {
    /// The session's name.
    pub session: String,
    /// A path under the session's /tmp.
    pub path: String,
}

/// What `list_files` takes.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListFiles {
    /// The session's name.
    pub session: String,
    /// A folder under the session's /tmp; the root when left out.
    #[serde(default)]
    pub path: String,
}

pub async fn write(session: Arc<Session>, request: WriteFile) -> CallToolResult {
    let content = match request.base64 {
        true => match STANDARD.decode(request.content.as_bytes()) {
            Ok(bytes) => bytes,
            Err(e) => return refusal(format!("content is not base64: {e}")),
        },
        false => request.content.into_bytes(),
    };
    if content.len() as u64 > MAX_FILE_BYTES {
        return refusal(format!(
            "a file over MCP is at most {MAX_FILE_BYTES} bytes; use the HTTP API for more"
        ));
    }
    let path = request.path;
    let written = tokio::task::spawn_blocking(move || session.files().write(&path, content.as_slice())).await;
    match written {
        Ok(Ok(sent)) => CallToolResult::structured(
            serde_json::json!({"path": sent.path, "bytes": sent.bytes, "blake3": sent.blake3}),
        ),
        Ok(Err(e)) => refusal(e.to_string()),
        Err(e) => refusal(format!("the write failed: {e}")),
    }
}

pub async fn read(session: Arc<Session>, request: ReadFile) -> CallToolResult {
    let path = request.path;
    let read = tokio::task::spawn_blocking(move || {
        let found = session.files().stat(&path)?;
        if found.kind == EntryKind::File && found.bytes > MAX_FILE_BYTES {
            return Ok(Err(found.bytes));
        }
        let mut bytes = Vec::new();
        session.files().read(&path, &mut bytes).map(|got| Ok((got, bytes)))
    })
    .await;
    let (got, bytes) = match read {
        Ok(Ok(Ok(read))) => read,
        Ok(Ok(Err(size))) => {
            return refusal(format!(
                "the file is {size} bytes; a file over MCP is at most {MAX_FILE_BYTES}: use the HTTP API for more"
            ));
        }
        Ok(Err(e)) => return refusal(e.to_string()),
        Err(e) => return refusal(format!("the read failed: {e}")),
    };
    let (content, base64) = match String::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(e) => (STANDARD.encode(e.into_bytes()), true),
    };
    CallToolResult::structured(serde_json::json!({
        "path": got.path, "bytes": got.bytes, "blake3": got.blake3, "content": content, "base64": base64,
    }))
}

pub async fn list(session: Arc<Session>, request: ListFiles) -> CallToolResult {
    let path = request.path;
    match tokio::task::spawn_blocking(move || session.files().list(&path)).await {
        Ok(Ok(entries)) => {
            let entries: Vec<_> = entries
                .into_iter()
                .map(|e| {
                    let kind = match e.kind {
                        EntryKind::File => "file",
                        EntryKind::Dir => "dir",
                        EntryKind::Other => "other",
                    };
                    serde_json::json!({"path": e.path, "kind": kind, "bytes": e.bytes})
                })
                .collect();
            CallToolResult::structured(serde_json::json!({ "entries": entries }))
        }
        Ok(Err(e)) => refusal(e.to_string()),
        Err(e) => refusal(format!("the listing failed: {e}")),
    }
}
