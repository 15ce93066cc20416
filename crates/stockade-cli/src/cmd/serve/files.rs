//! A session's files over HTTP: `PUT`, `GET` and `DELETE
//! /v1/sessions/{id}/files/{path}`, and `GET /v1/sessions/{id}/files` for a
//! listing (`?path=` for a folder under `/tmp`). Bodies stream both ways
//! between the connection and the session's space, through a blocking
//! thread; neither is held whole in memory.

use super::api::{State, ended, error, sandbox_error};
use super::sessions::Slot;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, Request as HttpRequest, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};
use std::sync::Arc;
use stockade::{Entry, EntryKind, FileError, Session, Transfer};

/// Body frames a download holds for a connection slower than the file's
/// read (each a piece of the read, up to 1 MiB).
const DOWNLOAD_FRAMES: usize = 8;

/// A file moved, as the API answers it.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Moved {
    /// The path, as the guest sees it (`/tmp/...`).
    path: String,
    /// Bytes moved.
    bytes: u64,
    /// Lower-case hex BLAKE3 of them, as `b3sum` prints it.
    blake3: String,
}

/// One entry of a listing.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Listed {
    /// The path, as the guest sees it.
    path: String,
    /// `file`, `dir` or `other` (a symlink, a FIFO: never followed).
    kind: &'static str,
    /// Its size (0 for a folder).
    bytes: u64,
}

/// The answer to a listing.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Listing {
    /// The folder's entries, by name.
    entries: Vec<Listed>,
}

/// `?path=` of a listing.
#[derive(serde::Deserialize)]
pub struct Folder {
    path: Option<String>,
}

/// The live session `id` of the caller's token, or the answer that says why not.
pub(super) fn session(state: &State, headers: &HeaderMap, id: &str) -> Result<Arc<Session>, Box<Response>> {
    let tenant = state.tenant(headers).map_err(|refused| Box::new(refused.into_response()))?;
    match state.sessions().get(&tenant, id) {
        None => Err(Box::new(error(StatusCode::NOT_FOUND, "no such session"))),
        Some(Slot::Ended { why, .. }) => Err(Box::new(ended(why))),
        Some(Slot::Live(session)) => Ok(session.clone()),
    }
}

/// A file error as an answer: the status says which kind.
fn refused(e: FileError) -> Response {
    let status = match &e {
        FileError::Path { .. } | FileError::NoSpace => StatusCode::BAD_REQUEST,
        FileError::Missing { .. } => StatusCode::NOT_FOUND,
        FileError::NotAFile { .. } => StatusCode::CONFLICT,
        FileError::Full { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        FileError::Session(e) => return sandbox_error(e),
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string())
}

fn moved(transfer: Transfer) -> Moved {
    Moved { path: transfer.path, bytes: transfer.bytes, blake3: transfer.blake3 }
}

fn listed(entry: Entry) -> Listed {
    let kind = match entry.kind {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Other => "other",
    };
    Listed { path: entry.path, kind, bytes: entry.bytes }
}

/// Runs `work` on a blocking thread, as every file operation touches disk.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FileError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(refused),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, &format!("the file operation failed: {e}"))),
    }
}

/// `PUT .../files/{path}`: the body becomes the file, streamed in.
pub async fn write(
    Shared(state): Shared<Arc<State>>,
    Path((id, path)): Path<(String, String)>,
    request: HttpRequest,
) -> Response {
    let session = match session(&state, request.headers(), &id) {
        Ok(session) => session,
        Err(refused) => return *refused,
    };
    // The body's frames are written as hyper read them, with no copy of ours.
    let mut frames = request.into_body().into_data_stream().map_err(std::io::Error::other);
    let runtime = tokio::runtime::Handle::current();
    let body = std::iter::from_fn(move || runtime.block_on(frames.next()));
    match blocking(move || session.files().write_chunks(&path, body)).await {
        Ok(transfer) => (StatusCode::CREATED, Json(moved(transfer))).into_response(),
        Err(refused) => refused,
    }
}

/// `GET .../files/{path}`: the file, streamed out.
pub async fn read(
    Shared(state): Shared<Arc<State>>,
    Path((id, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let session = match session(&state, &headers, &id) {
        Ok(session) => session,
        Err(refused) => return *refused,
    };
    // Whether there is a file to send is settled before the status is.
    let stat = {
        let (session, path) = (session.clone(), path.clone());
        blocking(move || session.files().stat(&path)).await
    };
    let entry = match stat {
        Ok(entry) if entry.kind == EntryKind::File => entry,
        Ok(entry) => return refused(FileError::NotAFile { path: entry.path }),
        Err(refused) => return refused,
    };
    let (frames, receiver) = tokio::sync::mpsc::channel::<axum::body::Bytes>(DOWNLOAD_FRAMES);
    tokio::task::spawn_blocking(move || {
        // A reader that goes away ends the copy with an error; the read
        // is recorded only when it ran to its end.
        // On a blocking thread: waiting for the connection is what bounds memory.
        let _ = session.files().read_chunks(&path, |chunk| {
            frames
                .blocking_send(chunk)
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
        });
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let frame = receiver.recv().await?;
        Some((Ok::<_, std::convert::Infallible>(frame), receiver))
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(entry.bytes));
    response
}

/// `DELETE .../files/{path}`.
pub async fn remove(
    Shared(state): Shared<Arc<State>>,
    Path((id, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let session = match session(&state, &headers, &id) {
        Ok(session) => session,
        Err(refused) => return *refused,
    };
    match blocking(move || session.files().remove(&path)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refused) => refused,
    }
}

/// `GET .../files?path=`: a folder's entries.
pub async fn list(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    Query(folder): Query<Folder>,
    headers: HeaderMap,
) -> Response {
    let session = match session(&state, &headers, &id) {
        Ok(session) => session,
        Err(refused) => return *refused,
    };
    let path = folder.path.unwrap_or_default();
    match blocking(move || session.files().list(&path)).await {
        Ok(entries) => Json(Listing { entries: entries.into_iter().map(listed).collect() }).into_response(),
        Err(refused) => refused,
    }
}
