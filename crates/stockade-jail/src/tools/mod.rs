//! Host tools for native programs: `tool NAME --key value` in the jail
//! (`client.c`, built by `build.rs`) calls the run's tools through the same
//! gate as the WebAssembly guests: schema, constraints, budgets, rate and
//! audit.
//!
//! The jail inherits one end of a `SOCK_SEQPACKET` pair (its number in
//! `STOCKADE_TOOLS_FD`). It carries nothing but descriptors: each call sends
//! the host one end of a fresh stream pair, and the call's arguments and
//! answer travel on that pair alone, so concurrent calls cannot mix. The
//! host takes only connected Unix stream sockets from it, serves a few calls
//! at a time, each within a deadline, and stops with the run.

mod flags;

use serde_json::Value;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use stockade_core::{ToolHost, protocol};

/// Where the jail finds the client.
pub(crate) const TOOL_DIR: &str = "/etc/stockade/bin";
/// The client itself, in the jail.
pub(crate) const TOOL_FILE: &str = "/etc/stockade/bin/tool";
/// The client, a static executable.
pub(crate) const CLIENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tool"));
/// The variable that names the channel's descriptor in the jail.
pub(crate) const FD_VARIABLE: &str = "STOCKADE_TOOLS_FD";

/// Calls served at once; more wait in the channel.
const CONCURRENT_CALLS: usize = 8;
/// How long one call's arguments may take to arrive, and its answer to leave.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(10);

/// The run's tools, with the schema of each, when it offers any; a
/// session's bridge answers each turn's calls through that turn's host.
pub(crate) struct Offered {
    host: Mutex<Option<Arc<dyn ToolHost>>>,
    schemas: Vec<(String, Value)>,
}

impl Offered {
    /// What `host` offers (it is asked for its list); `None` for none.
    pub(crate) fn of(host: &Arc<dyn ToolHost>) -> Option<Offered> {
        let answer: Value = serde_json::from_slice(&host.answer(br#"{"v":1,"id":0,"op":"list"}"#)).ok()?;
        let schemas: Vec<(String, Value)> = answer
            .get("tools")?
            .as_array()?
            .iter()
            .filter_map(|tool| {
                let name = tool.get("name")?.as_str()?.to_string();
                Some((name, tool.get("inputSchema").cloned().unwrap_or(Value::Null)))
            })
            .collect();
        (!schemas.is_empty()).then(|| Offered { host: Mutex::new(Some(host.clone())), schemas })
    }

    /// Answers calls through `host` from now on; with `None`, refuses them
    /// (a session between turns: no run is there to count them against).
    pub(crate) fn answer_with(&self, host: Option<&Arc<dyn ToolHost>>) {
        *self.host.lock().unwrap_or_else(|p| p.into_inner()) = host.cloned();
    }

    /// One call's answer to the client: a status byte and its text.
    fn call(&self, words: &[String]) -> Vec<u8> {
        let Some((name, rest)) = words.split_first() else {
            return reply(b'2', "usage: tool NAME [--key value]...");
        };
        // Every call the command line can spell goes to the gate, which
        // decides and records it: an unknown tool, and values that are not
        // of their schema's type (sent as the text they are), included.
        let schema =
            self.schemas.iter().find(|(offered, _)| offered == name).map_or(&Value::Null, |(_, s)| s);
        let arguments = match flags::arguments(rest, schema).or_else(|_| flags::arguments(rest, &Value::Null))
        {
            Ok(arguments) => arguments,
            Err(why) => return reply(b'1', &format!("invalid_arguments: {name}: {why}")),
        };
        let frame = serde_json::json!({"v": protocol::VERSION, "id": 1, "op": "call", "tool": name, "args": arguments});
        let host = self.host.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(host) = host else {
            return reply(b'1', "unavailable: no run of the session is in progress to make the call in");
        };
        let answer: Value = match serde_json::from_slice(&host.answer(frame.to_string().as_bytes())) {
            Ok(answer) => answer,
            Err(_) => return reply(b'2', "protocol: the host's answer is not JSON"),
        };
        if answer.get("ok").and_then(Value::as_bool) == Some(true) {
            let value = answer.get("value").cloned().unwrap_or(Value::Null);
            return reply(b'0', &value.to_string());
        }
        let error = answer.get("error");
        let kind = error.and_then(|e| e.get("kind")).and_then(Value::as_str).unwrap_or("protocol");
        let message = error.and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or("");
        let status = if kind == "tool_error" { b'2' } else { b'1' };
        reply(status, &format!("{kind}: {message}"))
    }
}

fn reply(status: u8, text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.push(status);
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// The host's side of the channel, serving calls until the run ends.
pub(crate) struct Bridge {
    pool: Arc<Pool>,
}

/// The calls' workers. Each takes the calls' sockets from the channel
/// itself, so the kernel wakes one waiting worker per call: a call costs
/// one thread's wake-up, not a hand-over from a listener too. A worker that
/// takes a call when no other is waiting starts one more, up to
/// [`CONCURRENT_CALLS`]; calls past those wait in the channel, in order,
/// for the first worker free (each is a process of the jail's, which its
/// `limits.processes` bounds).
struct Pool {
    channel: OwnedFd,
    offered: Arc<Offered>,
    idle: AtomicUsize,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Bridge {
    /// A channel for `offered`: the end the jail inherits (close-on-exec
    /// until the child clears it), and the bridge serving the other.
    pub(crate) fn start(offered: Arc<Offered>) -> std::io::Result<(OwnedFd, Bridge)> {
        let mut pair = [0; 2];
        // SAFETY: socketpair writes two descriptors into the array.
        if unsafe {
            libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, pair.as_mut_ptr())
        } != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both were just made and are owned here alone.
        let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(pair[0]), OwnedFd::from_raw_fd(pair[1])) };
        let pool =
            Arc::new(Pool { channel: ours, offered, idle: AtomicUsize::new(0), workers: Mutex::default() });
        pool.grow()?;
        Ok((theirs, Bridge { pool }))
    }

    /// Stops serving (the run is over) and waits for the calls in hand.
    pub(crate) fn stop(self) {
        // SAFETY: shutdown on a descriptor this bridge owns. Every worker's
        // receive then ends.
        unsafe { libc::shutdown(self.pool.channel.as_raw_fd(), libc::SHUT_RDWR) };
        // A worker may start another as the channel ends; that one ends at once.
        loop {
            let workers = std::mem::take(&mut *self.pool.workers.lock().unwrap_or_else(|p| p.into_inner()));
            if workers.is_empty() {
                return;
            }
            for worker in workers {
                let _ = worker.join();
            }
        }
    }
}

impl Pool {
    /// Starts one more worker, unless [`CONCURRENT_CALLS`] already run.
    fn grow(self: &Arc<Pool>) -> std::io::Result<()> {
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        if workers.len() < CONCURRENT_CALLS {
            let pool = self.clone();
            workers
                .push(std::thread::Builder::new().name("stockade-tools".into()).spawn(move || pool.work())?);
        }
        Ok(())
    }

