//! The jail's plan: every path, argument and mount of one run, made into C
//! strings before the child exists, so that the child (forked from a
//! multi-threaded process) allocates nothing.

use std::ffi::CString;
use std::os::fd::RawFd;
use stockade_core::{Egress, JailError, JailLayer, Language, SandboxError};
use stockade_policy::{FileMode, Policy};

/// The user and group the guest runs as, inside the jail.
pub const GUEST_ID: u32 = 1000;
/// The host user and group a jail started by root maps its guest to:
/// `nobody`, which owns nothing, never root.
pub const ROOT_MAPS_TO: u32 = 65534;
/// Largest code passed as an argument (the kernel's `MAX_ARG_STRLEN` is 128 KiB).
pub const MAX_CODE_BYTES: usize = 120 << 10;
/// Size of the guest's `/tmp` when the policy sets none.
pub const DEFAULT_TMP_BYTES: u64 = stockade_policy::defaults::JAIL_TMP_BYTES;

/// The guest's `PATH` when the policy's `[env]` sets none: the jail's own
/// folders, never the host's `PATH`.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// Where the child builds the guest's root, before the last `pivot_root`.
pub const NEW_ROOT: &str = "/newroot";
/// Where the host's root stays reachable while the child builds.
pub const OLD_ROOT: &str = "/oldroot";

/// One step of building the guest's root, on paths under [`NEW_ROOT`].
pub enum Step {
    /// A directory (mode 0755).
    Mkdir(CString),
    /// A bind mount of the host's `source` (a path under [`OLD_ROOT`]).
    Bind {
        /// The host path, as seen from the child.
        source: CString,
        /// Where it appears.
        target: CString,
        /// Remounted read-only, `nosuid` and `nodev`.
        read_only: bool,
        /// A file, not a directory (its mount point is an empty file).
        file: bool,
    },
    /// A tmpfs with these mount options.
    Tmpfs {
        /// Where.
        target: CString,
        /// `size=...,mode=...`.
        options: CString,
    },
    /// A folder of a detached mount (a workspace's), cloned and attached
    /// here (`open_tree`, then `move_mount`).
    Attach {
        /// The detached mount's descriptor, which the child inherits.
        mount: RawFd,
        /// The folder, relative to the mount's root.
        folder: CString,
        /// Where it appears.
        target: CString,
    },
    /// A fresh `/proc` for the guest's pid namespace.
    Proc(CString),
    /// A symbolic link `link` -> `target`.
    Symlink {
        /// What it points to.
        target: CString,
        /// Where it is.
        link: CString,
    },
    /// A file with these contents.
    Write {
        /// Where.
        path: CString,
        /// What.
        contents: Vec<u8>,
        /// Its mode: 0644, or 0755 for a program.
        mode: libc::mode_t,
    },
}

/// Everything one jailed run needs.
pub struct Plan {
    /// Steps, in order.
    pub steps: Vec<Step>,
    /// The program and its arguments.
    pub(crate) argv: Vec<CString>,
    /// The guest's environment: the policy's `[env]`, and [`DEFAULT_PATH`]
    /// unless it sets `PATH`; nothing of the host's.
    /// (It owns the strings `env_ptrs` points into.)
    pub(crate) env: Vec<CString>,
    /// `argv` as `execve` takes it: pointers, then null.
    pub(crate) argv_ptrs: Vec<*const libc::c_char>,
    /// `env` as `execve` takes it.
    pub(crate) env_ptrs: Vec<*const libc::c_char>,
    /// Resource limits: `(resource, value)`.
    pub rlimits: Vec<(libc::c_int, u64)>,
    /// The seccomp filters, installed last.
    pub filters: Vec<seccompiler::BpfProgram>,
    /// Landlock's rules, where the kernel has Landlock.
    pub landlock: Option<crate::landlock::LandlockPlan>,
    /// Whether the run must not start without its cgroups (`jail.require`).
    pub require_cgroups: bool,
    /// Whether stdin is a pipe from the parent (a session's commands), not `/dev/null`.
    pub stdin_from_parent: bool,
    /// Whether the program's stdio is a new pseudo-terminal, which is also
    /// its controlling terminal (`jail.tty`).
    pub tty: bool,
    /// Whether the jail dies when the thread that started it does (a fresh
    /// run: that thread waits for it; a session outlives the thread that
    /// opened it, so it does not).
    pub die_with_parent: bool,
    /// Whether the child may drop its supplementary groups (a root parent
    /// leaves `setgroups` allowed for it; an ordinary user's kernel forbids it).
    pub drop_groups: bool,
    /// Whether the run has a network: `lo` up, the proxy's listener handed
    /// to the parent, and the proxy's variables in the environment.
    pub network: bool,
    /// The channel to the host's tools the guest inherits, or -1.
    pub(crate) tools: RawFd,
}

