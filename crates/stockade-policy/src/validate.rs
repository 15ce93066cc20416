//! Semantic checks that types alone cannot express.

use crate::network::Pattern;
use crate::{MIB, Policy, PolicyError};

/// Longest wall time a policy may set: one day.
pub const MAX_WALL_MS: u64 = 24 * 60 * 60 * 1000;
/// Smallest memory limit: below this no guest starts.
pub const MIN_MEMORY_BYTES: u64 = MIB;
/// Largest output cap per stream.
pub const MAX_OUTPUT_BYTES: u64 = 1024 * MIB;
/// Largest scratch `/tmp`: it is host memory, outside `limits.memory_bytes`.
pub const MAX_TMP_BYTES: u64 = 16 * 1024 * MIB;
/// Most requirements `python.packages` may list.
const MAX_PACKAGES: usize = 64;

/// Most modules `python.preload` may name.
pub const MAX_PRELOAD: usize = 32;
/// Largest source code a policy may accept.
pub const MAX_CODE_BYTES: u64 = 64 * MIB;

impl Policy {
    /// Checks every value; the error names the first key at fault.
    ///
    /// The parsers call this, and so does [`crate::PolicyBuilder::build`].
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.languages.as_ref().is_some_and(Vec::is_empty) {
            return Err(PolicyError::invalid(
                "languages",
                "an empty list runs nothing; list the languages to run, or leave the key out",
            ));
        }
        let l = &self.limits;
        range("limits.wall_ms", l.wall_ms, 1, MAX_WALL_MS)?;
        if let Some(fuel) = l.fuel {
            range("limits.fuel", fuel, 1, u64::MAX)?;
        }
        range("limits.memory_bytes", l.memory_bytes, MIN_MEMORY_BYTES, u64::MAX)
            .map_err(|_| PolicyError::invalid("limits.memory_bytes", "must be ≥ 1 MiB (1048576)"))?;
        range("limits.stdout_bytes", l.stdout_bytes, 0, MAX_OUTPUT_BYTES)?;
        range("limits.stderr_bytes", l.stderr_bytes, 0, MAX_OUTPUT_BYTES)?;
        range("limits.code_bytes", l.code_bytes, 1, MAX_CODE_BYTES)?;
        if let Some(processes) = l.processes {
            range("limits.processes", processes, 1, 65_536)?;
        }

        let session = &self.session;
        range("session.idle_timeout_ms", session.idle_timeout_ms, 1, MAX_WALL_MS)?;
        range("session.lifetime_ms", session.lifetime_ms, 1, MAX_WALL_MS)?;
        if let Some(runs) = session.max_runs {
            range("session.max_runs", runs, 1, u64::MAX)?;
        }
        if let Some(wall) = session.wall_ms {
            range("session.wall_ms", wall, 1, MAX_WALL_MS)?;
        }
        if let Some(fuel) = session.fuel {
            range("session.fuel", fuel, 1, u64::MAX)?;
            if l.fuel.is_none() {
                return Err(PolicyError::invalid(
                    "session.fuel",
                    "needs limits.fuel: a session's fuel is counted only when its runs are metered",
                ));
            }
        }

        for (i, module) in self.python.preload.iter().enumerate() {
            let key = format!("python.preload[{i}]");
            if !is_module_name(module) {
                return Err(PolicyError::invalid(
                    key,
                    "must be a module name such as `numpy` or `xml.etree`",
                ));
            }
            if self.python.preload[..i].contains(module) {
                return Err(PolicyError::invalid(key, "is listed twice"));
            }
        }
        if self.python.preload.len() > MAX_PRELOAD {
            return Err(PolicyError::invalid(
                "python.preload",
                format!("names at most {MAX_PRELOAD} modules"),
            ));
        }

        for (i, requirement) in self.python.packages.iter().enumerate() {
            crate::packages::check_requirement(requirement)
                .map_err(|why| PolicyError::invalid(format!("python.packages[{i}]"), why))?;
        }
        let pinned = self.python.packages.iter().filter(|r| r.contains("--hash=")).count();
        if pinned != 0 && pinned != self.python.packages.len() {
            return Err(PolicyError::invalid(
                "python.packages",
                "pip checks digests for all requirements or none: once one has `--hash=sha256:`, \
                 every one (and every dependency) must be pinned `==` with its own",
            ));
        }
        if self.python.packages.len() > MAX_PACKAGES {
            return Err(PolicyError::invalid(
                "python.packages",
                format!("names at most {MAX_PACKAGES} packages"),
            ));
        }

        for (name, value) in &self.env {
            let key = format!("env.{name}");
            if name.is_empty() || name.contains(['=', '\0']) {
                return Err(PolicyError::invalid(
                    key,
                    "a variable name must be non-empty, without `=` or NUL",
                ));
            }
            if value.contains('\0') {
                return Err(PolicyError::invalid(key, "a value must not contain NUL"));
            }
        }

