//! Test servers for the engine's tests and the sandbox's end-to-end ones:
//! a DNS server that answers what the test says, and an origin server, both
//! on loopback. Only with the `testing` feature.

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType, rdata};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};

/// A DNS server on `127.0.0.1` that answers A and AAAA queries from a
/// function, with a TTL of 0 (so nothing is cached), and notes every name
/// it was asked.
pub struct TestDns {
    /// Where it listens (UDP).
    pub address: SocketAddr,
    asked: Arc<Mutex<Vec<String>>>,
}

impl TestDns {
    /// Starts the server on its own thread; it runs until the process ends.
    /// `answers(name, n)` gives the addresses of `name` (lower case, no
    /// trailing dot) asked for the `n`th time, from 0; none is NXDOMAIN.
    pub fn start(
        answers: impl Fn(&str, usize) -> Vec<IpAddr> + Send + Sync + 'static,
    ) -> std::io::Result<TestDns> {
        TestDns::with_ttl(0, answers)
    }

    /// The same, with answers that may be cached for `ttl` seconds, as a
    /// real resolver's are (for benchmarks: a TTL of 0 asks every time).
    pub fn with_ttl(
        ttl: u32,
        answers: impl Fn(&str, usize) -> Vec<IpAddr> + Send + Sync + 'static,
    ) -> std::io::Result<TestDns> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        let address = socket.local_addr()?;
        let asked = Arc::new(Mutex::new(Vec::new()));
        let noted = asked.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok((n, from)) = socket.recv_from(&mut buffer) {
                let Ok(query) = Message::from_vec(&buffer[..n]) else { continue };
                let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
                reply.metadata.recursion_available = true;
                reply.metadata.message_type = MessageType::Response;
                for question in &query.queries {
                    let name = question.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
                    let times = {
                        let mut asked = noted.lock().unwrap_or_else(|p| p.into_inner());
                        let times = asked.iter().filter(|asked| **asked == name).count() / 2;
                        asked.push(name.clone());
                        times
                    };
                    reply.queries.push(question.clone());
                    let all = answers(&name, times);
                    if all.is_empty() {
                        reply.metadata.response_code = ResponseCode::NXDomain;
                    }
                    for ip in all {
                        let data = match (ip, question.query_type()) {
                            (IpAddr::V4(v4), RecordType::A) => RData::A(rdata::A(v4)),
                            (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(rdata::AAAA(v6)),
                            _ => continue,
                        };
                        reply.answers.push(Record::from_rdata(question.name().clone(), ttl, data));
                    }
                    // An empty answer carries its zone's SOA, as real servers'
                    // do, so that a resolver may cache the absence too.
                    if reply.answers.is_empty() {
                        reply.authorities.push(Record::from_rdata(question.name().clone(), ttl, soa(ttl)));
                    }
                }
                if let Ok(bytes) = reply.to_vec() {
                    let _ = socket.send_to(&bytes, from);
                }
            }
        });
        Ok(TestDns { address, asked })
    }

    /// Every name asked so far, once per query (A and AAAA each count).
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The test zone's SOA, whose minimum (the negative answers' TTL) is `ttl`.
fn soa(ttl: u32) -> RData {
    let name = |text: &str| hickory_proto::rr::Name::from_ascii(text).unwrap_or_default();
    RData::SOA(rdata::SOA::new(name("ns.test."), name("hostmaster.test."), 1, 3600, 600, 86400, ttl))
}

/// An origin server on `127.0.0.1`: answers every HTTP request with
/// `origin saw <request line> host=<Host header>`, a path `/big/N` with N
/// bytes, and a TLS ClientHello (from a tunnel) with `tls hello N bytes`.
/// It notes what it saw.
pub struct Origin {
    /// Its port.
    pub port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl Origin {
    /// Starts it on its own thread; it runs until the process ends.
    pub fn start() -> std::io::Result<Origin> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let noted = seen.clone();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // Without it, Nagle's algorithm holds a kept-alive answer
                // back for the client's delayed ACK (40 ms).
                let _ = stream.set_nodelay(true);
                let noted = noted.clone();
                std::thread::spawn(move || serve(stream, &noted));
            }
        });
        Ok(Origin { port, seen, connections })
    }

    /// What it saw: a request line and Host header each, or `tls hello`.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many connections it has accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// One request's head, as a test origin read it.
