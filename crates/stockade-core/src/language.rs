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
}

impl Language {
    /// Every language this build knows.
    pub const ALL: &'static [Language] = &[Language::JavaScript, Language::Python];

    /// The canonical short name (`js`).
    pub fn name(self) -> &'static str {
        match self {
            Language::JavaScript => "js",
            Language::Python => "python",
        }
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
            other => Err(format!("unknown language `{other}`: expected one of js, python")),
        }
    }
}