        for (i, grant) in self.files.grants.iter().enumerate() {
            let key = format!("files.grants[{i}]");
            if grant.host.is_empty() || grant.host.contains('\0') {
                return Err(PolicyError::invalid(
                    format!("{key}.host"),
                    "must be a non-empty path without NUL",
                ));
            }
            guest_path(&format!("{key}.guest"), &grant.guest)?;
            if let Some(special) = SPECIAL_FOLDERS.iter().find(|dir| is_within(&grant.guest, dir)) {
                return Err(PolicyError::invalid(
                    format!("{key}.guest"),
                    format!(
                        "is inside {special}, which the sandbox fills itself (its own processes and \
                         devices); grant the folder at another guest path"
                    ),
                ));
            }
            if self.files.grants[..i].iter().any(|g| g.guest == grant.guest) {
                return Err(PolicyError::invalid(format!("{key}.guest"), "is granted twice"));
            }
            let in_tmp = grant.guest == "/tmp" || grant.guest.starts_with("/tmp/");
            if self.files.tmp_bytes > 0 && in_tmp {
                return Err(PolicyError::invalid(
                    format!("{key}.guest"),
                    "is inside /tmp, which files.tmp_bytes makes the guest's scratch folder",
                ));
            }
        }

        range("files.tmp_bytes", self.files.tmp_bytes, 0, MAX_TMP_BYTES)?;

        crate::network::Rules::new(&self.network)?;

        check_tool_namespaces("tools", self.tools.keys().map(String::as_str))?;
        for (name, tool) in &self.tools {
            check_tool_name(&format!("tools.{name}"), name)?;
            if let Some(rate) = &tool.rate {
                crate::builder::parse_rate(rate)
                    .map_err(|r| PolicyError::invalid(format!("tools.{name}.rate"), r))?;
            }
            for path in tool.constraints.keys() {
                if path.is_empty() || path.split('.').any(str::is_empty) {
                    return Err(PolicyError::invalid(
                        format!("tools.{name}.constraints.{path}"),
                        "an argument path is dot-separated names, like `recipient.country`",
                    ));
                }
            }
        }

        for (name, secret) in &self.secrets {
            check_identifier(&format!("secrets.{name}"), name)?;
            if secret.from_env.is_empty() {
                return Err(PolicyError::invalid(format!("secrets.{name}.from_env"), "must name a variable"));
            }
            if secret.hosts.is_empty() {
                return Err(PolicyError::invalid(
                    format!("secrets.{name}.hosts"),
                    "must list at least one host the secret may be sent to",
                ));
            }
            for (i, host) in secret.hosts.iter().enumerate() {
                Pattern::parse(host)
                    .map_err(|r| PolicyError::invalid(format!("secrets.{name}.hosts[{i}]"), r))?;
            }
            if secret.headers.is_empty() {
                return Err(PolicyError::invalid(
                    format!("secrets.{name}.headers"),
                    "must name at least one request header the secret may go into",
                ));
            }
            for (i, header) in secret.headers.iter().enumerate() {
                check_secret_header(header)
                    .map_err(|r| PolicyError::invalid(format!("secrets.{name}.headers[{i}]"), r))?;
            }
            if self.network.allow.is_empty() {
                // Without a network the secret could go nowhere, and the
                // guest would not even see its placeholder.
                return Err(PolicyError::invalid(
                    format!("secrets.{name}"),
                    "a secret needs network.allow: it is only ever sent to hosts the network allows",
                ));
            }
        }

        if self.audit.path.as_deref().is_some_and(|p| p.is_empty() || p.contains('\0')) {
            return Err(PolicyError::invalid("audit.path", "must be a non-empty path without NUL"));
        }
        if let Some(key) = &self.audit.signing_key {
            if key.is_empty() || key.contains('\0') {
                return Err(PolicyError::invalid(
                    "audit.signing_key",
                    "must be a non-empty path without NUL",
                ));
            }
            if self.audit.path.is_none() {
                return Err(PolicyError::invalid(
                    "audit.signing_key",
                    "signs a log, so audit.path must be set too",
                ));
            }
        }
        Ok(())
    }
}

/// Guest folders the sandbox makes itself, which a grant may not be at or
/// under: the jail mounts its own `/proc` and `/dev` and no `/sys`, and a
/// grant there would hide them or fail to mount.
const SPECIAL_FOLDERS: &[&str] = &["/proc", "/sys", "/dev"];

