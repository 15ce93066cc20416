//! The jail's seccomp filters, as data: what a guest may never call, each
//! with the reason. Everything else is allowed; the namespaces, the
//! read-only root and the dropped capabilities do the rest.
//!
//! Left allowed on purpose: `pkey_*` (V8, so `node`, protects its JIT code
//! with memory protection keys) and `get_mempolicy` (a read-only query
//! NUMA-aware allocators make).

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};
use std::collections::BTreeMap;
use stockade_policy::JailPolicy;

/// Calls refused with `EPERM`, whatever their arguments.
const DENIED: &[(i64, &str)] = &[
    (libc::SYS_mount, "no new mounts: the guest's view of the file system is fixed"),
    (libc::SYS_umount2, "nor unmounting what hides the host"),
    (libc::SYS_pivot_root, "nor a new root"),
    (libc::SYS_fsopen, "the new mount API, as mount"),
    (libc::SYS_fsmount, "the new mount API, as mount"),
    (libc::SYS_fsconfig, "the new mount API, as mount"),
    (libc::SYS_move_mount, "the new mount API, as mount"),
    (libc::SYS_open_tree, "the new mount API, as mount"),
    (libc::SYS_mount_setattr, "the new mount API, as mount"),
    (libc::SYS_ptrace, "no tracing of other processes"),
    (libc::SYS_process_vm_readv, "no reading other processes' memory"),
    (libc::SYS_process_vm_writev, "no writing other processes' memory"),
    (libc::SYS_bpf, "no BPF programs: a large kernel attack surface"),
    (libc::SYS_perf_event_open, "no perf events: side channels and kernel bugs"),
    (libc::SYS_userfaultfd, "a classic helper of kernel exploits"),
    (libc::SYS_io_uring_setup, "io_uring bypasses seccomp for the calls it makes"),
    (libc::SYS_io_uring_enter, "io_uring bypasses seccomp for the calls it makes"),
    (libc::SYS_io_uring_register, "io_uring bypasses seccomp for the calls it makes"),
    (libc::SYS_keyctl, "the kernel keyring is shared beyond the jail"),
    (libc::SYS_add_key, "the kernel keyring is shared beyond the jail"),
    (libc::SYS_request_key, "the kernel keyring is shared beyond the jail"),
    (libc::SYS_unshare, "no new namespaces: each one is new kernel attack surface"),
    (libc::SYS_setns, "no entering other namespaces"),
    (libc::SYS_kexec_load, "no new kernels"),
    (libc::SYS_kexec_file_load, "no new kernels"),
    (libc::SYS_init_module, "no kernel modules"),
    (libc::SYS_finit_module, "no kernel modules"),
    (libc::SYS_delete_module, "no kernel modules"),
    (libc::SYS_open_by_handle_at, "file handles reach around mount restrictions"),
    (libc::SYS_name_to_handle_at, "file handles reach around mount restrictions"),
    (libc::SYS_syslog, "the kernel log is the host's"),
    (libc::SYS_acct, "process accounting is the host's"),
    (libc::SYS_swapon, "swap is the host's"),
    (libc::SYS_swapoff, "swap is the host's"),
    (libc::SYS_reboot, "the machine is the host's"),
    (libc::SYS_settimeofday, "the clock is the host's"),
    (libc::SYS_clock_settime, "the clock is the host's"),
    (libc::SYS_clock_adjtime, "the clock is the host's"),
    (libc::SYS_adjtimex, "the clock is the host's"),
    (libc::SYS_quotactl, "quotas are the host's"),
    (libc::SYS_lookup_dcookie, "profiling interface of the host"),
    (libc::SYS_personality, "personality flags can turn off address randomisation"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_symlink, "a link left in a read-write grant would steer the host's later reads"),
    (libc::SYS_symlinkat, "a link left in a read-write grant would steer the host's later reads"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_link, "as symlink: hard links in a grant outlive the run"),
    (libc::SYS_linkat, "as symlink: hard links in a grant outlive the run"),
    (
        libc::SYS_fanotify_init,
        "fanotify watches the host's mounts and inodes: it sees host processes use files",
    ),
    (libc::SYS_quotactl_fd, "quotas are the host's, as quotactl"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_modify_ldt, "segment descriptors: old x86 kernel attack surface no program here needs"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_iopl, "port I/O is the host's hardware"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_ioperm, "port I/O is the host's hardware"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_uselib, "the a.out loader: legacy kernel code with a history of exploits"),
    (libc::SYS_vhangup, "hangs up the terminal: only a login manager's business"),
    (libc::SYS_mbind, "NUMA placement is the host's: a guest could pin memory to one node and starve it"),
    (libc::SYS_set_mempolicy, "NUMA placement is the host's, as mbind"),
    (libc::SYS_set_mempolicy_home_node, "NUMA placement is the host's, as mbind"),
    (libc::SYS_migrate_pages, "moves pages between NUMA nodes: the host's, as mbind"),
    (libc::SYS_move_pages, "moves pages between NUMA nodes: the host's, as mbind"),
    (libc::SYS_memfd_secret, "memory the kernel itself cannot read: a hiding place for exploit payloads"),
];

