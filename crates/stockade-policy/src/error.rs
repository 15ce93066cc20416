//! The one error type of this crate.

/// Why a policy was refused. Every variant names the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The document is not well-formed TOML or JSON, or a value has the wrong type.
    #[error("{key}: {message}")]
    Parse {
        /// Dotted path of the key at fault (`limits.memory_bytes`), or `<document>`.
        key: String,
        /// What the parser said.
        message: String,
    },
    /// A value is well-typed but not acceptable.
    #[error("{key}: {reason}")]
    Invalid {
        /// Dotted path of the key at fault.
        key: String,
        /// Why the value was refused.
        reason: String,
    },
    /// The policy grants or limits something the chosen backend cannot enforce.
    #[error("{key}: not supported by backend {backend}{}", hint_suffix(.hint))]
    Unsupported {
        /// Dotted path of the key at fault.
        key: String,
        /// Name of the backend that refused it.
        backend: String,
        /// What to do instead, if anything.
        hint: Option<String>,
    },
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
}

impl PolicyError {
    /// An invalid value at `key`, and why.
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        PolicyError::Invalid { key: key.into(), reason: reason.into() }
    }

    /// The dotted path of the key at fault.
    pub fn key(&self) -> &str {
        match self {
            PolicyError::Parse { key, .. }
            | PolicyError::Invalid { key, .. }
            | PolicyError::Unsupported { key, .. } => key,
        }
    }
}
