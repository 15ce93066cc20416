//! The gate of one run: every tool call the guest makes is decided here,
//! recorded, and only then (if allowed) handed to the tool.
//!
//! The checks run in a fixed order, cheapest and most general first, and
//! the first that fails decides: the tool exists → the policy lists it →
//! the request size → the tool's JSON Schema → the policy's constraints →
//! the per-run call budget → the per-session budget → the rate. A refused
//! call never reaches the handler. An allowed call is written to the audit
//! log *before* the handler runs; if it cannot be written, the call is
//! refused.

use super::registry::{DEFAULT_MAX_CALLS, Entry, Registry};
use super::tool::{Handler, ToolError};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use stockade_audit::{AuditLog, Decision, Event};
use stockade_core::ToolHost;
use stockade_core::protocol::{self, ErrorKind, Op};

/// Frames one run may send. Past this the gate answers without deciding or
/// recording anything more, so a guest spinning on the door costs the host
/// a bounded amount of log and work; the run's wall time stops it.
pub const MAX_FRAMES_PER_RUN: u64 = 100_000;

/// Distinct refusals (tool and rule) one run may record in full. A refusal
/// already recorded is counted instead ([`Event::RefusalsRepeated`]), and
/// past this many distinct ones every refusal is only counted: what a run
/// can add to the log is bounded by this, not by the frames it sends.
pub const MAX_REFUSAL_RECORDS_PER_RUN: usize = 256;

/// Characters of a tool's name a record keeps in clear (a name the guest
/// made up may be anything); past them, a digest of the whole stands for
/// the rest.
pub const RECORDED_NAME_CHARS: usize = 64;

/// The same for a rule (a protocol error's text quotes the guest's frame).
pub const RECORDED_RULE_CHARS: usize = 200;

/// A refusal: what the guest is told, and what the log records as the rule.
struct Refused {
    kind: ErrorKind,
    rule: String,
    message: String,
}

impl Refused {
    fn new(kind: ErrorKind, rule: impl Into<String>, message: impl Into<String>) -> Refused {
        Refused { kind, rule: rule.into(), message: message.into() }
    }
}

#[derive(Default)]
struct Counts {
    frames: u64,
    calls: u64,
    allowed: HashMap<String, u64>,
    /// Refusals recorded, by (tool, rule) as recorded, and how many times
    /// each was made.
    refusals: HashMap<(String, String), u64>,
    /// Refusals past [`MAX_REFUSAL_RECORDS_PER_RUN`] distinct ones.
    unrecorded: u64,
}

/// Allowed calls per tool over all the runs of one session (or of a
/// sandbox that is one budget), for `max_calls_per_session`.
#[derive(Debug, Default)]
pub(crate) struct SessionCalls {
    calls: Mutex<HashMap<String, u64>>,
    /// What the budget spans, as a refusal names it: this session, unless
    /// it is the whole sandbox's.
    whole_sandbox: bool,
}

impl SessionCalls {
    /// A ledger for every run and session of one sandbox.
    pub(crate) fn for_sandbox() -> SessionCalls {
        SessionCalls { whole_sandbox: true, ..SessionCalls::default() }
    }
}

/// Decides the tool calls of one run.
pub(crate) struct Gate {
    registry: Arc<Registry>,
    audit: Option<Arc<AuditLog>>,
    run: String,
    counts: Mutex<Counts>,
    session: Option<Arc<SessionCalls>>,
    /// The run's egress engine, which makes the guest's `http` requests,
    /// and how long one may take; `None` when the run has no network.
    network: Option<(Arc<stockade_net::Engine>, std::time::Duration)>,
}

impl Gate {
    /// A gate for run `run`, with fresh per-run budgets, counting against
    /// `session`'s budgets too when the run is part of one (a run outside a
    /// session is a session of one run).
    pub fn new(
        registry: Arc<Registry>,
        audit: Option<Arc<AuditLog>>,
        run: String,
        session: Option<Arc<SessionCalls>>,
    ) -> Gate {
        Gate { registry, audit, run, counts: Mutex::default(), session, network: None }
    }

    /// The same gate, making the guest's `http` requests through `engine`,
    /// each within `timeout` (the run's wall time: the host's time counts
    /// against it).
    pub fn with_network(mut self, engine: Arc<stockade_net::Engine>, timeout: std::time::Duration) -> Gate {
        self.network = Some((engine, timeout));
        self
    }

