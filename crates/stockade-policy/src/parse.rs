//! TOML and JSON in, typed and validated [`Policy`] out; and the JSON Schema.

use crate::{Policy, PolicyError};

/// Largest policy document accepted, in bytes. A policy is a few hundred
/// bytes; anything near this is a mistake or an attack on the parser.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

impl Policy {
    /// Parses and validates a TOML policy. Unknown keys are errors.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        check_size(text)?;
        let deserializer = toml::Deserializer::parse(text).map_err(|e| PolicyError::Parse {
            key: "<document>".into(),
            message: one_line(&e.to_string()),
        })?;
        let policy: Policy = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = key_of(e.path());
            PolicyError::Parse { key, message: one_line(e.into_inner().message()) }
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

/// Parser messages may span several lines (with a source excerpt); keep one.
fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines.join(" ")
}