/// The host paths the guest sees read-only, if they exist: the programs and
/// libraries, and the few files of `/etc` they read.
/// Only the public half of `/etc/ssl`: `private/` holds the host's keys.
const READ_ONLY_DIRS: &[&str] = &["/usr", "/etc/alternatives", "/etc/ssl/certs", "/etc/ca-certificates"];
const READ_ONLY_FILES: &[&str] =
    &["/etc/ld.so.cache", "/etc/localtime", "/etc/mime.types", "/etc/ssl/openssl.cnf"];
/// The merged-`/usr` links every Debian program expects.
const USR_LINKS: &[(&str, &str)] = &[
    ("/bin", "usr/bin"),
    ("/sbin", "usr/sbin"),
    ("/lib", "usr/lib"),
    ("/lib64", "usr/lib64"),
    ("/lib32", "usr/lib32"),
];
/// The devices the guest gets: bound from the host, never made. With
/// `jail.tty`, `/dev/tty` too: it opens the opener's controlling terminal,
/// which in the jail is the run's own pseudo-terminal.
const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"];

impl Plan {
    /// The plan for a session's shell (`sh` or `bash`), which reads its
    /// commands from the parent on stdin, and outlives the thread that opens
    /// it; with the session's `network` if it has one.
    pub fn shell_session(
        language: Language,
        policy: &Policy,
        network: Option<&dyn Egress>,
    ) -> Result<Plan, SandboxError> {
        let shell = match language {
            Language::Shell => "/bin/sh",
            Language::Bash => "/bin/bash",
            other => {
                return Err(JailError::Unsupported(format!(
                    "keeps a session of a shell (sh or bash), not of {other}; run {other} in a shell session, or use fresh runs"
                ))
                .into());
            }
        };
        if policy.jail.tty {
            return Err(JailError::Unsupported(
                "gives a terminal (jail.tty) to fresh runs only: a session's shell reads its commands from a pipe"
                    .into(),
            )
            .into());
        }
        let mut plan = Plan::with_argv(&[shell, "-s"], policy, network)?;
        plan.stdin_from_parent = true;
        plan.die_with_parent = false;
        Ok(plan)
    }

    /// The plan for `code` in `language` under `policy`, with the run's
    /// `network` if it has one. Folder grants are the canonical host paths
    /// the facade resolved.
    pub fn new(
        language: Language,
        code: &str,
        policy: &Policy,
        network: Option<&dyn Egress>,
    ) -> Result<Plan, SandboxError> {
        let argv = match language {
            Language::Shell => vec!["/bin/sh", "-c", code],
            Language::Bash => vec!["/bin/bash", "-c", code],
            Language::PythonNative => vec!["/usr/bin/python3", "-c", code],
            Language::NodeNative => vec!["/usr/bin/node", "-e", code],
            other => return Err(JailError::Unsupported(format!("does not run {other}")).into()),
        };
        if code.len() > MAX_CODE_BYTES {
            return Err(SandboxError::Request(format!(
                "the code is {} bytes; the process jail passes code as an argument, at most {MAX_CODE_BYTES} bytes",
                code.len()
            )));
        }
        Plan::with_argv(&argv, policy, network)
    }

