//! Host errors as Python exceptions, one class per kind of failure.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use stockade::{ErrorClass, SandboxError};

create_exception!(stockade, StockadeError, PyException, "The sandbox could not run the code at all.");
create_exception!(stockade, PolicyError, StockadeError, "The policy is invalid or cannot be enforced.");
create_exception!(stockade, CodeRefused, StockadeError, "The code was refused before it reached the guest.");
create_exception!(stockade, LanguageRefused, PolicyError, "The sandbox's policy does not run this language.");
create_exception!(
    stockade,
    GuestUnavailable,
    StockadeError,
    "This machine or build cannot run it: a guest artifact is missing or damaged, or the kernel lacks a layer the policy requires."
);
create_exception!(
    stockade,
    Busy,
    StockadeError,
    "Every slot that could take the run is in use; try again later."
);
create_exception!(stockade, EngineError, StockadeError, "The WebAssembly engine failed.");
create_exception!(stockade, AuditError, StockadeError, "The audit log could not record the run.");
create_exception!(stockade, SessionEnded, StockadeError, "The session is closed and takes no more runs.");
create_exception!(
    stockade,
    SessionFileError,
    StockadeError,
    "A session's file could not be moved: a path outside its /tmp, not a regular file, or its space full."
);
create_exception!(
    stockade,
    CommandFailed,
    StockadeError,
    "A background command could not be started or reached: the host's side of it failed."
);

/// The Python exception for a session file's failure: `FileNotFoundError`
/// where nothing is there (as `open` would raise), the session's own
/// error where it has ended, else `SessionFileError`.
pub fn file_to_py(error: stockade::FileError) -> PyErr {
    match error {
        stockade::FileError::Session(error) => to_py(error),
        stockade::FileError::Missing { .. } => {
            pyo3::exceptions::PyFileNotFoundError::new_err(error.to_string())
        }
        error => SessionFileError::new_err(error.to_string()),
    }
}

/// The Python exception for a host error: one class per error class, and
/// a subclass where Python code may want to tell one case apart.
pub fn to_py(error: SandboxError) -> PyErr {
    let message = error.to_string();
    match (&error, error.class()) {
        (SandboxError::LanguageRefused { .. }, _) => LanguageRefused::new_err(message),
        (SandboxError::Audit(_), _) => AuditError::new_err(message),
        (_, ErrorClass::Policy) => PolicyError::new_err(message),
        (_, ErrorClass::InvalidRequest) => CodeRefused::new_err(message),
        (_, ErrorClass::Unavailable) => GuestUnavailable::new_err(message),
        (_, ErrorClass::Busy) => Busy::new_err(message),
        (_, ErrorClass::Ended) => SessionEnded::new_err(message),
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
    module.add("LanguageRefused", py.get_type::<LanguageRefused>())?;
    module.add("Busy", py.get_type::<Busy>())?;
    module.add("EngineError", py.get_type::<EngineError>())?;
    module.add("AuditError", py.get_type::<AuditError>())?;
    module.add("SessionEnded", py.get_type::<SessionEnded>())?;
    module.add("SessionFileError", py.get_type::<SessionFileError>())?;
    module.add("CommandFailed", py.get_type::<CommandFailed>())?;
    Ok(())
}
