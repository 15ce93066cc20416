//! Rules on a tool argument, and their pure evaluation.
//!
//! A constraint is written in one of three forms:
//! - a string, as in Amla: `"<=1000"`, `"!= root"`, `"len <= 64"`,
//!   `"starts_with /data/"`, `"ends_with .csv"`, `"matches ^[a-z]+$"`,
//!   `"in [1, 2]"`, `"not in [\"GBP\"]"`;
//! - a list, meaning "one of": `["USD", "EUR"]`;
//! - a table of rules that must all hold: `{ ge = 1, le = 1000 }`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest regular expression a `matches` rule may hold, in bytes.
pub const MAX_PATTERN_BYTES: usize = 1024;

/// One test on an argument value.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Number `<=` the bound.
    Le(f64),
    /// Number `<` the bound.
    Lt(f64),
    /// Number `>=` the bound.
    Ge(f64),
    /// Number `>` the bound.
    Gt(f64),
    /// Equal to the value.
    Eq(Value),
    /// Not equal to the value.
    Ne(Value),
    /// One of the values.
    In(Vec<Value>),
    /// None of the values.
    NotIn(Vec<Value>),
    /// A string starting with the prefix.
    StartsWith(String),
    /// A string ending with the suffix.
    EndsWith(String),
    /// A string matching the regular expression (whole-string match is up to the pattern).
    Matches(String),
    /// A string (in characters) or array no longer than this.
    MaxLen(u64),
}

/// All rules on one argument path; every rule must hold.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "ConstraintRepr", into = "ConstraintRepr")]
#[schemars(with = "ConstraintRepr")]
pub struct Constraint {
    rules: Vec<Rule>,
    /// The `matches` rules' patterns, compiled once here rather than on
    /// every tool call; one slot per rule, `None` for other rules.
    compiled: Vec<Option<regex::Regex>>,
}

impl PartialEq for Constraint {
    fn eq(&self, other: &Constraint) -> bool {
        self.rules == other.rules
    }
}

impl Constraint {
    /// A constraint made of these rules.
    pub fn new(rules: Vec<Rule>) -> Result<Self, String> {
        let compiled = rules
            .iter()
            .map(|rule| match rule {
                Rule::Matches(pattern) => compile(pattern).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        Ok(Constraint { rules, compiled })
    }

    /// The rules, in the order they are checked.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Checks `value`; the error names the first rule that failed.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        self.rules.iter().zip(&self.compiled).try_for_each(|(rule, compiled)| match compiled {
            Some(regex) => rule.check_with(value, regex),
            None => rule.check(value),
        })
    }
}

/// Compiles a `matches` pattern under the size limits.
fn compile(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(format!("pattern is longer than {MAX_PATTERN_BYTES} bytes"));
    }
    regex::RegexBuilder::new(pattern).size_limit(1 << 20).build().map_err(|e| {
        let reason = e.to_string();
        format!("invalid pattern: {}", reason.lines().last().unwrap_or_default().trim())
    })
}

impl Rule {
    /// Checks one value against this rule. A `matches` rule compiles its
    /// pattern each time; [`Constraint::check`] uses the one it compiled.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        self.evaluate(value, None)
    }

    fn check_with(&self, value: &Value, regex: &regex::Regex) -> Result<(), String> {
        self.evaluate(value, Some(regex))
    }

    fn evaluate(&self, value: &Value, compiled: Option<&regex::Regex>) -> Result<(), String> {
        let number = || value.as_f64().ok_or_else(|| format!("must be a number, got {value}"));
        let text = || value.as_str().ok_or_else(|| format!("must be a string, got {value}"));
        let holds = match self {
            Rule::Le(bound) => number()? <= *bound,
            Rule::Lt(bound) => number()? < *bound,
            Rule::Ge(bound) => number()? >= *bound,
            Rule::Gt(bound) => number()? > *bound,
            Rule::Eq(expected) => same(value, expected),
            Rule::Ne(expected) => !same(value, expected),
            Rule::In(options) => options.iter().any(|o| same(value, o)),
            Rule::NotIn(options) => !options.iter().any(|o| same(value, o)),
            Rule::StartsWith(prefix) => text()?.starts_with(prefix.as_str()),
            Rule::EndsWith(suffix) => text()?.ends_with(suffix.as_str()),
            Rule::Matches(pattern) => match compiled {
                Some(regex) => regex.is_match(text()?),
                None => compile(pattern)?.is_match(text()?),
            },
            Rule::MaxLen(max) => match value {
                Value::String(s) => s.chars().count() as u64 <= *max,
                Value::Array(items) => items.len() as u64 <= *max,
                other => return Err(format!("must be a string or an array, got {other}")),
            },
        };
        if holds { Ok(()) } else { Err(format!("{value} violates `{}`", self.describe())) }
    }

    /// The rule in its string form, for error messages and audit records.
    pub fn describe(&self) -> String {
        let list = |v: &Vec<Value>| Value::Array(v.clone()).to_string();
        match self {
            Rule::Le(b) => format!("<= {b}"),
            Rule::Lt(b) => format!("< {b}"),
            Rule::Ge(b) => format!(">= {b}"),
            Rule::Gt(b) => format!("> {b}"),
            Rule::Eq(v) => format!("== {v}"),
            Rule::Ne(v) => format!("!= {v}"),
            Rule::In(v) => format!("in {}", list(v)),
            Rule::NotIn(v) => format!("not in {}", list(v)),
            Rule::StartsWith(s) => format!("starts_with {s}"),
            Rule::EndsWith(s) => format!("ends_with {s}"),
            Rule::Matches(s) => format!("matches {s}"),
            Rule::MaxLen(n) => format!("len <= {n}"),
        }
    }
}

