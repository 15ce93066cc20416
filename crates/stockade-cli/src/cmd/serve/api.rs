//! The routes, the tenants (one per token) and their limits.

use super::config::{Config, TokenConfig};
use super::sessions::{self, Listed, Reservation, Slot, Table};
use crate::bearer::Bearer;
use anyhow::Context;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request as HttpRequest, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stockade::{Cancel, ErrorClass, Language, OutputSink, Request, Sandbox, SandboxError, SessionRequest};
use tokio::sync::Semaphore;

/// One API token: its sandbox (its policy and tools) and its limits.
pub struct Tenant {
    /// Its place in `State::tenants`, and in the session table's per-token counts.
    pub index: usize,
    id: String,
    sha256: String,
    sandbox: Sandbox,
    permits: Arc<Semaphore>,
    rate: Option<Mutex<stockade::rate::Bucket>>,
    /// Live sessions it may hold.
    pub max_sessions: usize,
}

/// An error answer: its status, `{"error": message}`, and for a 429 the
/// seconds to wait (`Retry-After`).
pub(super) struct Refusal(StatusCode, String, Option<u64>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(Error { error: self.1, class: None })).into_response();
        if let Some(seconds) = self.2 {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Every error's body: `{"error": "...", "class": "..."}`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Error {
    /// What went wrong, for a person to read.
    error: String,
    /// For a host error, its class: `busy` (try again after `Retry-After`),
    /// `invalid_request`, `policy`, `ended`, `unavailable` or `internal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<ErrorClass>,
}

/// Everything the handlers share.
pub struct State {
    tenants: Vec<Arc<Tenant>>,
    sessions: Mutex<Table>,
    stopping: AtomicBool,
    max_body_bytes: usize,
    body_timeout: Duration,
    /// The OpenAPI document, listing the languages the tokens' policies run.
    openapi: serde_json::Value,
}

impl State {
    /// Builds one sandbox per token from its policy.
    pub fn new(config: &Config) -> anyhow::Result<State> {
        let tenants = config
            .tokens
            .iter()
            .enumerate()
            .map(|(index, token)| tenant(index, token, &config.folder))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let languages: Vec<Language> = Language::ALL
            .iter()
            .copied()
            .filter(|language| tenants.iter().any(|t| t.sandbox.languages().contains(language)))
            .collect();
        Ok(State {
            openapi: super::openapi::document(&languages),
            sessions: Mutex::new(Table::new(tenants.len())),
            tenants,
            stopping: AtomicBool::new(false),
            max_body_bytes: config.max_body_bytes,
            body_timeout: Duration::from_millis(config.body_timeout_ms),
        })
    }

    /// From now on, new requests get 503.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub(super) fn sessions(&self) -> std::sync::MutexGuard<'_, Table> {
        sessions::lock(&self.sessions)
    }

    /// The tenant whose token is in `headers`. Every digest is compared, in
    /// constant time, whatever matches first.
    pub(super) fn tenant(&self, headers: &HeaderMap) -> Result<Arc<Tenant>, Refusal> {
        match Bearer::of(headers, self.tenants.iter().map(|tenant| tenant.sha256.as_str())) {
            Bearer::Known(index) => Ok(self.tenants[index].clone()),
            refused => Err(refuse(StatusCode::UNAUTHORIZED, refused.refusal())),
        }
    }

    /// The tenant, if the server is not stopping.
    fn admit(&self, headers: &HeaderMap) -> Result<Arc<Tenant>, Refusal> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down"));
        }
        self.tenant(headers)
    }
}

impl Tenant {
    /// Whether the token's rate allows one more request that starts work
    /// (a refused or unknown request costs nothing).
    fn within_rate(&self) -> Result<(), Refusal> {
        let Some(rate) = &self.rate else { return Ok(()) };
        rate.lock().unwrap_or_else(|p| p.into_inner()).take(Instant::now()).map_err(|wait| {
            // Whole seconds, rounded up, and at least one: a client that
            // waits that long finds a token back.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            busy("over this token's rate", seconds.max(1))
        })
    }
}

