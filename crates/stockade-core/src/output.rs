//! A run's output as the guest writes it, for callers that show it live
//! (a terminal, a notebook, an HTTP stream). The outcome still carries the
//! whole of what was kept; this is the same bytes, earlier.

use std::sync::Arc;

/// One of the guest's two output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Its standard output.
    Stdout,
    /// Its standard error.
    Stderr,
}

/// Receives a run's output while the run goes on. Called on the thread
/// that runs or watches the guest, so it should hand the bytes on rather
/// than block: the guest waits while it runs.
pub trait OutputSink: Send + Sync {
    /// Bytes the guest wrote to `stream`, in order, as far as the stream's
    /// cap keeps them (what the cap drops is never passed on).
    fn chunk(&self, stream: Stream, bytes: &[u8]);

    /// `stream` reached its cap: nothing more of it follows, and the
    /// outcome says it was truncated. Called at most once per stream.
    fn cut(&self, stream: Stream) {
        let _ = stream;
    }
}

impl<F> OutputSink for F
where
    F: Fn(Stream, &[u8]) + Send + Sync,
{
    fn chunk(&self, stream: Stream, bytes: &[u8]) {
        self(stream, bytes)
    }
}

/// A stream's end of a sink: what a backend's capped buffer calls as it
/// keeps bytes.
#[derive(Clone)]
pub struct Tap {
    sink: Arc<dyn OutputSink>,
    stream: Stream,
}

impl Tap {
    /// `stream`'s tap into `sink`.
    pub fn new(sink: &Arc<dyn OutputSink>, stream: Stream) -> Tap {
        Tap { sink: sink.clone(), stream }
    }

    /// Passes on `kept`, the bytes of one write its cap kept, and says the
    /// stream was cut when `dropped` (the first time only: `already` says
    /// whether it was cut before).
    pub fn pass(&self, kept: &[u8], dropped: bool, already: bool) {
        if !kept.is_empty() {
            self.sink.chunk(self.stream, kept);
        }
        if dropped && !already {
            self.sink.cut(self.stream);
        }
    }
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").field("stream", &self.stream).finish_non_exhaustive()
    }
}
