//! System calls no sandboxed program needs, and side channels a policy
//! must ask for (issue 20).

use super::{jail, stdout};

const POLICY: &str = "[limits]\nwall_ms = 10000\n";

#[test]
fn inotify_and_fanotify_are_refused_unless_asked() {
    // fanotify with FAN_REPORT_FID (0x200): the mode an unprivileged
    // process may use since Linux 5.13.
    let code = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n\
                def call(name, *args):\n    \
                return 'ok' if getattr(libc, name)(*args) >= 0 else os.strerror(ctypes.get_errno())\n\
                print('inotify_init1', call('inotify_init1', 0))\n\
                print('inotify_init', call('inotify_init') if hasattr(libc, 'inotify_init') else 'none')\n\
                print('fanotify_init', call('fanotify_init', 0x200, 0))";
    let refused = "Operation not permitted";
    let outcome = jail("python-native", code, POLICY);
    assert_eq!(
        stdout(&outcome),
        format!("inotify_init1 {refused}\ninotify_init {refused}\nfanotify_init {refused}\n"),
        "{outcome}"
    );
    let outcome = jail("python-native", code, &format!("{POLICY}[jail]\ninotify = true\n"));
    assert_eq!(
        stdout(&outcome),
        format!("inotify_init1 ok\ninotify_init ok\nfanotify_init {refused}\n"),
        "{outcome}"
    );
}

#[test]
fn unlisted_system_calls_are_refused() {
    let mut calls = vec![
        ("mbind", libc::SYS_mbind),
        ("move_pages", libc::SYS_move_pages),
        ("set_mempolicy", libc::SYS_set_mempolicy),
        ("set_mempolicy_home_node", libc::SYS_set_mempolicy_home_node),
        ("migrate_pages", libc::SYS_migrate_pages),
        ("memfd_secret", libc::SYS_memfd_secret),
        ("vhangup", libc::SYS_vhangup),
        ("quotactl_fd", libc::SYS_quotactl_fd),
    ];
    #[cfg(target_arch = "x86_64")]
    calls.extend([
        ("modify_ldt", libc::SYS_modify_ldt),
        ("iopl", libc::SYS_iopl),
        ("ioperm", libc::SYS_ioperm),
        ("uselib", libc::SYS_uselib),
    ]);
    let listed: Vec<String> = calls.iter().map(|(name, number)| format!("({name:?}, {number})")).collect();
    // Harmless arguments (zeros: read the LDT, no pages, no nodes), so
    // that without the filter the calls succeed or fail for other reasons.
    let code = format!(
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n\
         for name, number in [{}]:\n    \
         result = libc.syscall(number, 0, 0, 0, 0, 0, 0)\n    print(name, result, ctypes.get_errno())",
        listed.join(", ")
    );
    let outcome = jail("python-native", &code, POLICY);
    let expected: String = calls.iter().map(|(name, _)| format!("{name} -1 1\n")).collect();
    assert_eq!(stdout(&outcome), expected, "{outcome}");
    // Not the filter refusing everything: ordinary calls still work.
    let outcome =
        jail("python-native", "import os; print(os.getpid() > 0, len(os.listdir('/')) > 0)", POLICY);
    assert_eq!(stdout(&outcome), "True True\n", "{outcome}");
}
