//! Starting the jail's first process.
//!
//! The child shares this process's memory until `execve` (`CLONE_VM`, as
//! posix_spawn does), on a stack of its own, so that starting a jail costs
//! the same from a small process as from one with gigabytes mapped: no page
//! tables are copied. Signals stay blocked across the clone, so that none of
//! this process's handlers runs in the child (on shared memory) before it
//! resets them.
//!
//! Under cgroup v2 the child is born inside its run's group
//! (`clone3` with `CLONE_INTO_CGROUP`, Linux 5.7+): its processes count from
//! the first (its memory from `execve`: until then it is the parent's), and
//! the parent writes no `cgroup.procs`, whose write may wait on the kernel
//! for milliseconds. `clone3` starts the child on
//! the new stack in the middle of the system call, which only a few lines of
//! assembly can handle; they exist for x86-64. Elsewhere, on older kernels,
//! or where `clone3` is refused (container runtimes' seccomp profiles answer
//! `ENOSYS` or `EPERM`), the child is cloned with glibc's `clone` and the
//! caller moves it into its group. Under v1 the child joins its groups
//! itself, as its first step (see `cgroup.rs`).

use std::os::fd::{AsRawFd, BorrowedFd};

/// The child's code: called with `arg` on the child's stack; its return
/// value is the child's exit status.
pub(crate) type ChildMain = extern "C" fn(*mut libc::c_void) -> libc::c_int;

/// Starts `main(arg)` in a child made with `namespaces` (clone flags), which
/// shares this process's memory and runs on `stack`, and which signals
/// `SIGCHLD` when it ends. With `cgroup` (a v2 group's directory) the child
/// starts inside that group when the kernel allows; the second value says
/// whether it did (else the caller must move it).
///
/// # Safety
/// `main` must run on `stack` without returning into this process's frames
/// (it may return: its value is the exit status), and everything `arg`
/// points to must outlive the child's use of it: until it calls `execve`
/// or exits.
pub(crate) unsafe fn spawn(
    stack: &ChildStack,
    namespaces: libc::c_int,
    main: ChildMain,
    arg: *mut libc::c_void,
    cgroup: Option<BorrowedFd<'_>>,
) -> std::io::Result<(libc::pid_t, bool)> {
    // SAFETY: a full set in a zeroed sigset, and the previous mask restored
    // on every path below.
    let before = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut before: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut before);
        before
    };
    // A failed `clone3` made no child, so any error (no `clone3` on this
    // kernel or architecture, a seccomp profile's ENOSYS or EPERM, a group
    // it may not enter) falls back to `clone`, whose own error, if any, is
    // then the answer, and the caller moves the child into its groups.
    // SAFETY: the caller's contract, passed on.
    let into_cgroup =
        cgroup.and_then(|group| unsafe { clone3_into(stack, namespaces, main, arg, Some(group)) }.ok());
    let result = match into_cgroup {
        Some(pid) => Ok((pid, true)),
        None => {
            // SAFETY: the caller's contract; `stack.top()` is the top of a
            // mapping that outlives the child's use of it.
            let pid =
                unsafe { libc::clone(main, stack.top(), namespaces | libc::CLONE_VM | libc::SIGCHLD, arg) };
            if pid < 0 { Err(std::io::Error::last_os_error()) } else { Ok((pid, false)) }
        }
    };
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut()) };
    result
}

/// `clone3`'s argument block, as far as its `cgroup` field (`CLONE_ARGS_SIZE_VER2`).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const _: () = assert!(std::mem::size_of::<CloneArgs>() == 88, "CLONE_ARGS_SIZE_VER2");