    /// A worker: takes calls from the channel and serves them, until it ends.
    fn work(self: Arc<Pool>) {
        loop {
            self.idle.fetch_add(1, Ordering::SeqCst);
            let received = crate::descriptors::receive(self.channel.as_raw_fd());
            let others_idle = self.idle.fetch_sub(1, Ordering::SeqCst) > 1;
            let received = match received {
                Ok(Some(received)) => received,
                Ok(None) | Err(_) => return,
            };
            if !others_idle {
                // No thread may start now: this call is still served.
                let _ = self.grow();
            }
            // One call per message, as the client sends: more descriptors
            // in one would hold this worker for each one's deadline in turn.
            if let Some(socket) = received.into_iter().find(is_stream_socket) {
                let stream = UnixStream::from(socket);
                let _ = stream.set_read_timeout(Some(TRANSFER_TIMEOUT));
                let _ = stream.set_write_timeout(Some(TRANSFER_TIMEOUT));
                serve(stream, &self.offered);
            }
        }
    }
}

/// One call: its arguments (each ended by NUL) up to the end of the
/// stream, at most a request frame's size, then the answer.
fn serve(mut stream: UnixStream, offered: &Offered) {
    let mut bytes = Vec::new();
    let limit = protocol::MAX_REQUEST_BYTES as u64 + 1;
    if (&mut stream).take(limit).read_to_end(&mut bytes).is_err() {
        return;
    }
    let answer = if bytes.len() as u64 >= limit {
        reply(b'1', &format!("invalid_arguments: the arguments pass {} bytes", protocol::MAX_REQUEST_BYTES))
    } else {
        match String::from_utf8(bytes) {
            Ok(text) => {
                let words: Vec<String> = text.split_terminator('\0').map(String::from).collect();
                offered.call(&words)
            }
            Err(_) => reply(b'1', "invalid_arguments: the arguments are not UTF-8"),
        }
    };
    let _ = stream.write_all(&answer);
}

/// Whether `socket` is a connected Unix stream socket (anything else the
/// guest sends is closed unread).
fn is_stream_socket(socket: &OwnedFd) -> bool {
    let option = |name: libc::c_int| {
        let mut value: libc::c_int = 0;
        let mut size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `size` bytes into `value`.
        let got = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                name,
                (&raw mut value).cast(),
                &raw mut size,
            )
        };
        (got == 0).then_some(value)
    };
    option(libc::SO_DOMAIN) == Some(libc::AF_UNIX) && option(libc::SO_TYPE) == Some(libc::SOCK_STREAM)
}

#[cfg(test)]
mod tests {
    use super::is_stream_socket;
    use std::os::fd::{FromRawFd, OwnedFd};

    fn pair(kind: libc::c_int) -> OwnedFd {
        let mut fds = [0; 2];
        // SAFETY: socketpair writes two descriptors into the array.
        assert_eq!(unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) }, 0);
        // SAFETY: just made; the other end is closed at once.
        unsafe {
            libc::close(fds[1]);
            OwnedFd::from_raw_fd(fds[0])
        }
    }

    #[test]
    fn only_a_unix_stream_socket_is_taken_as_a_call() {
        assert!(is_stream_socket(&pair(libc::SOCK_STREAM)));
        assert!(!is_stream_socket(&pair(libc::SOCK_SEQPACKET)), "the channel itself");
        assert!(!is_stream_socket(&pair(libc::SOCK_DGRAM)));
        let file = tempfile::tempfile().expect("file");
        assert!(!is_stream_socket(&OwnedFd::from(file)));
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        assert!(!is_stream_socket(&OwnedFd::from(udp)));
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("tcp");
        assert!(!is_stream_socket(&OwnedFd::from(tcp)), "a TCP socket is a stream, but not Unix");
    }
}
