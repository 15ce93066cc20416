//! The API's OpenAPI 3.1 document, made from the code: the request and
//! response types' JSON Schemas (schemars, the same derive the policy uses)
//! and the route table below, which `api::router` mirrors.

use super::api::{Error, SessionList, SessionOpened};
use super::commands::{CommandList, CommandView, Signalled, Start};
use super::files::{Listing, Moved};
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};
use stockade::{Language, Outcome, Request, SessionRequest};

/// The document served at `/v1/openapi.json`, for a server whose tokens'
/// policies run `languages` between them.
pub fn document(languages: &[Language]) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "#/components/schemas/".into();
    let mut generator = settings.into_generator();
    let schema = |value: schemars::Schema| value.to_value();
    let run_request = schema(generator.subschema_for::<Request>());
    let session_request = schema(generator.subschema_for::<SessionRequest>());
    let session_run = run_request.clone();
    let outcome = schema(generator.subschema_for::<Outcome>());
    let opened = schema(generator.subschema_for::<SessionOpened>());
    let listing = schema(generator.subschema_for::<SessionList>());
    let moved = schema(generator.subschema_for::<Moved>());
    let files = schema(generator.subschema_for::<Listing>());
    let start = schema(generator.subschema_for::<Start>());
    let signalled = schema(generator.subschema_for::<Signalled>());
    let command_view = schema(generator.subschema_for::<CommandView>());
    let command_list = schema(generator.subschema_for::<CommandList>());
    // Named by its `$ref` below: the one body of every error.
    generator.subschema_for::<Error>();
    let mut components = generator.take_definitions(true);
    if let Some(Value::Object(language)) = components.get_mut("Language") {
        language.insert("enum".into(), json!(Language::names_of(languages)));
        language.insert(
            "description".into(),
            format!("A language this server's tokens may run: {}.", Language::list(languages)).into(),
        );
    }
    let error = |why: &str| json!({"description": why, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let body =
        |schema: &Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    let ok = |why: &str, schema: &Value| json!({"description": why, "content": {"application/json": {"schema": schema}}});
    // With `Accept: application/x-ndjson`, a run answers with its output
    // as the guest writes it, a JSON line per chunk, then its outcome.
    let ran = |why: &str| {
        json!({"description": why, "content": {
            "application/json": {"schema": outcome},
            super::stream::NDJSON: {"schema": {
                "description": "one JSON object per line: {\"type\": \"output\", \"stream\": \"stdout\"|\"stderr\", \"text\"} \
                    as the guest writes, {\"type\": \"cut\", \"stream\"} where a cap cut a stream, and last \
                    {\"type\": \"outcome\", \"outcome\": Outcome} or {\"type\": \"error\", \"error\", \"class\"}",
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"type": "string", "enum": ["output", "cut", "outcome", "error"]}},
            }},
        }})
    };
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let file = json!([
        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "path", "in": "path", "required": true, "schema": {"type": "string"},
         "description": "a path under the session's /tmp, as the guest sees it"},
    ]);
    let folder = json!([
        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "path", "in": "query", "required": false, "schema": {"type": "string"},
         "description": "a folder under the session's /tmp (the root when absent)"},
    ]);
    let command = json!([
        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "command", "in": "path", "required": true, "schema": {"type": "string"},
         "description": "the command's id within the session (c1)"},
    ]);
    let mut look = command.clone();
    if let Value::Array(look) = &mut look {
        look.push(json!({"name": "wait_ms", "in": "query", "required": false,
            "schema": {"type": "integer", "minimum": 0},
            "description": "wait up to this long for it to end first (at most 300000)"}));
        look.push(json!({"name": "timeout_ms", "in": "query", "required": false,
            "schema": {"type": "integer", "minimum": 0},
            "description": "with Accept: application/x-ndjson, follow for at most this long"}));
    }
    let mut feed = command.clone();
    if let Value::Array(feed) = &mut feed {
        feed.push(json!({"name": "close", "in": "query", "required": false, "schema": {"type": "boolean"},
            "description": "close its stdin after the body"}));
    }
    let no_command = || error("no such session for this token, or no such command");
    let followed = json!({"description": "what it has written so far, and whether it has ended", "content": {
        "application/json": {"schema": command_view},
        super::stream::NDJSON: {"schema": {
            "description": "one JSON object per line: {\"type\": \"output\", \"stream\", \"text\"} from its first byte \
                and then as it writes, {\"type\": \"cut\", \"stream\"} where a cap cut a stream, and last \
                {\"type\": \"command\", \"command\": CommandView}",
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"type": "string", "enum": ["output", "cut", "command"]}},
        }},
    }});
    let missing = || error("no such session for this token, or no such file");
    let gone = || error("the session has ended; DELETE it");
    let mut too_many = error("over the token's rate, concurrency or sessions");
    too_many["headers"] = json!({"Retry-After": {
        "description": "seconds to wait: until the rate gives a run back (at least 1), or 1",
        "schema": {"type": "integer", "minimum": 1},
    }});
    let common = |mut responses: serde_json::Map<String, Value>| {
        for (code, why) in [
            ("400", "invalid request: not JSON, or a value the API refuses"),
            ("401", "no token, or an unknown one"),
            ("413", "the body is over max_body_bytes"),
            ("408", "the body did not arrive within body_timeout_ms"),
            ("422", "JSON of the wrong shape: a missing, unknown or mistyped field"),
            ("503", "busy (with Retry-After), unavailable on this machine, or shutting down"),
        ] {
            responses.insert(code.into(), error(why));
        }
        responses.insert("429".into(), too_many.clone());
        Value::Object(responses)
    };
    let responses =
        |pairs: Vec<(&str, Value)>| common(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "stockade",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Runs untrusted code (JavaScript, Python) in a sandbox under the caller's token's policy.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/health": {"get": {
                "summary": "Liveness", "security": [],
                "responses": {"200": {"description": "the server is up"}},
            }},
            "/v1/runs": {"post": {
                "summary": "Run code in a fresh sandbox",
                "requestBody": body(&run_request),
                "responses": responses(vec![("200", ran("how the run ended"))]),
            }},
            "/v1/sessions": {
                "post": {
                    "summary": "Open a session (one guest for many runs)",
                    "requestBody": body(&session_request),
                    "responses": responses(vec![("201", ok("the session", &opened))]),
                },
                "get": {
                    "summary": "List this token's sessions, live and ended",
                    "responses": {
                        "200": ok("the sessions", &listing),
                        "401": error("no token, or an unknown one"),
                    },
                },
            },
            "/v1/sessions/{id}/runs": {"post": {
                "summary": "Run code in a session",
                "parameters": id.clone(),
                "requestBody": body(&session_run),
                "responses": responses(vec![
                    ("200", ran("how the run ended")),
                    ("404", error("no such session for this token")),
                    ("410", error("the session has ended (a limit, max_runs, idle or lifetime); DELETE it")),
                ]),
            }},
            "/v1/sessions/{id}/files": {"get": {
                "summary": "List a folder of the session's files",
                "parameters": folder,
                "responses": responses(vec![
                    ("200", ok("the folder's entries", &files)),
                    ("404", missing()),
                    ("410", gone()),
                ]),
            }},
            "/v1/sessions/{id}/files/{path}": {
                "put": {
                    "summary": "Write a file into the session's /tmp (streamed; bounded by files.tmp_bytes)",
                    "parameters": file.clone(),
                    "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                    "responses": responses(vec![
                        ("201", ok("what was written", &moved)),
                        ("404", missing()),
                        ("409", error("something other than a regular file is there")),
                        ("410", gone()),
                    ]),
                },
                "get": {
                    "summary": "Read a file of the session's /tmp (streamed)",
                    "parameters": file.clone(),
                    "responses": responses(vec![
                        ("200", {json!({"description": "the file's bytes", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}})}),
                        ("404", missing()),
                        ("409", error("not a regular file")),
                        ("410", gone()),
                    ]),
                },
                "delete": {
                    "summary": "Remove a file (or an empty folder) of the session's /tmp",
                    "parameters": file,
                    "responses": responses(vec![
                        ("204", json!({"description": "removed"})),
                        ("404", missing()),
                        ("410", gone()),
                    ]),
                },
            },
            "/v1/sessions/{id}/commands": {
                "post": {
                    "summary": "Start a background command in a shell session",
                    "parameters": id.clone(),
                    "requestBody": body(&start),
                    "responses": responses(vec![
                        ("201", ok("the command, just started", &command_view)),
                        ("404", error("no such session for this token")),
                        ("410", gone()),
                    ]),
                },
                "get": {
                    "summary": "List the session's background commands",
                    "parameters": id.clone(),
                    "responses": responses(vec![
                        ("200", ok("its commands", &command_list)),
                        ("404", error("no such session for this token")),
                        ("410", gone()),
                    ]),
                },
            },
            "/v1/sessions/{id}/commands/{command}": {
                "get": {
                    "summary": "What a background command has written, after an optional wait; or its output followed",
                    "parameters": look,
                    "responses": responses(vec![("200", followed), ("404", no_command()), ("410", gone())]),
                },
                "delete": {
                    "summary": "Kill a background command and every process it started",
                    "parameters": command.clone(),
                    "responses": responses(vec![
                        ("200", ok("how it ended", &command_view)),
                        ("404", no_command()),
                        ("410", gone()),
                    ]),
                },
            },
            "/v1/sessions/{id}/commands/{command}/stdin": {"post": {
                "summary": "Write to a background command's stdin",
                "parameters": feed,
                "requestBody": {"required": false, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": responses(vec![
                    ("204", json!({"description": "written"})),
                    ("404", no_command()),
                    ("409", error("its stdin is closed")),
                    ("410", gone()),
                ]),
            }},
            "/v1/sessions/{id}/commands/{command}/signal": {"post": {
                "summary": "Send a signal to a background command and every process it started",
                "parameters": command,
                "requestBody": body(&signalled),
                "responses": responses(vec![
                    ("204", json!({"description": "sent (or it had ended)"})),
                    ("404", no_command()),
                    ("410", gone()),
                ]),
            }},
            "/v1/sessions/{id}": {"delete": {
                "summary": "Close a session",
                "parameters": id.clone(),
                "responses": responses(vec![
                    ("204", json!({"description": "closed (or, if it had ended, forgotten)"})),
                    ("404", error("no such session for this token")),
                ]),
            }},
        },
    })
}
