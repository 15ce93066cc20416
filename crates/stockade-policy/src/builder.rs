//! Building a policy in code: the same document the TOML file describes.

use crate::{
    FileGrant, FileMode, Fsync, Language, NetworkRule, OutputOverflow, Policy, PolicyError, SecretPolicy,
    ToolPolicy,
};
use std::time::Duration;

/// Builds a [`Policy`] one grant at a time.
///
/// `Policy::builder()` starts from the deny-all defaults (see the crate docs):
/// 30 s wall time, no fuel budget, 256 MiB memory, 1 MiB per output stream
/// (truncated past it), 4 MiB of source, an empty environment, no files, no
/// network, no tools, no secrets and no audit log. Each method widens exactly
/// one thing. [`PolicyBuilder::build`] validates the result.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct PolicyBuilder {
    policy: Policy,
}

impl Policy {
    /// A builder starting from the deny-all defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// The languages this policy runs: its `languages`, or `default` (what
    /// the surface asking offers) where it lists none.
    pub fn languages_or<'a>(&'a self, default: &'a [Language]) -> &'a [Language] {
        self.languages.as_deref().unwrap_or(default)
    }
}

impl PolicyBuilder {
    /// The languages a sandbox runs; any other is refused before it starts.
    pub fn languages(mut self, languages: impl IntoIterator<Item = Language>) -> Self {
        self.policy.languages = Some(languages.into_iter().collect());
        self
    }

    /// Wall-clock budget per run (rounded down to milliseconds).
    pub fn wall_time(mut self, wall: Duration) -> Self {
        self.policy.limits.wall_ms = u64::try_from(wall.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Instruction budget per run (wasm fuel).
    pub fn fuel(mut self, fuel: u64) -> Self {
        self.policy.limits.fuel = Some(fuel);
        self
    }

    /// Memory the guest may use, in bytes.
    pub fn memory_bytes(mut self, bytes: u64) -> Self {
        self.policy.limits.memory_bytes = bytes;
        self
    }

    /// Bytes of stdout kept.
    pub fn stdout_bytes(mut self, bytes: u64) -> Self {
        self.policy.limits.stdout_bytes = bytes;
        self
    }

    /// Bytes of stderr kept.
    pub fn stderr_bytes(mut self, bytes: u64) -> Self {
        self.policy.limits.stderr_bytes = bytes;
        self
    }

    /// What happens past an output cap.
    pub fn output_overflow(mut self, overflow: OutputOverflow) -> Self {
        self.policy.limits.output_overflow = overflow;
        self
    }

    /// Largest source code accepted, in bytes.
    pub fn code_bytes(mut self, bytes: u64) -> Self {
        self.policy.limits.code_bytes = bytes;
        self
    }

    /// How long sessions live and what all their runs together may spend.
    pub fn session(mut self, session: crate::SessionPolicy) -> Self {
        self.policy.session = session;
        self
    }

    /// Sets one environment variable in the guest.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.policy.env.insert(name.into(), value.into());
        self
    }

    /// Makes the host folder `host` visible at `guest`.
    pub fn grant_dir(mut self, host: impl Into<String>, guest: impl Into<String>, mode: FileMode) -> Self {
        self.policy.files.grants.push(FileGrant { host: host.into(), guest: guest.into(), mode });
        self
    }

    /// Gives the guest a scratch `/tmp` of this many bytes.
    pub fn scratch_tmp(mut self, bytes: u64) -> Self {
        self.policy.files.tmp_bytes = bytes;
        self
    }

    /// Lets the guest reach this host (`example.com`, `*.example.com`, `host:port`).
    pub fn allow_host(mut self, pattern: impl Into<String>) -> Self {
        self.policy.network.allow.push(NetworkRule::host(pattern));
        self
    }

    /// Lets the guest call the host tool `name` within `rules`.
    pub fn tool(mut self, name: impl Into<String>, rules: ToolPolicy) -> Self {
        self.policy.tools.insert(name.into(), rules);
        self
    }

    /// Lets the guest call registered tools that have no entry of their own.
    pub fn allow_unlisted_tools(mut self, allow: bool) -> Self {
        self.policy.allow_unlisted_tools = allow;
        self
    }

    /// Declares a secret the guest refers to by placeholder.
    pub fn secret(mut self, name: impl Into<String>, secret: SecretPolicy) -> Self {
        self.policy.secrets.insert(name.into(), secret);
        self
    }

    /// Records every decision in a hash-chained log at `path`.
    pub fn audit(mut self, path: impl Into<String>, fsync: Fsync) -> Self {
        self.policy.audit.path = Some(path.into());
        self.policy.audit.fsync = fsync;
        self
    }

    /// Imports `modules` into the CPython guest's start-up snapshot
    /// (`python.preload`).
    pub fn python_preload<I, S>(mut self, modules: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policy.python.preload = modules.into_iter().map(Into::into).collect();
        self
    }

    /// Validates and returns the policy.
    pub fn build(self) -> Result<Policy, PolicyError> {
        self.policy.validate()?;
        Ok(self.policy)
    }
}

/// `"5/s"`, `"100/m"`, `"1000/h"` → (calls, period).
pub fn parse_rate(rate: &str) -> Result<(u64, Duration), String> {
    let (count, unit) = rate.split_once('/').ok_or("a rate is written `N/s`, `N/m` or `N/h`")?;
    let count: u64 = count.trim().parse().map_err(|_| format!("`{count}` is not a count"))?;
    if count == 0 {
        return Err("a rate of 0 forbids every call; remove the tool instead".into());
    }
    let period = match unit.trim() {
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        other => return Err(format!("`{other}` is not a unit: use s, m or h")),
    };
    Ok((count, period))
}
