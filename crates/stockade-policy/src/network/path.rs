//! Request paths in one spelling, so that a path rule (`/v1/`) is checked
//! against what a server will serve, not against how the guest wrote it.

/// `path` (a request target's path, before any `?`) in its normal form,
/// or why it is refused outright.
///
/// Percent escapes of unreserved characters are decoded (`%41` is `A`,
/// `%2e` is `.`) and the others written in upper case; bytes a path may
/// not hold raw (a space, non-ASCII) are escaped. Then `.` and `..`
/// segments are resolved. `//` stays as it is: a server may serve `//v1/`
/// apart from `/v1/`.
///
/// Refused, because servers disagree on what they mean: an escaped `/` or
/// `\` (`%2f`, `%5c`, or escaped twice, `%252f`), an escaped `.` escaped
/// twice (`%252e`), a raw `\`, a control character (raw or escaped), a `?`
/// or `#`, a `..` above the root, a dot segment with parameters (`..;`,
/// which some servers read as `..`), and a path that does not start with `/`.
///
/// ```
/// use stockade_policy::network::normalize_path;
///
/// assert_eq!(normalize_path("/v1/%7Euser/./a/../b"), Ok("/v1/~user/b".to_string()));
/// assert!(normalize_path("/v1%2fadmin").is_err());
/// assert!(normalize_path("/../etc").is_err());
/// ```
pub fn normalize_path(path: &str) -> Result<String, &'static str> {
    if !path.starts_with('/') {
        return Err("a path starts with `/`");
    }
    let decoded = decode(path.as_bytes())?;
    resolve(&decoded)
}

/// Unreserved characters (RFC 3986): never changed by escaping them.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters a path holds raw besides unreserved ones: sub-delimiters,
/// `:`, `@`, and `/` itself.
fn raw_in_path(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@' | b'/'
    )
}

fn control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// The path with its escapes decoded where that changes nothing, and
/// written in one case where it would.
fn decode(bytes: &[u8]) -> Result<String, &'static str> {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let value =
                match (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                    (Some(high), Some(low)) => high << 4 | low,
                    _ => return Err("a `%` without two hex digits after it"),
                };
            i += 3;
            match value {
                b'/' | b'\\' => return Err("an escaped `/` or `\\` (`%2f`, `%5c`)"),
                v if control(v) => return Err("an escaped control character"),
                v if unreserved(v) => out.push(char::from(v)),
                v => out.push_str(&format!("%{v:02X}")),
            }
            continue;
        }
        match b {
            b'\\' => return Err("a `\\`, which some servers read as `/`"),
            b'?' | b'#' => return Err("a `?` or `#`: a path ends before the query"),
            b if control(b) => return Err("a control character"),
            b if unreserved(b) || raw_in_path(b) => out.push(char::from(b)),
            b => out.push_str(&format!("%{b:02X}")),
        }
        i += 1;
    }
    // On the decoded form, so `%25%32%66` is caught as well as `%252f`.
    if twice_escaped(&out) {
        return Err("an escape escaped twice (`%252e`, `%252f`, `%255c`)");
    }
    Ok(out)
}

/// Whether `decoded` escapes an escape of `.`, `/` or `\`: a server that
/// decodes twice would see a dot segment or a separator.
fn twice_escaped(decoded: &str) -> bool {
    decoded.match_indices("%25").any(|(at, _)| {
        let next = decoded.as_bytes().get(at + 3..at + 5).map(<[u8]>::to_ascii_lowercase);
        matches!(next.as_deref(), Some(b"2e" | b"2f" | b"5c"))
    })
}

/// `path` (decoded, starting with `/`) with its dot segments resolved.
fn resolve(path: &str) -> Result<String, &'static str> {
    let segments: Vec<&str> = path[1..].split('/').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, &segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let bare = segment.split(';').next().unwrap_or(segment);
        if bare != segment && (bare == "." || bare == "..") {
            return Err("a dot segment with parameters (`..;`)");
        }
        match segment {
            "." => {}
            ".." => {
                kept.pop().ok_or("a `..` above the root")?;
            }
            _ => {
                kept.push(segment);
                continue;
            }
        }
        // `/a/b/..` is `/a/`: a dot segment at the end leaves a folder.
        if last {
            kept.push("");
        }
    }
    Ok(format!("/{}", kept.join("/")))
}

/// Whether the normal path `path` is within `prefix` (normal too): below
/// it, when `prefix` ends with `/`; else it or below it, at a segment
/// boundary (`/v1` covers `/v1` and `/v1/x`, not `/v10`).
pub(super) fn within(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(path: &str) -> String {
        normalize_path(path).unwrap_or_else(|why| panic!("{path:?}: {why}"))
    }

    #[test]
    fn escapes_and_dot_segments() {
        for (path, want) in [
            ("/", "/"),
            ("/v1/x", "/v1/x"),
            ("/%41%2D%7e", "/A-~"),
            ("/a%3ab", "/a%3Ab"),
            ("/a%c3%bc", "/a%C3%BC"),
            ("/aü b", "/a%C3%BC%20b"),
            ("/v1/./x", "/v1/x"),
            ("/v1/.", "/v1/"),
            ("/v1/a/..", "/v1/"),
            ("/v1/a/../b", "/v1/b"),
            ("/v1/%2e%2e/admin", "/admin"),
            ("/v1/%2E/x", "/v1/x"),
            ("/v1/..", "/"),
            ("//v1/", "//v1/"),
            ("/a//b", "/a//b"),
            ("/a;b=c/d", "/a;b=c/d"),
            ("/...", "/..."),
        ] {
            assert_eq!(normal(path), want, "{path}");
            assert_eq!(normal(want), want, "normal forms are fixed points");
        }
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        for path in [
            "",
            "v1/x",
            "*",
            "/..",
            "/a/../..",
            "/%2e%2e/x",
            "/v1%2fadmin",
            "/v1%2Fadmin",
            "/v1%5cadmin",
            "/v1\\admin",
            "/v1%252fadmin",
            "/v1/%252e%252e/admin",
            "/v1/%25%32%65%25%32%65/admin",
            "/a%00b",
            "/a\0b",
            "/a\r\nb",
            "/a%0d%0ab",
            "/a?b",
            "/a#b",
            "/a%",
            "/a%4",
            "/a%zz",
            "/v1/..;/admin",
            "/v1/.;x/admin",
        ] {
            assert!(normalize_path(path).is_err(), "{path:?}");
        }
    }

    #[test]
    fn prefixes_end_at_segments() {
        assert!(within("/v1", "/v1") && within("/v1/x", "/v1") && !within("/v10", "/v1"));
        assert!(within("/v1/x", "/v1/") && !within("/v1", "/v1/") && !within("//v1/", "/v1/"));
        assert!(within("/anything", "/"));
    }
}
