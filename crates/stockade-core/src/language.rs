//! The languages a sandbox can run.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A language, and with it the guest that runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Language {
    /// JavaScript (ES2023) on QuickJS, in WebAssembly.
    JavaScript,
    /// Python 3.15 on CPython, in WebAssembly, with numpy and pandas.
    Python,
    /// `/bin/sh -c`, in the process jail.
    #[serde(rename = "sh")]
    Shell,
    /// `/bin/bash -c`, in the process jail.
    Bash,
    /// The host's `python3 -c`, with its packages, in the process jail.
    #[serde(rename = "python-native")]
    PythonNative,
    /// The host's `node -e`, in the process jail.
    #[serde(rename = "node-native")]
    NodeNative,
}

impl Language {
    /// Every language this build knows.
    pub const ALL: &'static [Language] = &[
        Language::JavaScript,
        Language::Python,
        Language::Shell,
        Language::Bash,
        Language::PythonNative,
        Language::NodeNative,
    ];

    /// The canonical short name (`js`).
    pub fn name(self) -> &'static str {
        match self {
            Language::JavaScript => "js",
            Language::Python => "python",
            Language::Shell => "sh",
            Language::Bash => "bash",
            Language::PythonNative => "python-native",
            Language::NodeNative => "node-native",
        }
    }

    /// Whether this language runs a host program in the process jail
    /// rather than a guest in WebAssembly.
    pub fn is_native(self) -> bool {
        matches!(self, Language::Shell | Language::Bash | Language::PythonNative | Language::NodeNative)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "js" | "javascript" | "node" | "ecmascript" => Ok(Language::JavaScript),
            "python" | "py" | "python3" => Ok(Language::Python),
            "sh" | "shell" => Ok(Language::Shell),
            "bash" => Ok(Language::Bash),
            "python-native" => Ok(Language::PythonNative),
            "node-native" => Ok(Language::NodeNative),
            other => Err(format!(
                "unknown language `{other}`: expected one of js, python, sh, bash, python-native, node-native"
            )),
        }
    }
}
