//! The tools a sandbox offers, each with its compiled schema and the policy
//! rules that govern it.

use super::tool::Tool;
use crate::rate::Bucket;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use stockade_core::SandboxError;
use stockade_policy::{Policy, PolicyError, ToolPolicy};

pub use stockade_policy::defaults::DEFAULT_MAX_CALLS;

/// One registered tool, ready to be checked and called.
pub(crate) struct Entry {
    pub tool: Tool,
    pub validator: jsonschema::Validator,
    /// The policy's rules for it; `None` if the policy does not allow it.
    pub rules: Option<ToolPolicy>,
    /// Shared by every run of the sandbox, from the policy's `rate`.
    pub bucket: Option<Mutex<Bucket>>,
}

/// Every tool of one sandbox.
#[derive(Default)]
pub(crate) struct Registry {
    entries: BTreeMap<String, Entry>,
    /// What `list` answers: the callable tools' descriptors, built once.
    descriptors: Vec<Value>,
    /// Their names, comma-separated (or `none`), for refusals.
    offered: String,
}

impl Registry {
    /// Checks names and schemas and binds each tool to its policy rules.
    pub fn new(tools: Vec<Tool>, policy: &Policy) -> Result<Registry, SandboxError> {
        let mut entries = BTreeMap::new();
        for tool in tools {
            let key = format!("tool {:?}", tool.name);
            stockade_policy::check_tool_name(&key, &tool.name)?;
            let validator = jsonschema::validator_for(&tool.schema).map_err(|e| {
                PolicyError::invalid(format!("{key}: schema"), format!("is not a valid JSON Schema: {e}"))
            })?;
            let rules = match policy.tools.get(&tool.name) {
                Some(rules) => Some(rules.clone()),
                None if policy.allow_unlisted_tools => Some(ToolPolicy::default()),
                None => None,
            };
            let bucket = match rules.as_ref().and_then(|r| r.rate.as_deref()) {
                Some(rate) => {
                    let (count, period) = stockade_policy::parse_rate(rate)
                        .map_err(|why| PolicyError::invalid(format!("tools.{}.rate", tool.name), why))?;
                    Some(Mutex::new(Bucket::new(count, period)))
                }
                None => None,
            };
            let name = tool.name.clone();
            let entry = Entry { tool, validator, rules, bucket };
            if entries.insert(name.clone(), entry).is_some() {
                return Err(PolicyError::invalid(format!("tool {name:?}"), "is registered twice").into());
            }
        }
        let callable: Vec<&Entry> = entries.values().filter(|e| e.rules.is_some()).collect();
        stockade_policy::check_tool_namespaces("tools", callable.iter().map(|e| e.tool.name.as_str()))?;
        let descriptors = callable.iter().map(|e| e.tool.descriptor()).collect();
        let names: Vec<&str> = callable.iter().map(|e| e.tool.name.as_str()).collect();
        let offered = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        Ok(Registry { entries, descriptors, offered })
    }

    /// The tool called `name`, if registered.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    /// Whether any tool is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Descriptors of the tools the guest may call; the others stay hidden.
    pub fn descriptors(&self) -> &[Value] {
        &self.descriptors
    }

    /// The names of the tools the guest may call, for a refusal's message.
    pub fn offered(&self) -> &str {
        &self.offered
    }
}