struct Head {
    text: String,
}

impl Head {
    /// Reads the next head from `stream` into `buffer` (which keeps what
    /// follows it); `None` once the stream ends, or if `first` says to stop
    /// at what it has read so far.
    fn read(
        stream: &mut impl Read,
        buffer: &mut Vec<u8>,
        mut first: impl FnMut(&[u8]) -> bool,
    ) -> Option<Head> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let text = String::from_utf8_lossy(&buffer[..end]).to_string();
                buffer.drain(..end + 4);
                return Some(Head { text });
            }
            let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
            buffer.extend_from_slice(&chunk[..n]);
            if !first(buffer) {
                return None;
            }
        }
    }

    /// The request line.
    fn line(&self) -> &str {
        self.text.lines().next().unwrap_or_default()
    }

    /// The path of the request line.
    fn path(&self) -> &str {
        self.line().split(' ').nth(1).unwrap_or("/")
    }

    /// A header's value, or `-` where there is none.
    fn header(&self, name: &str) -> String {
        self.text
            .lines()
            .skip(1)
            .find_map(|l| {
                l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
            })
            .unwrap_or("-")
            .to_string()
    }
}

fn serve(mut stream: std::net::TcpStream, seen: &Mutex<Vec<String>>) {
    let mut buffer = Vec::new();
    let mut hello = |bytes: &[u8]| bytes[0] != 0x16;
    loop {
        let Some(head) = Head::read(&mut stream, &mut buffer, &mut hello) else {
            if buffer.first() == Some(&0x16) {
                let note = format!("tls hello {} bytes", buffer.len());
                seen.lock().unwrap_or_else(|p| p.into_inner()).push(note.clone());
                let _ = stream.write_all(note.as_bytes());
            }
            return;
        };
        let (line, host) = (head.line(), head.header("host"));
        seen.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{line} host={host}"));
        let body = match head.path().strip_prefix("/big/").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => vec![b'x'; n],
            None => format!("origin saw {line} host={host}").into_bytes(),
        };
        let mut reply =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n", body.len())
                .into_bytes();
        reply.extend_from_slice(&body);
        if stream.write_all(&reply).is_err() {
            return;
        }
    }
}

