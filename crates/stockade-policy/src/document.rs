//! The policy document's types, exactly as they appear in TOML and JSON.

use crate::MIB;
use crate::constraint::Constraint;
use crate::language::Language;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything one sandboxed run (or session) is granted.
///
/// Build it with [`Policy::builder`], or parse it with
/// [`Policy::from_toml_str`] / [`Policy::from_json_str`]. `Policy::default()`
/// denies everything and keeps the default limits listed in the crate docs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// The languages a sandbox under this policy runs; any other is refused
    /// before anything starts. Absent, the CLI and the Rust API run every
    /// language, while the surfaces that face a model (the MCP server, a
    /// Python `SandboxTool`) run only the WebAssembly ones (`js`, `python`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub languages: Option<Vec<Language>>,
    /// Budgets: wall time, fuel, memory, output, code size.
    pub limits: Limits,
    /// Lifetime and total budgets of a session (runs that share a guest).
    pub session: SessionPolicy,
    /// Environment variables the guest sees. Nothing from the host leaks in.
    pub env: BTreeMap<String, String>,
    /// Host folders the guest may see.
    pub files: FilesPolicy,
    /// Network destinations the guest may reach.
    pub network: NetworkPolicy,
    /// Host tools the guest may call, keyed by tool name.
    pub tools: BTreeMap<String, ToolPolicy>,
    /// Let the guest call registered tools that have no `[tools.NAME]` entry.
    pub allow_unlisted_tools: bool,
    /// Secrets: the guest sees a placeholder; the value is added at egress.
    pub secrets: BTreeMap<String, SecretPolicy>,
    /// Where decisions are recorded.
    pub audit: AuditPolicy,
    /// How strict the process jail is about layers a kernel may lack.
    pub jail: JailPolicy,
    /// The CPython guest's own settings.
    pub python: PythonPolicy,
}

/// The CPython guest's own settings (`--lang python` only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PythonPolicy {
    /// Modules imported into the interpreter's start-up snapshot, so that a
    /// fresh run starts with them loaded (`["numpy", "pandas"]` saves each
    /// run about 0.8 s). Each distinct list is a snapshot of its own, made
    /// and compiled once per machine (about two minutes) and cached
    /// (about 300 MB). Default: none beyond stockade's common set.
    pub preload: Vec<String>,
    /// Pure-Python packages from PyPI for the guest, as pip requirements
    /// (`"tabulate==0.9.0"`, `"requests>=2.31"`, with `--hash=sha256:…`
    /// to pin a file). The host downloads them with their dependencies
    /// (pip), accepts only pure-Python wheels (`py3-none-any`), and unpacks
    /// them into a cache folder that the guest sees read-only on its
    /// `sys.path`. A package with compiled code is refused, naming its
    /// file; the guest never reaches PyPI itself. CPython guest only.
    /// Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// Most bytes `packages` may unpack to, all of them together. 0 (the
    /// default): [`defaults::PACKAGES_BYTES`](crate::defaults::PACKAGES_BYTES).
    #[serde(skip_serializing_if = "is_zero")]
    pub packages_bytes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The process jail's own settings (native languages only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct JailPolicy {
    /// Layers a native run must have: it refuses to start where the kernel
    /// does not give one of them, instead of running without it (and saying
    /// so in its outcome's `enforcement`). Default: none required; the
    /// user namespace and seccomp are always required.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<JailLayer>,
    /// The same as listing `landlock` in `require`. Default false.
    pub require_landlock: bool,
    /// Give a fresh run a terminal of its own: a new pseudo-terminal is its
    /// stdin, stdout, stderr and controlling terminal (`/dev/tty`), for
    /// programs that behave differently without one. Its output then comes
    /// back as stdout alone (a terminal has one stream), and its input is
    /// at end-of-file. Default false: stdin is `/dev/null`, output pipes.
    pub tty: bool,
    /// Let the program make Unix-domain sockets (`socket(AF_UNIX)`, and
    /// datagram `socketpair`s, which can send to any path), and so connect
    /// to a socket the host left in a granted folder: an agent's, a
    /// database's, a container runtime's. Default false: connected
    /// stream pairs (`socketpair`) still work, which is what programs use
    /// among their own processes.
    pub unix_sockets: bool,
    /// Let the program use inotify. Its watches sit on the host's inodes
    /// (`/usr`, the grants), so it learns when host processes open, read or
    /// change those files: a side channel. Default false (`inotify_init`
    /// fails with `EPERM`; tools such as `tail -f` then poll). fanotify is
    /// refused always.
    pub inotify: bool,
}

