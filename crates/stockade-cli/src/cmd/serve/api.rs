//! The routes, the tenants (one per token) and their limits.

use super::config::{Config, TokenConfig};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request as HttpRequest, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stockade::{ErrorClass, Language, Request, Sandbox, SandboxError, Session, SessionRequest};
use tokio::sync::Semaphore;

/// One API token: its sandbox (its policy) and its limits.
struct Tenant {
    /// Its place in `State::tenants`, and in `Table::opening`.
    index: usize,
    id: String,
    sha256: String,
    sandbox: Sandbox,
    permits: Arc<Semaphore>,
    rate: Option<Mutex<Bucket>>,
    max_sessions: usize,
}

/// A token bucket: `capacity` requests, refilled evenly over `per`.
struct Bucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return true;
        }
        false
    }
}

/// Live sessions by id, with the tenant that owns each.
type Sessions = HashMap<String, (Arc<Tenant>, Arc<Session>)>;

/// The sessions, and the slots held for sessions still opening, under one
/// lock: a tenant's limit counts both, so concurrent opens cannot all see
/// room for one more.
struct Table {
    open: Sessions,
    /// Sessions being opened, per tenant (by `Tenant::index`).
    opening: Vec<usize>,
}

/// A session slot held for `tenant` while its session opens. [`fill`] puts
/// the session in its place; dropped unfilled (the open failed, or the
/// request was refused or went away), it gives the slot back.
///
/// [`fill`]: Reservation::fill
struct Reservation<'a> {
    state: &'a State,
    tenant: Arc<Tenant>,
    filled: bool,
}

impl<'a> Reservation<'a> {
    /// A slot for one more of `tenant`'s sessions, or 429 if its open and
    /// opening sessions are at its `max_sessions`.
    fn take(state: &'a State, tenant: &Arc<Tenant>) -> Result<Reservation<'a>, Refusal> {
        let mut table = state.sessions();
        let open = table.open.values().filter(|(owner, _)| Arc::ptr_eq(owner, tenant)).count();
        let held = open + table.opening[tenant.index];
        if held >= tenant.max_sessions {
            let message = format!("this token holds {held} sessions, all it may; close one");
            return Err(refuse(StatusCode::TOO_MANY_REQUESTS, &message));
        }
        table.opening[tenant.index] += 1;
        Ok(Reservation { state, tenant: tenant.clone(), filled: false })
    }

    /// Turns the slot into the open session `id`, in one step under the lock.
    fn fill(mut self, id: String, session: Arc<Session>) {
        let mut table = self.state.sessions();
        table.opening[self.tenant.index] -= 1;
        table.open.insert(id, (self.tenant.clone(), session));
        self.filled = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.filled {
            self.state.sessions().opening[self.tenant.index] -= 1;
        }
    }
}

/// An error answer: its status, and `{"error": message}`.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
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
        let tenants = config.tokens.iter().enumerate().map(tenant).collect::<anyhow::Result<Vec<_>>>()?;
        let opening = vec![0; tenants.len()];
        let languages: Vec<Language> = Language::ALL
            .iter()
            .copied()
            .filter(|language| tenants.iter().any(|t| t.sandbox.languages().contains(language)))
            .collect();
        Ok(State {
            openapi: super::openapi::document(&languages),
            tenants,
            sessions: Mutex::new(Table { open: Sessions::new(), opening }),
            stopping: AtomicBool::new(false),
            max_body_bytes: config.max_body_bytes,
            body_timeout: Duration::from_millis(config.body_timeout_ms),
        })
    }

    /// From now on, new requests get 503.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Table> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tenant whose token is in `headers`. Every digest is compared, in
    /// constant time, whatever matches first.
    fn tenant(&self, headers: &HeaderMap) -> Result<Arc<Tenant>, Refusal> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "send `Authorization: Bearer TOKEN`"))?;
        let digest = stockade::audit_log::sha256_hex(token.trim().as_bytes());
        let mut found = None;
        for tenant in &self.tenants {
            if constant_time_eq::constant_time_eq(digest.as_bytes(), tenant.sha256.as_bytes()) {
                found = Some(tenant.clone());
            }
        }
        found.ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "unknown token"))
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
        match &self.rate {
            Some(rate) if !rate.lock().unwrap_or_else(|p| p.into_inner()).take() => {
                Err(refuse(StatusCode::TOO_MANY_REQUESTS, "over this token's rate"))
            }
            _ => Ok(()),
        }
    }
}