/// `clone3`, with `CLONE_INTO_CGROUP` when given a group: the child starts
/// on `stack` just after the system call, calls `main(arg)` and exits with
/// its value.
///
/// # Safety
///
/// As [`spawn`]: `main` runs on `stack` in the child, with `arg`, and
/// everything they reach must outlive the child's use of it (until it calls
/// `execve` or exits); the child must make only async-signal-safe calls.
#[cfg(target_arch = "x86_64")]
unsafe fn clone3_into(
    stack: &ChildStack,
    namespaces: libc::c_int,
    main: ChildMain,
    arg: *mut libc::c_void,
    cgroup: Option<BorrowedFd<'_>>,
) -> std::io::Result<libc::pid_t> {
    let into = if cgroup.is_some() { CLONE_INTO_CGROUP } else { 0 };
    let args = CloneArgs {
        flags: (namespaces as u32 as u64) | libc::CLONE_VM as u64 | into,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack.base as u64,
        stack_size: ChildStack::SIZE as u64,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup.map_or(0, |group| group.as_raw_fd() as u64),
    };
    let result: i64;
    // SAFETY: `clone3` returns twice. The parent gets the child's pid (or
    // -errno) in rax and goes on; `syscall` clobbers only rax, rcx and r11.
    // The child gets 0, with rsp at the top of `stack` (16-byte aligned,
    // so `call` leaves the alignment the C ABI expects), and never comes
    // back to Rust code: it calls `main(arg)` (held in callee-saved r12 and
    // r13, which `syscall` preserves in both) and exits with its value.
    // Its memory is this process's (CLONE_VM), kept alive by the caller.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r12",
            "call r13",
            "mov edi, eax",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            exit = const libc::SYS_exit,
            inlateout("rax") libc::SYS_clone3 => result,
            in("rdi") &raw const args,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") arg,
            in("r13") main,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    if result < 0 {
        return Err(std::io::Error::from_raw_os_error(-result as i32));
    }
    Ok(result as libc::pid_t)
}

/// Without the assembly for this architecture: never supported.
///
/// # Safety
///
/// As [`spawn`]: `main` runs on `stack` in the child, with `arg`, and
/// everything they reach must outlive the child's use of it (until it calls
/// `execve` or exits); the child must make only async-signal-safe calls.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn clone3_into(
    _stack: &ChildStack,
    _namespaces: libc::c_int,
    _main: ChildMain,
    _arg: *mut libc::c_void,
    _cgroup: Option<BorrowedFd<'_>>,
) -> std::io::Result<libc::pid_t> {
    Err(std::io::Error::from_raw_os_error(libc::ENOSYS))
}

/// `CLONE_INTO_CGROUP` (linux/sched.h), a `clone3`-only flag.
const CLONE_INTO_CGROUP: u64 = 0x200000000;

/// The child's stack: mapped memory with a guard page below it.
pub(crate) struct ChildStack {
    base: *mut libc::c_void,
}

impl ChildStack {
    /// Enough for the child's few frames (a `statvfs` is its largest local).
    const SIZE: usize = 256 << 10;
    const GUARD: usize = 4096;

