//! Properties every policy document must satisfy, whatever its bytes.
//!
//! The fuzz target `policy` (in `fuzz/`) feeds these random input; the
//! crate's tests feed them seeds and mutations of them on stable Rust.

use crate::{Constraint, Policy, constraint::parse_rule};
use serde_json::Value;

/// Parses `bytes` as a policy the way the CLI does and checks that:
/// - nothing panics, whatever the input;
/// - a document that parses is valid, and survives a round trip through
///   both TOML and JSON unchanged (what `stockade policy default` prints
///   can be read back as the same policy).
pub fn policy_document(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let Ok(policy) = Policy::from_str_auto(text) else { return };
    assert!(policy.validate().is_ok(), "a parsed policy must be valid: {policy:?}");

    let toml = policy.to_toml_string();
    let again =
        Policy::from_toml_str(&toml).unwrap_or_else(|e| panic!("TOML round trip failed: {e}\n{toml}"));
    assert_eq!(again, policy, "the TOML round trip changed the policy:\n{toml}");

    let json = serde_json::to_string(&policy).expect("a policy serialises to JSON");
    let again =
        Policy::from_json_str(&json).unwrap_or_else(|e| panic!("JSON round trip failed: {e}\n{json}"));
    assert_eq!(again, policy, "the JSON round trip changed the policy:\n{json}");
}

/// Reads `bytes` as a rule in its string form (first line) and a value to
/// check (the rest, as JSON, else as a string), and checks that:
/// - parsing and checking never panic, whatever the rule and the value;
/// - a rule that parses survives a round trip through the policy's JSON.
pub fn constraint(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let (rule, value) = text.split_once('\n').unwrap_or((text, "null"));
    let value = serde_json::from_str::<Value>(value).unwrap_or_else(|_| Value::String(value.to_string()));
    let Ok(rule) = parse_rule(rule) else { return };
    let _ = rule.check(&value);
    let Ok(constraint) = Constraint::new(vec![rule]) else { return };
    let _ = constraint.check(&value);
    let json = serde_json::to_string(&constraint).expect("a constraint serialises");
    let again: Constraint =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("constraint round trip failed: {e}\n{json}"));
    assert_eq!(again, constraint, "the round trip changed the constraint: {json}");
}

/// Deterministic mutations of seed inputs, for running an oracle on stable
/// Rust where no fuzzer is: each item is a seed with a few bytes changed,
/// cut short, inserted from `alphabet`, or spliced from another seed.
///
/// The same seed state gives the same inputs, so a failure in CI replays.
pub struct Mutations<'a> {
    seeds: &'a [&'a [u8]],
    alphabet: &'a [u8],
    state: u64,
}

impl<'a> Mutations<'a> {
    /// Mutations of `seeds` that draw inserted bytes from `alphabet`.
    ///
    /// # Panics
    /// If `seeds` or `alphabet` is empty: there would be nothing to mutate.
    pub fn of(seeds: &'a [&'a [u8]], alphabet: &'a [u8]) -> Mutations<'a> {
        assert!(!seeds.is_empty() && !alphabet.is_empty(), "mutations need seeds and an alphabet");
        Mutations { seeds, alphabet, state: 0x9e37_79b9_7f4a_7c15 }
    }

    /// An xorshift step: fast, and reproducible, which is all this needs.
    fn next_below(&mut self, bound: usize) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state % bound.max(1) as u64) as usize
    }
}

impl Iterator for Mutations<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let mut bytes = self.seeds[self.next_below(self.seeds.len())].to_vec();
        for _ in 0..=self.next_below(4) {
            let at = self.next_below(bytes.len() + 1);
            match self.next_below(4) {
                0 if at < bytes.len() => bytes[at] = self.alphabet[self.next_below(self.alphabet.len())],
                1 => bytes.truncate(at),
                2 => {
                    let byte = self.alphabet[self.next_below(self.alphabet.len())];
                    bytes.insert(at, byte);
                }
                _ => {
                    let other = self.seeds[self.next_below(self.seeds.len())];
                    let from = self.next_below(other.len() + 1);
                    bytes.splice(at..at, other[from..].iter().take(40).copied());
                }
            }
        }
        Some(bytes)
    }
}
