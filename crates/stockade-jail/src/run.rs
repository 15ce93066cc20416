//! The parent's side of one jailed run: clone the child into its
//! namespaces, write its uid and gid maps, collect its output under the
//! caps, stop the whole process tree at the deadline, and read how it ended.

use crate::capture::{Streams, Written};
use crate::cgroup::RunCgroup;
use crate::child::{self, Fds, Stage};
use crate::plan::{GUEST_ID, Plan, ROOT_MAPS_TO};
use crate::process::Child;
use crate::spawn::{ChildStack, spawn};
use crate::tty::Terminal;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};
use stockade_core::{Enforcement, JailError, Limit, Outcome, RunRequest, SandboxError, Status, Usage};
use stockade_policy::OutputOverflow;

/// How often the parent looks at the deadline, the output caps and a cancel.
const TICK: Duration = Duration::from_millis(5);

const NAMESPACES: libc::c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP;

/// A jail whose first process runs: its output pipes, and its stdin when asked for.
pub(crate) struct Started {
    pub child: Child,
    pub cgroup: Option<RunCgroup>,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    pub stdin: Option<OwnedFd>,
    /// The proxy's listener in the jail's namespace, for the egress engine
    /// to serve, when the run has a network.
    pub proxy: Option<std::net::TcpListener>,
}

/// Starts `plan` under `limits`: clone into the namespaces (the child joins
/// its v1 cgroups, or is born in its v2 group), map its user, let it build
/// its root and `execve`.
pub(crate) fn start(plan: &Plan, limits: &stockade_policy::Limits) -> Result<Started, SandboxError> {
    let processes = limits.processes.unwrap_or(crate::DEFAULT_PROCESSES);
    // Without a group the run is bound by rlimits alone: said once per process.
    let cgroup = match RunCgroup::create(limits.memory_bytes, processes) {
        Ok(cgroup) => Some(cgroup),
        Err(why) if plan.require_cgroups => {
            return Err(crate::layers::missing(
                stockade_core::JailLayer::Cgroups,
                format!("this process may not make cgroups here ({why})"),
            ));
        }
        Err(why) => {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                tracing::warn!(
                    "process jail: no cgroup ({why}); memory and processes are bound per process by rlimits, \
                     not for the whole run (`stockade doctor`)"
                );
            });
            None
        }
    };
    // With a terminal, the program's three streams are its terminal side,
    // and its output is read from the host's side; the stderr pipe then
    // only ever reads end-of-file.
    let terminal = if plan.tty { Some(Terminal::open()?) } else { None };
    let (stdout_r, stdout_w) = match &terminal {
        Some(pair) => {
            (pair.controller.try_clone().map_err(io_error)?, pair.terminal.try_clone().map_err(io_error)?)
        }
        None => pipe()?,
    };
    let (stderr_r, stderr_w) = pipe()?;
    let (sync_r, sync_w) = pipe()?;
    let (error_r, error_w) = pipe()?;
    let stdin = if plan.stdin_from_parent { Some(pipe()?) } else { None };
    let net = if plan.network { Some(channel()?) } else { None };
    // Under v1 the child joins its groups itself, through these (`cgroup.rs`).
    let join = match &cgroup {
        Some(cgroup) => cgroup
            .join_files()
            .map_err(|e| SandboxError::from(JailError::setup("open its cgroups' tasks files", e)))?,
        None => Vec::new(),
    };
    let join_fd = |at: usize| join.get(at).map_or(-1, AsRawFd::as_raw_fd);
    let fds = Fds {
        sync: sync_r.as_raw_fd(),
        error: error_w.as_raw_fd(),
        stdout: stdout_w.as_raw_fd(),
        stderr: terminal.as_ref().map_or(stderr_w.as_raw_fd(), |pair| pair.terminal.as_raw_fd()),
        stdin: match (&terminal, &stdin) {
            (Some(pair), _) => pair.terminal.as_raw_fd(),
            (None, Some((read, _))) => read.as_raw_fd(),
            (None, None) => -1,
        },
        join: [join_fd(0), join_fd(1)],
        net: net.as_ref().map_or(-1, |(_, child)| child.as_raw_fd()),
    };
    let stack = ChildStack::new().map_err(|e| JailError::setup("map its first process's stack", e))?;
    let entry = Entry { plan, fds: &fds };
    let group = cgroup.as_ref().and_then(RunCgroup::v2_directory);
    // SAFETY: the child runs `child_entry` on its own stack, reading `entry`
    // (and through it `plan` and `fds`), all of which outlive it: this
    // function waits below until the child has called `execve` or died.
    let spawned = unsafe {
        spawn(
            &stack,
            NAMESPACES,
            child_entry,
            (&raw const entry).cast_mut().cast(),
            group.as_ref().map(AsFd::as_fd),
        )
    };
    let (pid, in_group) = spawned.map_err(namespaces_refused)?;
    // The child has its own copies of these (it shares no descriptor table).
    drop((sync_r, error_w, stdout_w, stderr_w, join));
    let net = net.map(|(parent, _)| parent);
    let stdin = stdin.map(|(_, write)| write);
    let child = Child::new(pid)?;
    let attached = match &cgroup {
        Some(cgroup) if !in_group => cgroup.attach(pid),
        _ => Ok(()),
    };
    if let Err(error) = attached.and_then(|()| write_maps(pid)) {
        child.kill();
        child.reap();
        // A child that failed on its own first (joining its cgroups) has
        // said why, and is why the maps could not be written.
        if let Some(failure) = startup_failure(error_r) {
            return Err(could_not_start(failure));
        }
        return Err(JailError::setup("place or map its first process", error).into());
    }
    let go = [1u8];
    // SAFETY: one byte from a live buffer to a pipe we own.
    unsafe { libc::write(sync_w.as_raw_fd(), go.as_ptr().cast(), 1) };
    drop(sync_w);
    if let Some(failure) = startup_failure(error_r) {
        // Reaped before the stack is unmapped: the child may still be on it.
        child.kill();
        child.reap();
        return Err(could_not_start(failure));
    }
    // The child has called `execve`: it no longer uses this memory.
    drop((entry, stack));
    // Sent before `execve`, so it is already here.
    let proxy = match &net {
        Some(channel) => match crate::network::receive_fd(channel) {
            Ok(listener) => Some(std::net::TcpListener::from(listener)),
            Err(e) => {
                child.kill();
                child.reap();
                return Err(JailError::setup("receive its proxy listener", e).into());
            }
        },
        None => None,
    };
    if let Some(pair) = terminal {
        Terminal::end_input(&pair.controller);
    }
    Ok(Started { child, cgroup, stdout: stdout_r, stderr: stderr_r, stdin, proxy })
}

