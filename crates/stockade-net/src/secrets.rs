//! Secrets added at egress: the guest holds a placeholder, and the engine
//! swaps the real value in, in the secret's own request headers only
//! (`Authorization` and `x-api-key` unless it names others), on requests to
//! its own hosts, over TLS that it terminates (or plain HTTP where the
//! secret says so). Everywhere else the placeholder goes out as it is.
//!
//! The real value never reaches the guest: every answer from a host a
//! secret may go to has each copy of it, in every likely encoding, turned
//! back into the placeholder, in its headers and its body, before the guest
//! reads a byte (see [`crate::redact`]).

use crate::redact::Redactor;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::BTreeMap;
use stockade_policy::SecretPolicy;
use stockade_policy::network::{Host, Pattern};

/// The shortest real value accepted: a shorter one could not be told apart
/// from other text in a header or an answer.
pub const MIN_SECRET_BYTES: usize = 8;

/// Why the secrets could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The host has no such variable (or it is not UTF-8).
    #[error("secrets.{name}: the host has no variable {variable} (or it is not UTF-8)")]
    Missing {
        /// The secret.
        name: String,
        /// `from_env`.
        variable: String,
    },
    /// The value is too short, or cannot be sent in a header.
    #[error("secrets.{name}: the value of {variable} {why}")]
    Unusable {
        /// The secret.
        name: String,
        /// `from_env`.
        variable: String,
        /// What is wrong with it.
        why: String,
    },
    /// A header name did not parse (the policy's validation prevents it).
    #[error("secrets.{name}.headers: {why}")]
    Headers {
        /// The secret.
        name: String,
        /// The name's error.
        why: String,
    },
    /// A host pattern did not parse (the policy's validation prevents it).
    #[error("secrets.{name}.hosts: {why}")]
    Hosts {
        /// The secret.
        name: String,
        /// The pattern's error.
        why: String,
    },
}

/// One secret: its real value, the guest's placeholder, where it may go.
struct Secret {
    name: String,
    value: String,
    placeholder: String,
    hosts: Vec<Pattern>,
    /// The request headers it may go into.
    headers: Vec<HeaderName>,
    plain_http: bool,
}

/// What happened to the secrets a request's headers held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swapped {
    /// Secrets whose real value went out in place of their placeholder.
    pub swapped: Vec<String>,
    /// Secrets whose placeholder went out unchanged, and why.
    pub withheld: Vec<(String, String)>,
}

impl Swapped {
    /// What the audit log notes: `NAME swapped in`, `NAME withheld: why`.
    pub fn notes(&self) -> Vec<String> {
        let swapped = self.swapped.iter().map(|name| format!("{name} swapped in"));
        swapped.chain(self.withheld.iter().map(|(name, why)| format!("{name} withheld: {why}"))).collect()
    }
}

/// A run's secrets.
pub struct Secrets {
    secrets: Vec<Secret>,
    redactor: Redactor,
}

impl Default for Secrets {
    fn default() -> Secrets {
        Secrets::from_secrets(Vec::new())
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values: only which secrets there are.
        f.debug_list().entries(self.secrets.iter().map(|secret| &secret.name)).finish()
    }
}

