//! The bearer check both HTTP servers make (`stockade serve`, `stockade mcp
//! --listen`): the token's SHA-256 against the digests the server was given.

use axum::http::HeaderMap;

/// What a request's `Authorization` header says.
#[derive(Debug, PartialEq, Eq)]
pub enum Bearer {
    /// No `Authorization: Bearer TOKEN` at all.
    Missing,
    /// A token, but none of the server's.
    Unknown,
    /// The token whose digest is at this index.
    Known(usize),
}

impl Bearer {
    /// Checks `headers` against `known`, SHA-256 digests in hex. Every digest
    /// is compared, in constant time, whatever matches first, so the time a
    /// check takes says nothing of which token matched, or how nearly.
    pub fn of<'a>(headers: &HeaderMap, known: impl IntoIterator<Item = &'a str>) -> Bearer {
        let Some(token) = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return Bearer::Missing;
        };
        let digest = stockade::audit_log::sha256_hex(token.trim().as_bytes());
        let mut found = Bearer::Unknown;
        for (index, expected) in known.into_iter().enumerate() {
            if constant_time_eq::constant_time_eq(digest.as_bytes(), expected.as_bytes()) {
                found = Bearer::Known(index);
            }
        }
        found
    }

    /// Why a request that is not [`Bearer::Known`] gets 401.
    pub fn refusal(&self) -> &'static str {
        match self {
            Bearer::Missing => "send `Authorization: Bearer TOKEN`",
            _ => "unknown token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Bearer;
    use axum::http::HeaderMap;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", value.parse().expect("a header value"));
        headers
    }

    #[test]
    fn a_token_is_known_by_its_digest_and_nothing_else_is() {
        let a = stockade::audit_log::sha256_hex(b"token-a");
        let b = stockade::audit_log::sha256_hex(b"token-b");
        let known = [a.as_str(), b.as_str()];
        assert_eq!(Bearer::of(&with("Bearer token-b"), known), Bearer::Known(1));
        assert_eq!(Bearer::of(&with("Bearer  token-a "), known), Bearer::Known(0));
        assert_eq!(Bearer::of(&with("Bearer token-c"), known), Bearer::Unknown);
        assert_eq!(Bearer::of(&with("Bearer "), known), Bearer::Unknown);
        assert_eq!(Bearer::of(&with("Basic dG9rZW4tYQ=="), known), Bearer::Missing);
        assert_eq!(Bearer::of(&with(&a), known), Bearer::Missing, "the digest itself is no token");
        assert_eq!(Bearer::of(&HeaderMap::new(), known), Bearer::Missing);
        assert_eq!(Bearer::of(&with("Bearer token-a"), []), Bearer::Unknown);
    }
}