/// A TLS origin on `127.0.0.1`, with a certificate for `names` from an
/// authority of its own (`ca_pem`, which the engine is told to trust with
/// `network.upstream_ca`). It answers every request with `origin saw
/// <request line> host=<Host> authorization=<Authorization>` (and
/// ` range=<Range>` where there is one), and echoes the Authorization
/// header back in `x-echo`. `/seen` (and `/seen.b64`, in base64) answers
/// with all it has seen so far; `/reason` has the Authorization header for
/// its status line's reason; `/gzip`, `/gzip-second` and `/gzip-transfer`
/// claim gzip bodies in the first or second `Content-Encoding` or in the
/// `Transfer-Encoding`; `/moved` sends the client on to
/// `https://other.test:<its port>/after`. One started with
/// [`TlsOrigin::serving`] also serves a folder's files under `/files/`
/// (the query ignored), as a package index or a git server over "dumb"
/// HTTP is served.
pub struct TlsOrigin {
    /// Its port.
    pub port: u16,
    /// Its authority's certificate.
    pub ca_pem: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl TlsOrigin {
    /// Starts it on its own thread; it runs until the process ends.
    pub fn start(names: &[&str]) -> Result<TlsOrigin, Box<dyn std::error::Error>> {
        TlsOrigin::serving(names, None)
    }

    /// The same, serving the files beneath `root` (if any) under `/files/`.
    pub fn serving(
        names: &[&str],
        root: Option<std::path::PathBuf>,
    ) -> Result<TlsOrigin, Box<dyn std::error::Error>> {
        let mut ca = rcgen::CertificateParams::default();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(rcgen::DnType::CommonName, "stockade test origin CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate()?)?;
        let key = rcgen::KeyPair::generate()?;
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = rcgen::CertificateParams::new(names)?.signed_by(&key, &ca)?;
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(
                    vec![leaf.der().clone(), ca.der().clone()],
                    rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
                )?;
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let noted = seen.clone();
        let root = Arc::new(root);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (noted, config, root) = (noted.clone(), config.clone(), root.clone());
                std::thread::spawn(move || {
                    let Ok(connection) = rustls::ServerConnection::new(config) else { return };
                    serve_tls(rustls::StreamOwned::new(connection, stream), &noted, root.as_deref());
                });
            }
        });
        Ok(TlsOrigin { port, ca_pem: ca.pem(), seen })
    }

    /// What it saw: a request line, Host and Authorization each.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn serve_tls(mut stream: impl Read + Write, seen: &Mutex<Vec<String>>, root: Option<&std::path::Path>) {
    let mut buffer = Vec::new();
    while let Some(head) = Head::read(&mut stream, &mut buffer, |_| true) {
        let (line, path) = (head.line(), head.path());
        let (host, authorization, range) =
            (head.header("host"), head.header("authorization"), head.header("range"));
        let mut note = format!("{line} host={host} authorization={authorization}");
        if range != "-" {
            note.push_str(&format!(" range={range}"));
        }
        if let (Some(root), Some(file)) = (root, path.strip_prefix("/files/")) {
            seen.lock().unwrap_or_else(|p| p.into_inner()).push(note);
            let reply = file_reply(root, file);
            if stream.write_all(&reply).and_then(|()| stream.flush()).is_err() {
                return;
            }
            continue;
        }
        let body = match path {
            // What it has seen so far, as a server that keeps what it is
            // sent would give it back, and the same in base64.
            "/seen" | "/seen.b64" => {
                let kept = seen.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
                match path {
                    "/seen" => kept,
                    _ => base64::Engine::encode(&base64::engine::general_purpose::STANDARD, kept),
                }
            }
            _ => format!("origin saw {note}"),
        };
        seen.lock().unwrap_or_else(|p| p.into_inner()).push(note);
        let (reason, framing) = match path {
            "/reason" => (authorization.clone(), format!("Content-Length: {}\r\n", body.len())),
            "/gzip" => ("OK".into(), format!("Content-Length: {}\r\nContent-Encoding: gzip\r\n", body.len())),
            "/gzip-second" => (
                "OK".into(),
                format!(
                    "Content-Length: {}\r\nContent-Encoding: identity\r\nContent-Encoding: gzip\r\n",
                    body.len()
                ),
            ),
            "/gzip-transfer" => ("OK".into(), "Transfer-Encoding: gzip, chunked\r\n".to_string()),
            "/moved" => {
                let port = host.rsplit_once(':').map_or("443", |(_, port)| port);
                let location = format!("Location: https://moved.test:{port}/after\r\n");
                ("Found".into(), format!("{location}Content-Length: {}\r\n", body.len()))
            }
            _ => ("OK".into(), format!("Content-Length: {}\r\n", body.len())),
        };
        let status = if path == "/moved" { 302 } else { 200 };
        let body = match path {
            "/gzip-transfer" => format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len()),
            _ => body,
        };
        let reply = format!(
            "HTTP/1.1 {status} {reason}\r\n{framing}Content-Type: text/plain\r\nX-Echo: {authorization}\r\n\r\n{body}"
        );
        if stream.write_all(reply.as_bytes()).and_then(|()| stream.flush()).is_err() {
            return;
        }
    }
}

/// A whole answer with the file at `file` (a request path beneath
/// `root`, its query dropped), or a 404; `..` never leaves `root`.
fn file_reply(root: &std::path::Path, file: &str) -> Vec<u8> {
    let file = file.split(['?', '#']).next().unwrap_or_default();
    // A folder's page is its index.html, as static servers give it.
    let file = match file.is_empty() || file.ends_with('/') {
        true => format!("{file}index.html"),
        false => file.to_string(),
    };
    let kind = if file.ends_with(".html") { "text/html" } else { "application/octet-stream" };
    let inside = !file.split('/').any(|part| part == ".." || part.contains('\\'));
    let contents = inside.then(|| std::fs::read(root.join(&file)).ok()).flatten();
    let (status, body) = match contents {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"no such file".to_vec()),
    };
    let mut reply =
        format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: {kind}\r\n\r\n", body.len())
            .into_bytes();
    reply.extend_from_slice(&body);
    reply
}