    /// The plan for the program `argv` (its path first) under `policy`.
    fn with_argv(argv: &[&str], policy: &Policy, network: Option<&dyn Egress>) -> Result<Plan, SandboxError> {
        let guest_network = network.map(crate::network::GuestNetwork::of);
        let c = |text: &str, what: &str| {
            CString::new(text).map_err(|_| SandboxError::Request(format!("{what} contains a NUL byte")))
        };
        let mut steps = Vec::new();
        let new = |path: &str| c(&format!("{NEW_ROOT}{path}"), "a path");
        let old = |path: &str| c(&format!("{OLD_ROOT}{path}"), "a path");
        let mut made = std::collections::BTreeSet::new();
        let mut mkdir_all = |steps: &mut Vec<Step>, path: &str| -> Result<(), SandboxError> {
            let mut at = String::new();
            for part in path.split('/').filter(|p| !p.is_empty()) {
                at.push('/');
                at.push_str(part);
                if made.insert(at.clone()) {
                    steps.push(Step::Mkdir(new(&at)?));
                }
            }
            Ok(())
        };

        mkdir_all(&mut steps, "/etc/ssl")?;
        for dir in READ_ONLY_DIRS.iter().filter(|d| std::path::Path::new(d).is_dir()) {
            mkdir_all(&mut steps, dir)?;
            steps.push(Step::Bind { source: old(dir)?, target: new(dir)?, read_only: true, file: false });
        }
        for file in READ_ONLY_FILES.iter().filter(|f| std::path::Path::new(f).is_file()) {
            let real = std::fs::canonicalize(file)
                .map_err(|e| JailError::setup("resolve a file it shows read-only", e))?;
            let real = real.to_string_lossy();
            steps.push(Step::Bind { source: old(&real)?, target: new(file)?, read_only: true, file: true });
        }
        for (link, target) in USR_LINKS {
            if std::path::Path::new(link).exists() {
                steps.push(Step::Symlink { target: c(target, "a link")?, link: new(link)? });
            }
        }
        let etc = [
            (
                "/etc/passwd",
                format!("root:x:0:0::/:/usr/sbin/nologin\nsandbox:x:{GUEST_ID}:{GUEST_ID}::/tmp:/bin/sh\n"),
            ),
            ("/etc/group", format!("root:x:0:\nsandbox:x:{GUEST_ID}:\n")),
            ("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n".to_string()),
            ("/etc/hostname", "sandbox\n".to_string()),
            ("/etc/hosts", "127.0.0.1 localhost sandbox\n".to_string()),
        ];
        for (path, contents) in etc {
            steps.push(Step::Write { path: new(path)?, contents: contents.into_bytes(), mode: 0o644 });
        }
        for (path, contents) in guest_network.iter().flat_map(|network| &network.files) {
            if let Some(parent) = std::path::Path::new(path).parent().and_then(|p| p.to_str()) {
                mkdir_all(&mut steps, parent)?;
            }
            steps.push(Step::Write { path: new(path)?, contents: contents.clone(), mode: 0o644 });
        }
        mkdir_all(&mut steps, "/dev")?;
        let tty: &[&str] = if policy.jail.tty { &["/dev/tty"] } else { &[] };
        for device in DEVICES.iter().chain(tty) {
            steps.push(Step::Bind {
                source: old(device)?,
                target: new(device)?,
                read_only: false,
                file: true,
            });
        }
        for (link, target) in [
            ("/dev/fd", "/proc/self/fd"),
            ("/dev/stdin", "/proc/self/fd/0"),
            ("/dev/stdout", "/proc/self/fd/1"),
            ("/dev/stderr", "/proc/self/fd/2"),
        ] {
            steps.push(Step::Symlink { target: c(target, "a link")?, link: new(link)? });
        }
        mkdir_all(&mut steps, "/proc")?;
        steps.push(Step::Proc(new("/proc")?));
        mkdir_all(&mut steps, "/tmp")?;
        let tmp_bytes = if policy.files.tmp_bytes > 0 { policy.files.tmp_bytes } else { DEFAULT_TMP_BYTES };
        let inodes = (tmp_bytes >> 20).saturating_mul(1024).clamp(64, 65_536);
        steps.push(Step::Tmpfs {
            target: new("/tmp")?,
            options: c(&format!("size={tmp_bytes},nr_inodes={inodes},mode=1777"), "tmp options")?,
        });
        for grant in &policy.files.grants {
            mkdir_all(&mut steps, &grant.guest)?;
            steps.push(Step::Bind {
                source: old(&grant.host)?,
                target: new(&grant.guest)?,
                read_only: grant.mode == FileMode::Ro,
                file: false,
            });
        }

        let argv = argv.iter().map(|arg| c(arg, "the code")).collect::<Result<Vec<_>, _>>()?;
        // The policy's `[env]`, and a `PATH` of the jail's own unless it
        // sets one: without it a shell finds programs by its built-in
        // default, but a compiler finds none of its helpers (`gcc` runs `ld`).
        let default_path = (!policy.env.contains_key("PATH")).then_some(("PATH", DEFAULT_PATH));
        // With a network, its variables (the proxy, the secrets'
        // placeholders, the authority to trust) win over the policy's own.
        let proxy = guest_network.map(|network| network.env).unwrap_or_default();
        let env = policy
            .env
            .iter()
            .filter(|(name, _)| !proxy.iter().any(|(set, _)| set == *name))
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .chain(default_path)
            .chain(proxy.iter().map(|(name, value)| (name.as_str(), value.as_str())))
            .map(|(name, value)| c(&format!("{name}={value}"), "an environment variable"))
            .collect::<Result<Vec<_>, _>>()?;
        let memory = policy.limits.memory_bytes;
        let rlimits = vec![
            // Without a memory cgroup, the data limit is the memory bound: it
            // counts writable private memory (heaps, anonymous maps), not the
            // address space a JIT reserves and never touches.
            (libc::RLIMIT_DATA as libc::c_int, memory),
            (libc::RLIMIT_NPROC as libc::c_int, policy.limits.processes.unwrap_or(DEFAULT_PROCESSES)),
            (libc::RLIMIT_CORE as libc::c_int, 0),
            (libc::RLIMIT_NOFILE as libc::c_int, 1024),
            (libc::RLIMIT_FSIZE as libc::c_int, tmp_bytes.max(memory)),
            (libc::RLIMIT_CPU as libc::c_int, policy.limits.wall_ms.div_ceil(1000).saturating_add(1)),
        ];
        let filters = crate::seccomp::filters(&policy.jail)
            .map_err(|why| JailError::setup("build its seccomp filters", std::io::Error::other(why)))?;
        // SAFETY: geteuid cannot fail and touches no memory.
        let drop_groups = unsafe { libc::geteuid() } == 0;
        let pointers = |strings: &[CString]| {
            strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect::<Vec<_>>()
        };
        let (argv_ptrs, env_ptrs) = (pointers(&argv), pointers(&env));
        let landlock = crate::landlock::plan(policy, network.map(|_| crate::network::PROXY_PORT));
        let required = policy.jail.requires(JailLayer::Landlock)
            || std::env::var_os("STOCKADE_REQUIRE_LANDLOCK").is_some_and(|v| v == "1");
        if landlock.is_none() && required {
            return Err(crate::layers::missing(JailLayer::Landlock, crate::layers::landlock_absent()));
        }
        Ok(Plan {
            steps,
            argv,
            env,
            argv_ptrs,
            env_ptrs,
            rlimits,
            filters,
            landlock,
            require_cgroups: policy.jail.requires(JailLayer::Cgroups),
            stdin_from_parent: false,
            tty: policy.jail.tty,
            die_with_parent: true,
            drop_groups,
            network: network.is_some(),
            tools: -1,
        })
    }

