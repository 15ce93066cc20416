//! A host tool: a name, a description, a JSON Schema and a handler.

use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The future an async handler returns.
pub type ToolFuture = Pin<Box<dyn Future<Output = Result<Value, ToolError>> + Send>>;

type SyncHandler = dyn Fn(Value) -> Result<Value, ToolError> + Send + Sync;
type AsyncHandler = dyn Fn(Value) -> ToolFuture + Send + Sync;

/// How a tool runs.
#[derive(Clone)]
pub(crate) enum Handler {
    /// Called on the run's thread.
    Sync(Arc<SyncHandler>),
    /// Its future is driven to completion on the run's thread. It must not
    /// need a particular async runtime's reactor (use a sync handler that
    /// calls `Handle::block_on` for tokio I/O).
    Async(Arc<AsyncHandler>),
}

/// A function of the agent's that the guest may call, if the policy lets it.
///
/// ```
/// use stockade::Tool;
/// use serde_json::json;
///
/// let add = Tool::new("add")
///     .description("Adds two numbers.")
///     .schema(json!({
///         "type": "object",
///         "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
///         "required": ["a", "b"],
///     }))
///     .handler(|args| Ok(json!(args["a"].as_f64().unwrap_or(0.0) + args["b"].as_f64().unwrap_or(0.0))));
/// ```
///
/// Defaults: no description, the schema `{"type": "object"}` (any
/// arguments object), and a handler that fails every call.
#[derive(Clone)]
pub struct Tool {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) schema: Value,
    pub(crate) handler: Handler,
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool").field("name", &self.name).field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl Tool {
    /// A tool called `name`: ASCII letters, digits and `_`, starting with a
    /// letter, as in the policy's `[tools.NAME]` (checked when the sandbox is built).
    pub fn new(name: impl Into<String>) -> Tool {
        let name = name.into();
        let missing = name.clone();
        Tool {
            name,
            description: String::new(),
            schema: serde_json::json!({"type": "object"}),
            handler: Handler::Sync(Arc::new(move |_| {
                Err(ToolError::new(format!("{missing} has no handler")))
            })),
        }
    }

    /// What the tool does, shown to the guest (and to a model, through it).
    pub fn description(mut self, description: impl Into<String>) -> Tool {
        self.description = description.into();
        self
    }

    /// The JSON Schema the arguments object must match. It is checked before
    /// the policy's constraints and before the handler runs.
    pub fn schema(mut self, schema: Value) -> Tool {
        self.schema = schema;
        self
    }

    /// A synchronous handler: gets the arguments object, returns JSON or an
    /// error whose message the guest sees. A panic is caught and reported to
    /// the guest as an error.
    pub fn handler<F>(mut self, handler: F) -> Tool
    where
        F: Fn(Value) -> Result<Value, ToolError> + Send + Sync + 'static,
    {
        self.handler = Handler::Sync(Arc::new(handler));
        self
    }

    /// An asynchronous handler (see [`Tool::handler`]).
    pub fn async_handler<F, Fut>(mut self, handler: F) -> Tool
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ToolError>> + Send + 'static,
    {
        self.handler = Handler::Async(Arc::new(move |args| Box::pin(handler(args))));
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the guest's `list` shows: MCP's field names.
    pub(crate) fn descriptor(&self) -> Value {
        serde_json::json!({"name": self.name, "description": self.description, "inputSchema": self.schema})
    }
}

/// A tool's failure, as the guest sees it: a `ToolError` with this message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// An error with `message`.
    pub fn new(message: impl std::fmt::Display) -> ToolError {
        ToolError { message: message.to_string() }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ToolError {}

impl From<String> for ToolError {
    fn from(message: String) -> ToolError {
        ToolError { message }
    }
}

impl From<&str> for ToolError {
    fn from(message: &str) -> ToolError {
        ToolError { message: message.into() }
    }
}