impl Secrets {
    /// The policy's secrets, with each real value read by `lookup` (the
    /// host's environment) and a fresh placeholder made for it.
    pub fn new(
        policy: &BTreeMap<String, SecretPolicy>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Secrets, SecretError> {
        let mut secrets = Vec::new();
        for (name, secret) in policy {
            let variable = secret.from_env.clone();
            let value = lookup(&variable)
                .ok_or_else(|| SecretError::Missing { name: name.clone(), variable: variable.clone() })?;
            let unusable =
                |why: String| SecretError::Unusable { name: name.clone(), variable: variable.clone(), why };
            if value.len() < MIN_SECRET_BYTES {
                return Err(unusable(format!(
                    "is {} bytes, under the {MIN_SECRET_BYTES} a secret needs",
                    value.len()
                )));
            }
            if HeaderValue::from_str(&value).is_err() || value.trim() != value {
                return Err(unusable(
                    "is not a header value (a control character, or a space at an end)".into(),
                ));
            }
            let hosts = secret
                .hosts
                .iter()
                .map(|host| Pattern::parse(host))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|why| SecretError::Hosts { name: name.clone(), why })?;
            let headers = secret
                .headers
                .iter()
                .map(|header| HeaderName::from_bytes(header.as_bytes()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SecretError::Headers { name: name.clone(), why: e.to_string() })?;
            let placeholder = placeholder_for(&value);
            secrets.push(Secret {
                name: name.clone(),
                value,
                placeholder,
                hosts,
                headers,
                plain_http: secret.allow_plain_http,
            });
        }
        Ok(Secrets::from_secrets(secrets))
    }

    fn from_secrets(secrets: Vec<Secret>) -> Secrets {
        let redactor = Redactor::new(secrets.iter().map(|s| (s.value.as_str(), s.placeholder.as_str())));
        Secrets { secrets, redactor }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// What the guest's environment holds: each secret's placeholder under
    /// the secret's name.
    pub fn guest_env(&self) -> Vec<(String, String)> {
        self.secrets.iter().map(|secret| (secret.name.clone(), secret.placeholder.clone())).collect()
    }

    /// Whether some secret may go to `host` on `port`: the engine then
    /// terminates tunnels there, to be able to swap it in, and redacts
    /// every answer from there (which might echo or have kept it).
    pub fn go_to(&self, host: &Host, port: u16) -> bool {
        self.secrets.iter().any(|secret| secret.hosts.iter().any(|pattern| pattern.matches(host, port)))
    }

    /// Swaps the real values in for placeholders in `headers`, where the
    /// secret may go to `host` on `port` over this transport (`tls`: one
    /// the engine terminated), in the headers it may go into.
    pub fn swap_in(&self, headers: &mut HeaderMap, host: &Host, port: u16, tls: bool) -> Swapped {
        let mut result = Swapped::default();
        for secret in &self.secrets {
            let placeholder = secret.placeholder.as_bytes();
            let holding: Vec<HeaderName> = headers
                .iter()
                .filter(|(_, value)| contains(value.as_bytes(), placeholder))
                .map(|(name, _)| name.clone())
                .collect();
            if holding.is_empty() {
                continue;
            }
            let why = if !secret.hosts.iter().any(|pattern| pattern.matches(host, port)) {
                Some("not one of its hosts".to_string())
            } else if !tls && !secret.plain_http {
                Some("plain HTTP, and the secret has no allow_plain_http".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                result.withheld.push((secret.name.clone(), why));
                continue;
            }
            let mut swapped = false;
            for name in holding {
                if !secret.headers.contains(&name) {
                    let why = format!("{name} is not one of its headers");
                    if !result.withheld.iter().any(|(n, w)| *n == secret.name && *w == why) {
                        result.withheld.push((secret.name.clone(), why));
                    }
                    continue;
                }
                if let hyper::header::Entry::Occupied(mut entry) = headers.entry(&name) {
                    for value in entry.iter_mut() {
                        if let Some(real) = replaced(value.as_bytes(), &secret.placeholder, &secret.value) {
                            // A real value was checked to be a header
                            // value, and the rest of the header was one.
                            if let Ok(real) = HeaderValue::from_bytes(&real) {
                                *value = real;
                                swapped = true;
                            }
                        }
                    }
                }
            }
            if swapped {
                result.swapped.push(secret.name.clone());
            }
        }
        result
    }

    /// Turns every real value in `headers` back into its placeholder.
    pub fn redact_headers(&self, headers: &mut HeaderMap) {
        for value in headers.values_mut() {
            let mut bytes = value.as_bytes().to_vec();
            if self.redactor.redact(&mut bytes)
                && let Ok(redacted) = HeaderValue::from_bytes(&bytes)
            {
                *value = redacted;
            }
        }
    }

    /// Turns every real value in `bytes` back into its placeholder, in
    /// place: what replaces each form of it is as long as the form.
    pub fn redact(&self, bytes: &mut [u8]) {
        self.redactor.redact(bytes);
    }

    /// How much of an answer's body must be held back, at most, until the
    /// next bytes show whether a real value (in some form) runs on.
    pub fn longest(&self) -> usize {
        self.redactor.longest()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// `bytes` with every `from` replaced by `to`, or `None` if it holds none.
fn replaced(bytes: &[u8], from: &str, to: &str) -> Option<Vec<u8>> {
    let (from, to) = (from.as_bytes(), to.as_bytes());
    find(bytes, from)?;
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(found) = find(rest, from) {
        out.extend_from_slice(&rest[..found]);
        out.extend_from_slice(to);
        rest = &rest[found + from.len()..];
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// A placeholder shaped like `value`, so that an SDK that checks a key's
/// format accepts it: the same length, the same leading words (`sk-proj-`,
/// `ghp_`, `xoxb-`), and random characters of the same kind (hex digits
/// for a hex value, else letters and digits) for the rest.
pub fn placeholder_for(value: &str) -> String {
    let prefix = shaped_prefix(value);
    let rest = &value[prefix.len()..];
    let alphabet: &[u8] = if rest.bytes().all(|b| b.is_ascii_digit()) {
        b"0123456789"
    } else if rest.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        b"0123456789abcdef"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    };
    let mut random = vec![0u8; rest.len()];
    // Without the system's randomness there is nothing safe to make a
    // placeholder from; it cannot fail on Linux once the pool is ready.
    getrandom::fill(&mut random).expect("the system's randomness");
    let mut placeholder = prefix.to_string();
    placeholder.extend(random.iter().map(|&byte| alphabet[usize::from(byte) % alphabet.len()] as char));
    placeholder
}

/// The leading words of a key: runs of up to eight letters, each ended by
/// `-` or `_`, within the value's first half (so most of it stays random).
fn shaped_prefix(value: &str) -> &str {
    let bytes = value.as_bytes();
    let (mut end, mut at) = (0, 0);
    while at < bytes.len() / 2 {
        let word = bytes[at..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let next = at + word;
        if word == 0 || word > 8 || next >= bytes.len() / 2 || !matches!(bytes[next], b'-' | b'_') {
            break;
        }
        at = next + 1;
        end = at;
    }
    &value[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(hosts: &[&str], plain_http: bool) -> Secrets {
        let policy = BTreeMap::from([(
            "API_KEY".to_string(),
            SecretPolicy { allow_plain_http: plain_http, ..SecretPolicy::new("REAL", hosts.iter().copied()) },
        )]);
        Secrets::new(&policy, |_| Some("sk-proj-Zq81realvalue0000".into())).expect("secrets")
    }

    #[test]
    fn a_placeholder_keeps_the_shape_and_not_the_value() {
        for value in
            ["sk-proj-abcdefghijklmnopqrstuvwxyz012345", "ghp_0123456789abcdefABCDEF", "deadbeefcafe0123"]
        {
            let placeholder = placeholder_for(value);
            assert_eq!(placeholder.len(), value.len(), "{value}");
            assert_ne!(placeholder, value);
            assert_ne!(placeholder, placeholder_for(value), "each placeholder is fresh");
        }
        assert!(placeholder_for("sk-proj-abcdefghijklmnopqrstuvwxyz012345").starts_with("sk-proj-"));
        assert!(placeholder_for("ghp_0123456789abcdefABCDEF").starts_with("ghp_"));
        assert!(placeholder_for("deadbeefcafe0123").bytes().all(|b| b.is_ascii_hexdigit()));
        // A value that is one long word keeps nothing of itself.
        assert_eq!(shaped_prefix("abcdefghijklmnop-qrstu"), "");
    }

    #[test]
    fn a_secret_is_swapped_in_for_its_hosts_only_and_over_plain_http_only_when_allowed() {
        let secrets = secrets(&["api.example"], false);
        let (_, placeholder) = secrets.guest_env().remove(0);
        let header = |text: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", HeaderValue::from_str(text).expect("a value"));
            headers
        };
        let api = Host::parse("api.example").expect("host");
        let mut sent = header(&format!("Bearer {placeholder}"));
        assert_eq!(secrets.swap_in(&mut sent, &api, 443, true).swapped, ["API_KEY"]);
        assert_eq!(sent["authorization"], "Bearer sk-proj-Zq81realvalue0000");

        let other = Host::parse("evil.example").expect("host");
        let mut sent = header(&format!("Bearer {placeholder}"));
        let result = secrets.swap_in(&mut sent, &other, 443, true);
        assert_eq!(result.withheld, [("API_KEY".to_string(), "not one of its hosts".to_string())]);
        assert_eq!(sent["authorization"], format!("Bearer {placeholder}").as_str());

        let mut sent = header(&format!("Bearer {placeholder}"));
        assert!(secrets.swap_in(&mut sent, &api, 80, false).swapped.is_empty());
        assert!(sent["authorization"].to_str().expect("text").contains(&placeholder));
        let plain = self::secrets(&["api.example"], true);
        let (_, placeholder) = plain.guest_env().remove(0);
        let mut sent = header(&placeholder);
        assert_eq!(plain.swap_in(&mut sent, &api, 80, false).swapped, ["API_KEY"]);
    }

    #[test]
    fn a_secret_goes_into_its_own_headers_only() {
        // A header the server keeps (an object's metadata) would let the
        // guest read the real value back; only credential headers get it.
        let secrets = secrets(&["api.example"], false);
        let (_, placeholder) = secrets.guest_env().remove(0);
        let mut sent = HeaderMap::new();
        sent.insert("x-api-key", HeaderValue::from_str(&placeholder).expect("a value"));
        sent.insert("x-amz-meta-note", HeaderValue::from_str(&placeholder).expect("a value"));
        let api = Host::parse("api.example").expect("host");
        let result = secrets.swap_in(&mut sent, &api, 443, true);
        assert_eq!(result.swapped, ["API_KEY"]);
        assert_eq!(
            result.notes(),
            ["API_KEY swapped in", "API_KEY withheld: x-amz-meta-note is not one of its headers"]
        );
        assert_eq!(sent["x-api-key"], "sk-proj-Zq81realvalue0000");
        assert_eq!(sent["x-amz-meta-note"], placeholder.as_str());

        let mut only_elsewhere = HeaderMap::new();
        only_elsewhere.insert("cookie", HeaderValue::from_str(&placeholder).expect("a value"));
        let result = secrets.swap_in(&mut only_elsewhere, &api, 443, true);
        assert!(result.swapped.is_empty(), "nothing went out");
        assert_eq!(only_elsewhere["cookie"], placeholder.as_str());
    }

    #[test]
    fn an_answer_never_carries_the_real_value_back() {
        let secrets = secrets(&["api.example"], false);
        let (_, placeholder) = secrets.guest_env().remove(0);
        let mut body = b"echo: sk-proj-Zq81realvalue0000 and sk-proj-Zq81realvalue0000.".to_vec();
        secrets.redact(&mut body);
        assert_eq!(body, format!("echo: {placeholder} and {placeholder}.").as_bytes());
        let mut headers = HeaderMap::new();
        headers.insert("x-echo", HeaderValue::from_static("sk-proj-Zq81realvalue0000"));
        secrets.redact_headers(&mut headers);
        assert_eq!(headers["x-echo"], placeholder.as_str());
    }

    #[test]
    fn unusable_values_are_refused_with_the_secret_named() {
        let policy = BTreeMap::from([("K".to_string(), SecretPolicy::new("V", ["a.example"]))]);
        let error = |value: Option<&str>| {
            Secrets::new(&policy, |_| value.map(str::to_string)).expect_err("refused").to_string()
        };
        assert!(error(None).contains("secrets.K: the host has no variable V"));
        assert!(error(Some("short")).contains("5 bytes"));
        assert!(error(Some("line\r\nbreak-in-it")).contains("not a header value"));
    }
}