/// `fchmodat2(2)`: 452 on every architecture (the numbers of calls added
/// since Linux 5.1 are shared); the libc crate names it on x86_64 only.
const SYS_FCHMODAT2: i64 = 452;

/// The setuid and setgid bits: a file the guest leaves in a read-write
/// grant with them would run with the guest's host identity (`nobody`, or
/// the caller) for whoever on the host runs it, and a setgid folder hands
/// its group to the host's later files. The grants are `nosuid` in the
/// jail, but the file outlives the run.
const SET_ID_BITS: &[u64] = &[libc::S_ISUID as u64, libc::S_ISGID as u64];

/// Calls that give a file a mode, with the number of the argument that
/// holds it: refused (`EPERM`) when that mode has a [`SET_ID_BITS`] bit.
/// The `open` family is checked whatever its flags (glibc passes 0 when it
/// creates nothing), which refuses at worst an odd raw call.
const MODE_ARGUMENTS: &[(i64, u8, &str)] = &[
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_chmod, 1, "chmod(path, mode)"),
    (libc::SYS_fchmod, 1, "fchmod(fd, mode)"),
    (libc::SYS_fchmodat, 2, "fchmodat(dir, path, mode)"),
    (SYS_FCHMODAT2, 2, "fchmodat2(dir, path, mode, flags)"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_open, 2, "open(path, flags, mode): a new file's mode"),
    (libc::SYS_openat, 3, "openat(dir, path, flags, mode): a new file's mode"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_creat, 1, "creat(path, mode)"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_mknod, 1, "mknod(path, mode, dev): a regular file, the only kind Landlock lets it make"),
    (libc::SYS_mknodat, 2, "mknodat(dir, path, mode, dev), as mknod"),
];

/// Calls refused (`EPERM`) unless the policy's `[jail]` opts in, each with
/// its key and the reason.
const INOTIFY: &[(i64, &str)] = &[
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_inotify_init, "jail.inotify: watches on the host's inodes see host processes use them"),
    (libc::SYS_inotify_init1, "jail.inotify: as inotify_init"),
];

/// Calls answered `ENOSYS`, so that libc falls back to an older call whose
/// arguments the filter can see: `clone3` keeps its flags behind a pointer
/// (`clone` is checked for namespace flags), `openat2` its mode (`openat`
/// is checked for setuid bits).
const NOT_IMPLEMENTED: &[(i64, &str)] = &[
    (libc::SYS_clone3, "flags behind a pointer: fall back to clone"),
    (libc::SYS_openat2, "mode behind a pointer: fall back to openat"),
];

/// Socket families refused: vsock reaches the hypervisor's host past any
/// network namespace; packet sockets see raw frames.
const DENIED_FAMILIES: &[u64] = &[libc::AF_VSOCK as u64, libc::AF_PACKET as u64];

/// Unless `jail.unix_sockets`: no `socket(AF_UNIX)`. Landlock (through ABI
/// 7) scopes abstract Unix sockets only, so nothing else stops a connect to
/// a pathname socket the host left in a grant (a read-only grant too:
/// connecting is not writing). Stream `socketpair`s stay: they are
/// connected at birth (a later `connect` is `EISCONN`); datagram pairs do
/// not, since `connect` and `sendto` re-aim them at any path.
const UNIX_FAMILY: u64 = libc::AF_UNIX as u64;
/// The socket type's bits in `socket`'s and `socketpair`'s second
/// argument (the rest are `SOCK_NONBLOCK` and `SOCK_CLOEXEC`).
const SOCK_TYPE_MASK: u64 = 0xf;

/// On x86_64, the x32 ABI's calls carry bit 30 in their number, and rules
/// keyed by the 64-bit numbers do not match them.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// `clone` flags that make a namespace: refused (the guest may fork and
/// start threads, not build namespaces of its own).
const NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWCGROUP as u64,
];

/// `ioctl` requests refused: `TIOCSTI` pushes keystrokes into a terminal's
/// input, which would type commands into the user's shell; `TIOCLINUX`
/// does the same on virtual consoles; `TIOCSETD` swaps a terminal's line
/// discipline, kernel code (n_hdlc, n_gsm) with a history of exploits that
/// a run's own pseudo-terminal (`jail.tty`) would otherwise reach.
const DENIED_IOCTLS: &[u64] = &[libc::TIOCSTI, libc::TIOCLINUX, libc::TIOCSETD];

