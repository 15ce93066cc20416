//! Landlock, the last file-system layer: even inside its own root, the
//! guest may write only beneath `/tmp` and its read-write grants, and make
//! symbolic links only in `/tmp`; with ABI 4 and later it may neither bind
//! nor connect TCP sockets; with ABI 6 it may not signal processes or reach
//! abstract Unix sockets outside its domain.
//!
//! The `landlock` crate tells which rights this kernel's ABI knows; the
//! rules themselves are made by the jailed child with raw system calls, on
//! its own paths, since it may not allocate.

use landlock::{ABI, Access, AccessFs, AccessNet, BitFlags, Scope};
use std::ffi::CString;
use stockade_policy::{FileMode, Policy};

const CREATE_RULESET_VERSION: u32 = 1;
const RULE_PATH_BENEATH: u32 = 1;
const RULE_NET_PORT: u32 = 2;

/// What the child applies.
pub struct LandlockPlan {
    /// The ruleset: every right this ABI knows is handled (so denied unless a rule allows it).
    pub attr: RulesetAttr,
    /// `(guest path, rights beneath it)`.
    pub rules: Vec<(CString, u64)>,
    /// TCP ports the guest may connect to (the proxy's), where the ABI
    /// handles TCP at all.
    pub connect_ports: Vec<u64>,
}

/// `struct landlock_net_port_attr`.
#[repr(C, packed)]
struct NetPortAttr {
    allowed_access: u64,
    port: u64,
}

/// `struct landlock_ruleset_attr`.
#[repr(C)]
pub struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// `struct landlock_path_beneath_attr`.
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// This kernel's Landlock ABI version, 0 when it has none. Asked of the
/// kernel once per process: a run's plan, its planned layers and its
/// outcome each need it.
pub fn abi_version() -> i32 {
    static VERSION: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        // SAFETY: with a null attribute, size 0 and the VERSION flag, the
        // call reads no memory and returns the ABI version or an error.
        let version = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0usize,
                CREATE_RULESET_VERSION,
            )
        };
        i32::try_from(version).unwrap_or(0).max(0)
    })
}

/// The plan for `policy`'s grants, and a connect right to `proxy_port`
/// when the run has a network; `None` where the kernel has no Landlock.
pub fn plan(policy: &Policy, proxy_port: Option<u16>) -> Option<LandlockPlan> {
    let version = abi_version();
    let abi = ABI::from(version);
    if version == 0 || abi == ABI::Unsupported {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            tracing::warn!(
                "process jail: this kernel has no Landlock; that layer is off (`stockade doctor`)"
            );
        });
        return None;
    }
    let all = AccessFs::from_all(abi);
    let read = AccessFs::from_read(abi);
    let bits = |flags: BitFlags<AccessFs>| flags.bits();
    let c = |path: &str| CString::new(path).ok();
    let mut rules = vec![(c("/")?, bits(read))];
    rules.push((c("/tmp")?, bits(all)));
    let device = read | AccessFs::WriteFile | (all & AccessFs::IoctlDev);
    rules.push((c("/dev")?, bits(device)));
    rules.push((c("/proc")?, bits(read | AccessFs::WriteFile)));
    for grant in &policy.files.grants {
        let rights = match grant.mode {
            FileMode::Rw => outlasting(abi),
            FileMode::Ro => read,
        };
        rules.push((c(&grant.guest)?, bits(rights)));
    }
    let attr = RulesetAttr {
        handled_access_fs: bits(all),
        handled_access_net: AccessNet::from_all(abi).bits(),
        scoped: Scope::from_all(abi).bits(),
    };
    let handles_tcp = AccessNet::from_all(abi).contains(AccessNet::ConnectTcp);
    let connect_ports = proxy_port.filter(|_| handles_tcp).map(u64::from).into_iter().collect();
    Some(LandlockPlan { attr, rules, connect_ports })
}

/// The rights beneath a folder that outlasts the run (a read-write grant,
/// a workspace's folders): no links, FIFOs, sockets or devices left behind
/// for the host or a later guest to trip on (a FIFO blocks the open of
/// whoever opens it next, a WebAssembly guest's included).
fn outlasting(abi: ABI) -> BitFlags<AccessFs> {
    AccessFs::from_all(abi)
        & !(AccessFs::MakeSym
            | AccessFs::MakeFifo
            | AccessFs::MakeSock
            | AccessFs::MakeChar
            | AccessFs::MakeBlock)
}

impl LandlockPlan {
    /// Makes `paths` folders that outlast the run ([`outlasting`]), in
    /// place of any rule they had.
    pub(crate) fn outlast(&mut self, paths: &[&str]) {
        let rights = outlasting(ABI::from(abi_version())).bits();
        self.rules.retain(|(path, _)| !paths.iter().any(|p| path.as_bytes() == p.as_bytes()));
        self.rules.extend(paths.iter().filter_map(|path| Some((CString::new(*path).ok()?, rights))));
    }
}

/// Applies `plan` to the calling process (the jailed child, after
/// `no_new_privs`). Returns a negative value on failure.
///
/// # Safety
/// Makes raw system calls only; safe to call between `clone` and `execve`.
pub unsafe fn apply(plan: &LandlockPlan) -> i32 {
    // SAFETY: the attribute is a live `repr(C)` struct of the size passed;
    // the paths are NUL-terminated strings the plan owns; descriptors opened
    // here are closed here.
    unsafe {
        let ruleset = libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &raw const plan.attr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        ) as i32;
        if ruleset < 0 {
            return ruleset;
        }
        for (path, rights) in &plan.rules {
            let fd = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
            if fd < 0 {
                libc::close(ruleset);
                return fd;
            }
            let rule = PathBeneathAttr { allowed_access: *rights, parent_fd: fd };
            let added =
                libc::syscall(libc::SYS_landlock_add_rule, ruleset, RULE_PATH_BENEATH, &raw const rule, 0u32);
            libc::close(fd);
            if added < 0 {
                libc::close(ruleset);
                return -1;
            }
        }
        for port in &plan.connect_ports {
            let rule = NetPortAttr { allowed_access: AccessNet::ConnectTcp as u64, port: *port };
            let added =
                libc::syscall(libc::SYS_landlock_add_rule, ruleset, RULE_NET_PORT, &raw const rule, 0u32);
            if added < 0 {
                libc::close(ruleset);
                return -1;
            }
        }
        let restricted = libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) as i32;
        libc::close(ruleset);
        restricted
    }
}
