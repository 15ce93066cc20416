//! What every surface asks of a sandbox: the one request type that the CLI,
//! the HTTP API, the MCP server and the Python package all build.

use crate::{Language, SandboxError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Code to run: in a fresh sandbox, or in a session that keeps its state.
///
/// In JSON (the HTTP API's `POST /v1/runs`, the MCP tool `run_code`):
///
/// ```json
/// {"language": "python", "code": "print(6 * 7)", "session": "analysis"}
/// ```
///
/// Unknown keys are refused, so a misspelt option is an error rather than
/// something silently not applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Request {
    /// The language of the code. A fresh run needs it; a run in a session
    /// may leave it out, and if it gives one, it must be the session's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// The source code. The value of a trailing expression comes back.
    pub code: String,
    /// The session to run in, which keeps its globals between runs. What
    /// names one is the surface's: the MCP server's names are the
    /// client's, opened on first use; the HTTP API's are the ids it gave.
    /// Without it, the run gets a fresh sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// This run's wall time, in milliseconds: it may lower the policy's
    /// `limits.wall_ms` (or what is left of a session's), never raise it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_ms: Option<u64>,
    /// Variables for this run, each one the policy's `[env]` names (whose
    /// value it replaces for this run); any other name is refused. A fresh
    /// run's only: a session's environment is set when it opens.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

impl Request {
    /// `code` in `language`, in a fresh sandbox.
    pub fn new(language: Language, code: impl Into<String>) -> Request {
        Request {
            language: Some(language),
            code: code.into(),
            session: None,
            timeout_ms: None,
            env: BTreeMap::new(),
        }
    }

    /// `code` in the session its surface calls `session`, in whatever
    /// language that session runs.
    pub fn in_session(session: impl Into<String>, code: impl Into<String>) -> Request {
        Request {
            language: None,
            code: code.into(),
            session: Some(session.into()),
            timeout_ms: None,
            env: BTreeMap::new(),
        }
    }

    /// The same request, with a wall time of `timeout` for its run (at
    /// most the policy's).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Request {
        self.timeout_ms = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX).max(1));
        self
    }

    /// The same request, with `name` set to `value` for its run (a name
    /// the policy's `[env]` lists).
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.env.insert(name.into(), value.into());
        self
    }

    /// This run's wall time: `limit` (the policy's, or what a session has
    /// left), lowered by `timeout_ms`; a timeout over `limit`, or of 0, is
    /// refused.
    pub fn wall_within(
        &self,
        limit: std::time::Duration,
        from: &str,
    ) -> Result<std::time::Duration, SandboxError> {
        let Some(asked) = self.timeout_ms else { return Ok(limit) };
        let asked = std::time::Duration::from_millis(asked);
        if asked.is_zero() || asked > limit {
            return Err(SandboxError::Request(format!(
                "timeout_ms {} is not within {from} ({} ms): a run's timeout may lower it, never raise it",
                asked.as_millis(),
                limit.as_millis()
            )));
        }
        Ok(asked)
    }

    /// The same request, run in `session`.
    pub fn with_session(mut self, session: impl Into<String>) -> Request {
        self.session = Some(session.into());
        self
    }

    /// The language, which a run outside a session must name.
    pub fn language(&self) -> Result<Language, SandboxError> {
        self.language.ok_or_else(|| {
            SandboxError::Request("name the language of the code (`language`), or a session to run in".into())
        })
    }

    /// Refuses the request for a session that runs `language` if it names
    /// another.
    pub fn check_session_language(&self, language: Language) -> Result<(), SandboxError> {
        match self.language {
            Some(asked) if asked != language => {
                Err(SandboxError::Request(format!("the session runs {language}, not {asked}")))
            }
            _ => Ok(()),
        }
    }

    /// The JSON Schema of a request to a sandbox that runs `languages`: the
    /// derived schema, inlined, with `language` listing exactly their names.
    pub fn schema_for(languages: &[Language]) -> serde_json::Value {
        let mut schema = inline_schema::<Request>();
        restrict_languages(&mut schema, languages);
        schema
    }
}

/// Opens a session: what `POST /v1/sessions` takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionRequest {
    /// The language the session runs.
    pub language: Language,
}

impl SessionRequest {
    /// A session of `language`.
    pub fn new(language: Language) -> SessionRequest {
        SessionRequest { language }
    }

    /// The JSON Schema of a session request to a sandbox that runs `languages`.
    pub fn schema_for(languages: &[Language]) -> serde_json::Value {
        let mut schema = inline_schema::<SessionRequest>();
        restrict_languages(&mut schema, languages);
        schema
    }
}

