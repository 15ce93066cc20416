//! Destination hosts in their canonical form: one spelling per host, so a
//! rule cannot be dodged by writing the same host another way.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A destination host in its canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name: lower-case ASCII (IDNA), no trailing dot.
    Name(String),
    /// An IP literal, in any of the forms `inet_aton` reads for IPv4.
    Ip(IpAddr),
}

/// Why a host name was refused before any lookup.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{host}` is not a host name or address: {why}")]
pub struct HostError {
    /// The host as given, escaped for printing.
    pub host: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl HostError {
    fn new(raw: &str, why: &'static str) -> HostError {
        HostError { host: printable(raw), why }
    }
}

/// Longest DNS name, in bytes of its ASCII form without the trailing dot.
const MAX_NAME: usize = 253;
/// Longest DNS label.
const MAX_LABEL: usize = 63;
/// Longest input read at all: no longer text can come out of IDNA as a
/// 253-byte name, and IDNA's work stays bounded on hostile input.
const MAX_RAW: usize = 1024;

impl Host {
    /// Canonicalizes `raw` (a name or IP literal, IPv6 with or without
    /// brackets, no port).
    ///
    /// Names are case-folded, lose one trailing dot, and go through IDNA
    /// (`bücher.example` becomes `xn--bcher-kva.example`). A name whose last
    /// label is a number is an IPv4 address as `inet_aton` reads it
    /// (`2130706433`, `127.1`, `0x7f.1`, `0177.0.0.1`), or is refused
    /// (`1.2.3.4.5`, `999.1.1.1`), as browsers do: a resolver would read it
    /// as an address, not look it up. IPv4-mapped IPv6 stays IPv6.
    pub fn parse(raw: &str) -> Result<Host, HostError> {
        let refuse = |why| HostError::new(raw, why);
        if raw.is_empty() {
            return Err(refuse("it is empty"));
        }
        if raw.len() > MAX_RAW {
            return Err(refuse("it is longer than any host name"));
        }
        if raw.chars().any(char::is_control) {
            return Err(refuse("it contains a control character"));
        }
        if raw.contains('%') {
            return Err(refuse("it contains `%`: no percent escapes, and no IPv6 zones"));
        }
        if let Some(inner) = raw.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| refuse("`[` opens an IPv6 address that no `]` closes"))?;
            return inner
                .parse::<Ipv6Addr>()
                .map(|ip| Host::Ip(IpAddr::V6(ip)))
                .map_err(|_| refuse("the brackets do not hold an IPv6 address"));
        }
        if raw.contains(':') {
            return raw
                .parse::<Ipv6Addr>()
                .map(|ip| Host::Ip(IpAddr::V6(ip)))
                .map_err(|_| refuse("it contains `:` but is not an IPv6 address (a port is written apart)"));
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(refuse("it contains a space"));
        }
        if raw.contains(['/', '\\']) {
            return Err(refuse("it contains `/` or `\\`: a host has no path"));
        }
        if raw.contains('@') {
            return Err(refuse("it contains `@`: a host has no user name"));
        }
        if has_empty_label(raw) {
            return Err(refuse("it has an empty label (`..`, a leading dot, or two trailing dots)"));
        }
        // Uppercase, full-width and other compatibility forms map here too,
        // so the checks below see the name a resolver would be asked for.
        let ascii = idna::domain_to_ascii_cow(raw.as_bytes(), idna::AsciiDenyList::URL)
            .map_err(|_| refuse("IDNA refuses it (not a valid internationalized name)"))?;
        if has_empty_label(&ascii) {
            return Err(refuse("it has an empty label (`..`, a leading dot, or two trailing dots)"));
        }
        let name = ascii.strip_suffix('.').unwrap_or(&ascii);
        let labels: Vec<&str> = name.split('.').collect();
        if labels.last().is_some_and(|last| is_number(last)) {
            return inet_aton(&labels)
                .map(|ip| Host::Ip(IpAddr::V4(ip)))
                .ok_or_else(|| refuse("it ends in a number but is not an IPv4 address"));
        }
        if labels.iter().any(|label| label.len() > MAX_LABEL) {
            return Err(refuse("a label is longer than 63 bytes"));
        }
        if name.len() > MAX_NAME {
            return Err(refuse("it is longer than 253 bytes"));
        }
        // `_` is in real names (`_dmarc.example.com`); anything else outside
        // letters, digits and `-` is no name a resolver should be asked for.
        let name_byte = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
        if !labels.iter().all(|label| label.bytes().all(name_byte)) {
            return Err(refuse("it has a character other than letters, digits, `-`, `_` and `.`"));
        }
        Ok(Host::Name(name.to_string()))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Whether `name`, less one trailing dot, has an empty label.
fn has_empty_label(name: &str) -> bool {
    name.strip_suffix('.').unwrap_or(name).split('.').any(str::is_empty)
}

/// Whether a label is a number as the WHATWG URL parser's "ends in a
/// number" reads it: decimal digits, or `0x` and hex digits (maybe none).
fn is_number(label: &str) -> bool {
    match label.strip_prefix("0x") {
        Some(hex) => hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// The IPv4 address `inet_aton` reads in `labels` (lower-case, as IDNA
/// left them): one to four numbers, each decimal, octal (a leading `0`) or
/// hex (`0x`), the last filling the bits the others leave.
fn inet_aton(labels: &[&str]) -> Option<Ipv4Addr> {
    if labels.len() > 4 {
        return None;
    }
    let numbers = labels.iter().map(|label| number(label)).collect::<Option<Vec<u64>>>()?;
    let (last, leading) = numbers.split_last()?;
    if leading.iter().any(|&n| n > 255) {
        return None;
    }
    let last_bits = 32 - 8 * leading.len() as u32;
    if *last >= 1u64 << last_bits {
        return None;
    }
    let high = leading.iter().enumerate().fold(0u64, |acc, (i, &n)| acc | n << (24 - 8 * i));
    u32::try_from(high | last).ok().map(Ipv4Addr::from)
}

/// One `inet_aton` number; `None` for digits its base lacks (`08`).
fn number(label: &str) -> Option<u64> {
    let (digits, radix) = match label.strip_prefix("0x") {
        // `0x` alone is 0, for glibc and for browsers alike.
        Some("") => return Some(0),
        Some(hex) => (hex, 16),
        None if label.len() > 1 && label.starts_with('0') => (&label[1..], 8),
        None => (label, 10),
    };
    if !digits.bytes().all(|b| char::from(b).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `raw` for an error message: control characters escaped (`\u{0}`,
/// `\r`), cut at about 100 characters.
pub fn printable(raw: &str) -> String {
    const MAX_CHARS: usize = 100;
    let mut out = String::new();
    for (count, c) in raw.chars().enumerate() {
        if count == MAX_CHARS {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> String {
        match Host::parse(raw) {
            Ok(Host::Name(name)) => name,
            other => panic!("{raw:?} should be a name, got {other:?}"),
        }
    }

    fn ip(raw: &str) -> IpAddr {
        match Host::parse(raw) {
            Ok(Host::Ip(ip)) => ip,
            other => panic!("{raw:?} should be an address, got {other:?}"),
        }
    }

    #[test]
    fn names_are_canonical() {
        assert_eq!(name("API.GitHub.com."), "api.github.com");
        assert_eq!(name("_dmarc.example.com"), "_dmarc.example.com");
        assert_eq!(name("localhost"), "localhost");
        assert_eq!(name("1.2.3.a"), "1.2.3.a");
        assert_eq!(name(&format!("{}.com", "a".repeat(63))).len(), 67);
    }

    #[test]
    fn idna_gives_the_ascii_form() {
        assert_eq!(name("bücher.example"), "xn--bcher-kva.example");
        assert_eq!(name("BÜCHER.example"), "xn--bcher-kva.example");
        assert_eq!(name("xn--bcher-kva.example"), "xn--bcher-kva.example");
        // Full-width letters and the ideographic full stop are the same name.
        assert_eq!(name("ｅｘａｍｐｌｅ。com"), "example.com");
        // A full-width spelling of an address is that address, not a name.
        assert_eq!(ip("１２７.０.０.１"), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(Host::parse("xn--a.example").is_err(), "bad punycode");
        assert!(Host::parse("ex\u{FF0F}ample.com").is_err(), "a full-width solidus is `/`");
    }

    #[test]
    fn every_inet_aton_spelling_is_an_address() {
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for raw in [
            "127.0.0.1",
            "127.0.0.1.",
            "2130706433",
            "127.1",
            "127.0.1",
            "0x7f.1",
            "0X7F.0.0.1",
            "0177.0.0.1",
            "0x7f000001",
            "017700000001",
            "0x7f.0x0.0x0.0x1",
        ] {
            assert_eq!(ip(raw), loopback, "{raw}");
        }
        assert_eq!(ip("0x"), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(ip("0"), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(ip("10.0x10203"), IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(ip("1.2.0x"), IpAddr::V4(Ipv4Addr::new(1, 2, 0, 0)));
        for raw in ["1.2.3.4.5", "999.1.1.1", "1.2.3.256", "08.1.1.1", "4294967296", "foo.1", "foo.0x1f"] {
            let err = Host::parse(raw).expect_err(raw);
            assert!(err.why.contains("number"), "{raw}: {err}");
        }
    }

    #[test]
    fn ipv6_with_or_without_brackets() {
        let one: IpAddr = "::1".parse().expect("an address");
        assert_eq!(ip("[::1]"), one);
        assert_eq!(ip("::1"), one);
        assert_eq!(ip("[2001:DB8::1]"), "2001:db8::1".parse::<IpAddr>().expect("an address"));
        let mapped = ip("::ffff:127.0.0.1");
        assert!(matches!(mapped, IpAddr::V6(_)), "a mapped address stays IPv6");
        for raw in
            ["[::1", "::1]", "[example.com]", "fe80::1%eth0", "[fe80::1%25eth0]", "example.com:443", ":::"]
        {
            assert!(Host::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn malformed_names_are_refused() {
        let long_name = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        let cases = [
            ("", "empty"),
            ("a\0b.com", "control"),
            ("a.com\r\nHost: evil", "control"),
            ("a.com\n", "control"),
            ("\u{7f}a.com", "control"),
            ("a b.com", "space"),
            ("a.com/x", "path"),
            ("a.com\\x", "path"),
            ("user@a.com", "user"),
            ("a%2ecom", "%"),
            ("a..b", "empty label"),
            (".a", "empty label"),
            ("example.com..", "empty label"),
            (".", "empty label"),
            ("a*.com", "character"),
            ("a!.com", "character"),
            (&long_name, "253"),
        ];
        for (raw, why) in cases {
            let err = Host::parse(raw).expect_err(raw);
            assert!(err.to_string().contains(why), "{raw:?}: {err}");
        }
        let err = Host::parse(&format!("{}.com", "a".repeat(64))).expect_err("a long label");
        assert!(err.why.contains("63"), "{err}");
    }

    #[test]
    fn errors_print_escaped_and_short() {
        let err = Host::parse("evil\0.com\r\n").expect_err("control characters");
        assert_eq!(err.host, "evil\\0.com\\r\\n");
        let err = Host::parse(&format!("{}\0", "x".repeat(500))).expect_err("NUL");
        assert!(err.host.chars().count() <= 101 && err.host.ends_with('…'), "{}", err.host);
        assert!(!err.to_string().contains('\0'));
    }
}
