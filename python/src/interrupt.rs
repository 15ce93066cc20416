//! Ctrl-C during a run: the run's [`Cancel`] asks the interpreter for
//! pending signals on every check (every 5 ms, on the run's own thread, which
//! is where Python delivers them). A `KeyboardInterrupt` raised there, or in
//! a tool the guest was calling, is kept, the guest is stopped, and the
//! caller re-raises it.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::cell::RefCell;
use stockade::Cancel;

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
    Ok(Cancel::asking(move || {
        if PENDING.with(|pending| pending.borrow().is_some()) {
            return true;
        }
        on_main
            && Python::attach(|py| match py.check_signals() {
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