/// The tenant for `token`: its policy, and its tools, whose commands run in
/// `folder` (the configuration's).
fn tenant(index: usize, token: &TokenConfig, folder: &FsPath) -> anyhow::Result<Arc<Tenant>> {
    let key = format!("tokens[{index}] ({})", token.id);
    let policy = crate::cmd::load_policy(Some(&token.policy)).with_context(|| key.clone())?;
    let tools = crate::cmd::command_tools(&policy, &token.tools, folder).with_context(|| key.clone())?;
    let builder = Sandbox::builder().principal(&token.id);
    let sandbox = crate::cmd::build_sandbox(builder, policy, tools).with_context(|| key.clone())?;
    let rate = match &token.rate {
        Some(rate) => Some(Mutex::new(stockade::rate::Bucket::for_rate(rate).map_err(anyhow::Error::msg)?)),
        None => None,
    };
    Ok(Arc::new(Tenant {
        index,
        id: token.id.clone(),
        sha256: token.sha256.clone(),
        sandbox,
        permits: Arc::new(Semaphore::new(token.max_concurrent)),
        rate,
        max_sessions: token.max_sessions,
    }))
}

/// The API's routes. Every handler checks the token before it reads a
/// byte of the body: an unknown caller costs no parsing, and gets 401
/// whatever it sent. Every error, the framework's own included (an unknown
/// route, a wrong method, a body over the limit or of the wrong shape), has
/// the body `{"error": "..."}`.
pub fn router(state: Arc<State>) -> axum::Router {
    let max_body_bytes = state.max_body_bytes;
    axum::Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/runs", post(run))
        .route("/v1/sessions", post(open_session).get(list_sessions))
        .route("/v1/sessions/{id}/runs", post(run_in_session))
        .route("/v1/sessions/{id}", delete(close_session))
        .route("/v1/sessions/{id}/files", get(super::files::list))
        .route(
            "/v1/sessions/{id}/files/{*path}",
            // An upload is bounded by the session's space (files.tmp_bytes),
            // not by max_body_bytes, and streams to it.
            axum::routing::put(super::files::write)
                .layer(DefaultBodyLimit::disable())
                .get(super::files::read)
                .delete(super::files::remove),
        )
        .route("/v1/sessions/{id}/commands", post(super::commands::start).get(super::commands::list))
        .route(
            "/v1/sessions/{id}/commands/{command}",
            get(super::commands::show).delete(super::commands::kill),
        )
        .route("/v1/sessions/{id}/commands/{command}/stdin", post(super::commands::stdin))
        .route("/v1/sessions/{id}/commands/{command}/signal", post(super::commands::signal))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route; see /v1/openapi.json") })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::map_response(as_json_error))
        .with_state(state)
}