    /// An `http` request of the guest, made by the run's engine, which
    /// records it in the audit log.
    fn http(&self, id: Option<u64>, request: protocol::HttpRequest) -> Vec<u8> {
        let Some((engine, timeout)) = &self.network else {
            let message = "this run has no network: the policy's network.allow is empty";
            return protocol::answer_error(id, ErrorKind::Network, message);
        };
        match engine.fetch(request, *timeout) {
            Ok(response) => protocol::answer_http(id, &response),
            Err(refusal) => {
                let kind = match &refusal {
                    stockade_net::Refusal::Unresolved { .. } => ErrorKind::Network,
                    stockade_net::Refusal::Budget(_) => ErrorKind::BudgetExceeded,
                    _ => ErrorKind::Denied,
                };
                protocol::answer_error(id, kind, &format!("stockade: {refusal}"))
            }
        }
    }

    /// Tool calls the guest attempted, allowed or not.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn call(&self, id: Option<u64>, name: &str, args: Value, frame_len: usize) -> Vec<u8> {
        self.lock().calls += 1;
        let entry = match self.decide(name, &args, frame_len) {
            Ok(entry) => entry,
            Err(refused) => {
                // The guest is refused either way; a failed record changes nothing for it.
                if self.first_of_its_kind(name, &refused.rule) {
                    let _ =
                        self.record(name, Decision::Denied, &refused.rule, &args, self.log_arguments(name));
                }
                return protocol::answer_error(id, refused.kind, &refused.message);
            }
        };
        let rules = entry.rules.as_ref();
        if let Err(e) =
            self.record(name, Decision::Allowed, "allowed", &args, rules.is_some_and(|r| r.log_arguments))
        {
            let message =
                format!("{name}: the call was not made because the audit log cannot record it ({e})");
            return protocol::answer_error(id, ErrorKind::Denied, &message);
        }
        let value = match invoke(&entry.tool.handler, args) {
            Ok(value) => value,
            Err(e) => return protocol::answer_error(id, ErrorKind::ToolError, &format!("{name}: {e}")),
        };
        let answer = protocol::answer_value(id, &value);
        let cap = rules
            .and_then(|r| r.max_response_bytes)
            .unwrap_or(u64::MAX)
            .min(protocol::MAX_ANSWER_BYTES as u64);
        if answer.len() as u64 > cap {
            let message =
                format!("{name}: the result is {} bytes; at most {cap} may reach the guest", answer.len());
            return protocol::answer_error(id, ErrorKind::TooLarge, &message);
        }
        answer
    }

    fn decide(&self, name: &str, args: &Value, frame_len: usize) -> Result<&Entry, Refused> {
        let Some(entry) = self.registry.get(name) else {
            let offered = self.registry.offered();
            return Err(Refused::new(
                ErrorKind::UnknownTool,
                "unknown_tool",
                format!("no tool named {name:?}; this sandbox offers: {offered}"),
            ));
        };
        let Some(rules) = &entry.rules else {
            return Err(Refused::new(
                ErrorKind::Denied,
                "policy",
                format!("{name}: the policy does not allow this tool (it has no [tools.{name}])"),
            ));
        };
        if let Some(max) = rules.max_request_bytes.filter(|max| frame_len as u64 > *max) {
            return Err(Refused::new(
                ErrorKind::TooLarge,
                "max_request_bytes",
                format!("{name}: the request is {frame_len} bytes; the policy allows {max}"),
            ));
        }
        if let Err(e) = entry.validator.validate(args) {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { String::new() } else { format!(" at {at}") };
            return Err(Refused::new(ErrorKind::InvalidArguments, "schema", format!("{name}: {e}{at}")));
        }
        for (path, constraint) in &rules.constraints {
            let rule = format!("constraints.{path}");
            let Some(value) = lookup(args, path) else {
                let message = format!("{name}: the argument {path} is missing, and the policy constrains it");
                return Err(Refused::new(ErrorKind::Denied, rule, message));
            };
            if let Err(why) = constraint.check(value) {
                return Err(Refused::new(ErrorKind::Denied, rule, format!("{name}: {path}: {why}")));
            }
        }
        let max = rules.max_calls.unwrap_or(DEFAULT_MAX_CALLS);
        let mut counts = self.lock();
        let used = counts.allowed.get(name).copied().unwrap_or(0);
        if used >= max {
            return Err(Refused::new(
                ErrorKind::BudgetExceeded,
                "max_calls",
                format!("{name}: all {max} calls this run may make are spent"),
            ));
        }
        let spans = match &self.session {
            Some(ledger) if ledger.whole_sandbox => "this sandbox",
            _ => "this session",
        };
        let mut session = self.session.as_ref().map(|s| s.calls.lock().unwrap_or_else(|p| p.into_inner()));
        let used_in_session = match &session {
            Some(session) => session.get(name).copied().unwrap_or(0),
            None => used,
        };
        if let Some(max) = rules.max_calls_per_session.filter(|max| used_in_session >= *max) {
            return Err(Refused::new(
                ErrorKind::BudgetExceeded,
                "max_calls_per_session",
                format!("{name}: all {max} calls {spans} may make are spent"),
            ));
        }
        if let Some(bucket) = &entry.bucket
            && bucket.lock().unwrap_or_else(|p| p.into_inner()).take(Instant::now()).is_err()
        {
            let rate = rules.rate.as_deref().unwrap_or("?");
            return Err(Refused::new(
                ErrorKind::BudgetExceeded,
                "rate",
                format!("{name}: over the rate of {rate}"),
            ));
        }
        if let Some(session) = session.as_mut() {
            session.insert(name.to_string(), used_in_session + 1);
        }
        counts.allowed.insert(name.to_string(), used + 1);
        Ok(entry)
    }

    /// Whether a refusal of `tool` by `rule` is the first of its kind in
    /// this run, and so is to be recorded; otherwise it is counted (see
    /// [`MAX_REFUSAL_RECORDS_PER_RUN`]).
    fn first_of_its_kind(&self, tool: &str, rule: &str) -> bool {
        if self.audit.is_none() {
            return false;
        }
        let key = (self.recorded_name(tool), for_the_record(rule, RECORDED_RULE_CHARS));
        let mut counts = self.lock();
        if let Some(seen) = counts.refusals.get_mut(&key) {
            *seen += 1;
            return false;
        }
        if counts.refusals.len() >= MAX_REFUSAL_RECORDS_PER_RUN {
            counts.unrecorded += 1;
            if counts.unrecorded == 1
                && let Some(log) = &self.audit
            {
                let _ = log.append(&Event::LimitHit { run: self.run.clone(), limit: "audit_records".into() });
            }
            return false;
        }
        counts.refusals.insert(key, 1);
        true
    }

    /// Records what [`Gate::first_of_its_kind`] only counted: one record per
    /// refusal that was repeated, and one for those past the cap. Called
    /// once, when the run ends, before its `run_end`; returns
    /// [`Gate::calls`].
    pub fn finish(&self) -> u64 {
        let calls = self.calls();
        let Some(log) = &self.audit else { return calls };
        let (mut repeated, unrecorded) = {
            let mut counts = self.lock();
            let repeated: Vec<_> = counts.refusals.drain().filter(|(_, seen)| *seen > 1).collect();
            (repeated, std::mem::take(&mut counts.unrecorded))
        };
        repeated.sort();
        for ((tool, rule), seen) in repeated {
            let _ =
                log.append(&Event::RefusalsRepeated { run: self.run.clone(), tool, rule, repeats: seen - 1 });
        }
        if unrecorded > 0 {
            let _ = log.append(&Event::RefusalsUnrecorded { run: self.run.clone(), count: unrecorded });
        }
        calls
    }

    /// A tool's name as the log records it: a registered tool's as it is,
    /// a name the guest made up cut to a prefix and a digest.
    fn recorded_name(&self, tool: &str) -> String {
        if self.registry.get(tool).is_some() {
            tool.to_string()
        } else {
            for_the_record(tool, RECORDED_NAME_CHARS)
        }
    }

    fn log_arguments(&self, name: &str) -> bool {
        self.registry.get(name).and_then(|e| e.rules.as_ref()).is_some_and(|r| r.log_arguments)
    }

    /// Records a decided call: the arguments' digest (of their JSON), and
    /// the arguments themselves when the policy says `log_arguments`.
    fn record(
        &self,
        tool: &str,
        decision: Decision,
        rule: &str,
        args: &Value,
        log_arguments: bool,
    ) -> Result<(), stockade_audit::AuditError> {
        if self.audit.is_none() {
            return Ok(()); // nothing to record, so no digest to compute
        }
        let digest = stockade_audit::sha256_hex(&serde_json::to_vec(args).unwrap_or_default());
        self.record_digest(tool, decision, rule, digest, log_arguments.then(|| args.clone()))
    }

    fn record_digest(
        &self,
        tool: &str,
        decision: Decision,
        rule: &str,
        args_sha256: String,
        args: Option<Value>,
    ) -> Result<(), stockade_audit::AuditError> {
        let Some(log) = &self.audit else { return Ok(()) };
        let event = Event::ToolCall {
            run: self.run.clone(),
            tool: self.recorded_name(tool),
            decision,
            rule: for_the_record(rule, RECORDED_RULE_CHARS),
            args_sha256,
            args,
        };
        log.append(&event).map(drop)
    }
}