/// Whether `path` is `dir` or beneath it (both absolute, without `//`).
fn is_within(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Checks `min ≤ value ≤ max`; the error names `key`.
pub(crate) fn range(key: &str, value: u64, min: u64, max: u64) -> Result<(), PolicyError> {
    if value < min {
        return Err(PolicyError::invalid(key, format!("must be ≥ {min}, got {value}")));
    }
    if value > max {
        return Err(PolicyError::invalid(key, format!("must be ≤ {max}, got {value}")));
    }
    Ok(())
}

/// Checks that `name` is a valid tool, secret or variable name (1–64 ASCII
/// letters, digits or `_`, not starting with a digit); errors name `key`.
pub fn check_identifier(key: &str, name: &str) -> Result<(), PolicyError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            key,
            "a name is 1–64 ASCII letters, digits or `_`, not starting with a digit",
        ))
    }
}

/// Checks that `name` is a valid tool name: an identifier, or dotted
/// identifiers for a tool in a namespace (`stripe.listTransactions`, as
/// Amla names them), 1–64 bytes in all; errors name `key`.
pub fn check_tool_name(key: &str, name: &str) -> Result<(), PolicyError> {
    let parts_ok = name.split('.').all(|part| check_identifier(key, part).is_ok());
    if parts_ok && name.len() <= 64 {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            key,
            "a tool's name is 1–64 bytes of identifiers (ASCII letters, digits or `_`, not starting \
             with a digit), joined by `.` for a namespace",
        ))
    }
}

/// Checks that no tool of `names` is also the namespace of another: a
/// guest calls `stripe.list` as a function inside the object `stripe`, so a
/// tool named `stripe` would hide it, or be hidden by it. Errors name
/// `key` and the first such pair, in name order.
pub fn check_tool_namespaces<'a>(
    key: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), PolicyError> {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    // In name order every name that starts with `name` comes right after it.
    for (at, name) in names.iter().enumerate() {
        let inner = names[at + 1..]
            .iter()
            .take_while(|other| other.starts_with(name))
            .find(|other| other.as_bytes().get(name.len()) == Some(&b'.'));
        if let Some(inner) = inner {
            return Err(PolicyError::invalid(
                format!("{key}.{name}"),
                format!(
                    "`{name}` is also the namespace of the tool `{inner}` (a guest calls `{inner}` as a \
                     function inside `{name}`), so `{name}` cannot be a tool itself: rename one of them"
                ),
            ));
        }
    }
    Ok(())
}

/// A dotted Python module name of ASCII identifiers (`xml.etree`), at most
/// 128 bytes: it is written into the guest's warm-up code, so nothing else
/// may pass.
fn is_module_name(name: &str) -> bool {
    name.len() <= 128
        && name.split('.').all(|part| {
            !part.is_empty()
                && !part.starts_with(|c: char| c.is_ascii_digit())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn guest_path(key: &str, path: &str) -> Result<(), PolicyError> {
    if !path.starts_with('/') || path == "/" || path.contains('\0') {
        return Err(PolicyError::invalid(key, "must be an absolute path other than `/`, without NUL"));
    }
    if path.split('/').any(|part| part == ".." || part == ".") {
        return Err(PolicyError::invalid(key, "must not contain `.` or `..` components"));
    }
    if path.split('/').skip(1).any(str::is_empty) {
        return Err(PolicyError::invalid(key, "must not contain `//` or end with `/`"));
    }
    Ok(())
}

/// Refuses a header name a secret must not go into: one that is not a
/// header name, or one the proxy itself sets or strips (framing, routing,
/// hop-by-hop), where a value would be lost or change what is sent where.
fn check_secret_header(name: &str) -> Result<(), String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!("`{}` is not a header name", name.escape_debug()));
    }
    const RESERVED: [&str; 12] = [
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "proxy-connection",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
        "content-encoding",
        "accept-encoding",
    ];
    if RESERVED.iter().any(|reserved| reserved.eq_ignore_ascii_case(name)) {
        return Err(format!("`{name}` is set by stockade's proxy, not by the guest"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases of the crude check `Pattern::parse` replaced.
    #[test]
    fn host_patterns() {
        for ok in ["example.com", "*.github.com", "api.openai.com:443", "10.0.0.1:8080", "localhost"] {
            assert!(Pattern::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "*", "a..b", "http://x.com", "x.com:0", "x.com:99999", "*.", "a b.com"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn module_names() {
        for ok in ["numpy", "xml.etree.ElementTree", "_private", "a1"] {
            assert!(is_module_name(ok), "{ok}");
        }
        for bad in ["", "1x", "a..b", ".a", "a.", "os; import x", "a-b", "é", "a\0"] {
            assert!(!is_module_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn within() {
        assert!(is_within("/proc", "/proc") && is_within("/proc/x", "/proc"));
        assert!(!is_within("/process", "/proc") && !is_within("/devices", "/dev"));
    }

    #[test]
    fn guest_paths() {
        assert!(guest_path("k", "/data").is_ok());
        for bad in ["data", "/", "/data/../etc", "/./x", "/a\0b", "/data/", "//data", "/a//b"] {
            assert!(guest_path("k", bad).is_err(), "{bad:?}");
        }
    }
}
