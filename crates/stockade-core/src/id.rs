//! Random ids: the one generator for run and session ids, the HTTP API's
//! session ids and the jail's output markers.

/// `bytes` random bytes from the operating system, as lowercase hex
/// (`2 × bytes` characters). Unpredictable, so that an id can also be a
/// marker a guest cannot forge.
pub fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| match e.raw_os_error() {
        Some(errno) => std::io::Error::from_raw_os_error(errno),
        None => std::io::Error::other(e.to_string()),
    })?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_hex_of_their_length_and_differ() {
        let (a, b) = (super::random_hex(16).expect("in a test"), super::random_hex(16).expect("in a test"));
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{a}");
        assert_ne!(a, b);
    }
}