/// The filters to install, in order: the deny list (`EPERM`), with what
/// `jail` opts into left out of it; [`NOT_IMPLEMENTED`] (`ENOSYS`); and on
/// x86_64 the x32 calls (`ENOSYS`).
pub fn filters(jail: &JailPolicy) -> Result<Vec<BpfProgram>, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| format!("seccomp: {e:?}"))?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = DENIED.iter().map(|(call, _)| (*call, vec![])).collect();
    if !jail.inotify {
        rules.extend(INOTIFY.iter().map(|(call, _)| (*call, vec![])));
    }
    let condition = |arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64| {
        SeccompCondition::new(arg, len, op, value).map_err(|e| format!("seccomp: {e:?}"))
    };
    let rule = |conditions: Vec<SeccompCondition>| {
        SeccompRule::new(conditions).map_err(|e| format!("seccomp: {e:?}"))
    };
    let masked = |arg: u8, flag: u64| {
        rule(vec![condition(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(flag), flag)?])
    };
    let equal =
        |arg: u8, value: u64| rule(vec![condition(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value)?]);
    rules.insert(
        libc::SYS_clone,
        NAMESPACE_FLAGS.iter().map(|flag| masked(0, *flag)).collect::<Result<_, _>>()?,
    );
    rules.insert(
        libc::SYS_ioctl,
        DENIED_IOCTLS.iter().map(|request| equal(1, *request)).collect::<Result<_, _>>()?,
    );
    let mut families: Vec<SeccompRule> =
        DENIED_FAMILIES.iter().map(|family| equal(0, *family)).collect::<Result<_, _>>()?;
    if !jail.unix_sockets {
        families.push(equal(0, UNIX_FAMILY)?);
        let datagram = condition(
            1,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::MaskedEq(SOCK_TYPE_MASK),
            libc::SOCK_DGRAM as u64,
        )?;
        let unix = condition(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, UNIX_FAMILY)?;
        rules.insert(libc::SYS_socketpair, vec![rule(vec![unix, datagram])?]);
    }
    rules.insert(libc::SYS_socket, families);
    for (call, arg, _) in MODE_ARGUMENTS {
        let set_id = SET_ID_BITS.iter().map(|bit| {
            rule(vec![condition(*arg, SeccompCmpArgLen::Dword, SeccompCmpOp::MaskedEq(*bit), *bit)?])
        });
        rules.insert(*call, set_id.collect::<Result<_, _>>()?);
    }
    let deny =
        SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)
            .map_err(|e| format!("seccomp: {e:?}"))?;
    let not_implemented = SeccompFilter::new(
        NOT_IMPLEMENTED.iter().map(|(call, _)| (*call, vec![])).collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(|e| format!("seccomp: {e:?}"))?;
    let mut programs: Vec<BpfProgram> = [deny, not_implemented]
        .into_iter()
        .map(|filter| BpfProgram::try_from(filter).map_err(|e| format!("seccomp: {e:?}")))
        .collect::<Result<_, _>>()?;
    if cfg!(target_arch = "x86_64") {
        programs.push(x32_refused());
    }
    Ok(programs)
}

/// A program by hand (seccompiler checks the architecture, not the x32
/// bit): on x86_64, any call numbered with the x32 bit gets `ENOSYS`.
fn x32_refused() -> BpfProgram {
    const LOAD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let statement = |code: u16, k: u32| seccompiler::sock_filter { code, jt: 0, jf: 0, k };
    let jump = |code: u16, k: u32, jt: u8, jf: u8| seccompiler::sock_filter { code, jt, jf, k };
    // struct seccomp_data: the call's number at offset 0, the architecture at 4.
    vec![
        statement(LOAD, 4),
        jump(JEQ, AUDIT_ARCH_X86_64, 0, 3),
        statement(LOAD, 0),
        jump(JGE, X32_SYSCALL_BIT, 0, 1),
        statement(RET, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        statement(RET, libc::SECCOMP_RET_ALLOW),
    ]
}

#[cfg(test)]
mod tests {
    use stockade_policy::JailPolicy;

    #[test]
    fn the_filters_compile() {
        for (unix_sockets, inotify) in [(false, false), (true, true)] {
            let jail = JailPolicy { unix_sockets, inotify, ..JailPolicy::default() };
            let filters = super::filters(&jail).expect("filters");
            assert_eq!(filters.len(), if cfg!(target_arch = "x86_64") { 3 } else { 2 });
            assert!(filters.iter().all(|program| !program.is_empty()));
        }
    }

    #[test]
    fn no_call_is_listed_twice() {
        let mut calls: Vec<i64> = super::DENIED.iter().map(|(call, _)| *call).collect();
        calls.extend(super::INOTIFY.iter().map(|(call, _)| *call));
        calls.extend(super::MODE_ARGUMENTS.iter().map(|(call, _, _)| *call));
        calls.extend([libc::SYS_clone, libc::SYS_ioctl, libc::SYS_socket, libc::SYS_socketpair]);
        let count = calls.len();
        calls.sort_unstable();
        calls.dedup();
        assert_eq!(calls.len(), count, "a call in two tables: one rule would replace the other");
    }
}
