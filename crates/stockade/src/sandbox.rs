//! The sandbox facade: one policy, its tools and audit log, a backend per
//! language, fresh runs.

use crate::audit::RunRecord;
use crate::session::Session;
use crate::tools::Tool;
use crate::tools::gate::{Gate, SessionCalls};
use crate::tools::registry::Registry;
use std::sync::Arc;
use stockade_audit::AuditLog;
use stockade_core::{
    Backend, Cancel, Egress, Language, Outcome, OutputSink, Request, RunRequest, SandboxError, ToolHost,
    Workspace,
};
use stockade_jail::JailBackend;
use stockade_policy::{Policy, PolicyError, Requirement};
use stockade_wasm::WasmBackend;

/// Runs untrusted code under one policy.
///
/// `Sandbox` is `Send + Sync` and cheap to clone; many threads may call
/// [`Sandbox::run`] at once, and each call gets its own fresh guest.
#[derive(Clone)]
pub struct Sandbox {
    policy: Arc<Policy>,
    wasm: Arc<WasmBackend>,
    jail: Arc<JailBackend>,
    tools: Arc<Registry>,
    audit: Option<Arc<AuditLog>>,
    policy_sha256: Arc<str>,
    principal: Option<Arc<str>>,
    languages: Arc<[Language]>,
    /// The tools' calls over every run and session of this sandbox, when
    /// it is one budget ([`SandboxBuilder::one_budget`]).
    lifetime_calls: Option<Arc<SessionCalls>>,
    /// The folders every run and session of this sandbox (and its clones)
    /// shares, when it keeps them ([`SandboxBuilder::workspace`]).
    workspace: Option<Arc<Workspace>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// Builds a [`Sandbox`]: a policy and the host tools the guest may call.
///
/// Defaults: the deny-all [`Policy::default`] and no tools.
///
/// ```
/// use stockade::{Language, Policy, Sandbox, Tool};
/// use serde_json::json;
///
/// let policy = Policy::from_toml_str(r#"
///     [tools.transfer_money]
///     max_calls = 10
///     constraints = { amount = "<=1000", currency = ["USD", "EUR"] }
/// "#)?;
/// let transfer = Tool::new("transfer_money").handler(|_args| Ok(json!({"sent": true})));
/// let sandbox = Sandbox::builder().policy(policy).tool(transfer).build()?;
/// let outcome = sandbox.run(Language::JavaScript, r#"
///     const sent = await transfer_money({amount: 10, currency: "EUR"});
///     let refused;
///     try { await transfer_money({amount: 5000, currency: "USD"}) } catch (e) { refused = e.name }
///     [sent, refused]
/// "#)?;
/// assert_eq!(outcome.value, Some(json!([{"sent": true}, "ToolDenied"])));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct SandboxBuilder {
    policy: Policy,
    tools: Vec<Tool>,
    principal: Option<String>,
    language: Option<Language>,
    default_languages: Option<&'static [Language]>,
    one_budget: bool,
    workspace: bool,
}

impl SandboxBuilder {
    /// The policy to enforce.
    pub fn policy(mut self, policy: Policy) -> SandboxBuilder {
        self.policy = policy;
        self
    }

    /// Registers a host tool. Registering does not make it callable: the
    /// policy must list it (`[tools.NAME]`) or set `allow_unlisted_tools`.
    pub fn tool(mut self, tool: Tool) -> SandboxBuilder {
        self.tools.push(tool);
        self
    }

    /// Who this sandbox runs code for (an API token's id), recorded with
    /// every run and session in the audit log.
    pub fn principal(mut self, principal: impl Into<String>) -> SandboxBuilder {
        self.principal = Some(principal.into());
        self
    }

    /// The language this sandbox is for, when it is for one: [`build`]
    /// then checks the policy against that language's backend, so that a
    /// refusal names it (the process jail for `sh`). Without it, `build`
    /// checks the policy against the WebAssembly backend. Either way, a
    /// policy is checked against each backend again when a run or session
    /// first asks for it.
    ///
    /// [`build`]: SandboxBuilder::build
    pub fn language(mut self, language: Language) -> SandboxBuilder {
        self.language = Some(language);
        self
    }

