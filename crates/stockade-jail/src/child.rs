//! The jailed child, between `clone` and `execve`.
//!
//! It is cloned from a multi-threaded process, so it makes only raw system
//! calls on memory the [`Plan`] prepared, and reports a failure as two
//! numbers (the step and the errno) on a pipe before `_exit`. The order of
//! the steps matters and is the one `docs/jail.md` lists.

use crate::plan::{GUEST_ID, NEW_ROOT, OLD_ROOT, Plan, Step};
use libc::{c_ulong, c_void};
use std::ffi::CStr;
use std::os::fd::RawFd;

/// Steps that can fail, as reported to the parent.
#[derive(Clone, Copy, Debug)]
#[repr(u32)]
pub enum Stage {
    /// Joining the run's v1 cgroups.
    Cgroup = 1,
    /// Waiting for the parent to write the uid and gid maps.
    Sync,
    /// Dropping supplementary groups.
    Groups,
    /// Making the mounts private and mounting the staging tmpfs.
    Staging,
    /// The first `pivot_root`, into the staging tmpfs.
    FirstPivot,
    /// One of the plan's steps.
    Build,
    /// The last `pivot_root`, into the guest's root.
    Pivot,
    /// Remounting the root read-only.
    ReadOnlyRoot,
    /// Standard input, output and error.
    Stdio,
    /// Host name, session, resource limits.
    Process,
    /// Dropping capabilities and switching to the guest's user.
    Identity,
    /// `no_new_privs` and the seccomp filters.
    Seccomp,
    /// Landlock's ruleset.
    Landlock,
    /// `execve` of the program.
    Exec,
    /// Bringing up `lo` and handing the proxy's listener to the parent
    /// (numbered last to keep the others' numbers; it runs after `Process`).
    Network,
}

impl Stage {
    /// Every stage, in order: the wire format's only source of names.
    const ALL: [Stage; 15] = [
        Stage::Cgroup,
        Stage::Sync,
        Stage::Groups,
        Stage::Staging,
        Stage::FirstPivot,
        Stage::Build,
        Stage::Pivot,
        Stage::ReadOnlyRoot,
        Stage::Stdio,
        Stage::Process,
        Stage::Identity,
        Stage::Seccomp,
        Stage::Landlock,
        Stage::Exec,
        Stage::Network,
    ];

    /// The stage's number on the wire back to its name.
    pub fn from_u32(value: u32) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| *stage as u32 == value)
    }
}

/// The descriptors the child uses.
pub struct Fds {
    /// Read end of the parent's "maps written" pipe.
    pub sync: RawFd,
    /// Write end of the error pipe (close-on-exec: it closes at `execve`).
    pub error: RawFd,
    /// The write ends of the stdout and stderr pipes.
    pub stdout: RawFd,
    /// See `stdout`.
    pub stderr: RawFd,
    /// The read end of the parent's stdin pipe (or the terminal), or -1
    /// for `/dev/null`.
    pub stdin: RawFd,
    /// The `tasks` files of the run's v1 cgroups (memory, pids), open for
    /// writing, or -1.
    pub join: [RawFd; 2],
    /// The child's end of the channel its proxy listener goes to the
    /// parent on, or -1 when the run has no network.
    pub net: RawFd,
}

/// Runs the child's side; never returns.
///
/// # Safety
/// Must be called only in the child of a `clone` that made new user, mount,
/// pid, network, ipc, uts and cgroup namespaces, with `plan` and `fds` as
/// prepared by the parent.
pub unsafe fn run(plan: &Plan, fds: &Fds) -> ! {
    // SAFETY: the caller's contract; each step is a raw system call on
    // memory that `plan` owns and that stays alive (the child never frees).
    let failed = unsafe { steps(plan, fds) };
    let (stage, errno) = failed;
    let mut message = [0u8; 8];
    message[..4].copy_from_slice(&(stage as u32).to_ne_bytes());
    message[4..].copy_from_slice(&errno.to_ne_bytes());
    // SAFETY: `message` is 8 readable bytes; `_exit` ends the child without
    // running anything of the parent's (no atexit handlers, no destructors).
    unsafe {
        libc::write(fds.error, message.as_ptr().cast(), message.len());
        libc::_exit(127)
    }
}

