//! The server name of a tunnel's TLS ClientHello, read without terminating
//! TLS: a tunnel is let through only to the host its CONNECT named, and the
//! ClientHello says which host the client will actually talk to.

use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake};

/// The most a ClientHello may take before the engine gives up on it.
pub(crate) const MAX_HELLO_BYTES: usize = 64 << 10;

/// What the first bytes of a tunnel say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Hello {
    /// Not all of the ClientHello has arrived yet.
    Incomplete,
    /// A ClientHello, with the server name it asks for, if any.
    ServerName(Option<String>),
}

/// Reads the ClientHello at the start of `bytes`, which may span several
/// TLS records; refuses anything that is not one.
pub(crate) fn client_hello(bytes: &[u8]) -> Result<Hello, &'static str> {
    // The handshake message, gathered from the records' fragments.
    let mut message = Vec::new();
    let mut rest = bytes;
    loop {
        if rest.len() < 5 {
            return Ok(Hello::Incomplete);
        }
        if rest[0] != 0x16 {
            return Err("not a TLS handshake");
        }
        let length = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest.len() < 5 + length {
            return Ok(Hello::Incomplete);
        }
        message.extend_from_slice(&rest[5..5 + length]);
        rest = &rest[5 + length..];
        if message.len() >= 4 {
            if message[0] != 0x01 {
                return Err("the first handshake message is not a ClientHello");
            }
            let wanted =
                4 + (usize::from(message[1]) << 16 | usize::from(message[2]) << 8 | usize::from(message[3]));
            if message.len() >= wanted {
                message.truncate(wanted);
                break;
            }
        }
    }
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(hello)))) =
        tls_parser::parse_tls_message_handshake(&message)
    else {
        return Err("a malformed ClientHello");
    };
    let Some(extensions) = hello.ext else {
        return Ok(Hello::ServerName(None));
    };
    let Ok((_, extensions)) = tls_parser::parse_tls_client_hello_extensions(extensions) else {
        return Err("malformed ClientHello extensions");
    };
    let mut names = extensions.iter().filter_map(|extension| match extension {
        TlsExtension::SNI(names) => Some(names),
        _ => None,
    });
    let Some(names) = names.next() else {
        return Ok(Hello::ServerName(None));
    };
    if names.len() != 1 {
        return Err("a server name extension must carry exactly one name");
    }
    let (kind, name) = names[0];
    if kind.0 != 0 {
        return Err("a server name that is not a host name");
    }
    match std::str::from_utf8(name) {
        Ok(name) => Ok(Hello::ServerName(Some(name.to_string()))),
        Err(_) => Err("a server name that is not text"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal TLS 1.2 ClientHello asking for `name` (none when empty),
    /// split into records of at most `fragment` bytes.
    pub(crate) fn client_hello_bytes(name: &str, fragment: usize) -> Vec<u8> {
        let mut extensions = Vec::new();
        if !name.is_empty() {
            let entry_len = 3 + name.len();
            extensions.extend_from_slice(&[0x00, 0x00]);
            extensions.extend_from_slice(&((entry_len + 2) as u16).to_be_bytes());
            extensions.extend_from_slice(&(entry_len as u16).to_be_bytes());
            extensions.push(0);
            extensions.extend_from_slice(&(name.len() as u16).to_be_bytes());
            extensions.extend_from_slice(name.as_bytes());
        }
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        body.extend_from_slice(&[0x00, 0x02, 0x13, 0x01]);
        body.extend_from_slice(&[0x01, 0x00]);
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(&extensions);
        let mut message = vec![0x01];
        message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        message.extend_from_slice(&body);
        let mut records = Vec::new();
        for chunk in message.chunks(fragment) {
            records.extend_from_slice(&[0x16, 0x03, 0x01]);
            records.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
            records.extend_from_slice(chunk);
        }
        records
    }

    #[test]
    fn the_server_name_is_read_from_one_record_or_many() {
        let whole = client_hello_bytes("allowed.test", 1 << 14);
        assert_eq!(client_hello(&whole), Ok(Hello::ServerName(Some("allowed.test".into()))));
        let split = client_hello_bytes("allowed.test", 7);
        assert_eq!(client_hello(&split), Ok(Hello::ServerName(Some("allowed.test".into()))));
        for cut in 0..split.len() {
            assert_eq!(client_hello(&split[..cut]), Ok(Hello::Incomplete), "cut at {cut}");
        }
        assert_eq!(client_hello(&client_hello_bytes("", 1 << 14)), Ok(Hello::ServerName(None)));
    }

    #[test]
    fn what_is_not_a_client_hello_is_refused() {
        assert!(client_hello(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").is_err());
        assert!(client_hello(b"SSH-2.0-OpenSSH_9.2\r\n").is_err());
        let mut server_hello = client_hello_bytes("a.test", 1 << 14);
        server_hello[5] = 0x02;
        assert!(client_hello(&server_hello).is_err());
        let mut data = client_hello_bytes("a.test", 1 << 14);
        data[0] = 0x17;
        assert!(client_hello(&data).is_err(), "application data first");
    }
}
