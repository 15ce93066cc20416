//! Host errors as Python exceptions, one class per kind of failure.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use stockade::SandboxError;

create_exception!(stockade, StockadeError, PyException, "The sandbox could not run the code at all.");
create_exception!(stockade, PolicyError, StockadeError, "The policy is invalid or cannot be enforced.");
create_exception!(stockade, CodeRefused, StockadeError, "The code was refused before it reached the guest.");
create_exception!(stockade, GuestUnavailable, StockadeError, "A guest artifact is missing or damaged.");
create_exception!(stockade, EngineError, StockadeError, "The WebAssembly engine failed.");
create_exception!(stockade, AuditError, StockadeError, "The audit log could not record the run.");
create_exception!(stockade, SessionEnded, StockadeError, "The session is closed and takes no more runs.");

/// The Python exception for a host error.
pub fn to_py(error: SandboxError) -> PyErr {
    let message = error.to_string();
    match error {
        SandboxError::Policy(_) => PolicyError::new_err(message),
        SandboxError::Code(_) => CodeRefused::new_err(message),
        SandboxError::Artifact { .. } => GuestUnavailable::new_err(message),
        SandboxError::Audit(_) => AuditError::new_err(message),
        SandboxError::SessionEnded(_) => SessionEnded::new_err(message),
        _ => EngineError::new_err(message),
    }
}

/// Adds the exception classes to the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("StockadeError", py.get_type::<StockadeError>())?;
    module.add("PolicyError", py.get_type::<PolicyError>())?;
    module.add("CodeRefused", py.get_type::<CodeRefused>())?;
    module.add("GuestUnavailable", py.get_type::<GuestUnavailable>())?;
    module.add("EngineError", py.get_type::<EngineError>())?;
    module.add("AuditError", py.get_type::<AuditError>())?;
    module.add("SessionEnded", py.get_type::<SessionEnded>())?;
    Ok(())
}