/// A layer of the process jail that a kernel may lack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JailLayer {
    /// The user namespace the jail is built on (always required).
    UserNamespace,
    /// Landlock, which confines file access by path (Linux 5.13+).
    Landlock,
    /// The seccomp filters (always required).
    Seccomp,
    /// The cgroup memory and pids controllers, which count the memory and
    /// processes of all a run's processes together; without them, each
    /// process has its own rlimits.
    Cgroups,
}

impl JailLayer {
    /// The layer's name in a policy (`user_namespace`).
    pub fn name(self) -> &'static str {
        match self {
            JailLayer::UserNamespace => "user_namespace",
            JailLayer::Landlock => "landlock",
            JailLayer::Seccomp => "seccomp",
            JailLayer::Cgroups => "cgroups",
        }
    }
}

impl std::fmt::Display for JailLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl JailPolicy {
    /// Whether a run must have `layer` (`require`, `require_landlock`).
    pub fn requires(&self, layer: JailLayer) -> bool {
        self.require.contains(&layer) || (layer == JailLayer::Landlock && self.require_landlock)
    }
}

/// Budgets for one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wall-clock time in milliseconds. Default 30 000.
    pub wall_ms: u64,
    /// Instruction budget (wasm fuel). Default: none.
    pub fuel: Option<u64>,
    /// Memory the guest may use, in bytes. Default 256 MiB; at least 1 MiB.
    pub memory_bytes: u64,
    /// Bytes of stdout kept. Default 1 MiB.
    pub stdout_bytes: u64,
    /// Bytes of stderr kept. Default 1 MiB.
    pub stderr_bytes: u64,
    /// What happens past an output cap. Default `truncate`.
    pub output_overflow: OutputOverflow,
    /// Largest source code accepted, in bytes. Default 4 MiB.
    pub code_bytes: u64,
    /// Processes and threads a native guest (the process jail) may have at
    /// once, 1 to 65 536. Default: 256 there; a WebAssembly guest has one.
    pub processes: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall_ms: 30_000,
            fuel: None,
            memory_bytes: 256 * MIB,
            stdout_bytes: MIB,
            stderr_bytes: MIB,
            output_overflow: OutputOverflow::Truncate,
            code_bytes: 4 * MIB,
            processes: None,
        }
    }
}

/// How long a session lives and what all its runs together may spend.
/// Each of its runs is held to `[limits]` as well.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SessionPolicy {
    /// A session unused for this long, in milliseconds, is closed. Default
    /// 600 000 (10 minutes).
    pub idle_timeout_ms: u64,
    /// A session is closed this long after it opened, in milliseconds,
    /// however busy. Default 3 600 000 (one hour).
    pub lifetime_ms: u64,
    /// Runs a session may take. Default: no count.
    pub max_runs: Option<u64>,
    /// Wall time all runs together may take, in milliseconds. Default: no
    /// total beyond the lifetime.
    pub wall_ms: Option<u64>,
    /// Fuel all runs together may burn; needs `limits.fuel`. Default: no total.
    pub fuel: Option<u64>,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_timeout_ms: 600_000,
            lifetime_ms: 3_600_000,
            max_runs: None,
            wall_ms: None,
            fuel: None,
        }
    }
}

