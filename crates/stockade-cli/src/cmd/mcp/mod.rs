//! `stockade mcp`: an MCP server (the official Rust SDK, rmcp) over stdio,
//! or over streamable HTTP with `--listen` (see [`http`]).
//!
//! It offers three tools: `run_code` (a fresh sandbox, or a named session),
//! `list_sessions` and `close_session`. The policy comes from the file given
//! when the server starts, never from the client: a client (an LLM's agent)
//! can only ask for code to run under it.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ErrorData, JsonObject, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use stockade::{Language, Outcome, Sandbox, SandboxError, Session, Status};

mod http;
mod raw;

/// Live sessions one server keeps at most.
const MAX_SESSIONS: usize = 16;

/// Arguments of `stockade mcp`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    sandbox: super::SandboxArgs,
    #[command(flatten)]
    http: http::HttpArgs,
}

/// Serves MCP on stdin/stdout until the client goes away, or on HTTP until
/// SIGTERM or Ctrl-C.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let sandbox = args.sandbox.sandbox(None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let server = Server::new(sandbox);
        let reaper = tokio::spawn(reap(server.sessions.clone()));
        match args.http.listen {
            Some(_) => http::serve(server, &args.http).await?,
            None => {
                // stdin goes through raw::filter_lines, which sees each
                // message before rmcp parses away its repeated keys.
                let (filtered, reader) = tokio::io::duplex(64 * 1024);
                tokio::spawn(raw::filter_lines(tokio::io::stdin(), filtered));
                server.serve((reader, tokio::io::stdout())).await?.waiting().await.map(drop)?
            }
        }
        reaper.abort();
        anyhow::Ok(())
    })?;
    Ok(0)
}

/// What `run_code` takes. Other keys are refused, as the HTTP API does.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCode {
    /// `python` or `javascript` (also `py`, `js`).
    pub language: String,
    /// The source code. The value of a trailing expression comes back.
    pub code: String,
    /// Run in this named session, which keeps its globals between runs and
    /// is created on first use. Without it, the run gets a fresh sandbox.
    #[serde(default)]
    pub session: Option<String>,
}

/// What `close_session` takes.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseSession {
    /// The session's name.
    pub session: String,
}

type Sessions = Arc<Mutex<BTreeMap<String, Arc<Session>>>>;

/// The MCP server: one sandbox (one policy) and its named sessions.
#[derive(Clone)]
pub struct Server {
    sandbox: Sandbox,
    sessions: Sessions,
    tool_router: ToolRouter<Server>,
}

#[tool_router]
impl Server {
    fn new(sandbox: Sandbox) -> Server {
        let mut tool_router = Self::tool_router();
        // The host tools are the policy's, known only now: a model learns of
        // them from run_code's description, which is all it reads.
        if let Some(route) = tool_router.map.get_mut("run_code")
            && let Some(tools) = host_tools(&sandbox)
        {
            let description = route.attr.description.as_deref().unwrap_or_default();
            route.attr.description = Some(format!("{description}\n\n{tools}").into());
        }
        Server { sandbox, sessions: Sessions::default(), tool_router }
    }