    /// The languages the sandbox runs when the policy has no `languages`
    /// of its own. Without it, every language this build knows: the right
    /// default for a program's own use. A surface that lets a model choose
    /// the language gives [`Language::WASM`] here, so that a shell is
    /// something a policy grants, never something a model asks for.
    pub fn default_languages(mut self, languages: &'static [Language]) -> SandboxBuilder {
        self.default_languages = Some(languages);
        self
    }

    /// Makes the whole sandbox one budget for its tools: a tool's
    /// `max_calls_per_session` then counts the calls of every run and
    /// session of this sandbox (and its clones) together, as Amla's
    /// sandbox tool counts `max_calls` over its life. Without it, each
    /// fresh run is a budget of its own, and each session one.
    pub fn one_budget(mut self) -> SandboxBuilder {
        self.one_budget = true;
        self
    }

    /// Gives the sandbox a workspace: `/workspace` and `/tmp`, writable, in
    /// one private tmpfs of `files.tmp_bytes` (or
    /// [`WORKSPACE_BYTES`](stockade_policy::defaults::WORKSPACE_BYTES) when
    /// that is 0) that lasts as long as the sandbox and its clones. Every
    /// run and session sees the same files there, whatever its language: a
    /// file Python writes, JavaScript and a jailed shell read. This is how
    /// Amla's sandbox tool keeps its virtual filesystem across runs.
    /// Without it, each run has a fresh `/tmp` of its own, or none.
    ///
    /// ```
    /// use stockade::{Language, Sandbox};
    ///
    /// let sandbox = Sandbox::builder().workspace().build()?;
    /// sandbox.run(Language::Python, "open('/workspace/note.txt', 'w').write('kept')")?;
    /// let read = sandbox.run(Language::JavaScript, "fs.readFileSync('/workspace/note.txt', 'utf8')")?;
    /// assert_eq!(read.value, Some(serde_json::json!("kept")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn workspace(mut self) -> SandboxBuilder {
        self.workspace = true;
        self
    }

    /// Checks everything and opens the audit log, if the policy keeps one:
    /// the writer this process already has for that file, if another
    /// sandbox opened it (see [`AuditLog::shared`]), so that any number of
    /// sandboxes of one process can name one log.
    ///
    /// Fails if the policy is invalid, or grants or limits anything the
    /// backend (see [`SandboxBuilder::language`]) cannot enforce (a sandbox never runs with a silently ignored
    /// grant or limit), if a granted folder is missing, nests a read-only
    /// grant inside a read-write one or overlaps stockade's own files, if a
    /// tool's name or schema is invalid, or if the audit log cannot be
    /// opened. Granted folders are resolved to canonical paths here, once.
    pub fn build(self) -> Result<Sandbox, SandboxError> {
        let mut policy = self.policy;
        policy.validate()?;
        let languages: Arc<[Language]> =
            policy.languages_or(self.default_languages.unwrap_or(Language::ALL)).into();
        if let Some(language) = self.language {
            allowed(&languages, language)?;
        }
        let wasm = Arc::new(WasmBackend);
        let jail = Arc::new(JailBackend);
        // One backend is checked here, the others when a language of theirs
        // is asked for (`Sandbox::backend`): the jail when the sandbox runs
        // native programs only (so a network policy, which only the jail
        // enforces, builds), else the WebAssembly one.
        let native_only = match self.language {
            Some(language) => language.is_native(),
            None => languages.iter().all(|language| language.is_native()),
        };
        let checked: &dyn Backend = if native_only { jail.as_ref() } else { wasm.as_ref() };
        enforceable(checked, &policy)?;
        crate::network::check_secrets(&policy)?;
        crate::grants::resolve(&mut policy)?;
        // Downloaded once per machine, before any run needs them.
        if languages.contains(&Language::Python) {
            stockade_wasm::fetch_packages(&policy.python, &|step| eprintln!("stockade: {step}"))?;
        }
        let tools = Arc::new(Registry::new(self.tools, &policy)?);
        let workspace = if self.workspace { Some(Arc::new(workspace_for(&policy)?)) } else { None };
        let audit = match &policy.audit.path {
            Some(path) => {
                let signer = match &policy.audit.signing_key {
                    Some(key) => Some(
                        stockade_audit::Signer::from_file(std::path::Path::new(key))
                            .map_err(|why| SandboxError::Audit(format!("audit.signing_key: {why}")))?,
                    ),
                    None => None,
                };
                // Shared: every sandbox of this process that names this
                // log appends through one writer.
                let log = AuditLog::shared(path, policy.audit.fsync, signer)
                    .map_err(|e| SandboxError::Audit(e.to_string()))?;
                Some(log)
            }
            None => None,
        };
        let canonical = serde_json::to_vec(&policy).unwrap_or_default();
        let policy_sha256 = stockade_audit::sha256_hex(&canonical).into();
        let principal = self.principal.map(Arc::from);
        Ok(Sandbox {
            policy: Arc::new(policy),
            wasm,
            jail,
            tools,
            audit,
            policy_sha256,
            principal,
            languages,
            lifetime_calls: self.one_budget.then(|| Arc::new(SessionCalls::for_sandbox())),
            workspace,
        })
    }
}