impl ToolHost for Gate {
    fn answer(&self, frame: &[u8]) -> Vec<u8> {
        let frames = {
            let mut counts = self.lock();
            counts.frames += 1;
            counts.frames
        };
        if frames > MAX_FRAMES_PER_RUN {
            if frames == MAX_FRAMES_PER_RUN + 1
                && let Some(log) = &self.audit
            {
                let _ = log.append(&Event::LimitHit { run: self.run.clone(), limit: "tool_frames".into() });
            }
            let message = format!("this run has sent {MAX_FRAMES_PER_RUN} tool frames, all it may");
            return protocol::answer_error(None, ErrorKind::BudgetExceeded, &message);
        }
        match protocol::decode(frame) {
            Ok(request) => match request.op {
                Op::List => protocol::answer_list(request.id, self.registry.descriptors()),
                Op::Call { tool, args } => self.call(request.id, &tool, Value::Object(args), frame.len()),
                Op::Http(http) => self.http(request.id, http),
            },
            Err(refusal) => {
                self.lock().calls += 1;
                // An unreadable frame has no arguments; its digest is of the raw bytes.
                let rule = format!("protocol: {}", refusal.message);
                if self.first_of_its_kind("", &rule) {
                    let digest = stockade_audit::sha256_hex(frame);
                    let _ = self.record_digest("", Decision::Denied, &rule, digest, None);
                }
                protocol::answer_error(refusal.id, refusal.kind, &refusal.message)
            }
        }
    }
}

