//! What the engine's test files share: a proxy on loopback that records
//! its decisions, and a raw HTTP client for it.
#![allow(dead_code, reason = "each test file uses a part")]

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use stockade_net::testing::TestDns;
use stockade_net::{Engine, NetEvent, Secrets};
use stockade_policy::{NetworkPolicy, NetworkRule};

pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub fn policy(allow: &[String], deny: &[&str], dns: &TestDns) -> NetworkPolicy {
    NetworkPolicy {
        allow: allow.iter().map(NetworkRule::host).collect(),
        deny: deny.iter().map(|d| d.to_string()).collect(),
        dns: vec![dns.address.to_string()],
        ..NetworkPolicy::default()
    }
}

/// An engine serving its proxy on a loopback port, and what it recorded.
pub struct Proxy {
    pub engine: Engine,
    pub port: u16,
    events: Arc<Mutex<Vec<NetEvent>>>,
}

impl Proxy {
    pub fn start(policy: &NetworkPolicy) -> Proxy {
        Proxy::with_secrets(policy, Secrets::default())
    }

    /// The same, with the run's secrets.
    pub fn with_secrets(policy: &NetworkPolicy, secrets: Secrets) -> Proxy {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink_events = events.clone();
        let sink: stockade_net::Sink = Arc::new(move |event| sink_events.lock().expect("events").push(event));
        let engine = Engine::new(policy, secrets, Some(sink)).expect("engine");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        engine.serve(listener).expect("serve");
        Proxy { engine, port, events }
    }

    /// Sends `request` raw and reads the whole answer (the proxy or the
    /// origin closes, or the answer's Content-Length is reached).
    pub fn send(&self, request: &str) -> String {
        let mut stream = self.connect();
        stream.write_all(request.as_bytes()).expect("send");
        read_answer(&mut stream)
    }

    /// A connection to the proxy whose reads give up after 10 s, so that a
    /// connection left open fails its test instead of hanging it.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the proxy");
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
        stream
    }

    pub fn get(&self, url: &str, host: &str) -> String {
        self.send(&format!("GET {url} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"))
    }

    pub fn events(&self) -> Vec<NetEvent> {
        self.events.lock().expect("events").clone()
    }
}

pub fn read_answer(stream: &mut impl Read) -> String {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            });
            if length.is_some_and(|length| body.len() >= length) {
                break;
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

pub fn status(answer: &str) -> u16 {
    answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}