    /// The same plan, for a run in `workspace`: its folders
    /// ([`stockade_core::workspace::FOLDERS`]) in place of the run's own
    /// `/tmp`, writable beneath Landlock but for links, FIFOs, sockets and
    /// devices, which would outlast the run. The mount's
    /// descriptor is marked close-on-exec, as all are, before the program runs.
    pub(crate) fn with_workspace(
        mut self,
        workspace: &stockade_core::Workspace,
    ) -> Result<Plan, SandboxError> {
        use std::os::fd::AsRawFd;
        let c = |text: &str| CString::new(text).map_err(|_| SandboxError::Request("a NUL in a path".into()));
        let mount = workspace.mount().as_raw_fd();
        // In the place of the run's own `/tmp`, before the grants, which
        // may lie beneath it.
        let tmp = c(&format!("{NEW_ROOT}/tmp"))?;
        let at = self
            .steps
            .iter()
            .position(|step| matches!(step, Step::Tmpfs { target, .. } if *target == tmp))
            .ok_or_else(|| JailError::Unsupported("a plan without its own /tmp takes no workspace".into()))?;
        let mut attached = Vec::new();
        for (folder, guest) in stockade_core::workspace::FOLDERS {
            let target = c(&format!("{NEW_ROOT}{guest}"))?;
            attached.push(Step::Mkdir(target.clone()));
            attached.push(Step::Attach { mount, folder: c(folder)?, target });
        }
        self.steps.splice(at..=at, attached);
        // The folders outlast the run, and WebAssembly guests open what is
        // left in them: without Landlock, nothing would stop a FIFO there.
        let Some(landlock) = &mut self.landlock else {
            return Err(crate::layers::missing(
                JailLayer::Landlock,
                "a workspace is shared with the WebAssembly guests, and without Landlock a jailed \
                 program could leave a FIFO there that blocks their next open"
                    .into(),
            ));
        };
        landlock.outlast(&stockade_core::workspace::FOLDERS.map(|(_, guest)| guest));
        Ok(self)
    }