    #[tool(description = "Run JavaScript or Python (CPython with numpy and pandas) in a sandbox that has \
        nothing but what the server's policy grants: no host files, network or environment unless granted. \
        Returns stdout, stderr, the value of the last expression, and the status. With `session`, runs in a \
        named session whose globals persist between calls.", input_schema = schema::<RunCode>())]
    async fn run_code(
        &self,
        Parameters(arguments): Parameters<JsonObject>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let request: RunCode = match arguments_of("run_code", arguments, &context) {
            Ok(request) => request,
            Err(refused) => return Ok(refused),
        };
        let language: Language = match request.language.parse() {
            Ok(language) => language,
            Err(why) => return Ok(refusal(why)),
        };
        // Opening a session runs its guest's start-up, which blocks like a
        // run does: both happen on a blocking thread, never on the runtime's.
        let (sandbox, sessions) = (self.sandbox.clone(), self.sessions.clone());
        let name = request.session.clone();
        let code = request.code;
        let result = tokio::task::spawn_blocking(move || match &name {
            Some(name) => session(&sandbox, &sessions, name, language)
                .map(|session| (session.run(&code), Some(session))),
            None => Ok((sandbox.run(language, &code), None)),
        })
        .await
        .map_err(|e| ErrorData::internal_error(format!("the run failed: {e}"), None))?;
        let (result, used) = match result {
            Ok(result) => result,
            Err(why) => return Ok(refusal(why)),
        };
        match result {
            Ok(outcome) => Ok(reply(&outcome)),
            Err(SandboxError::SessionEnded(why)) => {
                // Forget the ended session, but not a new one opened under
                // its name in the meantime.
                if let (Some(name), Some(used)) = (&request.session, used) {
                    let mut sessions = self.lock();
                    if sessions.get(name).is_some_and(|open| Arc::ptr_eq(open, &used)) {
                        sessions.remove(name);
                    }
                }
                Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                    "the session ended ({why}); call again to start a new one, without its state"
                ))]))
            }
            Err(e) => Ok(refusal(format!("stockade: {e}"))),
        }
    }

    #[tool(description = "List the open sessions: their names and languages.")]
    async fn list_sessions(&self) -> Result<CallToolResult, ErrorData> {
        let sessions: Vec<_> = self
            .lock()
            .iter()
            .map(|(name, session)| serde_json::json!({"session": name, "language": session.language().to_string()}))
            .collect();
        let listing = serde_json::json!({ "sessions": sessions });
        Ok(CallToolResult::structured(listing))
    }

    #[tool(description = "Close a session and free its sandbox.", input_schema = schema::<CloseSession>())]
    async fn close_session(
        &self,
        Parameters(arguments): Parameters<JsonObject>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let CloseSession { session } = match arguments_of("close_session", arguments, &context) {
            Ok(request) => request,
            Err(refused) => return Ok(refused),
        };
        let Some(open) = self.lock().remove(&session) else {
            return Ok(refusal(format!("no session named {session:?}")));
        };
        // Closing waits for a run in progress: off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || open.close()).await;
        Ok(CallToolResult::success(vec![ContentBlock::text(format!("closed {session}"))]))
    }
}

impl Server {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What `run_code`'s description says of the host tools the guest may call
/// (registered, and allowed by the policy), with their JSON Schemas; `None`
/// when there are none.
fn host_tools(sandbox: &Sandbox) -> Option<String> {
    let tools = sandbox.tools();
    if tools.is_empty() {
        return None;
    }
    let mut text = String::from(
        "The code can call these host tools, as functions of one object of arguments (JavaScript: \
         `await NAME({...})`; Python: `NAME(key=value, ...)`). The policy checks every call; a refused \
         one throws ToolDenied:",
    );
    for tool in tools {
        let name = tool["name"].as_str().unwrap_or_default();
        let about = tool["description"].as_str().unwrap_or_default();
        text.push_str(&format!("\n- {name}: {about}; arguments: {}", tool["inputSchema"]));
    }
    Some(text)
}

/// The input schema of a tool that takes `T`.
fn schema<T: schemars::JsonSchema + 'static>() -> Arc<JsonObject> {
    rmcp::handler::server::common::schema_for_type::<T>()
}

/// A tool's arguments as `T`, or a tool error the model can act on: for a
/// key given twice (which [`raw`] saw before the `Map` collapsed it), an
/// unknown key, or a missing or mistyped one. Taking the `Map` and parsing
/// here, rather than `Parameters<T>`, makes these tool errors, not
/// JSON-RPC errors.
fn arguments_of<T: serde::de::DeserializeOwned>(
    tool: &str,
    arguments: JsonObject,
    context: &RequestContext<RoleServer>,
) -> Result<T, CallToolResult> {
    if let Some(repeated) = context.meta.get(raw::DUPLICATES) {
        return Err(refusal(format!("{tool}: a key is given twice ({repeated}); give each argument once")));
    }
    serde_json::from_value(serde_json::Value::Object(arguments))
        .map_err(|e| refusal(format!("{tool}: invalid arguments: {e}")))
}