/// An error response that is not JSON (the framework's own: axum's
/// rejections, a 405) rewritten as `{"error": its text}`, with its status
/// and other headers kept. Errors made here are JSON already and pass as
/// they are, as does every success.
async fn as_json_error(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The framework's error texts are a line or two; more is cut.
    let text = match axum::body::to_bytes(body, 64 << 10).await {
        Ok(bytes) if !bytes.trim_ascii().is_empty() => String::from_utf8_lossy(&bytes).trim().to_string(),
        _ => status.canonical_reason().unwrap_or("error").to_ascii_lowercase(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = serde_json::to_vec(&Error { error: text, class: None }).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// The answer to `GET /v1/sessions`: the token's sessions, live and ended.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct SessionList {
    /// By id. An ended session stays listed (and its runs get 410) until it
    /// is closed with DELETE or forgotten.
    sessions: Vec<Listed>,
}

/// The answer to `POST /v1/sessions`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct SessionOpened {
    /// The session's id, for its runs and its close.
    id: String,
    /// Its language.
    language: String,
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn openapi(Shared(state): Shared<Arc<State>>) -> Json<serde_json::Value> {
    Json(state.openapi.clone())
}

/// The body of `request`, read once the caller is known: at most
/// `max_body_bytes` (413), within `body_timeout_ms` (408).
pub(super) async fn raw_body(state: &State, request: HttpRequest) -> Result<Bytes, Response> {
    let read = Bytes::from_request(request, &());
    match tokio::time::timeout(state.body_timeout, read).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(rejected)) => Err(rejected.into_response()),
        Err(_) => Err(error(StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time")),
    }
}

/// The body of `request` as JSON `T`, read once the caller is known: at
/// most `max_body_bytes` (413), within `body_timeout_ms` (408), and valid
/// for `T` (400 or 422, as axum's `Json` says).
pub(super) async fn body<T: DeserializeOwned>(state: &State, request: HttpRequest) -> Result<T, Response> {
    let bytes = raw_body(state, request).await?;
    Json::<T>::from_bytes(&bytes).map(|Json(value)| value).map_err(|rejected| {
        // A language this build does not know is a bad request (400), as it
        // was before the names were in the schema; other off-schema bodies
        // are 422.
        let unknown = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|body| body.get("language")?.as_str()?.parse::<Language>().err());
        match unknown {
            Some(unknown) => error(StatusCode::BAD_REQUEST, &unknown.to_string()),
            None => rejected.into_response(),
        }
    })
}

async fn run(Shared(state): Shared<Arc<State>>, request: HttpRequest) -> Response {
    let tenant = match state.admit(request.headers()) {
        Ok(tenant) => tenant,
        Err(refused) => return refused.into_response(),
    };
    let answer = Answer::asked(request.headers());
    let request: Request = match body(&state, request).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    if let Some(id) = request.session.clone() {
        return session_run(&state, &tenant, &id, request, answer).await;
    }
    if let Err(refused) = request.language().and_then(|language| tenant.sandbox.allows(language)) {
        return sandbox_error(&refused);
    }
    if let Err(refused) = tenant.within_rate() {
        return refused.into_response();
    }
    let sandbox = tenant.sandbox.clone();
    let work = move |output: Option<Arc<dyn OutputSink>>, cancel: Option<&Cancel>| match output {
        Some(output) => sandbox.run_with(&request, cancel, output),
        None => sandbox.run_request(&request, cancel),
    };
    blocking(&tenant, answer, work, || {}).await
}

async fn open_session(Shared(state): Shared<Arc<State>>, request: HttpRequest) -> Response {
    let tenant = match state.admit(request.headers()) {
        Ok(tenant) => tenant,
        Err(refused) => return refused.into_response(),
    };
    let SessionRequest { language, .. } = match body(&state, request).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    if let Err(refused) = tenant.sandbox.allows(language) {
        return sandbox_error(&refused);
    }
    // The slot is held from here until the session is in the table (or
    // the open failed): what the limit counts is what has been admitted.
    let reservation = match Reservation::take(&state.sessions, &tenant) {
        Ok(reservation) => reservation,
        Err(held) => {
            let message = format!("this token holds {held} sessions, all it may; close one");
            return busy(&message, 1).into_response();
        }
    };
    if let Err(refused) = tenant.within_rate() {
        return refused.into_response();
    }
    let sandbox = tenant.sandbox.clone();
    let opened = match tokio::task::spawn_blocking(move || sandbox.session(language)).await {
        Ok(Ok(session)) => Arc::new(session),
        Ok(Err(e)) => return sandbox_error(&e),
        Err(e) => {
            return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("the session failed to open: {e}"));
        }
    };
    let id = match stockade::id::random_hex(16) {
        Ok(id) => id,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot draw a session id: {e}")),
    };
    reservation.fill(id.clone(), opened);
    (StatusCode::CREATED, Json(SessionOpened { id, language: language.to_string() })).into_response()
}

async fn run_in_session(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    request: HttpRequest,
) -> Response {
    let tenant = match state.admit(request.headers()) {
        Ok(tenant) => tenant,
        Err(refused) => return refused.into_response(),
    };
    let answer = Answer::asked(request.headers());
    let request: Request = match body(&state, request).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    if request.session.as_ref().is_some_and(|named| *named != id) {
        return error(StatusCode::BAD_REQUEST, "the body names another session than the path");
    }
    session_run(&state, &tenant, &id, request, answer).await
}

/// Runs `request` in the session `id` of `tenant`'s.
async fn session_run(
    state: &Arc<State>,
    tenant: &Arc<Tenant>,
    id: &str,
    request: Request,
    answer: Answer,
) -> Response {
    let session = match state.sessions().get(tenant, id) {
        None => return error(StatusCode::NOT_FOUND, "no such session"),
        Some(Slot::Ended { why, .. }) => return ended(why),
        Some(Slot::Live(session)) => session.clone(),
    };
    if let Err(refused) = tenant.within_rate() {
        return refused.into_response();
    }
    let work = {
        let session = session.clone();
        move |output: Option<Arc<dyn OutputSink>>, cancel: Option<&Cancel>| match output {
            Some(output) => session.run_with(&request, cancel, output),
            None => session.run_request(&request, cancel),
        }
    };
    let (state, id) = (state.clone(), id.to_string());
    let after = move || {
        if let Some(why) = session.closed_because() {
            // Kept as ended, so that later requests get 410 too; its guest
            // is dropped here, outside the lock.
            let guest = state.sessions().end(&id, &session, why);
            drop(guest);
        }
    };
    blocking(tenant, answer, work, after).await
}