fn tenant((index, token): (usize, &TokenConfig)) -> anyhow::Result<Arc<Tenant>> {
    let policy = crate::cmd::load_policy(Some(&token.policy))?;
    let sandbox = Sandbox::builder().policy(policy).principal(&token.id).build()?;
    let rate = match &token.rate {
        Some(rate) => {
            let (count, per) = stockade::policy::parse_rate(rate).map_err(anyhow::Error::msg)?;
            let capacity = count as f64;
            Some(Mutex::new(Bucket {
                capacity,
                tokens: capacity,
                per_second: capacity / per.as_secs_f64(),
                at: Instant::now(),
            }))
        }
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
/// whatever it sent.
pub fn router(state: Arc<State>) -> axum::Router {
    let max_body_bytes = state.max_body_bytes;
    axum::Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/runs", post(run))
        .route("/v1/sessions", post(open_session))
        .route("/v1/sessions/{id}/runs", post(run_in_session))
        .route("/v1/sessions/{id}", delete(close_session))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
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

/// The body of `request` as JSON `T`, read once the caller is known: at
/// most `max_body_bytes` (413), within `body_timeout_ms` (408), and valid
/// for `T` (400 or 422, as axum's `Json` says).
async fn body<T: DeserializeOwned>(state: &State, request: HttpRequest) -> Result<T, Response> {
    let read = Bytes::from_request(request, &());
    let bytes = match tokio::time::timeout(state.body_timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(rejected)) => return Err(rejected.into_response()),
        Err(_) => return Err(error(StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time")),
    };
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
    let request: Request = match body(&state, request).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    if let Some(id) = request.session.clone() {
        return session_run(&state, &tenant, &id, request).await;
    }
    if let Err(refused) = request.language().and_then(|language| tenant.sandbox.allows(language)) {
        return sandbox_error(&refused);
    }
    if let Err(refused) = tenant.within_rate() {
        return refused.into_response();
    }
    let sandbox = tenant.sandbox.clone();
    blocking(&tenant, move || sandbox.run_request(&request, None)).await
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
    let reservation = match Reservation::take(&state, &tenant) {
        Ok(reservation) => reservation,
        Err(refused) => return refused.into_response(),
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
    let request: Request = match body(&state, request).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    if request.session.as_ref().is_some_and(|named| *named != id) {
        return error(StatusCode::BAD_REQUEST, "the body names another session than the path");
    }
    session_run(&state, &tenant, &id, request).await
}

/// Runs `request` in the session `id` of `tenant`'s.
async fn session_run(state: &State, tenant: &Arc<Tenant>, id: &str, request: Request) -> Response {
    let Some(session) = owned(state, tenant, id) else {
        return error(StatusCode::NOT_FOUND, "no such session");
    };
    if let Err(refused) = tenant.within_rate() {
        return refused.into_response();
    }
    let response = blocking(&tenant, {
        let session = session.clone();
        move || session.run_request(&request, None)
    })
    .await;
    if session.closed_because().is_some() {
        let mut sessions = state.sessions();
        if sessions.open.get(id).is_some_and(|(_, open)| Arc::ptr_eq(open, &session)) {
            sessions.open.remove(id);
        }
    }
    response
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
    if owned(&state, &tenant, &id).is_none() {
        return error(StatusCode::NOT_FOUND, "no such session");
    }
    let Some((_, session)) = state.sessions().open.remove(&id) else {
        return error(StatusCode::NOT_FOUND, "no such session");
    };
    // Closing waits for a run in progress: off the runtime's threads.
    let _ = tokio::task::spawn_blocking(move || session.close()).await;
    StatusCode::NO_CONTENT.into_response()
}

/// The session `id` if `tenant` owns it. Another token's session is as
/// absent as one that never existed.
fn owned(state: &State, tenant: &Arc<Tenant>, id: &str) -> Option<Arc<Session>> {
    let sessions = state.sessions();
    let (owner, session) = sessions.open.get(id)?;
    Arc::ptr_eq(owner, tenant).then(|| session.clone())
}

/// Runs `work` on a blocking thread under one of `tenant`'s permits; 429
/// when all are in use.
async fn blocking(
    tenant: &Tenant,
    work: impl FnOnce() -> Result<stockade::Outcome, SandboxError> + Send + 'static,
) -> Response {
    let Ok(permit) = tenant.permits.clone().try_acquire_owned() else {
        return error(StatusCode::TOO_MANY_REQUESTS, "this token's runs in flight are at its max_concurrent");
    };
    let result = tokio::task::spawn_blocking(move || {
        let result = work();
        drop(permit);
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
fn sandbox_error(e: &SandboxError) -> Response {
    let status = match e.class() {
        ErrorClass::Busy | ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::InvalidRequest | ErrorClass::Policy => StatusCode::BAD_REQUEST,
        ErrorClass::Ended => StatusCode::GONE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = Json(json!({"error": e.to_string(), "class": e.class().name()}));
    match e.retry_after() {
        Some(after) => {
            let seconds = after.as_secs().max(1).to_string();
            (status, [(axum::http::header::RETRY_AFTER, seconds)], body).into_response()
        }
        None => (status, body).into_response(),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    refuse(status, message).into_response()
}

fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal(status, message.to_string())
}

/// Drops expired sessions once a second; their guests go outside the lock.
pub async fn reap(state: Arc<State>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let lapsed: Vec<_> = {
            let mut sessions = state.sessions();
            let names: Vec<String> =
                sessions.open.iter().filter(|(_, (_, s))| s.expired()).map(|(id, _)| id.clone()).collect();
            names.iter().filter_map(|id| sessions.open.remove(id)).collect()
        };
        drop(lapsed);
    }
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant").field("id", &self.id).finish_non_exhaustive()
    }
}