impl Sandbox {
    /// A sandbox for `policy`, without tools: `Sandbox::builder().policy(policy).build()`.
    pub fn new(policy: Policy) -> Result<Sandbox, SandboxError> {
        Sandbox::builder().policy(policy).build()
    }

    /// A builder, to add tools.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// The policy this sandbox enforces.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The languages this sandbox runs: the policy's `languages`, or the
    /// builder's [`default_languages`](SandboxBuilder::default_languages).
    pub fn languages(&self) -> &[Language] {
        &self.languages
    }

    /// Refuses `language` ([`SandboxError::LanguageRefused`]) unless this
    /// sandbox runs it: the check every run and session makes first, for a
    /// surface to make before it spends anything on a request.
    pub fn allows(&self, language: Language) -> Result<(), SandboxError> {
        allowed(&self.languages, language)
    }

    /// The host tools a guest may call: those registered that the policy
    /// allows, by name, each as `{"name", "description", "inputSchema"}`
    /// (its JSON Schema). A server names them to its clients, so that a
    /// model can learn of them; registered tools the policy does not allow
    /// are left out, as the guest cannot see them either.
    pub fn tools(&self) -> &[serde_json::Value] {
        self.tools.descriptors()
    }

    /// Runs `code` in a fresh guest for `language`.
    ///
    /// With an audit log, the run's start is recorded before the guest
    /// starts and its end before this returns; a run that cannot be recorded
    /// does not start.
    pub fn run(&self, language: Language, code: &str) -> Result<Outcome, SandboxError> {
        self.run_inner(language, code, None, None, &self.policy)
    }

    /// [`Sandbox::run`], stopped early when `cancel` is made: the outcome's
    /// status is then [`Status::Cancelled`](stockade_core::Status::Cancelled).
    pub fn run_cancellable(
        &self,
        language: Language,
        code: &str,
        cancel: &Cancel,
    ) -> Result<Outcome, SandboxError> {
        self.run_inner(language, code, Some(cancel), None, &self.policy)
    }

    /// Runs `request` in a fresh guest: what every surface calls. A
    /// request that names a session is refused here: the session table is
    /// the surface's, which runs it with [`Session::run_request`].
    pub fn run_request(&self, request: &Request, cancel: Option<&Cancel>) -> Result<Outcome, SandboxError> {
        self.run_request_inner(request, cancel, None)
    }

    /// [`Sandbox::run_request`], with the output handed to `output` as the
    /// guest writes it (within its caps, which still apply); the outcome
    /// at the end holds all of it too.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use stockade::{Language, Request, Sandbox, Stream};
    /// let sandbox = Sandbox::new(Default::default())?;
    /// let request = Request::new(Language::Python, "import time\nprint(1)\ntime.sleep(1)\nprint(2)");
    /// let shown = Arc::new(|stream: Stream, bytes: &[u8]| {
    ///     eprint!("[{stream:?}] {}", String::from_utf8_lossy(bytes));
    /// });
    /// let outcome = sandbox.run_with(&request, None, shown)?;
    /// # Ok::<(), stockade::SandboxError>(())
    /// ```
    pub fn run_with(
        &self,
        request: &Request,
        cancel: Option<&Cancel>,
        output: Arc<dyn OutputSink>,
    ) -> Result<Outcome, SandboxError> {
        self.run_request_inner(request, cancel, Some(&output))
    }

