//! What a guest may leave in, or reach through, a granted folder: the
//! host's Unix sockets, and files with setuid or setgid bits (issue 20).

use super::{jail, set_mode, stdout};
use std::os::unix::fs::PermissionsExt;

/// A policy granting `host` at `/data` in `mode`, with `extra` appended.
fn granting(host: &std::path::Path, mode: &str, extra: &str) -> String {
    format!(
        "[limits]\nwall_ms = 10000\n[files]\ngrants = [{{host = {host:?}, guest = \"/data\", mode = {mode:?}}}]\n{extra}"
    )
}

#[test]
fn a_unix_socket_the_host_left_in_a_grant_is_refused() {
    let dir = tempfile::tempdir().expect("socket folder");
    set_mode(dir.path(), 0o777);
    let listener = std::os::unix::net::UnixListener::bind(dir.path().join("agent.sock")).expect("listener");
    listener.set_nonblocking(true).expect("nonblocking");
    // Writable by anyone, as a careless agent's socket would be: only the
    // jail stands between the guest and it.
    set_mode(&dir.path().join("agent.sock"), 0o777);
    let code = "import socket\n\
                try:\n    socket.socket(socket.AF_UNIX).connect('/data/agent.sock')\n    print('connected')\n\
                except OSError as e:\n    print('connect', e.errno)\n\
                a, b = socket.socketpair()\na.send(b'x')\nprint('stream pair', b.recv(1))\n\
                try:\n    socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\n    print('datagram pair')\n\
                except OSError as e:\n    print('datagram pair', e.errno)";
    for mode in ["ro", "rw"] {
        let outcome = jail("python-native", code, &granting(dir.path(), mode, ""));
        assert_eq!(stdout(&outcome), "connect 1\nstream pair b'x'\ndatagram pair 1\n", "{mode}: {outcome}");
        assert!(listener.accept().is_err(), "{mode}: the host's socket was reached");
    }
    // The policy may opt in.
    let outcome = jail("python-native", code, &granting(dir.path(), "ro", "[jail]\nunix_sockets = true\n"));
    assert_eq!(stdout(&outcome), "connected\nstream pair b'x'\ndatagram pair\n", "{outcome}");
    assert!(listener.accept().is_ok(), "the opted-in guest did not reach the socket");
}

#[test]
fn setuid_and_setgid_bits_are_refused_in_a_grant() {
    let dir = tempfile::tempdir().expect("grant");
    set_mode(dir.path(), 0o777);
    let code = "import ctypes, os\n\
                open('/data/suid', 'w').close()\n\
                for name, mode in (('u+s', 0o4755), ('g+s', 0o2755)):\n    \
                try:\n        os.chmod('/data/suid', mode)\n        print(name, 'set')\n    \
                except OSError as e:\n        print(name, e.errno)\n\
                fd = os.open('/data/suid', os.O_RDONLY)\n\
                try:\n    os.fchmod(fd, 0o6755)\n    print('fchmod set')\n\
                except OSError as e:\n    print('fchmod', e.errno)\n\
                for name, mode in (('made-u', 0o4755), ('made-g', 0o2755)):\n    \
                try:\n        os.open('/data/' + name, os.O_CREAT | os.O_WRONLY, mode)\n        print(name, 'created')\n    \
                except OSError as e:\n        print(name, e.errno)\n\
                libc = ctypes.CDLL(None, use_errno=True)\n\
                print('openat2', libc.syscall(437, -100, b'/data/made-2', None, 24), ctypes.get_errno())\n\
                os.chmod('/data/suid', 0o750)\nos.mkdir('/data/folder')\nprint(end='', flush=True)\n\
                os.system('chmod u+s /data/suid; echo chmod=$?; chmod g+s /data/folder; echo chmod=$?')\n\
                print('plain', oct(os.stat('/data/suid').st_mode & 0o7777))";
    let outcome = jail("python-native", code, &granting(dir.path(), "rw", ""));
    assert_eq!(
        stdout(&outcome),
        "u+s 1\ng+s 1\nfchmod 1\nmade-u 1\nmade-g 1\nopenat2 -1 38\nchmod=1\nchmod=1\nplain 0o750\n",
        "{outcome}"
    );
    for entry in std::fs::read_dir(dir.path()).expect("grant").flatten() {
        let mode = entry.metadata().expect("metadata").permissions().mode();
        assert_eq!(mode & 0o6000, 0, "{:?} has mode {mode:o} on the host", entry.path());
    }
    assert!(!dir.path().join("made-u").exists() && !dir.path().join("made-g").exists());
}
