//! stockade's Linux process jail: shell and native programs under the same
//! policy as the WebAssembly guests, returning the same `Outcome`.
//!
//! Each run gets new user, mount, pid, network, ipc, uts and cgroup
//! namespaces; a root of its own on a tmpfs, with the host's `/usr` (and a
//! few `/etc` files) read-only, a fresh `/proc`, four devices, a size-capped
//! `/tmp` and the policy's folder grants; then `pivot_root`, the old root
//! detached and the new one remounted read-only. The program runs as an
//! unprivileged user (mapped to the caller's own id, or to `nobody` when
//! the caller is root), with every capability and the bounding set dropped,
//! `no_new_privs`, a seccomp filter, resource limits and an environment of
//! exactly the policy's `[env]` (with [`DEFAULT_PATH`] unless it sets `PATH`). Wall time kills the namespace's first
//! process, which kills every process in it. See `docs/jail.md`.
#![deny(missing_docs)]

mod background;
mod capture;
mod cgroup;
mod child;
mod descriptors;
mod landlock;
mod layers;
mod network;
mod plan;
mod process;
mod run;
mod seccomp;
mod session;
mod spawn;
pub mod tmpfs;
mod tools;
mod tty;
pub mod workspace;

use std::sync::Arc;
use stockade_core::{Backend, Language, LiveGuest, Outcome, RunRequest, SandboxError, ToolHost};
use stockade_policy::{Policy, Requirement};

pub use plan::{DEFAULT_PATH, DEFAULT_PROCESSES, DEFAULT_TMP_BYTES, MAX_CODE_BYTES};
#[doc(hidden)]
pub use session::splitter_oracle;

/// What the jail enforces on this machine: every layer is on by default,
/// and the ones the kernel may lack are reported here (by `stockade doctor`).
#[derive(Debug)]
pub struct Enforcement {
    /// Whether a jail starts at all (user namespaces allowed), or why not.
    pub jail: Result<(), String>,
    /// Landlock's ABI version; 0 when the kernel has none (the layer is then off).
    pub landlock_abi: i32,
    /// The cgroup version that bounds memory and processes, or why there is
    /// none (then rlimits bound each process, not their sum).
    pub cgroups: Result<&'static str, String>,
}

/// Probes this machine: starts one jail, makes one cgroup.
pub fn enforcement() -> Enforcement {
    let policy = Policy::default();
    let request = RunRequest {
        language: Language::Shell,
        code: "true",
        policy: &policy,
        tools: None,
        cancel: None,
        egress: None,
        output: None,
        workspace: None,
    };
    let jail = match run::run(request) {
        Ok(outcome) if outcome.status.is_ok() => Ok(()),
        Ok(outcome) => Err(format!("a test jail ended {:?}", outcome.status)),
        Err(e) => Err(e.to_string()),
    };
    let cgroups = cgroup::RunCgroup::create(64 << 20, 16).map(|group| group.version());
    Enforcement { jail, landlock_abi: landlock::abi_version(), cgroups }
}

/// The process jail as a backend.
#[derive(Debug, Default)]
pub struct JailBackend;

impl Backend for JailBackend {
    fn name(&self) -> &'static str {
        "jail"
    }

    fn languages(&self) -> &'static [Language] {
        &[Language::Shell, Language::Bash, Language::PythonNative, Language::NodeNative]
    }

    fn enforces(&self, requirement: Requirement) -> bool {
        // Host tools are not offered to native programs yet: a policy that
        // lists some grants nothing here, which is safe.
        // The network goes through the egress engine that the facade hands
        // each run (`RunRequest::egress`), which swaps the secrets in.
        matches!(
            requirement,
            Requirement::FileGrants
                | Requirement::ScratchTmp
                | Requirement::Tools
                | Requirement::Network
                | Requirement::Secrets
        )
    }

    fn layers(&self, policy: &Policy) -> Result<stockade_core::Enforcement, SandboxError> {
        layers::planned(policy)
    }

    fn run(&self, request: RunRequest<'_>) -> Result<Outcome, SandboxError> {
        run::run(request)
    }

    /// A session is one jailed shell (`sh` or `bash`) that runs each turn's
    /// code as a command; its variables, directory and `/tmp` carry over.
    fn open(
        &self,
        language: Language,
        policy: &Policy,
        tools: Option<&Arc<dyn ToolHost>>,
        egress: Option<&Arc<dyn stockade_core::Egress>>,
        workspace: Option<&stockade_core::Workspace>,
    ) -> Result<Box<dyn LiveGuest>, SandboxError> {
        Ok(Box::new(session::ShellSession::open(language, policy, tools, egress, workspace)?))
    }
}

/// Runs `make` on a thread of its own whose file-system user and group are
/// `owner`, so that what it creates belongs to them: how the host makes a
/// file or folder in a jail's `/tmp`, whose user namespace maps only the
/// guest's ids (a file of any other owner could not be created there).
/// Only that thread's ids change, and it ends with `make`.
pub fn as_file_owner<T: Send>(owner: (u32, u32), make: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let (uid, gid) = owner;
                // SAFETY: setfsgid and setfsuid take ids and touch no memory;
                // the kernel keeps these ids per thread and the C library
                // does not pass them on to other threads, so only this one,
                // which ends below, acts as `owner`. Asking with -1 changes
                // nothing and reads the id back.
                let (group, user) = unsafe {
                    libc::setfsgid(gid);
                    libc::setfsuid(uid);
                    (libc::setfsgid(u32::MAX), libc::setfsuid(u32::MAX))
                };
                if (user as u32, group as u32) != owner {
                    return Err(std::io::Error::other(format!(
                        "could not act as user {uid}, group {gid} to make the file"
                    )));
                }
                Ok(make())
            })
            .join()
            .map_err(|_| std::io::Error::other("the thread making the file panicked"))?
    })
}
