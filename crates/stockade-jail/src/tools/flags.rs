//! A `tool` command line as a call's arguments: `--key value` pairs read
//! as the types the tool's JSON Schema gives its properties (`--amount 5`
//! is the number 5 where `amount` is a number, `--tags a --tags b` a list
//! where `tags` is an array), or one `--json '{...}'` object.

use serde_json::{Map, Value};

/// The arguments `words` (after the tool's name) give, under `schema`.
pub(crate) fn arguments(words: &[String], schema: &Value) -> Result<Map<String, Value>, String> {
    if let [flag, json] = words
        && flag == "--json"
    {
        return match serde_json::from_str(json) {
            Ok(Value::Object(object)) => Ok(object),
            Ok(_) => Err("--json takes a JSON object".into()),
            Err(e) => Err(format!("--json is not JSON: {e}")),
        };
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let mut arguments = Map::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let Some(key) = word.strip_prefix("--").filter(|key| !key.is_empty()) else {
            return Err(format!("expected --NAME VALUE, got {word:?}"));
        };
        if key == "json" {
            return Err("--json is the only argument when given".into());
        }
        let kind = properties.and_then(|p| p.get(key)).and_then(|p| p.get("type")).and_then(Value::as_str);
        let Some(text) = words.next() else {
            return match kind {
                // A bare flag is `true` for a boolean.
                Some("boolean") => {
                    arguments.insert(key.to_string(), Value::Bool(true));
                    Ok(arguments)
                }
                _ => Err(format!("--{key} needs a value")),
            };
        };
        if kind == Some("array") {
            let items = properties.and_then(|p| p.get(key)).and_then(|p| p.get("items")).cloned();
            let item_kind = items.as_ref().and_then(|i| i.get("type")).and_then(Value::as_str);
            let value = typed(key, text, item_kind)?;
            match arguments.entry(key.to_string()).or_insert_with(|| Value::Array(Vec::new())) {
                Value::Array(list) => list.push(value),
                _ => return Err(format!("--{key} is given twice")),
            }
            continue;
        }
        if arguments.insert(key.to_string(), typed(key, text, kind)?).is_some() {
            return Err(format!("--{key} is given twice (only an array takes more than one)"));
        }
    }
    Ok(arguments)
}

/// `text` as a value of the JSON Schema type `kind` (a string when the
/// schema says nothing).
fn typed(key: &str, text: &str, kind: Option<&str>) -> Result<Value, String> {
    let wrong = |what: &str| format!("--{key} must be {what}, not {text:?}");
    match kind {
        Some("integer") => text.parse::<i64>().map(Value::from).map_err(|_| wrong("an integer")),
        Some("number") => match text.parse::<f64>() {
            Ok(number) if number.is_finite() => {
                serde_json::Number::from_f64(number).map(Value::Number).ok_or_else(|| wrong("a number"))
            }
            _ => Err(wrong("a number")),
        },
        Some("boolean") => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong("true or false")),
        },
        Some("object") => match serde_json::from_str(text) {
            Ok(Value::Object(object)) => Ok(Value::Object(object)),
            _ => Err(wrong("a JSON object")),
        },
        Some("null") if text == "null" => Ok(Value::Null),
        _ => Ok(Value::String(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::arguments;
    use serde_json::json;

    fn words(text: &[&str]) -> Vec<String> {
        text.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn flags_take_the_schemas_types() {
        let schema = json!({"properties": {
            "amount": {"type": "number"}, "count": {"type": "integer"}, "live": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "integer"}}, "meta": {"type": "object"},
        }});
        let got = arguments(
            &words(&[
                "--amount",
                "5",
                "--count",
                "3",
                "--tags",
                "1",
                "--tags",
                "2",
                "--meta",
                "{\"a\":1}",
                "--who",
                "x",
                "--live",
            ]),
            &schema,
        );
        assert_eq!(
            got.map(serde_json::Value::Object),
            Ok(
                json!({"amount": 5.0, "count": 3, "tags": [1, 2], "meta": {"a": 1}, "who": "x", "live": true})
            )
        );
        assert_eq!(
            arguments(&words(&["--json", "{\"a\": [1]}"]), &schema).map(serde_json::Value::Object),
            Ok(json!({"a": [1]}))
        );
        for bad in [
            &["--amount", "lots"][..],
            &["--count", "1.5"],
            &["--amount"],
            &["positional"],
            &["--who", "a", "--who", "b"],
            &["--json", "[1]"],
            &["--json", "{}", "--who", "x"],
            &["--amount", "inf"],
        ] {
            assert!(arguments(&words(bad), &schema).is_err(), "{bad:?}");
        }
    }
}
