//! The jail's seccomp filters, as data: what a guest may never call, each
//! with the reason. Everything else is allowed; the namespaces, the
//! read-only root and the dropped capabilities do the rest.

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};
use std::collections::BTreeMap;

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
];

/// Socket families refused: vsock reaches the hypervisor's host past any
/// network namespace; packet sockets see raw frames.
const DENIED_FAMILIES: &[u64] = &[libc::AF_VSOCK as u64, libc::AF_PACKET as u64];

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

/// The filters to install, in order: the deny list (`EPERM`), and `clone3`
/// answered `ENOSYS` (its flags are behind a pointer, out of the filter's
/// reach), so that libc falls back to `clone`, whose flags it checks.
pub fn filters() -> Result<Vec<BpfProgram>, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| format!("seccomp: {e:?}"))?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = DENIED.iter().map(|(call, _)| (*call, vec![])).collect();
    let masked = |arg: u8, flag: u64| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(flag), flag)
            .and_then(|condition| SeccompRule::new(vec![condition]))
            .map_err(|e| format!("seccomp: {e:?}"))
    };
    let equal = |arg: u8, value: u64| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value)
            .and_then(|condition| SeccompRule::new(vec![condition]))
            .map_err(|e| format!("seccomp: {e:?}"))
    };
    rules.insert(
        libc::SYS_clone,
        NAMESPACE_FLAGS.iter().map(|flag| masked(0, *flag)).collect::<Result<_, _>>()?,
    );
    rules.insert(
        libc::SYS_ioctl,
        DENIED_IOCTLS.iter().map(|request| equal(1, *request)).collect::<Result<_, _>>()?,
    );
    rules.insert(
        libc::SYS_socket,
        DENIED_FAMILIES.iter().map(|family| equal(0, *family)).collect::<Result<_, _>>()?,
    );
    let deny =
        SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)
            .map_err(|e| format!("seccomp: {e:?}"))?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, vec![])]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(|e| format!("seccomp: {e:?}"))?;
    let mut programs: Vec<BpfProgram> = [deny, clone3]
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
    #[test]
    fn the_filters_compile() {
        let filters = super::filters().expect("filters");
        assert_eq!(filters.len(), if cfg!(target_arch = "x86_64") { 3 } else { 2 });
        assert!(filters.iter().all(|program| !program.is_empty()));
    }
}
