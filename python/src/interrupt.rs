//! Ctrl-C during a run: the run's [`Cancel`] asks the interpreter for
//! pending signals (at most every 50 ms, on the run's own thread, which is
//! where Python delivers them), also while the run waits for an instance
//! slot or for its session's guest. A `KeyboardInterrupt` raised there, or in
//! a tool the guest was calling, is kept, the guest is stopped, and the
//! caller re-raises it.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use stockade::Cancel;

/// How often, at most, a run started on the main thread asks Python for
/// pending signals: Ctrl-C stops it within about this long.
const SIGNAL_CHECK_MS: u64 = 50;

static MAIN_THREAD: PyOnceLock<u64> = PyOnceLock::new();
static GET_IDENT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

thread_local! {
    /// The exception that stopped this thread's run, to raise when it returns.
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// Notes which thread is the interpreter's main thread: only it gets signals.
pub fn init(py: Python<'_>) -> PyResult<()> {
    let threading = py.import("threading")?;
    let ident: u64 = threading.call_method0("main_thread")?.getattr("ident")?.extract()?;
    MAIN_THREAD.get_or_init(py, || ident);
    let get_ident = threading.getattr("get_ident")?.unbind();
    GET_IDENT.get_or_init(py, || get_ident);
    Ok(())
}

/// A cancel request for a run started by this thread: it asks for signals
/// when this is the main thread, and is made by a tool that was interrupted.
pub fn for_this_thread(py: Python<'_>) -> PyResult<Cancel> {
    let on_main = match (GET_IDENT.get(py), MAIN_THREAD.get(py)) {
        (Some(get_ident), Some(main)) => get_ident.call0(py)?.extract::<u64>(py)? == *main,
        _ => false,
    };
    let started = Instant::now();
    let next_check_ms = AtomicU64::new(0);
    Ok(Cancel::asking(move || {
        if PENDING.with(|pending| pending.borrow().is_some()) {
            return true;
        }
        if !on_main {
            return false;
        }
        // Taking the GIL waits for any other Python thread to yield it (up
        // to its switch interval), so the run looks at most this often.
        let now_ms = started.elapsed().as_millis() as u64;
        if now_ms < next_check_ms.load(Ordering::Relaxed) {
            return false;
        }
        next_check_ms.store(now_ms + SIGNAL_CHECK_MS, Ordering::Relaxed);
        Python::attach(|py| match py.check_signals() {
            Ok(()) => false,
            Err(error) => {
                keep(error);
                true
            }
        })
    }))
}

/// Keeps `error` to raise when the run returns; the run stops at its next check.
pub fn keep(error: PyErr) {
    PENDING.with(|pending| *pending.borrow_mut() = Some(error));
}

/// Whether this thread's run is being stopped by a kept exception.
pub fn pending() -> bool {
    PENDING.with(|pending| pending.borrow().is_some())
}

/// The exception that stopped this thread's last run, if one did.
pub fn take() -> Option<PyErr> {
    PENDING.with(|pending| pending.borrow_mut().take())
}