/// `text` as a record keeps it: whole up to `max` characters, else that
/// many and a digest of the whole (`…sha256:` and 16 hex digits).
fn for_the_record(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => {
            let digest = stockade_audit::sha256_hex(text.as_bytes());
            format!("{}…sha256:{}", &text[..end], &digest[..16])
        }
        None => text.to_string(),
    }
}

/// The value at a dotted path (`recipient.country`) in the arguments.
fn lookup<'a>(args: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(args, |value, key| value.as_object()?.get(key))
}

/// Runs a handler, turning a panic into an error the guest can read.
fn invoke(handler: &Handler, args: Value) -> Result<Value, ToolError> {
    let run = std::panic::AssertUnwindSafe(|| match handler {
        Handler::Sync(f) => f(args),
        Handler::Async(f) => pollster::block_on(f(args)),
    });
    std::panic::catch_unwind(run).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(ToolError::new(format!("the tool panicked: {what}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Tool;
    use stockade_policy::{Fsync, Policy, ToolPolicy};

    fn gate_with_log(dir: &std::path::Path) -> (Gate, std::path::PathBuf) {
        let policy = Policy::builder().tool("add", ToolPolicy::default()).build().expect("policy");
        let tool =
            Tool::new("add").handler(|args| Ok(serde_json::json!(args["a"].as_i64().unwrap_or(0) + 1)));
        let registry = Arc::new(Registry::new(vec![tool], &policy).expect("registry"));
        let path = dir.join("audit.jsonl");
        let log = Arc::new(AuditLog::open(&path, Fsync::Never).expect("log"));
        (Gate::new(registry, Some(log), "run-1".into(), None), path)
    }

    fn kind_of(answer: &[u8]) -> String {
        let answer: Value = serde_json::from_slice(answer).expect("answers are JSON");
        answer["error"]["kind"].as_str().unwrap_or("none").to_string()
    }

    #[test]
    fn malformed_frames_are_refused_and_audited() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (gate, path) = gate_with_log(dir.path());
        let frames: [&[u8]; 6] = [
            b"",
            b"\xff\xfe\xfd",
            br#"{"v":1,"op":"call","tool":"add","args":{"a":1}"#,
            br#"{"v":1,"op":"call","tool":"add","args":{"a":1,"a":2}}"#,
            b"null",
            br#"{"v":1,"op":"call"}"#,
        ];
        for frame in frames {
            assert_eq!(kind_of(&gate.answer(frame)), "protocol", "{frame:?}");
        }
        let good = gate.answer(br#"{"v":1,"id":5,"op":"call","tool":"add","args":{"a":41}}"#);
        assert_eq!(serde_json::from_slice::<Value>(&good).expect("json")["value"], 42);
        drop(gate);
        let text = std::fs::read_to_string(&path).expect("log");
        assert_eq!(text.matches("\"rule\":\"protocol: ").count(), frames.len());
        let report = stockade_audit::verify(std::fs::File::open(&path).expect("open")).expect("verify");
        assert_eq!((report.records, report.broken), (1 + frames.len() as u64 + 1, None));
    }

    #[test]
    fn a_guest_spinning_on_the_door_is_cut_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (gate, path) = gate_with_log(dir.path());
        for _ in 0..MAX_FRAMES_PER_RUN + 10 {
            gate.answer(b"garbage");
        }
        let last = gate.answer(br#"{"v":1,"op":"call","tool":"add","args":{}}"#);
        assert_eq!(kind_of(&last), "budget_exceeded");
        gate.finish();
        drop(gate);
        let text = std::fs::read_to_string(&path).expect("log");
        // The first refusal, the cut at the frame cap, and the count of the
        // same refusal repeated; nothing after the cap.
        let kinds: Vec<_> =
            records(&text).iter().map(|r| r["kind"].as_str().unwrap_or("").to_string()).collect();
        assert_eq!(kinds, ["log_opened", "tool_call", "limit_hit", "refusals_repeated"], "{text}");
        assert_eq!(records(&text)[3]["repeats"], MAX_FRAMES_PER_RUN - 1);
    }

    /// The events of a log's records.
    fn records(text: &str) -> Vec<Value> {
        text.lines()
            .map(|line| serde_json::from_str::<Value>(line).expect("a record")["event"].clone())
            .collect()
    }

    #[test]
    fn a_guest_cannot_inflate_the_audit_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (gate, path) = gate_with_log(dir.path());
        // Unknown tools with 4 KiB names full of control characters, each
        // one new (which once recorded 2.5 KB a frame), then one repeated.
        let junk = "\u{1b}[2J\n".repeat(1000);
        for i in 0..20_000 {
            let frame = serde_json::json!({"v": 1, "op": "call", "tool": format!("{i}{junk}"), "args": {}});
            assert_eq!(kind_of(&gate.answer(frame.to_string().as_bytes())), "unknown_tool");
        }
        for _ in 0..1000 {
            gate.answer(br#"{"v":1,"op":"call","tool":"nope","args":{}}"#);
        }
        gate.finish();
        drop(gate);
        let text = std::fs::read_to_string(&path).expect("log");
        assert!(text.len() < 256 << 10, "a run wrote {} bytes of refusals", text.len());
        let records = records(&text);
        let calls: Vec<_> = records.iter().filter(|r| r["kind"] == "tool_call").collect();
        assert_eq!(calls.len(), MAX_REFUSAL_RECORDS_PER_RUN);
        // A made-up name is kept as a prefix and a digest of the whole.
        let name = calls[0]["tool"].as_str().expect("a name");
        assert!(name.starts_with("0\u{1b}[2J") && name.contains("…sha256:"), "{name}");
        assert_eq!(name.chars().count(), RECORDED_NAME_CHARS + "…sha256:".chars().count() + 16);
        assert!(records.iter().any(|r| r["kind"] == "limit_hit" && r["limit"] == "audit_records"));
        let unrecorded = records.iter().find(|r| r["kind"] == "refusals_unrecorded").expect("the count");
        assert_eq!(unrecorded["count"], 20_000 + 1000 - MAX_REFUSAL_RECORDS_PER_RUN as u64);
        let report = stockade_audit::verify(std::fs::File::open(&path).expect("open")).expect("verify");
        assert_eq!(report.broken, None);
    }

    #[test]
    fn a_refusal_repeated_is_recorded_once_with_its_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (gate, path) = gate_with_log(dir.path());
        for _ in 0..500 {
            gate.answer(br#"{"v":1,"op":"call","tool":"nope","args":{}}"#);
            gate.answer(br#"{"v":1,"op":"call","tool":"add","args":{"a":1}}"#);
        }
        gate.finish();
        drop(gate);
        let text = std::fs::read_to_string(&path).expect("log");
        let records = records(&text);
        // Every allowed call, then the first refusal of each kind.
        let calls = records.iter().filter(|r| r["kind"] == "tool_call").count() as u64;
        assert_eq!(calls, DEFAULT_MAX_CALLS + 2, "{text}");
        let repeats: Vec<_> = records
            .iter()
            .filter(|r| r["kind"] == "refusals_repeated")
            .map(|r| (r["tool"].as_str().unwrap_or("").to_string(), r["repeats"].as_u64()))
            .collect();
        let add_refused = 500 - DEFAULT_MAX_CALLS - 1;
        assert_eq!(repeats, [("add".to_string(), Some(add_refused)), ("nope".to_string(), Some(499))]);
    }
}