/// The steps up to `execve`; returns only on failure, with the stage and errno.
///
/// # Safety
///
/// Only in the jail's child between `clone` and `execve`: it makes raw
/// system calls on memory the parent prepared and keeps alive until then,
/// and allocates nothing.
unsafe fn steps(plan: &Plan, fds: &Fds) -> (Stage, i32) {
    macro_rules! check {
        ($stage:expr, $call:expr) => {
            if $call < 0 {
                return ($stage, errno());
            }
        };
    }
    // SAFETY: for the whole block, every pointer passed below comes from a
    // `CStr`/`CString` of `plan` or a literal, all NUL-terminated and alive.
    unsafe {
        // First, so that the run's processes count from this one: it moves
        // itself, alone, into its groups, which is fast where the parent
        // moving it would wait for the kernel (see `cgroup.rs`). Meanwhile
        // the parent writes the maps.
        for fd in fds.join {
            if fd >= 0 && libc::write(fd, c"0".as_ptr().cast(), 1) != 1 {
                return (Stage::Cgroup, errno());
            }
        }
        let mut byte = 0u8;
        if libc::read(fds.sync, (&raw mut byte).cast(), 1) != 1 {
            return (Stage::Sync, errno());
        }
        // Raw system calls, not libc's wrappers: those ask every thread
        // libc knows of (the parent's, copied into this child) to change its
        // ids too, and wait for answers that never come.
        if plan.drop_groups {
            check!(
                Stage::Groups,
                libc::syscall(libc::SYS_setgroups, 0usize, std::ptr::null::<libc::gid_t>()) as i32
            );
        }
        // Become the guest's user now: files the child makes must belong to
        // a mapped user (a root caller's own id is not mapped). The child
        // keeps its capabilities in the namespace until `execve`.
        check!(Stage::Groups, libc::syscall(libc::SYS_setresgid, GUEST_ID, GUEST_ID, GUEST_ID) as i32);
        check!(Stage::Groups, libc::syscall(libc::SYS_setresuid, GUEST_ID, GUEST_ID, GUEST_ID) as i32);

        check!(Stage::Staging, mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None));
        check!(
            Stage::Staging,
            mount(
                Some(c"tmpfs"),
                c"/tmp",
                Some(c"tmpfs"),
                libc::MS_NOSUID | libc::MS_NODEV,
                Some(c"size=1m,mode=0755")
            )
        );
        check!(Stage::FirstPivot, libc::mkdir(c"/tmp/oldroot".as_ptr(), 0o755));
        check!(Stage::FirstPivot, libc::mkdir(c"/tmp/newroot".as_ptr(), 0o755));
        check!(
            Stage::FirstPivot,
            libc::syscall(libc::SYS_pivot_root, c"/tmp".as_ptr(), c"/tmp/oldroot".as_ptr()) as i32
        );
        check!(Stage::FirstPivot, libc::chdir(c"/".as_ptr()));
        debug_assert_eq!(NEW_ROOT, "/newroot");
        debug_assert_eq!(OLD_ROOT, "/oldroot");
        check!(
            Stage::FirstPivot,
            mount(
                Some(c"tmpfs"),
                c"/newroot",
                Some(c"tmpfs"),
                libc::MS_NOSUID | libc::MS_NODEV,
                Some(c"size=4m,mode=0755")
            )
        );

        for step in &plan.steps {
            check!(Stage::Build, build(step));
        }

        check!(Stage::Pivot, libc::chdir(c"/newroot".as_ptr()));
        check!(Stage::Pivot, libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) as i32);
        check!(Stage::Pivot, libc::umount2(c".".as_ptr(), libc::MNT_DETACH));
        check!(Stage::Pivot, libc::chdir(c"/".as_ptr()));
        check!(
            Stage::ReadOnlyRoot,
            mount(
                None,
                c"/",
                None,
                libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
                None
            )
        );

        if fds.stdin >= 0 {
            check!(Stage::Stdio, libc::dup2(fds.stdin, 0));
        } else {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            check!(Stage::Stdio, null);
            check!(Stage::Stdio, libc::dup2(null, 0));
        }
        check!(Stage::Stdio, libc::dup2(fds.stdout, 1));
        check!(Stage::Stdio, libc::dup2(fds.stderr, 2));

        // After the id changes, which clear it: a fresh run's jail dies
        // with the thread that waits for it, even if that process crashes.
        if plan.die_with_parent {
            check!(Stage::Process, libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as c_ulong, 0, 0, 0));
        }
        check!(Stage::Process, libc::sethostname(c"sandbox".as_ptr(), 7));
        check!(Stage::Process, libc::setsid());
        // A new session has no controlling terminal; the run's own
        // pseudo-terminal (stdin, when asked for) becomes it.
        if plan.tty {
            check!(Stage::Stdio, libc::ioctl(0, libc::TIOCSCTTY, 0));
        }
        // While the child still holds CAP_NET_ADMIN in its namespace.
        if fds.net >= 0 {
            let listener = crate::network::listen_on_loopback(crate::network::PROXY_PORT);
            check!(Stage::Network, listener);
            check!(Stage::Network, crate::network::send_fd(fds.net, listener));
            libc::close(listener);
        }
        for (resource, value) in &plan.rlimits {
            let limit = libc::rlimit { rlim_cur: *value, rlim_max: *value };
            check!(Stage::Process, libc::setrlimit(*resource as _, &limit));
        }

        // The bounding set first, while the child still holds CAP_SETPCAP.
        for cap in 0..64 {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap as c_ulong, 0, 0, 0) < 0 && errno() != libc::EINVAL {
                return (Stage::Identity, errno());
            }
        }
        check!(
            Stage::Identity,
            libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as c_ulong, 0, 0, 0)
        );
        check!(Stage::Identity, libc::chdir(c"/tmp".as_ptr()));

        check!(Stage::Seccomp, libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as c_ulong, 0, 0, 0));
        if let Some(landlock) = &plan.landlock {
            check!(Stage::Landlock, crate::landlock::apply(landlock));
        }
        for filter in &plan.filters {
            let program = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            check!(
                Stage::Seccomp,
                libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER as c_ulong,
                    &raw const program as c_ulong,
                    0,
                    0
                )
            );
        }

        // Nothing the host process holds may reach the guest: every
        // descriptor above 2 closes at `execve`, whatever its flags.
        check!(Stage::Exec, close_inherited());
        // All but the channel to the host's tools, which the run's `tool`
        // command uses (`STOCKADE_TOOLS_FD` names it).
        if plan.tools >= 0 {
            check!(Stage::Exec, libc::fcntl(plan.tools, libc::F_SETFD, 0));
        }
        // Signals as a new process has them: default handlers (the host's
        // SIGPIPE is ignored, and `yes | head` would spin), nothing blocked.
        check!(Stage::Exec, default_signals());

        libc::execve(plan.argv[0].as_ptr(), plan.argv_ptrs.as_ptr(), plan.env_ptrs.as_ptr());
        (Stage::Exec, errno())
    }
}