    /// The same plan, for a run with host tools: the guest inherits
    /// `channel` (its number in `STOCKADE_TOOLS_FD`), and finds the `tool`
    /// client first on its `PATH`.
    pub(crate) fn with_tools(mut self, channel: RawFd) -> Result<Plan, SandboxError> {
        let new = |path: &str| {
            CString::new(format!("{NEW_ROOT}{path}"))
                .map_err(|_| SandboxError::Request("a NUL in a path".into()))
        };
        self.steps.push(Step::Mkdir(new("/etc/stockade")?));
        self.steps.push(Step::Mkdir(new(crate::tools::TOOL_DIR)?));
        self.steps.push(Step::Write {
            path: new(crate::tools::TOOL_FILE)?,
            contents: crate::tools::CLIENT.to_vec(),
            mode: 0o755,
        });
        let mut env: Vec<CString> = Vec::with_capacity(self.env.len() + 1);
        for variable in self.env.drain(..) {
            match variable.to_bytes().strip_prefix(b"PATH=") {
                Some(path) => {
                    let mut prefixed = format!("PATH={}:", crate::tools::TOOL_DIR).into_bytes();
                    prefixed.extend_from_slice(path);
                    env.push(
                        CString::new(prefixed).map_err(|_| SandboxError::Request("a NUL in PATH".into()))?,
                    );
                }
                None => env.push(variable),
            }
        }
        let channel_variable = format!("{}={channel}", crate::tools::FD_VARIABLE);
        env.push(CString::new(channel_variable).map_err(|_| SandboxError::Request("a NUL".into()))?);
        self.env_ptrs = env.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
        self.env = env;
        self.tools = channel;
        Ok(self)
    }
}

/// Processes (threads included) a guest may have at once when the policy
/// does not say.
pub const DEFAULT_PROCESSES: u64 = stockade_policy::defaults::JAIL_PROCESSES;