    fn run_request_inner(
        &self,
        request: &Request,
        cancel: Option<&Cancel>,
        output: Option<&Arc<dyn OutputSink>>,
    ) -> Result<Outcome, SandboxError> {
        if request.session.is_some() {
            return Err(SandboxError::Request(
                "a request for a session runs in that session (Session::run_request)".into(),
            ));
        }
        let language = request.language()?;
        match self.per_run(request)? {
            Some(policy) => self.run_inner(language, &request.code, cancel, output, &policy),
            None => self.run_inner(language, &request.code, cancel, output, &self.policy),
        }
    }

    /// The policy of one run: this sandbox's, with the request's own wall
    /// time (never over the policy's) and `[env]` values (for names the
    /// policy lists only); `None` when the request asks for neither.
    fn per_run(&self, request: &Request) -> Result<Option<Policy>, SandboxError> {
        if request.timeout_ms.is_none() && request.env.is_empty() {
            return Ok(None);
        }
        let mut policy = Policy::clone(&self.policy);
        let limit = std::time::Duration::from_millis(policy.limits.wall_ms);
        let wall = request.wall_within(limit, "limits.wall_ms")?;
        policy.limits.wall_ms = u64::try_from(wall.as_millis()).unwrap_or(u64::MAX);
        for (name, value) in &request.env {
            let Some(slot) = policy.env.get_mut(name) else {
                return Err(SandboxError::Request(format!(
                    "env.{name}: a run may set only the variables the policy's [env] names ({})",
                    policy.env.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            };
            if value.contains('\0') {
                return Err(SandboxError::Request(format!("env.{name}: the value holds a NUL byte")));
            }
            *slot = value.clone();
        }
        Ok(Some(policy))
    }

    fn run_inner(
        &self,
        language: Language,
        code: &str,
        cancel: Option<&Cancel>,
        output: Option<&Arc<dyn OutputSink>>,
        policy: &Policy,
    ) -> Result<Outcome, SandboxError> {
        let backend = self.backend(language)?;
        self.check_code(code)?;
        let layers = backend.layers(policy)?;
        let record = RunRecord::start(self.audit.as_ref(), language, code, self, None, layers)?;
        let network = match crate::network::RunNetwork::start(policy, self.audit.as_ref(), record.run_id()) {
            Ok(network) => network,
            Err(e) => return record.finish(Err(e), 0),
        };
        let wall = std::time::Duration::from_millis(policy.limits.wall_ms);
        let engine = network.as_ref().map(|network| &network.engine);
        let gate = self.gate(record.run_id(), self.lifetime_calls.as_ref(), engine, wall);
        let host = gate.clone().map(|gate| gate as Arc<dyn ToolHost>);
        let egress = network.as_ref().map(|network| network.engine.clone() as Arc<dyn Egress>);
        // The guest's environment holds each secret's placeholder, fresh
        // for the run, under the secret's name (the same for every backend).
        let with_placeholders = network.as_ref().and_then(|network| network.guest_policy(policy));
        let request = RunRequest {
            language,
            code,
            policy: with_placeholders.as_ref().unwrap_or(policy),
            tools: host.as_ref(),
            cancel,
            egress: egress.as_ref(),
            output,
            workspace: self.workspace.as_deref(),
        };
        let mut result = backend.run(request);
        if let Some(network) = network {
            let usage = network.finish();
            if let Ok(outcome) = &mut result {
                outcome.usage.network = Some(usage);
            }
        }
        let tool_calls = gate.as_ref().map_or(0, |gate| gate.finish());
        record.finish(result, tool_calls)
    }

    /// Opens a session: one guest for `language` that keeps its globals
    /// between runs. See [`Session`] for its limits and how it ends.
    pub fn session(&self, language: Language) -> Result<Session, SandboxError> {
        Session::open(self, language)
    }

    /// Makes the guest for `language` ready (snapshot and compile, cached on
    /// disk), so the first [`Sandbox::run`] does not pay for it.
    pub fn prepare(&self, language: Language) -> Result<(), SandboxError> {
        if language.is_native() {
            return self.backend(language).map(drop);
        }
        self.wasm.prepare(language, &self.policy)
    }

    /// The door's host for run `run`: its tools (counting against
    /// `session`'s budgets too when the run is part of one), and its network
    /// when it has one (the WebAssembly guests' `http` requests); `None`
    /// when it has neither. `wall` bounds each of its network requests.
    pub(crate) fn gate(
        &self,
        run: &str,
        session: Option<&Arc<SessionCalls>>,
        network: Option<&Arc<stockade_net::Engine>>,
        wall: std::time::Duration,
    ) -> Option<Arc<Gate>> {
        if self.tools.is_empty() && network.is_none() {
            return None;
        }
        let gate = Gate::new(self.tools.clone(), self.audit.clone(), run.to_string(), session.cloned());
        Some(Arc::new(match network {
            Some(engine) => gate.with_network(engine.clone(), wall),
            None => gate,
        }))
    }

    /// The ledger a session of this sandbox counts its tools' calls in: the
    /// sandbox's own when it is one budget, else one of the session's.
    pub(crate) fn session_calls(&self) -> Arc<SessionCalls> {
        self.lifetime_calls.clone().unwrap_or_default()
    }

    /// The sandbox's workspace, when it keeps one.
    pub(crate) fn workspace(&self) -> Option<&Workspace> {
        self.workspace.as_deref()
    }

    pub(crate) fn audit(&self) -> Option<&Arc<AuditLog>> {
        self.audit.as_ref()
    }

    /// Who this sandbox runs code for, if it was told.
    pub(crate) fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// The policy's digest, as the audit log names it.
    pub(crate) fn policy_sha256(&self) -> &str {
        &self.policy_sha256
    }

    /// Refuses code longer than `limits.code_bytes`.
    pub(crate) fn check_code(&self, code: &str) -> Result<(), SandboxError> {
        let limit = self.policy.limits.code_bytes;
        if code.len() as u64 > limit {
            return Err(SandboxError::Request(format!(
                "the code is {} bytes; limits.code_bytes allows {limit}",
                code.len()
            )));
        }
        Ok(())
    }

    /// The backend that runs `language`. `build` checked the policy against
    /// one backend; each is checked here, when a language of its is asked
    /// for, so a policy a backend cannot enforce never runs there.
    pub(crate) fn backend(&self, language: Language) -> Result<&dyn Backend, SandboxError> {
        allowed(&self.languages, language)?;
        let backend: &dyn Backend =
            if language.is_native() { self.jail.as_ref() } else { self.wasm.as_ref() };
        enforceable(backend, &self.policy)?;
        Ok(backend)
    }
}

/// Refuses `language` unless it is one of `languages`.
fn allowed(languages: &[Language], language: Language) -> Result<(), SandboxError> {
    if languages.contains(&language) {
        return Ok(());
    }
    Err(SandboxError::LanguageRefused { language, allowed: languages.to_vec() })
}

/// Refuses a policy that asks `backend` for something it cannot enforce.
/// The audit log is kept by the facade itself, for every backend.
fn enforceable(backend: &dyn Backend, policy: &Policy) -> Result<(), SandboxError> {
    let unmet = policy.requirements().into_iter().find(|r| *r != Requirement::Audit && !backend.enforces(*r));
    match unmet {
        None => Ok(()),
        Some(requirement) => Err(PolicyError::Unsupported {
            key: requirement.key().into(),
            backend: backend.name().into(),
            hint: Some("remove it from the policy; this build cannot enforce it yet".into()),
        }
        .into()),
    }
}

/// A workspace for `policy`: `files.tmp_bytes` (or the default) in size,
/// refused when a grant would lie beneath one of its folders, where it
/// would hide the shared files or they would hide it.
fn workspace_for(policy: &Policy) -> Result<Workspace, SandboxError> {
    for (i, grant) in policy.files.grants.iter().enumerate() {
        for (_, folder) in stockade_core::workspace::FOLDERS {
            let beneath =
                grant.guest.strip_prefix(folder).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
            if beneath {
                return Err(PolicyError::invalid(
                    format!("files.grants[{i}].guest"),
                    format!(
                        "is inside {folder}, which the sandbox's workspace holds; grant the folder elsewhere"
                    ),
                )
                .into());
            }
        }
    }
    let bytes = match policy.files.tmp_bytes {
        0 => stockade_policy::defaults::WORKSPACE_BYTES,
        bytes => bytes,
    };
    stockade_jail::workspace::create(bytes)
}
