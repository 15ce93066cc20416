//! Output handed to Python as the guest writes it: the `on_output`
//! callable of a run gets `(stream, bytes)` for each chunk, with the GIL
//! taken for the call (the run itself goes on without it). A callback that
//! raises stops the run, and the run raises that exception.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::{Arc, Mutex};
use stockade::{Cancel, OutputSink, Stream};

/// A run's `on_output` callable, and what stops the run if it raises.
pub struct PythonSink {
    callback: Py<PyAny>,
    stop: Cancel,
    raised: Mutex<Option<PyErr>>,
}

impl PythonSink {
    /// A sink calling `callback`; `stop` is made when it raises.
    pub fn new(callback: Py<PyAny>, stop: Cancel) -> Arc<PythonSink> {
        Arc::new(PythonSink { callback, stop, raised: Mutex::new(None) })
    }

    /// The exception the callback raised, if it did.
    pub fn raised(&self) -> Option<PyErr> {
        self.raised.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn call(&self, stream: &str, bytes: &[u8]) {
        if self.stop.is_cancelled() {
            return;
        }
        let result =
            Python::attach(|py| self.callback.bind(py).call1((stream, PyBytes::new(py, bytes))).map(drop));
        if let Err(error) = result {
            *self.raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
            self.stop.cancel();
        }
    }
}

fn name(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        _ => "stderr",
    }
}

impl OutputSink for PythonSink {
    fn chunk(&self, stream: Stream, bytes: &[u8]) {
        self.call(name(stream), bytes);
    }

    fn cut(&self, stream: Stream) {
        // The cut travels with the stream: an empty chunk named "<stream>-cut".
        self.call(&format!("{}-cut", name(stream)), b"");
    }
}