/// 410 for a session that ended because of `why`.
pub(super) fn ended(why: &str) -> Response {
    let message = format!("the session has ended ({why}); DELETE it, or open a new one");
    error(StatusCode::GONE, &message)
}

/// `GET /v1/sessions`: the token's sessions, never another token's.
async fn list_sessions(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Response {
    let tenant = match state.tenant(&headers) {
        Ok(tenant) => tenant,
        Err(refused) => return refused.into_response(),
    };
    let sessions = state.sessions().list(&tenant);
    Json(SessionList { sessions }).into_response()
}

async fn close_session(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tenant = match state.tenant(&headers) {
        Ok(tenant) => tenant,
        Err(refused) => return refused.into_response(),
    };
    let Some(slot) = state.sessions().remove(&tenant, &id) else {
        return error(StatusCode::NOT_FOUND, "no such session");
    };
    if let Slot::Live(session) = slot {
        // Closing waits for a run in progress: off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || session.close()).await;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// How a run's answer goes back: whole once it ends, or as lines while it
/// runs (`Accept: application/x-ndjson`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Whole,
    Lines,
}

impl Answer {
    fn asked(headers: &HeaderMap) -> Answer {
        if super::stream::wanted(headers) { Answer::Lines } else { Answer::Whole }
    }
}

/// Runs `work` on a blocking thread under one of `tenant`'s permits, then
/// `after`; 429 when all are in use. `work` gets where its output goes as
/// it is written, and what cancels it, when the answer is lines.
async fn blocking<W>(
    tenant: &Tenant,
    answer: Answer,
    work: W,
    after: impl FnOnce() + Send + 'static,
) -> Response
where
    W: FnOnce(Option<Arc<dyn OutputSink>>, Option<&Cancel>) -> Result<stockade::Outcome, SandboxError>
        + Send
        + 'static,
{
    let Ok(permit) = tenant.permits.clone().try_acquire_owned() else {
        return busy("this token's runs in flight are at its max_concurrent", 1).into_response();
    };
    if answer == Answer::Lines {
        let (lines, response) = super::stream::Lines::open();
        tokio::task::spawn_blocking(move || {
            let sink: Arc<dyn OutputSink> = lines.clone();
            let result = work(Some(sink), Some(&lines.gone));
            drop(permit);
            after();
            lines.end(&result);
        });
        return response;
    }
    let result = tokio::task::spawn_blocking(move || {
        let result = work(None, None);
        drop(permit);
        after();
        result
    })
    .await;
    match result {
        Ok(Ok(outcome)) => Json(outcome).into_response(),
        Ok(Err(e)) => sandbox_error(&e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("the run failed: {e}")),
    }
}

/// The one place a host error becomes an answer: by its class, with
/// `Retry-After` when waiting helps.
pub(super) fn sandbox_error(e: &SandboxError) -> Response {
    let status = match e.class() {
        ErrorClass::Busy | ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::InvalidRequest | ErrorClass::Policy => StatusCode::BAD_REQUEST,
        ErrorClass::Ended => StatusCode::GONE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = Error { error: e.to_string(), class: Some(e.class()) };
    let mut response = (status, Json(body)).into_response();
    if let Some(after) = e.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs().max(1)));
    }
    response
}

pub(super) fn error(status: StatusCode, message: &str) -> Response {
    refuse(status, message).into_response()
}

fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal(status, message.to_string(), None)
}

/// 429, to try again after `seconds`.
fn busy(message: &str, seconds: u64) -> Refusal {
    Refusal(StatusCode::TOO_MANY_REQUESTS, message.to_string(), Some(seconds))
}

/// Ends expired sessions (keeping their ids as ended) and forgets old
/// ended ids, once a second; the guests are dropped outside the lock.
pub async fn reap(state: Arc<State>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let lapsed = state.sessions().reap();
        drop(lapsed);
    }
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant").field("id", &self.id).finish_non_exhaustive()
    }
}