/// Properties every HTTP and MCP request body must satisfy, whatever its
/// bytes; the fuzz target `http_body` feeds it random input.
/// - nothing panics;
/// - a body that parses as a [`Request`] or a [`SessionRequest`] survives
///   a round trip through JSON unchanged;
/// - a request that names a language is refused by a session of any other,
///   and one that names none asks for one outside a session.
pub fn oracle(body: &[u8]) {
    if let Ok(request) = serde_json::from_slice::<Request>(body) {
        let again = serde_json::to_vec(&request).expect("a request serialises");
        assert_eq!(serde_json::from_slice::<Request>(&again).ok().as_ref(), Some(&request));
        assert_eq!(request.language().ok(), request.language);
        for &language in Language::ALL {
            let refused = request.check_session_language(language).is_err();
            assert_eq!(refused, request.language.is_some_and(|asked| asked != language));
        }
    }
    if let Ok(session) = serde_json::from_slice::<SessionRequest>(body) {
        let again = serde_json::to_vec(&session).expect("a session request serialises");
        assert_eq!(serde_json::from_slice::<SessionRequest>(&again).ok().as_ref(), Some(&session));
    }
}

/// `T`'s schema with every subschema inlined, so that one property can be
/// changed in place.
fn inline_schema<T: JsonSchema>() -> serde_json::Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true);
    let mut schema = settings.into_generator().into_root_schema_for::<T>().to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    schema
}

/// Makes the schema's `language` property accept only the names of `languages`.
fn restrict_languages(schema: &mut serde_json::Value, languages: &[Language]) {
    if let Some(language) = schema.pointer_mut("/properties/language").and_then(|v| v.as_object_mut()) {
        let names = Language::names_of(languages);
        language.insert("enum".into(), serde_json::json!(names));
        language.insert(
            "description".into(),
            format!("The language of the code: {}.", Language::list(languages)).into(),
        );
        language.remove("anyOf");
        language.insert("type".into(), "string".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_schema_lists_exactly_the_languages_it_is_for() {
        let schema = Request::schema_for(Language::WASM);
        let names = schema.pointer("/properties/language/enum").expect("an enum");
        assert_eq!(
            names,
            &serde_json::json!(["js", "javascript", "node", "ecmascript", "python", "py", "python3"])
        );
        assert_eq!(schema.pointer("/required"), Some(&serde_json::json!(["code"])));
        assert_eq!(schema.pointer("/additionalProperties"), Some(&serde_json::json!(false)));
        let session = SessionRequest::schema_for(&[Language::Shell]);
        assert_eq!(session.pointer("/properties/language/enum"), Some(&serde_json::json!(["sh", "shell"])));
    }

    #[test]
    fn a_request_is_read_with_any_name_of_its_language_and_refuses_unknown_keys() {
        let request: Request = serde_json::from_str(r#"{"language": "PY", "code": "1"}"#).expect("in a test");
        assert_eq!(request, Request::new(Language::Python, "1"));
        assert!(serde_json::from_str::<Request>(r#"{"language": "js", "code": "1", "timeout": 3}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"language": "cobol", "code": "1"}"#).is_err());
        let in_session = Request::in_session("a", "x");
        assert!(in_session.language().is_err());
        assert!(in_session.check_session_language(Language::Python).is_ok());
        let wrong = Request::new(Language::JavaScript, "1").with_session("a");
        let refused = wrong.check_session_language(Language::Python).expect_err("in a test");
        assert_eq!(refused.to_string(), "request refused: the session runs python, not js");
    }

    /// The `http_body` fuzz target's oracle on stable: bodies the API and
    /// MCP take, then thousands of deterministic mutations of them.
    #[test]
    fn the_body_oracle_holds_for_seeds_and_their_mutations() {
        let seeds: [&[u8]; 5] = [
            br#"{"language": "python", "code": "print(6 * 7)", "session": "analysis"}"#,
            br#"{"code": "x = 1\n", "session": "a"}"#,
            br#"{"language": "JS", "code": "\u00e9\ud83d\ude00"}"#,
            br#"{"language": "sh"}"#,
            br#"{"language": "py", "code": "1", "code": "2"}"#,
        ];
        for seed in seeds {
            oracle(seed);
        }
        assert!(serde_json::from_slice::<Request>(seeds[4]).is_err(), "a repeated key is refused");
        const BYTES: &[u8] = b"{}[]\",:01-e.\\u\xff\x00 truenull";
        for body in stockade_policy::oracle::Mutations::of(&seeds, BYTES).take(20_000) {
            oracle(&body);
        }
    }
}
