//! A session's files for Python (`session.files`): bodies stream between a
//! Python file object and the session's space a chunk at a time, with the
//! GIL taken only to call the object's `read` or `write`.

use crate::errors;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::io::{Read, Write};
use stockade::{Entry, EntryKind, Session, Transfer};

/// A Python object with `read(n) -> bytes`, as a `Read`.
struct PyReader(Py<PyAny>);

impl Read for PyReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        Python::attach(|py| {
            let chunk =
                self.0.bind(py).call_method1("read", (buffer.len(),)).map_err(std::io::Error::other)?;
            let bytes: &[u8] = match chunk.cast::<PyBytes>() {
                Ok(bytes) => bytes.as_bytes(),
                Err(_) => {
                    return Err(std::io::Error::other(
                        "read() must return bytes (open the file in binary mode)",
                    ));
                }
            };
            // Bytes past what was asked for would be lost: a short write
            // must never pass for a whole one.
            if bytes.len() > buffer.len() {
                return Err(std::io::Error::other(format!(
                    "read({}) returned {} bytes, more than it was asked for",
                    buffer.len(),
                    bytes.len()
                )));
            }
            buffer[..bytes.len()].copy_from_slice(bytes);
            Ok(bytes.len())
        })
    }
}

/// A Python object with `write(bytes)`, as a `Write`.
struct PyWriter(Py<PyAny>);

impl Write for PyWriter {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        Python::attach(|py| {
            self.0
                .bind(py)
                .call_method1("write", (PyBytes::new(py, buffer),))
                .map_err(std::io::Error::other)?;
            Ok(buffer.len())
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What moved, as a dict: `path`, `bytes`, `blake3`.
fn moved<'py>(py: Python<'py>, transfer: Transfer) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("path", transfer.path)?;
    dict.set_item("bytes", transfer.bytes)?;
    dict.set_item("blake3", transfer.blake3)?;
    Ok(dict)
}

fn entry<'py>(py: Python<'py>, entry: Entry) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let kind = match entry.kind {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Other => "other",
    };
    dict.set_item("path", entry.path)?;
    dict.set_item("kind", kind)?;
    dict.set_item("bytes", entry.bytes)?;
    Ok(dict)
}

/// Writes `data` (bytes, or a binary file object to read from) to `path`.
pub fn write<'py>(
    py: Python<'py>,
    session: &Session,
    path: &str,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let result = match data.cast::<PyBytes>() {
        Ok(bytes) => {
            let bytes = bytes.as_bytes().to_vec();
            py.detach(|| session.files().write(path, bytes.as_slice()))
        }
        Err(_) => {
            let reader = PyReader(data.clone().unbind());
            py.detach(|| session.files().write(path, reader))
        }
    };
    moved(py, result.map_err(errors::file_to_py)?)
}

/// The file at `path`: into `into` (a binary file object) when given, and
/// then what moved; else its bytes.
pub fn read<'py>(
    py: Python<'py>,
    session: &Session,
    path: &str,
    into: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    match into {
        Some(into) => {
            let writer = PyWriter(into.clone().unbind());
            let transfer = py.detach(|| session.files().read(path, writer)).map_err(errors::file_to_py)?;
            Ok(moved(py, transfer)?.into_any())
        }
        None => {
            let mut bytes = Vec::new();
            py.detach(|| session.files().read(path, &mut bytes)).map_err(errors::file_to_py)?;
            Ok(PyBytes::new(py, &bytes).into_any())
        }
    }
}

/// The folder's entries, as dicts.
pub fn list<'py>(py: Python<'py>, session: &Session, path: &str) -> PyResult<Bound<'py, PyList>> {
    let entries = py.detach(|| session.files().list(path)).map_err(errors::file_to_py)?;
    let dicts = entries.into_iter().map(|e| entry(py, e)).collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, dicts)
}

/// What is at `path`, as a dict.
pub fn stat<'py>(py: Python<'py>, session: &Session, path: &str) -> PyResult<Bound<'py, PyDict>> {
    let found = py.detach(|| session.files().stat(path)).map_err(errors::file_to_py)?;
    entry(py, found)
}

/// Removes the file or empty folder at `path`.
pub fn remove(py: Python<'_>, session: &Session, path: &str) -> PyResult<()> {
    py.detach(|| session.files().remove(path)).map_err(errors::file_to_py)
}
