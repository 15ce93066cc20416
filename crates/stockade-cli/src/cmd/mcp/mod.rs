//! `stockade mcp`: an MCP server (the official Rust SDK, rmcp) over stdio,
//! or over streamable HTTP with `--listen` (see [`http`]).
//!
//! It offers `run_code` (a fresh sandbox, or a named session),
//! `list_sessions`, `close_session`, and `write_file`, `read_file` and
//! `list_files` on a named session's `/tmp`. The policy comes from the file given
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

mod files;
mod http;
mod progress;
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
    // A model chooses the language here, so a native shell is something
    // the policy grants (`languages`), never something a model asks for.
    let sandbox = args.sandbox.build(Sandbox::builder().default_languages(Language::WASM))?;
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
        if let Some(route) = tool_router.map.get_mut("run_code") {
            // What the model is offered is what the policy runs, and the
            // host tools are the policy's: a model learns of both from
            // run_code's schema and description, which is all it reads.
            let schema = stockade::Request::schema_for(sandbox.languages());
            if let serde_json::Value::Object(schema) = schema {
                route.attr.input_schema = Arc::new(schema);
            }
            let mut description = run_code_description(sandbox.languages());
            if let Some(tools) = host_tools(&sandbox) {
                description = format!("{description}\n\n{tools}");
            }
            route.attr.description = Some(description.into());
        }
        Server { sandbox, sessions: Sessions::default(), tool_router }
    }

    #[tool(description = "Run code in a sandbox (the server sets the text from its policy).")]
    async fn run_code(
        &self,
        Parameters(arguments): Parameters<JsonObject>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let request: stockade::Request = match arguments_of("run_code", arguments, &context) {
            Ok(request) => request,
            Err(refused) => return Ok(refused),
        };
        if let Err(refused) = request.language.map_or(Ok(()), |language| self.sandbox.allows(language)) {
            return Ok(host_error(&refused));
        }
        // Opening a session runs its guest's start-up, which blocks like a
        // run does: both happen on a blocking thread, never on the runtime's.
        let (sandbox, sessions) = (self.sandbox.clone(), self.sessions.clone());
        let name = request.session.clone();
        let name_again = name.clone();
        // With a progress token, the output goes back as it is written.
        let (sink, notifier) = match context.meta.get_progress_token() {
            Some(token) => {
                let (sink, notifier) = progress::Progress::start(context.peer.clone(), token);
                (Some(Arc::new(sink)), Some(notifier))
            }
            None => (None, None),
        };
        let output = sink.clone();
        let lookup = request.clone();
        let run = move |session: Option<&Session>| {
            let output = output.clone().map(|sink| sink as Arc<dyn stockade::OutputSink>);
            match (session, output) {
                (Some(session), Some(output)) => session.run_with(&request, None, output),
                (Some(session), None) => session.run_request(&request, None),
                (None, Some(output)) => sandbox.run_with(&request, None, output),
                (None, None) => sandbox.run_request(&request, None),
            }
        };
        let sandbox_for_sessions = self.sandbox.clone();
        let result = tokio::task::spawn_blocking(move || match &name {
            Some(name) => session(&sandbox_for_sessions, &sessions, name, &lookup)
                .map(|session| (run(Some(&session)), Some(session))),
            None => Ok((run(None), None)),
        })
        .await
        .map_err(|e| ErrorData::internal_error(format!("the run failed: {e}"), None))?;
        // Every notification goes out before the result does.
        if let Some(sink) = sink {
            sink.finish();
        }
        if let Some(notifier) = notifier {
            let _ = notifier.await;
        }
        let (result, used) = match result {
            Ok(result) => result,
            Err(why) => return Ok(refusal(why)),
        };
        match result {
            Ok(outcome) => Ok(reply(&outcome, &self.sandbox.policy().limits)),
            Err(SandboxError::SessionEnded(why)) => {
                // Forget the ended session, but not a new one opened under
                // its name in the meantime.
                if let (Some(name), Some(used)) = (&name_again, used) {
                    let mut sessions = self.lock();
                    if sessions.get(name).is_some_and(|open| Arc::ptr_eq(open, &used)) {
                        sessions.remove(name);
                    }
                }
                Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                    "the session ended ({why}); call again to start a new one, without its state"
                ))]))
            }
            Err(e) => Ok(host_error(&e)),
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

    #[tool(
        description = "Write a file into a session's /tmp, for its next runs to read. `content` is text, or base64 with `base64: true`.",
        input_schema = schema::<files::WriteFile>()
    )]
    async fn write_file(
        &self,
        Parameters(arguments): Parameters<JsonObject>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let request: files::WriteFile = match arguments_of("write_file", arguments, &context) {
            Ok(request) => request,
            Err(refused) => return Ok(refused),
        };
        match self.named(&request.session) {
            Ok(session) => Ok(files::write(session, request).await),
            Err(refused) => Ok(refused),
        }
    }

    #[tool(
        description = "Read a file of a session's /tmp: its text, or base64 when it is not UTF-8.",
        input_schema = schema::<files::ReadFile>()
    )]
    async fn read_file(
        &self,
        Parameters(arguments): Parameters<JsonObject>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let request: files::ReadFile = match arguments_of("read_file", arguments, &context) {
            Ok(request) => request,
            Err(refused) => return Ok(refused),
        };
        match self.named(&request.session) {
            Ok(session) => Ok(files::read(session, request).await),
            Err(refused) => Ok(refused),
        }
    }

    #[tool(description = "List a folder of a session's /tmp.", input_schema = schema::<files::ListFiles>())]
    async fn list_files(
        &self,
        Parameters(arguments): Parameters<JsonObject>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let request: files::ListFiles = match arguments_of("list_files", arguments, &context) {
            Ok(request) => request,
            Err(refused) => return Ok(refused),
        };
        match self.named(&request.session) {
            Ok(session) => Ok(files::list(session, request).await),
            Err(refused) => Ok(refused),
        }
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
    /// The open session named `name`, or the tool's refusal.
    fn named(&self, name: &str) -> Result<Arc<Session>, CallToolResult> {
        let open = self.lock().get(name).cloned();
        open.ok_or_else(|| refusal(format!("no session named {name:?}: run_code with it opens one")))
    }

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

/// The session `name`, opened for the request's language if it does not
/// exist; or why not, for the client to read.
fn session(
    sandbox: &Sandbox,
    sessions: &Sessions,
    name: &str,
    request: &stockade::Request,
) -> Result<Arc<Session>, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    if name.is_empty() || name.len() > 64 || !name.chars().all(allowed) {
        return Err("a session name is 1 to 64 letters, digits, `-`, `_` or `.`".into());
    }
    let existing = |sessions: &BTreeMap<String, Arc<Session>>| match sessions.get(name) {
        Some(open) if request.language.is_some_and(|asked| asked != open.language()) => Some(Err(format!(
            "session {name:?} runs {}, not {}",
            open.language(),
            request.language.map_or("", Language::name)
        ))),
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
    let language = request.language().map_err(|e| format!("session {name:?} is not open yet: {e}"))?;
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
            "stockade runs untrusted code in a sandbox under the server's policy (run_code's description names its languages). \
             Use run_code; pass `session` to keep state between calls.",
        )
    }
}