/// The session `name`, opened for `language` if it does not exist; or why
/// not, for the client to read.
fn session(
    sandbox: &Sandbox,
    sessions: &Sessions,
    name: &str,
    language: Language,
) -> Result<Arc<Session>, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    if name.is_empty() || name.len() > 64 || !name.chars().all(allowed) {
        return Err("a session name is 1 to 64 letters, digits, `-`, `_` or `.`".into());
    }
    let existing = |sessions: &BTreeMap<String, Arc<Session>>| match sessions.get(name) {
        Some(open) if open.language() != language => {
            Some(Err(format!("session {name:?} runs {}, not {language}", open.language())))
        }
        Some(open) => Some(Ok(open.clone())),
        None if sessions.len() >= MAX_SESSIONS => {
            Some(Err(format!("{MAX_SESSIONS} sessions are open, all this server keeps; close one first")))
        }
        None => None,
    };
    if let Some(found) = existing(&sessions.lock().unwrap_or_else(|p| p.into_inner())) {
        return found;
    }
    // Opening takes milliseconds (seconds, waiting for a slot): not under
    // the lock every other call needs. Whoever inserts first wins.
    let opened = Arc::new(sandbox.session(language).map_err(|e| format!("cannot open a session: {e}"))?);
    let mut sessions = sessions.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = existing(&sessions) {
        return found;
    }
    sessions.insert(name.to_string(), opened.clone());
    Ok(opened)
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_instructions(
            "stockade runs untrusted code (JavaScript, Python) in a sandbox under the server's policy. \
             Use run_code; pass `session` to keep state between calls.",
        )
    }
}

/// The outcome for the client: a readable summary, and the whole outcome as
/// structured content. A guest error or a limit is a tool error, so the
/// model sees that its code failed.
fn reply(outcome: &Outcome) -> CallToolResult {
    let mut text = String::new();
    if !outcome.stdout.is_empty() {
        text.push_str(&format!("stdout:\n{}\n", outcome.stdout.trim_end()));
    }
    if !outcome.stderr.is_empty() {
        text.push_str(&format!("stderr:\n{}\n", outcome.stderr.trim_end()));
    }
    if let Some(value) = &outcome.value {
        text.push_str(&format!("value: {value}\n"));
    }
    match &outcome.status {
        Status::Ok => {}
        Status::GuestError { kind, message, stack } => {
            let stack = stack.as_deref().unwrap_or_default();
            if stack.starts_with("Traceback") {
                text.push_str(stack);
            } else {
                text.push_str(&format!("{kind}: {message}\n{stack}"));
            }
        }
        Status::Exited { code } => text.push_str(&format!("exited with code {code}\n")),
        Status::LimitExceeded { which } => text.push_str(&format!("stopped: {} exceeded\n", which.key())),
        Status::Cancelled => text.push_str("stopped: the run was cancelled\n"),
        other => text.push_str(&format!("{other:?}\n")),
    }
    let structured = serde_json::to_value(outcome).unwrap_or_default();
    let failed = !matches!(outcome.status, Status::Ok);
    let mut result = if failed {
        CallToolResult::structured_error(structured)
    } else {
        CallToolResult::structured(structured)
    };
    result.content = vec![ContentBlock::text(if text.is_empty() { "(no output)".to_string() } else { text })];
    result
}

/// A refusal the client (and the model behind it) reads as the tool's answer.
fn refusal(why: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(why.into())])
}

/// Closes sessions that have been idle past the policy's timeout, or lived
/// past its lifetime, once a second.
async fn reap(sessions: Sessions) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        // `expired` never waits on a busy session; closing the lapsed ones
        // (dropping their guests) happens after the lock is released.
        let lapsed: Vec<Arc<Session>> = {
            let mut sessions = sessions.lock().unwrap_or_else(|p| p.into_inner());
            let names: Vec<String> =
                sessions.iter().filter(|(_, s)| s.expired()).map(|(name, _)| name.clone()).collect();
            names.iter().filter_map(|name| sessions.remove(name)).collect()
        };
        drop(lapsed);
    }
}