/// Runs `request` in a fresh jail.
pub fn run(request: RunRequest<'_>) -> Result<Outcome, SandboxError> {
    let mut plan = Plan::new(request.language, request.code, request.policy, request.egress.map(|e| &**e))?;
    // With host tools on offer, the guest gets the `tool` command and the
    // channel it calls them over.
    let (bridge, channel) = match request.tools.and_then(crate::tools::Offered::of) {
        Some(offered) => {
            let (channel, bridge) = crate::tools::Bridge::start(std::sync::Arc::new(offered))
                .map_err(|e| JailError::setup("open the channel to the host's tools", e))?;
            (Some(bridge), Some(channel))
        }
        None => (None, None),
    };
    if let Some(channel) = &channel {
        plan = plan.with_tools(channel.as_raw_fd())?;
    }
    if let Some(workspace) = request.workspace {
        crate::workspace::hand_over(workspace)?;
        plan = plan.with_workspace(workspace)?;
    }
    let limits = &request.policy.limits;
    let started = Instant::now();
    let Started { child, cgroup, stdout: stdout_r, stderr: stderr_r, stdin: _, proxy } =
        start(&plan, limits)?;
    // The jail has its own copy; with ours gone, the channel ends with it.
    drop(channel);
    if let (Some(egress), Some(listener)) = (request.egress, proxy)
        && let Err(e) = egress.serve_proxy(listener)
    {
        child.kill();
        child.reap();
        return Err(e);
    }
    let overflow_kills = limits.output_overflow == OutputOverflow::Kill;
    let mut streams =
        Streams::new(stdout_r, stderr_r, [limits.stdout_bytes, limits.stderr_bytes], request.output);

    let deadline = started + Duration::from_millis(limits.wall_ms);
    let stopped = loop {
        if streams.wait(&child, TICK.min(deadline.saturating_duration_since(Instant::now())))? {
            break None;
        }
        if Instant::now() >= deadline {
            break Some(Status::LimitExceeded { which: Limit::Wall });
        }
        if overflow_kills && streams.over() {
            break Some(Status::LimitExceeded { which: Limit::Output });
        }
        if request.cancel.is_some_and(|cancel| cancel.is_cancelled()) {
            break Some(Status::Cancelled);
        }
    };
    // Killing the namespace's first process kills every process in it.
    if stopped.is_some() {
        child.kill();
    }
    let (wait_status, rusage) = child.reap();
    if let Some(bridge) = bridge {
        bridge.stop();
    }
    let (out, err) = streams.finish();
    let oom = cgroup.as_ref().is_some_and(RunCgroup::oom_killed);
    let status = match stopped {
        Some(status) => status,
        None if oom => Status::LimitExceeded { which: Limit::Memory },
        None => ended(wait_status),
    };
    let peak = cgroup.as_ref().and_then(RunCgroup::peak_memory);
    let grouped = cgroup.is_some();
    drop(cgroup);
    let exit_code = status.exit_code().unwrap_or_else(|| signal_code(wait_status));
    let memory = peak.unwrap_or_else(|| u64::try_from(rusage.ru_maxrss).unwrap_or(0).saturating_mul(1024));
    let mut outcome = outcome(status, exit_code, out, err, started.elapsed(), memory);
    outcome.enforcement = crate::layers::applied(plan.landlock.is_some(), grouped);
    Ok(outcome)
}

