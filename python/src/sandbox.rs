//! `NativeSandbox` and `NativeSession`: a stockade sandbox and session held
//! for Python, run with the GIL released.

use crate::stream::PythonSink;
use crate::{convert, errors, interrupt};
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use serde_json::Value;
use std::sync::{Arc, RwLock};
use stockade::policy::ToolPolicy;
use stockade::{Cancel, Language, Outcome, Policy, Request, Sandbox, SandboxError, Session, Tool, ToolError};

/// A sandbox: a policy, its tools, fresh runs and sessions.
#[pyclass(frozen, module = "stockade._native")]
pub struct NativeSandbox {
    /// `None` once destroyed.
    sandbox: RwLock<Option<Sandbox>>,
}

#[pymethods]
impl NativeSandbox {
    /// `policy`: the text of a TOML or JSON policy (`None`: deny all);
    /// with `from_dict`, the JSON that `json.dumps` made of the caller's
    /// dict. `tools`: `(name, description, json_schema, call)` tuples, where
    /// `call(arguments_json) -> result_json`. `grants`: a JSON object of
    /// `[tools.NAME]` entries to add to the policy; a tool the policy lists
    /// itself must not have one that sets anything.
    #[new]
    /// With `one_budget`, the tools' `max_calls_per_session` counts every
    /// run and session of the sandbox together; with `workspace`, they all
    /// share one `/workspace` and `/tmp`.
    #[pyo3(signature = (policy, tools, grants, from_dict = false, one_budget = false, workspace = false))]
    fn new(
        py: Python<'_>,
        policy: Option<&str>,
        tools: Vec<(String, String, String, Py<PyAny>)>,
        grants: &str,
        from_dict: bool,
        one_budget: bool,
        workspace: bool,
    ) -> PyResult<NativeSandbox> {
        let mut policy = match policy {
            Some(json) if from_dict => dict_policy(json).map_err(|e| errors::to_py(e.into()))?,
            Some(text) => Policy::from_str_auto(text).map_err(|e| errors::to_py(e.into()))?,
            None => Policy::default(),
        };
        add_grants(&mut policy, grants)?;
        let mut builder = Sandbox::builder().policy(policy);
        if one_budget {
            builder = builder.one_budget();
        }
        if workspace {
            builder = builder.workspace();
        }
        for (name, description, schema, call) in tools {
            let schema: Value = serde_json::from_str(&schema).map_err(|e| {
                PyValueError::new_err(format!("tool {name}: its JSON Schema is not JSON: {e}"))
            })?;
            builder = builder
                .tool(Tool::new(name).description(description).schema(schema).handler(python_handler(call)));
        }
        let sandbox = py.detach(|| builder.build()).map_err(errors::to_py)?;
        Ok(NativeSandbox { sandbox: RwLock::new(Some(sandbox)) })
    }

    /// Runs `code` in a fresh guest; returns the outcome as a dict.
    /// `timeout` (seconds) may lower the policy's wall time; `env` sets
    /// variables the policy's `[env]` names, for this run.
    /// `on_output(stream, chunk)`, when given, gets the output as the
    /// guest writes it (`stream` is `stdout` or `stderr`, or `stdout-cut`
    /// and `stderr-cut` when a cap cut it).
    #[pyo3(signature = (language, code, timeout = None, env = None, on_output = None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        language: &str,
        code: &str,
        timeout: Option<f64>,
        env: Option<std::collections::BTreeMap<String, String>>,
        on_output: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let sandbox = self.live()?;
        let language = parse_language(language)?;
        let cancel = interrupt::for_this_thread(py)?;
        let mut request = Request::new(language, code);
        if let Some(seconds) = timeout {
            if !seconds.is_finite() || seconds <= 0.0 {
                return Err(PyValueError::new_err("timeout must be a positive number of seconds"));
            }
            request = request.with_timeout(std::time::Duration::from_secs_f64(seconds.min(1e9)));
        }
        for (name, value) in env.unwrap_or_default() {
            request = request.with_env(name, value);
        }
        let Some(callback) = on_output else {
            let result = py.detach(|| sandbox.run_request(&request, Some(&cancel)));
            return finish(py, result);
        };
        let stop = Cancel::new();
        let sink = PythonSink::new(callback, stop.clone());
        let cancel = cancel.or(&stop);
        let result = py.detach(|| sandbox.run_with(&request, Some(&cancel), sink.clone()));
        match sink.raised() {
            Some(raised) => Err(raised),
            None => finish(py, result),
        }
    }

    /// The canonical names of the languages this sandbox runs.
    #[getter]
    fn languages(&self) -> PyResult<Vec<&'static str>> {
        Ok(self.live()?.languages().iter().map(|language| language.name()).collect())
    }

    /// The policy's own `languages`, by canonical name, when it lists them.
    #[getter]
    fn policy_languages(&self) -> PyResult<Option<Vec<&'static str>>> {
        let sandbox = self.live()?;
        Ok(sandbox
            .policy()
            .languages
            .as_ref()
            .map(|list| list.iter().map(|language| language.name()).collect()))
    }

    /// Opens a session for `language`.
    fn session(&self, py: Python<'_>, language: &str) -> PyResult<NativeSession> {
        let sandbox = self.live()?;
        let language = parse_language(language)?;
        let session = py.detach(|| sandbox.session(language)).map_err(errors::to_py)?;
        Ok(NativeSession { session: Arc::new(session) })
    }

    /// Compiles the guest for `language` now (cached on disk), so the first
    /// run does not wait for it.
    fn prepare(&self, py: Python<'_>, language: &str) -> PyResult<()> {
        let sandbox = self.live()?;
        let language = parse_language(language)?;
        py.detach(|| sandbox.prepare(language)).map_err(errors::to_py)
    }

    /// The policy in force, as TOML.
    fn policy_toml(&self) -> PyResult<String> {
        Ok(self.live()?.policy().to_toml_string())
    }

    /// Drops the sandbox; later calls raise. Sessions already open go on
    /// until they are closed.
    fn destroy(&self) {
        if let Ok(mut sandbox) = self.sandbox.write() {
            *sandbox = None;
        }
    }

    /// Whether `destroy` was called.
    #[getter]
    fn destroyed(&self) -> bool {
        self.sandbox.read().map_or(true, |sandbox| sandbox.is_none())
    }
}