/// The outcome for the client: a readable summary, and the whole outcome as
/// structured content. A guest error or a limit is a tool error, so the
/// model sees that its code failed.
fn reply(outcome: &Outcome, limits: &stockade::policy::Limits) -> CallToolResult {
    let text = stockade::render::for_model(outcome, limits);
    let structured = serde_json::to_value(outcome).unwrap_or_default();
    let failed = !matches!(outcome.status, Status::Ok);
    let mut result = if failed {
        CallToolResult::structured_error(structured)
    } else {
        CallToolResult::structured(structured)
    };
    result.content = vec![ContentBlock::text(text)];
    result
}

/// A host error as a tool error, its class first so that a model (or its
/// agent) can tell "try again" (`busy`) from "this will never run" (`policy`).
fn host_error(error: &SandboxError) -> CallToolResult {
    refusal(format!("stockade ({}): {error}", error.class()))
}

/// The `run_code` tool's description: what it runs, as the policy says.
fn run_code_description(languages: &[Language]) -> String {
    let named: Vec<String> =
        languages.iter().map(|language| format!("{language} ({})", about(*language))).collect();
    format!(
        "Run code in a sandbox that has nothing but what the server's policy grants: no host files, \
         network or environment unless granted. Languages: {}. Returns stdout, stderr, the value of the \
         last expression, and the status. With `session`, runs in a named session whose globals persist \
         between calls.",
        named.join(", ")
    )
}

/// What a model is told of `language`.
fn about(language: Language) -> &'static str {
    match language {
        Language::JavaScript => "JavaScript on QuickJS",
        Language::Python => "CPython 3.15 with numpy and pandas",
        Language::Shell => "a POSIX shell in a process jail",
        Language::Bash => "bash in a process jail",
        Language::PythonNative => "the host's python3 in a process jail",
        Language::NodeNative => "the host's node in a process jail",
        _ => "a language of this build",
    }
}

/// A refusal the client (and the model behind it) reads as the tool's answer.
pub(super) fn refusal(why: impl Into<String>) -> CallToolResult {
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