/// One step of the plan.
///
/// # Safety
///
/// Only in the jail's child between `clone` and `execve`: it makes raw
/// system calls on memory the parent prepared and keeps alive until then,
/// and allocates nothing.
unsafe fn build(step: &Step) -> i32 {
    // SAFETY: the paths are NUL-terminated strings the plan owns.
    unsafe {
        match step {
            Step::Mkdir(path) => {
                let made = libc::mkdir(path.as_ptr(), 0o755);
                if made < 0 && errno() == libc::EEXIST { 0 } else { made }
            }
            Step::Bind { source, target, read_only, file } => {
                let made = if *file {
                    libc::open(target.as_ptr(), libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC, 0o644)
                } else {
                    libc::mkdir(target.as_ptr(), 0o755)
                };
                if made < 0 && errno() != libc::EEXIST {
                    return made;
                }
                if *file {
                    libc::close(made);
                }
                // Not recursive: a mount nested under the source stays out of sight.
                if mount(Some(source), target, None, libc::MS_BIND, None) < 0 {
                    return -1;
                }
                if *file && !*read_only {
                    // A device: its node must keep working as one.
                    return 0;
                }
                // A remount must keep the flags the kernel locked on the
                // source mount (a user namespace may not clear them).
                let mut stat: libc::statvfs = std::mem::zeroed();
                if libc::statvfs(target.as_ptr(), &mut stat) < 0 {
                    return -1;
                }
                let kept = [
                    (libc::ST_NOEXEC, libc::MS_NOEXEC),
                    (libc::ST_NOATIME, libc::MS_NOATIME),
                    (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
                    (libc::ST_RELATIME, libc::MS_RELATIME),
                ]
                .iter()
                .filter(|(st, _)| stat.f_flag & st != 0)
                .fold(0, |flags, (_, ms)| flags | ms);
                let read_only = if *read_only { libc::MS_RDONLY } else { 0 };
                let flags =
                    libc::MS_REMOUNT | libc::MS_BIND | libc::MS_NOSUID | libc::MS_NODEV | read_only | kept;
                mount(None, target, None, flags, None)
            }
            Step::Tmpfs { target, options } => {
                mount(Some(c"tmpfs"), target, Some(c"tmpfs"), libc::MS_NOSUID | libc::MS_NODEV, Some(options))
            }
            Step::Attach { mount: source, folder, target } => {
                const OPEN_TREE_CLONE: libc::c_uint = 1;
                const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
                let flags = OPEN_TREE_CLONE
                    | libc::O_CLOEXEC as libc::c_uint
                    | libc::AT_SYMLINK_NOFOLLOW as libc::c_uint;
                let clone = libc::syscall(libc::SYS_open_tree, *source, folder.as_ptr(), flags) as i32;
                if clone < 0 {
                    return clone;
                }
                let moved = libc::syscall(
                    libc::SYS_move_mount,
                    clone,
                    c"".as_ptr(),
                    libc::AT_FDCWD,
                    target.as_ptr(),
                    MOVE_MOUNT_F_EMPTY_PATH,
                ) as i32;
                libc::close(clone);
                moved
            }
            Step::Proc(target) => mount(
                Some(c"proc"),
                target,
                Some(c"proc"),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                None,
            ),
            Step::Symlink { target, link } => libc::symlink(target.as_ptr(), link.as_ptr()),
            Step::Write { path, contents, mode } => {
                let fd = libc::open(
                    path.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC | libc::O_CLOEXEC,
                    libc::c_uint::from(*mode),
                );
                if fd < 0 {
                    return fd;
                }
                let written = libc::write(fd, contents.as_ptr().cast(), contents.len());
                libc::close(fd);
                if written == contents.len() as isize { 0 } else { -1 }
            }
        }
    }
}

/// Marks every descriptor above 2 close-on-exec.
///
/// # Safety
///
/// Only in the jail's child between `clone` and `execve`: it makes raw
/// system calls on memory the parent prepared and keeps alive until then,
/// and allocates nothing.
unsafe fn close_inherited() -> i32 {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range takes two numbers and flags and touches no memory.
    let marked =
        unsafe { libc::syscall(libc::SYS_close_range, 3u32, libc::c_uint::MAX, CLOSE_RANGE_CLOEXEC) };
    if marked == 0 {
        return 0;
    }
    // Before Linux 5.11: each descriptor in turn.
    for fd in 3..65_536 {
        // SAFETY: F_SETFD on a number that may or may not be open.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    0
}

/// Every handler back to the default, and an empty signal mask.
///
/// # Safety
///
/// Only in the jail's child between `clone` and `execve`: it makes raw
/// system calls on memory the parent prepared and keeps alive until then,
/// and allocates nothing.
unsafe fn default_signals() -> i32 {
    // SAFETY: raw rt_sigaction and rt_sigprocmask on structs on this stack.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        for signal in 1..65 {
            if signal == libc::SIGKILL || signal == libc::SIGSTOP {
                continue;
            }
            // Signals 32 and 33 belong to libc; the kernel refuses nothing here.
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                &raw const action,
                std::ptr::null_mut::<u8>(),
                8usize,
            );
        }
        let empty: u64 = 0;
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &raw const empty,
            std::ptr::null_mut::<u8>(),
            8usize,
        ) as i32
    }
}

/// `mount(2)` with optional strings.
///
/// # Safety
///
/// Only in the jail's child between `clone` and `execve`: it makes raw
/// system calls on memory the parent prepared and keeps alive until then,
/// and allocates nothing.
unsafe fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: c_ulong,
    data: Option<&CStr>,
) -> i32 {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is null or a NUL-terminated string alive for the call.
    unsafe { libc::mount(ptr(source), target.as_ptr(), ptr(fstype), flags, ptr(data).cast::<c_void>()) }
}

fn errno() -> i32 {
    // SAFETY: __errno_location returns this thread's errno slot, always valid.
    unsafe { *libc::__errno_location() }
}