/// What happens when the guest writes past an output cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputOverflow {
    /// Keep the first bytes, drop the rest, flag the stream as truncated.
    #[default]
    Truncate,
    /// Stop the guest with `LimitExceeded { output }`.
    Kill,
}

/// Host folders the guest may see.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FilesPolicy {
    /// Folders granted to the guest.
    pub grants: Vec<FileGrant>,
    /// Size of the scratch `/tmp`, in bytes. 0 (the default): a WebAssembly
    /// guest has no `/tmp`, and the process jail's is 64 MiB. A sandbox
    /// that keeps a workspace holds its `/workspace` and `/tmp` together
    /// to this size (64 MiB when 0).
    pub tmp_bytes: u64,
}

/// One host folder made visible to the guest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileGrant {
    /// Folder on the host.
    pub host: String,
    /// Absolute path the guest sees it at.
    pub guest: String,
    /// Read-only or read-write.
    #[serde(default)]
    pub mode: FileMode,
}

/// Access a file grant gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileMode {
    /// Read-only (the default).
    #[default]
    Ro,
    /// Read and write.
    Rw,
}

/// Network destinations the guest may reach. Without any `allow` rule there
/// is no network at all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkPolicy {
    /// Destinations the guest may reach: `api.github.com` (that name),
    /// `*.example.org` (its subdomains at any depth, not itself),
    /// `10.1.2.3/32` (an address range, for IP literals), each with an
    /// optional `:port` (without one, 80 and 443). A rule may also be a
    /// table, `{ host = "...", methods = ["GET"], paths = ["/v1/"] }`.
    pub allow: Vec<NetworkRule>,
    /// Destinations refused even where an `allow` rule matches, in the
    /// same forms as `allow`'s strings. A deny rule without a `:port`
    /// refuses every port, not only 80 and 443: a refusal is meant broadly,
    /// so `deny = ["10.0.0.0/8"]` leaves no port of that range open.
    pub deny: Vec<String>,
    /// Requests a run may make (connections through CONNECT count once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
    /// Bytes a run may send, over all its requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes_out: Option<u64>,
    /// Bytes a run may receive, over all its requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes_in: Option<u64>,
    /// Milliseconds a connection may sit with nothing sent either way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
    /// The DNS servers (`ip:port`) the host asks for the guest's names.
    /// Empty: the host's own (`/etc/resolv.conf`). The guest never has a
    /// resolver of its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// PEM files of certificate authorities the host also trusts when it
    /// connects on to a destination over TLS that it terminated (a local
    /// service with a private CA). The system's roots are always trusted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub upstream_ca: Vec<String>,
}

/// One `network.allow` rule: a destination, and optionally the methods and
/// path prefixes it admits where the request is visible (plain HTTP, the
/// WebAssembly guests' requests, TLS that stockade terminates).
///
/// Written as a string when it has neither (`"pypi.org"`), else as a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkRule {
    /// The destination pattern, as in `network.allow`'s strings.
    pub host: String,
    /// HTTP methods admitted (`GET`, `POST`, ...); empty admits any.
    pub methods: Vec<String>,
    /// Path prefixes admitted (`/v1/`); empty admits any.
    pub paths: Vec<String>,
}

impl NetworkRule {
    /// A rule for `host` with no method or path restriction.
    pub fn host(host: impl Into<String>) -> NetworkRule {
        NetworkRule { host: host.into(), ..NetworkRule::default() }
    }
}