/// The outcome of a native program (it has no value; it makes no tool calls yet).
pub(crate) fn outcome(
    status: Status,
    exit_code: i32,
    out: Written,
    err: Written,
    wall: Duration,
    peak: u64,
) -> Outcome {
    Outcome {
        status,
        exit_code,
        stdout: out.text,
        stderr: err.text,
        stdout_truncated: out.truncated,
        stderr_truncated: err.truncated,
        value: None,
        usage: Usage {
            wall,
            fuel: None,
            peak_memory_bytes: peak,
            output_bytes: out.bytes.saturating_add(err.bytes),
            tool_calls: 0,
            network: None,
        },
        audit: None,
        enforcement: Enforcement::default(),
    }
}

/// How the program ended by itself.
fn ended(status: libc::c_int) -> Status {
    if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            0 => Status::Ok,
            code => Status::Exited { code },
        }
    } else {
        let signal = libc::WTERMSIG(status);
        Status::GuestError {
            kind: "Signal".into(),
            message: format!("the program was killed by signal {signal}"),
            stack: None,
        }
    }
}

fn signal_code(status: libc::c_int) -> i32 {
    if libc::WIFSIGNALED(status) { 128 + libc::WTERMSIG(status) } else { 1 }
}

/// What the child starts from.
struct Entry<'a> {
    plan: &'a Plan,
    fds: &'a Fds,
}

extern "C" fn child_entry(entry: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `entry` points to the `Entry` `start` keeps alive until this
    // child has called `execve`; `child::run` is for exactly this child.
    unsafe {
        let entry = &*entry.cast::<Entry<'_>>();
        child::run(entry.plan, entry.fds)
    }
}

/// The child's stage and errno, if it failed before `execve`. End of file
/// with nothing read means the pipe closed at `execve`; anything else (a
/// stage this parent does not know, a short message) is a failure too.
fn startup_failure(error: OwnedFd) -> Option<(Option<Stage>, i32)> {
    let mut message = Vec::with_capacity(8);
    let mut file = std::fs::File::from(error);
    if file.read_to_end(&mut message).is_ok() && message.is_empty() {
        return None;
    }
    let word = |at: usize| message.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes);
    let stage = word(0).and_then(Stage::from_u32);
    let errno = word(4).map_or(0, |e| e as i32);
    Some((stage, errno))
}

fn could_not_start((stage, errno): (Option<Stage>, i32)) -> SandboxError {
    let stage = stage.map_or_else(|| "an unknown stage".to_string(), |stage| format!("{stage:?}"));
    JailError::Start { stage, source: std::io::Error::from_raw_os_error(errno) }.into()
}

/// The host user and group the guest's are mapped to: the caller's own,
/// or, when the caller is root, `nobody` (never a privileged host id).
pub(crate) fn guest_host_ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid == 0 { (ROOT_MAPS_TO, ROOT_MAPS_TO) } else { (uid, gid) }
}

/// Maps the guest's user and group to [`guest_host_ids`].
fn write_maps(pid: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: geteuid cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    let (host_uid, host_gid) = guest_host_ids();
    let proc = format!("/proc/{pid}");
    if uid != 0 {
        // An ordinary user may map a group only once setgroups is denied.
        std::fs::write(format!("{proc}/setgroups"), "deny")?;
    }
    std::fs::write(format!("{proc}/uid_map"), format!("{GUEST_ID} {host_uid} 1\n"))?;
    std::fs::write(format!("{proc}/gid_map"), format!("{GUEST_ID} {host_gid} 1\n"))?;
    Ok(())
}

fn namespaces_refused(source: std::io::Error) -> SandboxError {
    JailError::UserNamespacesRefused { source }.into()
}

fn io_error(error: std::io::Error) -> SandboxError {
    JailError::setup("use its descriptors", error).into()
}

/// A Unix socket pair for one descriptor's passage, both ends close-on-exec.
fn channel() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is two writable ints, as socketpair needs.
    let made = unsafe {
        libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
    };
    if made < 0 {
        return Err(JailError::setup("make its proxy channel", std::io::Error::last_os_error()).into());
    }
    // SAFETY: socketpair succeeded, so both are new descriptors we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn pipe() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is a two-element array, as pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(JailError::last_os_error("make a pipe").into());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are ours to own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
