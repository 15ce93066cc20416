//! A shell session's background commands for Python: `NativeCommand`
//! holds one, and every wait on it releases the GIL and stops at Ctrl-C.

use crate::stream::PythonSink;
use crate::{convert, errors, interrupt};
use pyo3::prelude::*;
use std::time::Duration;
use stockade::{Cancel, Command, CommandError, CommandOutput, Signal};

/// A background command of a session.
#[pyclass(frozen, module = "stockade._native")]
pub struct NativeCommand {
    command: Command,
}

impl NativeCommand {
    /// `command`, held for Python.
    pub fn new(command: Command) -> NativeCommand {
        NativeCommand { command }
    }
}

#[pymethods]
impl NativeCommand {
    /// Its id within its session (`c1`).
    #[getter]
    fn id(&self) -> String {
        self.command.id().to_string()
    }

    /// The command line it was started with.
    #[getter]
    fn command(&self) -> String {
        self.command.command().to_string()
    }

    /// Whether it is still running.
    #[getter]
    fn running(&self) -> bool {
        self.command.running()
    }

    /// What it has written so far, as a dict.
    fn output<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        as_dict(py, self.command.output())
    }

    /// Waits until it ends, `timeout` seconds at most (`None`: as long as
    /// it takes); then what it wrote.
    #[pyo3(signature = (timeout = None))]
    fn wait<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let cancel = interrupt::for_this_thread(py)?;
        let timeout = seconds(timeout)?;
        let command = self.command.clone();
        let output = py.detach(|| command.wait(timeout, Some(&cancel)));
        finish(py, output)
    }

    /// Calls `on_output(stream, bytes)` with its output from the start and
    /// then as it comes, until it ends, or `timeout` seconds pass; then
    /// what it wrote. A callback that raises stops the following, and the
    /// exception is raised.
    #[pyo3(signature = (on_output, timeout = None))]
    fn follow<'py>(
        &self,
        py: Python<'py>,
        on_output: Py<PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout = seconds(timeout)?;
        let stop = Cancel::new();
        let sink = PythonSink::new(on_output, stop.clone());
        let cancel = interrupt::for_this_thread(py)?.or(&stop);
        let command = self.command.clone();
        let output = py.detach(|| command.follow(&*sink, timeout, Some(&cancel)));
        match sink.raised() {
            Some(raised) => Err(raised),
            None => finish(py, output),
        }
    }

    /// Writes `data` to its stdin.
    fn write_stdin(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        let command = self.command.clone();
        py.detach(|| command.write_stdin(data)).map_err(to_py)
    }

    /// Closes its stdin: it reads end-of-file.
    fn close_stdin(&self) {
        self.command.close_stdin();
    }

    /// Sends it the signal named `name` (`TERM`, `SIGINT`...).
    fn signal(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        let signal: Signal = name.parse().map_err(to_py)?;
        let command = self.command.clone();
        py.detach(|| command.signal(signal)).map_err(to_py)
    }

    /// Kills it and what it started, and waits up to `timeout` seconds for
    /// it to end; then what it wrote.
    #[pyo3(signature = (timeout = 5.0))]
    fn kill<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        let timeout = seconds(Some(timeout))?.unwrap_or_default();
        let command = self.command.clone();
        let output = py.detach(|| command.kill(timeout)).map_err(to_py)?;
        as_dict(py, output)
    }
}

fn finish<'py>(py: Python<'py>, output: CommandOutput) -> PyResult<Bound<'py, PyAny>> {
    if let Some(interrupted) = interrupt::take() {
        return Err(interrupted);
    }
    as_dict(py, output)
}

fn as_dict<'py>(py: Python<'py>, output: CommandOutput) -> PyResult<Bound<'py, PyAny>> {
    let value =
        serde_json::to_value(&output).map_err(|e| pyo3::exceptions::PyException::new_err(e.to_string()))?;
    convert::to_py(py, &value)
}

fn seconds(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    timeout
        .map(|seconds| {
            Duration::try_from_secs_f64(seconds).map_err(|_| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "timeout must be seconds, 0 or more, not {seconds}"
                ))
            })
        })
        .transpose()
}

/// The Python exception for a command's failure.
pub fn to_py(error: CommandError) -> PyErr {
    match error {
        CommandError::Session(error) => errors::to_py(error),
        CommandError::UnknownSignal(_) => pyo3::exceptions::PyValueError::new_err(error.to_string()),
        CommandError::Missing(_) => pyo3::exceptions::PyKeyError::new_err(error.to_string()),
        CommandError::StdinClosed => pyo3::exceptions::PyBrokenPipeError::new_err(error.to_string()),
        CommandError::TooMany(_) => errors::Busy::new_err(error.to_string()),
        error => errors::CommandFailed::new_err(error.to_string()),
    }
}
