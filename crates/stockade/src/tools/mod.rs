//! Host tools: functions of the agent's that the guest may call, each call
//! checked against the tool's schema and the policy before it runs.

pub(crate) mod gate;
pub(crate) mod registry;
mod tool;

pub use registry::DEFAULT_MAX_CALLS;
pub use tool::{Tool, ToolError, ToolFuture};
