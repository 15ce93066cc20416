//! TOML and JSON in, typed and validated [`Policy`] out; and the JSON Schema.

use crate::{Policy, PolicyError};

/// Largest policy document accepted, in bytes. A policy is a few hundred
/// bytes; anything near this is a mistake or an attack on the parser.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

impl Policy {
    /// Parses and validates a TOML policy. Unknown keys are errors.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        check_size(text)?;
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|e| PolicyError::Parse { key: "<document>".into(), message: laid_out(&e) })?;
        let policy: Policy = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = key_of(e.path());
            PolicyError::Parse { key, message: laid_out(&e.into_inner()) }
        })?;
        policy.validate()?;
        Ok(policy)
    }

    /// Parses and validates a JSON policy. Unknown keys are errors.
    pub fn from_json_str(text: &str) -> Result<Policy, PolicyError> {
        check_size(text)?;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let policy: Policy = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let key = key_of(e.path());
            PolicyError::Parse { key, message: e.into_inner().to_string() }
        })?;
        deserializer
            .end()
            .map_err(|e| PolicyError::Parse { key: "<document>".into(), message: e.to_string() })?;
        policy.validate()?;
        Ok(policy)
    }

    /// Parses a policy, choosing the format by its first non-blank character:
    /// `{` means JSON, anything else TOML.
    pub fn from_str_auto(text: &str) -> Result<Policy, PolicyError> {
        if text.trim_start().starts_with('{') {
            Policy::from_json_str(text)
        } else {
            Policy::from_toml_str(text)
        }
    }

    /// The policy as TOML, in the same shape the parser reads.
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render policy: {e}\n"))
    }

    /// The JSON Schema of the policy document.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Policy)).unwrap_or_default()
    }
}

fn check_size(text: &str) -> Result<(), PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::invalid(
            "<document>",
            format!("is {} bytes; a policy may be at most {MAX_POLICY_BYTES}", text.len()),
        ));
    }
    Ok(())
}

fn key_of(path: &serde_path_to_error::Path) -> String {
    let key = path.to_string();
    if key.is_empty() || key == "." { "<document>".into() } else { key }
}

/// A TOML error as the parser lays it out: what is wrong, then the line at
/// fault with a caret under the spot, which joined onto one line would no
/// longer point anywhere. The message comes first, so that the error still
/// reads `key: message` on its first line; the excerpt follows, each line
/// as the parser indented it.
///
/// ```text
/// limits.wall_ms: invalid type: string "x", expected u64
/// TOML parse error at line 2, column 11
///   |
/// 2 | wall_ms = "x"
///   |           ^^^
/// ```
fn laid_out(error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    let full = error.to_string();
    // The parser's Display is the position, the excerpt, then the message;
    // without a position (no span) it is the message alone.
    let excerpt = full.trim_end().strip_suffix(message).unwrap_or("").trim_end();
    if excerpt.is_empty() { message.to_string() } else { format!("{message}\n{excerpt}") }
}