/// JSON equality, except that numbers compare by value (`1` equals `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

/// A rule written as a string: `"<=1000"`, `"len <= 64"`, `"in [1, 2]"`.
pub fn parse_rule(text: &str) -> Result<Rule, String> {
    let text = text.trim();
    let rest = |prefix: &str| text.strip_prefix(prefix).map(str::trim);
    let bound = |s: &str| match s.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(format!("`{s}` is not a finite number")),
    };
    let list = |s: &str| match serde_json::from_str::<Value>(s) {
        Ok(Value::Array(items)) => Ok(items),
        _ => Err(format!("`{s}` is not a JSON list")),
    };
    // Longest operators first, so `<=` is not read as `<`.
    if let Some(s) = rest("len") {
        let s = s.strip_prefix("<=").ok_or("expected `len <= N`")?.trim();
        return s.parse().map(Rule::MaxLen).map_err(|_| format!("`{s}` is not a length"));
    }
    if let Some(s) = rest("not in") {
        return list(s).map(Rule::NotIn);
    }
    if let Some(s) = rest("in") {
        return list(s).map(Rule::In);
    }
    if let Some(s) = rest("starts_with") {
        return Ok(Rule::StartsWith(unquote(s)));
    }
    if let Some(s) = rest("ends_with") {
        return Ok(Rule::EndsWith(unquote(s)));
    }
    if let Some(s) = rest("matches") {
        return Ok(Rule::Matches(unquote(s)));
    }
    for (op, make) in
        [("<=", Rule::Le as fn(f64) -> Rule), (">=", Rule::Ge), ("<", Rule::Lt), (">", Rule::Gt)]
    {
        if let Some(s) = rest(op) {
            return bound(s).map(make);
        }
    }
    if let Some(s) = rest("==") {
        return Ok(Rule::Eq(scalar(s)));
    }
    if let Some(s) = rest("!=") {
        return Ok(Rule::Ne(scalar(s)));
    }
    Err(format!(
        "`{text}` is not a rule: use <=, <, >=, >, ==, !=, in [..], not in [..], starts_with, ends_with, matches or len <="
    ))
}

/// `"x"` or `x` → `x`.
fn unquote(s: &str) -> String {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::String(inner)) => inner,
        _ => s.to_string(),
    }
}

/// `42` → number, `true` → bool, `"x"` or `x` → string.
fn scalar(s: &str) -> Value {
    match serde_json::from_str::<Value>(s) {
        Ok(v) if !v.is_array() && !v.is_object() => v,
        _ => Value::String(s.to_string()),
    }
}

/// The three ways a constraint is written.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
enum ConstraintRepr {
    /// A rule as a string: `"<=1000"`.
    Text(String),
    /// One of these values.
    List(Vec<Value>),
    /// Rules that must all hold, keyed by operator.
    Table(Box<RuleTable>),
}

/// A table of rules; every present rule must hold.
#[derive(Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RuleTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    le: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lt: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ge: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gt: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    eq: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ne: Option<Value>,
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    one_of: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_in: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    starts_with: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_with: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    matches: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_len: Option<u64>,
}

impl TryFrom<ConstraintRepr> for Constraint {
    type Error = String;

