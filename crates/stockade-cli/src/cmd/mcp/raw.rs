//! Checks on a message's raw JSON, before rmcp parses it.
//!
//! rmcp hands a tool its arguments as a parsed `Map`, in which a repeated
//! key has already collapsed to its last value: `{"code": "1", "code": "2"}`
//! would mean one thing to a reviewer reading the message and another to
//! the run. So each message is read here first, on stdio and on HTTP alike,
//! and a `tools/call` with a repeated key anywhere in it is marked (in its
//! `_meta`, under [`DUPLICATES`]); the tool refuses a marked call.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt};

/// The `_meta` key under which a call's repeated keys are listed. Only this
/// module sets it; a client that sends it itself only gets its call refused.
pub const DUPLICATES: &str = "stockade/duplicate_keys";

/// The keys repeated within any one object of `raw` (a JSON text), or the
/// parse error.
fn duplicate_keys(raw: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    let mut found = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    Walk(&mut found).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(found)
}

/// `raw` rewritten with [`DUPLICATES`] in its `_meta` if it is a
/// `tools/call` with repeated keys; `None` to pass it on as it is (clean,
/// not a tool call, or not JSON at all, which rmcp answers itself).
pub fn mark(raw: &[u8]) -> Option<Vec<u8>> {
    let repeated = duplicate_keys(raw).ok().filter(|keys| !keys.is_empty())?;
    let mut message: serde_json::Value = serde_json::from_slice(raw).ok()?;
    if message["method"] != "tools/call" || !message["params"].is_object() {
        return None;
    }
    let params = &mut message["params"];
    if !params["_meta"].is_object() {
        params["_meta"] = serde_json::json!({});
    }
    params["_meta"][DUPLICATES] = serde_json::json!(repeated);
    serde_json::to_vec(&message).ok()
}

/// Copies `input` (newline-delimited JSON-RPC) to `output` message by
/// message, marking tool calls with repeated keys; ends `output` when
/// `input` ends.
pub async fn filter_lines(input: impl AsyncRead + Unpin, mut output: tokio::io::DuplexStream) {
    let mut input = tokio::io::BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let forwarded = match mark(line.trim_ascii_end()) {
            Some(mut marked) => {
                marked.push(b'\n');
                output.write_all(&marked).await
            }
            None => output.write_all(&line).await,
        };
        if forwarded.is_err() {
            break;
        }
    }
    let _ = output.shutdown().await;
}

/// Visits a JSON value, noting every key repeated within one object.
struct Walk<'a>(&'a mut Vec<String>);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Walk(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value_seed(Walk(&mut *self.0))?;
            if !seen.insert(key.clone()) && !self.0.contains(&key) {
                self.0.push(key);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{DUPLICATES, duplicate_keys, mark};

    #[test]
    fn repeated_keys_are_found_at_any_depth_and_marked_on_tool_calls() {
        let keys = |raw: &str| duplicate_keys(raw.as_bytes()).expect("json");
        assert_eq!(keys(r#"{"a": 1, "b": [{"c": 1}, {"c": 2}]}"#), Vec::<String>::new());
        assert_eq!(keys(r#"{"a": 1, "a": 2}"#), ["a"]);
        assert_eq!(keys(r#"{"x": [{"k\u0065y": 1, "key": 2}]}"#), ["key"]);
        let call = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"run_code",
            "arguments":{"language":"js","code":"1","code":"2"}}}"#;
        let marked: serde_json::Value =
            serde_json::from_slice(&mark(call.as_bytes()).expect("marked")).expect("json");
        assert_eq!(marked["params"]["_meta"][DUPLICATES], serde_json::json!(["code"]));
        assert!(mark(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#).is_none());
        assert!(mark(b"{not json").is_none());
    }
}