impl NativeSandbox {
    fn live(&self) -> PyResult<Sandbox> {
        let sandbox =
            self.sandbox.read().map_err(|_| errors::StockadeError::new_err("the sandbox is broken"))?;
        sandbox.clone().ok_or_else(|| errors::StockadeError::new_err("the sandbox was destroyed"))
    }
}

/// A session: one guest whose globals persist between runs.
#[pyclass(frozen, module = "stockade._native")]
pub struct NativeSession {
    session: Arc<Session>,
}

#[pymethods]
impl NativeSession {
    /// Runs `code` in the session's guest; returns the outcome as a dict.
    /// `on_output` is as for a sandbox's run.
    #[pyo3(signature = (code, on_output = None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        code: &str,
        on_output: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cancel = interrupt::for_this_thread(py)?;
        let session = self.session.clone();
        let Some(callback) = on_output else {
            let result = py.detach(|| session.run_cancellable(code, &cancel));
            return finish(py, result);
        };
        let stop = Cancel::new();
        let sink = PythonSink::new(callback, stop.clone());
        let cancel = cancel.or(&stop);
        let request = Request::in_session(session.id().to_string(), code);
        let result = py.detach(|| session.run_with(&request, Some(&cancel), sink.clone()));
        match sink.raised() {
            Some(raised) => Err(raised),
            None => finish(py, result),
        }
    }

    /// Closes the session (stopping a run in progress). Closing twice is harmless.
    fn close(&self, py: Python<'_>) {
        let session = self.session.clone();
        py.detach(|| session.close());
    }

    /// The session's id, as the audit log names it.
    #[getter]
    fn id(&self) -> String {
        self.session.id().to_string()
    }

    /// The session's language (`js` or `python`).
    #[getter]
    fn language(&self) -> String {
        self.session.language().to_string()
    }

    /// Why the session was closed, once it is.
    #[getter]
    fn closed_because(&self, py: Python<'_>) -> Option<String> {
        let session = self.session.clone();
        py.detach(|| session.closed_because())
    }

    /// Writes `data` (bytes, or a binary file object) to `path` in the
    /// session's `/tmp`; returns `{path, bytes, blake3}`.
    fn write_file<'py>(
        &self,
        py: Python<'py>,
        path: &str,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        crate::files::write(py, &self.session, path, data)
    }

    /// The file at `path`: its bytes, or streamed into `into`.
    #[pyo3(signature = (path, into = None))]
    fn read_file<'py>(
        &self,
        py: Python<'py>,
        path: &str,
        into: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::files::read(py, &self.session, path, into)
    }

    /// The entries of the folder at `path` (the session's `/tmp` with `""`).
    #[pyo3(signature = (path = ""))]
    fn list_files<'py>(&self, py: Python<'py>, path: &str) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        crate::files::list(py, &self.session, path)
    }

    /// What is at `path`.
    fn stat_file<'py>(&self, py: Python<'py>, path: &str) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        crate::files::stat(py, &self.session, path)
    }

    /// Removes the file or empty folder at `path`.
    fn remove_file(&self, py: Python<'_>, path: &str) -> PyResult<()> {
        crate::files::remove(py, &self.session, path)
    }

    /// Starts `command` in the background of a shell session.
    fn spawn(&self, py: Python<'_>, command: &str) -> PyResult<crate::commands::NativeCommand> {
        let session = self.session.clone();
        let command = py.detach(|| session.spawn(command)).map_err(crate::commands::to_py)?;
        Ok(crate::commands::NativeCommand::new(command))
    }

    /// The background commands the session has started, in order.
    fn commands(&self, py: Python<'_>) -> Vec<crate::commands::NativeCommand> {
        let session = self.session.clone();
        py.detach(|| session.commands()).into_iter().map(crate::commands::NativeCommand::new).collect()
    }
}