    pub(crate) fn new() -> std::io::Result<ChildStack> {
        // SAFETY: an anonymous private mapping at an address the kernel picks.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                Self::SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let stack = ChildStack { base };
        // SAFETY: the lowest page of the mapping just made.
        if unsafe { libc::mprotect(base, Self::GUARD, libc::PROT_NONE) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The top of the stack (stacks grow down), 16-byte aligned.
    pub(crate) fn top(&self) -> *mut libc::c_void {
        // SAFETY: one past the end of the mapping, which is page aligned.
        unsafe { self.base.cast::<u8>().add(Self::SIZE).cast() }
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: the mapping `new` made, no longer used by any child.
        unsafe { libc::munmap(self.base, Self::SIZE) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};

    /// Waits for one byte from the test (not for end-of-file: the child
    /// holds a copy of the write end, as it shares no descriptor table).
    extern "C" fn wait_for_parent(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the read end of a pipe the test keeps open until
        // this child has exited; one byte into a local.
        unsafe {
            let mut byte = 0u8;
            libc::read(*arg.cast::<libc::c_int>(), (&raw mut byte).cast(), 1);
        }
        7
    }

    /// A cgroup v2 hierarchy mounted for the test (root only), removed after.
    struct Cgroup2 {
        mount: tempfile::TempDir,
        group: std::path::PathBuf,
    }

    impl Cgroup2 {
        fn mount() -> Option<Cgroup2> {
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                return None;
            }
            let mount = tempfile::tempdir().ok()?;
            let target = std::ffi::CString::new(mount.path().as_os_str().as_encoded_bytes()).ok()?;
            // SAFETY: mount with C strings that live across the call.
            let mounted = unsafe {
                libc::mount(c"none".as_ptr(), target.as_ptr(), c"cgroup2".as_ptr(), 0, std::ptr::null())
            };
            if mounted != 0 {
                return None;
            }
            let group = mount.path().join(format!("stockade-spawn-test-{}", std::process::id()));
            std::fs::create_dir(&group).ok()?;
            Some(Cgroup2 { mount, group })
        }
    }

    impl Drop for Cgroup2 {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.group);
            let target = std::ffi::CString::new(self.mount.path().as_os_str().as_encoded_bytes());
            if let Ok(target) = target {
                // SAFETY: unmounts what `Cgroup2::mount` mounted.
                unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
            }
        }
    }

    /// Reaps `pid` and returns its exit status (it must have exited).
    fn exit_status(pid: libc::pid_t) -> i32 {
        let mut status = 0;
        // SAFETY: reaps a child the test started.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "status {status:#x}");
        libc::WEXITSTATUS(status)
    }

    fn release(write: OwnedFd) {
        // SAFETY: one byte from a live buffer to a pipe the test owns.
        assert_eq!(unsafe { libc::write(write.as_raw_fd(), [1u8].as_ptr().cast(), 1) }, 1);
    }

    fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: a two-element array, as pipe2 writes; both ends then ours.
        unsafe {
            assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
            (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
        }
    }

    #[test]
    fn a_child_is_born_in_its_cgroup() {
        let Some(cgroup) = Cgroup2::mount() else {
            eprintln!("skipped: needs root to mount a cgroup v2 hierarchy");
            return;
        };
        let dir = std::fs::File::open(&cgroup.group).expect("open the group");
        let (read, write) = pipe();
        let stack = ChildStack::new().expect("stack");
        let mut fd = read.as_raw_fd();
        // SAFETY: the child only reads the pipe through `fd`, which lives
        // (as does `stack`) until it is reaped below.
        let (pid, placed) =
            unsafe { spawn(&stack, 0, wait_for_parent, (&raw mut fd).cast(), Some(dir.as_fd())) }
                .expect("spawn");
        let seen = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("the child's cgroups");
        release(write);
        assert_eq!(exit_status(pid), 7);
        assert!(placed, "clone3 with CLONE_INTO_CGROUP was not used");
        let name = cgroup.group.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(seen.lines().any(|line| line == format!("0::/{name}")), "{seen}");
    }

    /// The trampoline itself, without a group: needs no privilege.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_clone3_trampoline_runs_the_child_and_returns_its_status() {
        let (read, write) = pipe();
        let stack = ChildStack::new().expect("stack");
        let mut fd = read.as_raw_fd();
        // SAFETY: as below: `fd` and `stack` outlive the child.
        let pid =
            unsafe { clone3_into(&stack, 0, wait_for_parent, (&raw mut fd).cast(), None) }.expect("clone3");
        release(write);
        assert_eq!(exit_status(pid), 7);
    }

    #[test]
    fn without_a_cgroup_the_child_is_cloned_as_before() {
        let (read, write) = pipe();
        let stack = ChildStack::new().expect("stack");
        let mut fd = read.as_raw_fd();
        // SAFETY: as above.
        let (pid, placed) =
            unsafe { spawn(&stack, 0, wait_for_parent, (&raw mut fd).cast(), None) }.expect("spawn");
        release(write);
        assert_eq!(exit_status(pid), 7);
        assert!(!placed);
    }
}