    fn try_from(repr: ConstraintRepr) -> Result<Self, String> {
        let rules = match repr {
            ConstraintRepr::Text(text) => vec![parse_rule(&text)?],
            ConstraintRepr::List(options) => vec![Rule::In(options)],
            ConstraintRepr::Table(t) => {
                let rules: Vec<Rule> = [
                    t.le.map(Rule::Le),
                    t.lt.map(Rule::Lt),
                    t.ge.map(Rule::Ge),
                    t.gt.map(Rule::Gt),
                    t.eq.map(Rule::Eq),
                    t.ne.map(Rule::Ne),
                    t.one_of.map(Rule::In),
                    t.not_in.map(Rule::NotIn),
                    t.starts_with.map(Rule::StartsWith),
                    t.ends_with.map(Rule::EndsWith),
                    t.matches.map(Rule::Matches),
                    t.max_len.map(Rule::MaxLen),
                ]
                .into_iter()
                .flatten()
                .collect();
                if rules.is_empty() {
                    return Err("an empty rule table allows everything; remove it or add a rule".into());
                }
                rules
            }
        };
        Constraint::new(rules)
    }
}

impl From<Constraint> for ConstraintRepr {
    fn from(c: Constraint) -> Self {
        let mut t = RuleTable::default();
        for rule in c.rules {
            match rule {
                Rule::Le(b) => t.le = Some(b),
                Rule::Lt(b) => t.lt = Some(b),
                Rule::Ge(b) => t.ge = Some(b),
                Rule::Gt(b) => t.gt = Some(b),
                Rule::Eq(v) => t.eq = Some(v),
                Rule::Ne(v) => t.ne = Some(v),
                Rule::In(v) => t.one_of = Some(v),
                Rule::NotIn(v) => t.not_in = Some(v),
                Rule::StartsWith(s) => t.starts_with = Some(s),
                Rule::EndsWith(s) => t.ends_with = Some(s),
                Rule::Matches(s) => t.matches = Some(s),
                Rule::MaxLen(n) => t.max_len = Some(n),
            }
        }
        ConstraintRepr::Table(Box::new(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(text: &str) -> Rule {
        parse_rule(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn string_forms_parse() {
        assert_eq!(parsed("<=1000"), Rule::Le(1000.0));
        assert_eq!(parsed("< 5"), Rule::Lt(5.0));
        assert_eq!(parsed(">=1"), Rule::Ge(1.0));
        assert_eq!(parsed("> -2.5"), Rule::Gt(-2.5));
        assert_eq!(parsed("== root"), Rule::Eq(json!("root")));
        assert_eq!(parsed("!= 3"), Rule::Ne(json!(3)));
        assert_eq!(parsed("in [1, \"a\"]"), Rule::In(vec![json!(1), json!("a")]));
        assert_eq!(parsed("not in [\"GBP\"]"), Rule::NotIn(vec![json!("GBP")]));
        assert_eq!(parsed("len <= 64"), Rule::MaxLen(64));
        assert_eq!(parsed("starts_with /data/"), Rule::StartsWith("/data/".into()));
        assert_eq!(parsed("ends_with \".csv\""), Rule::EndsWith(".csv".into()));
    }

    #[test]
    fn bad_rules_are_refused_with_a_reason() {
        for text in ["", "<= lots", "about 5", "in 5", "len < 3", "len <= -1"] {
            assert!(parse_rule(text).is_err(), "{text:?} should be refused");
        }
        assert!(Constraint::new(vec![Rule::Matches("(".into())]).is_err());
        assert!(Constraint::new(vec![Rule::Matches("a".repeat(2000))]).is_err());
    }

    #[test]
    fn rules_check_values() {
        let amount = Constraint::new(vec![Rule::Le(1000.0)]).expect("rule");
        assert!(amount.check(&json!(1000)).is_ok());
        assert!(amount.check(&json!(1000.5)).is_err());
        assert!(amount.check(&json!("5")).is_err(), "strings are not numbers");
        let currency = Constraint::new(vec![Rule::In(vec![json!("USD"), json!("EUR")])]).expect("rule");
        assert!(currency.check(&json!("EUR")).is_ok());
        let refusal = currency.check(&json!("GBP")).expect_err("GBP is not listed");
        assert!(refusal.contains("GBP"), "{refusal}");
        let name = Constraint::new(vec![Rule::Matches("^[a-z]+$".into()), Rule::MaxLen(3)]).expect("rule");
        assert!(name.check(&json!("abc")).is_ok());
        assert!(name.check(&json!("abcd")).is_err());
        assert!(name.check(&json!("ab1")).is_err());
        assert!(Rule::Eq(json!(1)).check(&json!(1.0)).is_ok());
        assert!(Rule::NotIn(vec![json!(null)]).check(&json!(null)).is_err());
    }
}
