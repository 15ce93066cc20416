//! The languages a sandbox can run, and the names a request may call them by.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// A language, and with it the guest that runs it.
///
/// In TOML and JSON a language is a string: its canonical [`name`] or one
/// of its [`aliases`] (`"py"` for Python), in any case.
///
/// [`name`]: Language::name
/// [`aliases`]: Language::aliases
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Language {
    /// JavaScript (ES2023) on QuickJS, in WebAssembly.
    JavaScript,
    /// Python 3.15 on CPython, in WebAssembly, with numpy and pandas.
    Python,
    /// `/bin/sh -c`, in the process jail.
    Shell,
    /// `/bin/bash -c`, in the process jail.
    Bash,
    /// The host's `python3 -c`, with its packages, in the process jail.
    PythonNative,
    /// The host's `node -e`, in the process jail.
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

    /// The languages that run in WebAssembly: what a surface facing a model
    /// (the MCP server, a Python `SandboxTool`) offers unless the policy's
    /// `languages` lists others.
    pub const WASM: &'static [Language] = &[Language::JavaScript, Language::Python];

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

    /// The other names this language answers to (`javascript` for `js`).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Language::JavaScript => &["javascript", "node", "ecmascript"],
            Language::Python => &["py", "python3"],
            Language::Shell => &["shell"],
            Language::Bash | Language::PythonNative | Language::NodeNative => &[],
        }
    }

    /// Whether this language runs a host program in the process jail
    /// rather than a guest in WebAssembly.
    pub fn is_native(self) -> bool {
        matches!(self, Language::Shell | Language::Bash | Language::PythonNative | Language::NodeNative)
    }

    /// Every name (canonical, then aliases) of every language in
    /// `languages`: the values a schema accepts for them.
    pub fn names_of(languages: &[Language]) -> Vec<&'static str> {
        languages.iter().flat_map(|l| std::iter::once(l.name()).chain(l.aliases().iter().copied())).collect()
    }

    /// `languages` by canonical name, for messages: `js, python`.
    pub fn list(languages: &[Language]) -> String {
        languages.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no language's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{0}`: expected one of {known}", known = Language::list(Language::ALL))]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, UnknownLanguage> {
        let wanted = s.to_ascii_lowercase();
        Language::ALL
            .iter()
            .copied()
            .find(|l| l.name() == wanted || l.aliases().contains(&wanted.as_str()))
            .ok_or_else(|| UnknownLanguage(s.to_string()))
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = Cow::<'de, str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Language {
    fn schema_name() -> Cow<'static, str> {
        "Language".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A language: js or python (WebAssembly), or sh, bash, python-native or node-native (the host's programs, in the process jail); aliases such as `py` and `javascript` are accepted.",
            "type": "string",
            "enum": Language::names_of(Language::ALL),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Language;

    #[test]
    fn every_name_and_alias_parses_back_to_its_language_and_nothing_else_does() {
        for &language in Language::ALL {
            for name in std::iter::once(language.name()).chain(language.aliases().iter().copied()) {
                assert_eq!(name.parse::<Language>(), Ok(language), "{name}");
                assert_eq!(name.to_uppercase().parse::<Language>(), Ok(language), "{name}");
            }
            let json = serde_json::to_string(&language).expect("in a test");
            assert_eq!(json, format!("\"{}\"", language.name()));
            assert_eq!(serde_json::from_str::<Language>(&json).expect("in a test"), language);
        }
        let refused = "perl".parse::<Language>().expect_err("in a test").to_string();
        assert!(refused.contains("unknown language `perl`") && refused.contains("node-native"), "{refused}");
        assert!(serde_json::from_str::<Language>("\"\"").is_err());
        assert!(serde_json::from_str::<Language>("3").is_err());
    }
}