/// How a rule is written: the plain string, or the table.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
enum RuleForm {
    Host(String),
    Table(RuleTable),
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RuleTable {
    /// The destination pattern.
    host: String,
    /// HTTP methods admitted; empty admits any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    methods: Vec<String>,
    /// Path prefixes admitted; empty admits any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    paths: Vec<String>,
}

impl Serialize for NetworkRule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.methods.is_empty() && self.paths.is_empty() {
            RuleForm::Host(self.host.clone()).serialize(serializer)
        } else {
            let table = RuleTable {
                host: self.host.clone(),
                methods: self.methods.clone(),
                paths: self.paths.clone(),
            };
            RuleForm::Table(table).serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for NetworkRule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than serde's untagged enum, whose one error
        // ("did not match any variant") would hide which key was wrong.
        struct Rule;
        impl<'de> serde::de::Visitor<'de> for Rule {
            type Value = NetworkRule;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a destination (\"host[:port]\") or a table { host, methods, paths }")
            }
            fn visit_str<E: serde::de::Error>(self, host: &str) -> Result<NetworkRule, E> {
                Ok(NetworkRule::host(host))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<NetworkRule, A::Error> {
                let RuleTable { host, methods, paths } =
                    RuleTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(NetworkRule { host, methods, paths })
            }
        }
        deserializer.deserialize_any(Rule)
    }
}

impl JsonSchema for NetworkRule {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NetworkRule".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RuleForm::json_schema(generator)
    }
}

/// Constraints and budgets for one host tool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ToolPolicy {
    /// Calls allowed per run.
    pub max_calls: Option<u64>,
    /// Calls allowed per session, over all its runs.
    pub max_calls_per_session: Option<u64>,
    /// Rate limit, `"N/s"`, `"N/m"` or `"N/h"`.
    pub rate: Option<String>,
    /// Largest accepted argument document, in bytes.
    pub max_request_bytes: Option<u64>,
    /// Largest accepted result document, in bytes.
    pub max_response_bytes: Option<u64>,
    /// Rules on arguments, keyed by dotted path (`recipient.country`).
    pub constraints: BTreeMap<String, Constraint>,
    /// Write arguments in clear to the audit log (default: digests only).
    pub log_arguments: bool,
}

/// A secret the guest refers to by a placeholder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretPolicy {
    /// Host environment variable that holds the real value.
    pub from_env: String,
    /// Hosts the real value may be sent to.
    pub hosts: Vec<String>,
    /// Request headers the real value may be swapped into, by name (any
    /// case). Only credential headers a server reads and does not keep:
    /// in a header the server stores (an object's metadata, say), the
    /// guest could read the real value back.
    #[serde(default = "default_secret_headers", skip_serializing_if = "is_default_secret_headers")]
    pub headers: Vec<String>,
    /// Also swap it in over plain HTTP to those hosts (for a local
    /// service); by default only over TLS that stockade terminates.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_plain_http: bool,
}

fn default_secret_headers() -> Vec<String> {
    crate::defaults::SECRET_HEADERS.iter().map(|name| name.to_string()).collect()
}

fn is_default_secret_headers(headers: &[String]) -> bool {
    headers.len() == crate::defaults::SECRET_HEADERS.len()
        && headers.iter().zip(crate::defaults::SECRET_HEADERS).all(|(a, b)| a.eq_ignore_ascii_case(b))
}

impl SecretPolicy {
    /// A secret read from `from_env` that may go to `hosts`, over TLS only,
    /// in the default headers.
    pub fn new<I, S>(from_env: impl Into<String>, hosts: I) -> SecretPolicy
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SecretPolicy {
            from_env: from_env.into(),
            hosts: hosts.into_iter().map(Into::into).collect(),
            headers: default_secret_headers(),
            allow_plain_http: false,
        }
    }
}

/// Where decisions are recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuditPolicy {
    /// Path of the hash-chained JSONL log. None (the default) means no log.
    pub path: Option<String>,
    /// When the log is flushed to disk.
    pub fsync: Fsync,
    /// File holding an Ed25519 secret seed (64 hex digits, `stockade audit
    /// keygen` makes one). With it, the end of every run appends a signed
    /// checkpoint. None (the default) means no signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
}

/// When the audit log is flushed to disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fsync {
    /// After every line.
    Always,
    /// After each run (the default).
    #[default]
    Batch,
    /// Leave it to the OS.
    Never,
}
