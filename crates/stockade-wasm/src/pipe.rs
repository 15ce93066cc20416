//! Capped stdout/stderr for guests.
//!
//! The host keeps at most `cap` bytes of each stream. Past the cap, writes
//! are either accepted and dropped (the stream is flagged as truncated) or
//! turned into a trap that stops the guest, as the policy says. Either way
//! the host never buffers more than the cap.

use bytes::Bytes;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use stockade_core::output::Tap;
use stockade_policy::OutputOverflow;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// Largest single write a guest is invited to make.
const WRITE_BUDGET: usize = 64 * 1024;

/// The trap raised when a guest writes past a cap in `kill` mode.
#[derive(Debug, thiserror::Error)]
#[error("the guest wrote past its output cap")]
pub struct OutputCapReached;

/// One guest output stream, shared between the WASI context and the host.
#[derive(Clone)]
pub struct CappedPipe {
    inner: Arc<Mutex<Captured>>,
    overflow: OutputOverflow,
}

/// What a stream captured.
#[derive(Debug, Default)]
pub struct Captured {
    /// The bytes kept, at most the cap.
    pub bytes: Vec<u8>,
    /// Every byte the guest wrote, kept or not.
    pub written: u64,
    /// Bytes were dropped.
    pub truncated: bool,
    cap: usize,
    /// Where the kept bytes also go as they are written (this turn's).
    tap: Option<Tap>,
}

impl CappedPipe {
    /// A stream that keeps `cap` bytes.
    pub fn new(cap: u64, overflow: OutputOverflow) -> Self {
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        let captured = Captured { cap, ..Captured::default() };
        CappedPipe { inner: Arc::new(Mutex::new(captured)), overflow }
    }

    /// Takes what the stream captured, leaving it empty.
    pub fn take(&self) -> Captured {
        let mut captured = self.lock();
        let cap = captured.cap;
        std::mem::replace(&mut *captured, Captured { cap, ..Captured::default() })
    }

    /// Sends what the stream keeps from now on to `tap` as well (until the
    /// next [`CappedPipe::take`]).
    pub fn set_tap(&self, tap: Option<Tap>) {
        self.lock().tap = tap;
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        // A poisoned lock only means another writer panicked mid-append; the
        // buffer is still a valid prefix of the output.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends what fits; reports whether anything had to be dropped.
    fn append(&self, bytes: &[u8]) -> bool {
        let mut captured = self.lock();
        captured.written = captured.written.saturating_add(bytes.len() as u64);
        let room = captured.cap.saturating_sub(captured.bytes.len());
        let kept = bytes.len().min(room);
        captured.bytes.extend_from_slice(&bytes[..kept]);
        let (dropped, already) = (kept < bytes.len(), captured.truncated);
        if dropped {
            captured.truncated = true;
        }
        let tap = captured.tap.clone();
        // The sink runs outside the lock: it may take its time.
        drop(captured);
        if let Some(tap) = tap {
            tap.pass(&bytes[..kept], dropped, already);
        }
        dropped
    }
}

impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let dropped = self.append(&bytes);
        if dropped && self.overflow == OutputOverflow::Kill {
            return Err(StreamError::Trap(OutputCapReached.into()));
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let dropped = self.append(buf);
        if dropped && self.overflow == OutputOverflow::Kill {
            return Poll::Ready(Err(std::io::Error::other(OutputCapReached)));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_cap_and_flags_the_rest() {
        let mut pipe = CappedPipe::new(10, OutputOverflow::Truncate);
        pipe.write(Bytes::from_static(b"hello ")).expect("write");
        pipe.write(Bytes::from_static(b"world, and more")).expect("truncating write succeeds");
        let captured = pipe.take();
        assert_eq!(captured.bytes, b"hello worl");
        assert_eq!(captured.written, 21);
        assert!(captured.truncated);
    }

    #[test]
    fn kill_mode_traps_past_the_cap() {
        let mut pipe = CappedPipe::new(4, OutputOverflow::Kill);
        pipe.write(Bytes::from_static(b"1234")).expect("within the cap");
        assert!(matches!(pipe.write(Bytes::from_static(b"5")), Err(StreamError::Trap(_))));
    }
}