/// The outcome as a dict, or the exception that stopped the run, or the host error.
fn finish<'py>(py: Python<'py>, result: Result<Outcome, SandboxError>) -> PyResult<Bound<'py, PyAny>> {
    if let Some(interrupted) = interrupt::take() {
        return Err(interrupted);
    }
    let outcome = result.map_err(errors::to_py)?;
    let value = serde_json::to_value(&outcome).map_err(|e| PyException::new_err(e.to_string()))?;
    convert::to_py(py, &value)
}

fn parse_language(name: &str) -> PyResult<Language> {
    name.parse()
        .map_err(|unknown: stockade::policy::UnknownLanguage| PyValueError::new_err(unknown.to_string()))
}

/// The canonical name of the language `name` names (`py` → `python`), or
/// `ValueError` naming every language stockade knows.
#[pyfunction]
pub fn canonical_language(name: &str) -> PyResult<&'static str> {
    parse_language(name).map(Language::name)
}

/// Adds the `[tools.NAME]` entries the Python layer made from `tools=`,
/// `constraints=` and `max_calls=`.
/// The policy a dict gave (as `json.dumps` wrote it). Its errors name the
/// key path (`limits.wall_ms: invalid type: ...`), never a line and column:
/// the JSON is ours, not the caller's, so it is read as a value first, whose
/// errors carry no position.
fn dict_policy(json: &str) -> Result<Policy, stockade::PolicyError> {
    let parse = |key: String, message: String| stockade::PolicyError::Parse { key, message };
    let value: Value =
        serde_json::from_str(json).map_err(|e| parse("<document>".into(), format!("not a policy: {e}")))?;
    let policy: Policy = serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        let key = if key.is_empty() || key == "." { "<document>".to_string() } else { key };
        parse(key, e.into_inner().to_string())
    })?;
    policy.validate()?;
    Ok(policy)
}

fn add_grants(policy: &mut Policy, grants: &str) -> PyResult<()> {
    let grants: serde_json::Map<String, Value> =
        serde_json::from_str(grants).map_err(|e| PyValueError::new_err(format!("tool grants: {e}")))?;
    for (name, grant) in grants {
        let sets_something = grant.as_object().is_some_and(|fields| !fields.is_empty());
        if policy.tools.contains_key(&name) {
            if sets_something {
                return Err(errors::PolicyError::new_err(format!(
                    "tools.{name}: the policy sets it, so give its constraints and max_calls there, \
                     not in constraints= or max_calls="
                )));
            }
            continue;
        }
        let rules: ToolPolicy = serde_json::from_value(grant)
            .map_err(|e| errors::PolicyError::new_err(format!("tools.{name}: {e}")))?;
        policy.tools.insert(name, rules);
    }
    Ok(())
}

/// A tool handler that calls a Python function with the arguments as JSON
/// text and reads its result as JSON text. The function's exceptions reach
/// the guest as `ToolError`s (how much of them: `stockade.ToolError`'s
/// docs); a `KeyboardInterrupt` also stops the run and
/// is raised again to the caller. Nothing else a tool raises (`SystemExit`
/// from an argument parser the guest fed, say) leaves the run.
fn python_handler(call: Py<PyAny>) -> impl Fn(Value) -> Result<Value, ToolError> + Send + Sync + 'static {
    move |arguments: Value| {
        if interrupt::pending() {
            return Err(ToolError::new("the run is being interrupted"));
        }
        Python::attach(|py| {
            let answer = call.bind(py).call1((arguments.to_string(),)).and_then(|r| r.extract::<String>());
            match answer {
                Ok(text) => serde_json::from_str(&text)
                    .map_err(|e| ToolError::new(format!("the tool's result is not JSON: {e}"))),
                Err(error) => {
                    let message = describe(py, &error);
                    if error.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) {
                        interrupt::keep(error);
                    }
                    Err(ToolError::new(message))
                }
            }
        })
    }
}

/// What the guest is told of a tool's exception: the message of a
/// `stockade.ToolError` (which the tool raised for the guest, or which
/// stands in for an exception whose message stays on the host), else
/// `Type: message`, as Python prints an exception's last line.
fn describe(py: Python<'_>, error: &PyErr) -> String {
    let message = error.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    let deliberate = py
        .import("stockade._tools")
        .and_then(|tools| tools.getattr("ToolError"))
        .is_ok_and(|class| error.value(py).is_instance(&class).unwrap_or(false));
    if deliberate {
        return message;
    }
    let kind = error.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
    if message.is_empty() { kind } else { format!("{kind}: {message}") }
}
