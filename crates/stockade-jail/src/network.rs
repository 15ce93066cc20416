//! The jail's only way out: its network namespace has nothing but `lo`,
//! and on it a listener that the child makes and hands to the parent,
//! which serves stockade's egress proxy on it from the host's side.
//!
//! The listening socket belongs to the jail's namespace, so the guest
//! reaches it at `127.0.0.1:3128`; the host process accepts on it and
//! connects out from its own namespace, after the engine vetted the
//! destination. No bridge process or relay runs in the jail.

use std::os::fd::{OwnedFd, RawFd};

/// The proxy's port on the jail's loopback.
pub const PROXY_PORT: u16 = 3128;
/// Where the guest finds the proxy: its environment says so.
pub const PROXY_URL: &str = "http://127.0.0.1:3128";

/// The variables a jailed program reads to find the proxy, in both cases
/// (curl reads lower-case `http_proxy` only; others read either).
pub fn proxy_env() -> Vec<(String, String)> {
    let mut env = Vec::new();
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        env.push((name.to_string(), PROXY_URL.to_string()));
        env.push((name.to_ascii_lowercase(), PROXY_URL.to_string()));
    }
    // The jail's own loopback is its own: a server the program starts there
    // is reached directly (as far as Landlock lets it).
    for name in ["NO_PROXY", "no_proxy"] {
        env.push((name.to_string(), "localhost,127.0.0.1,::1".to_string()));
    }
    env
}

/// Where the guest finds the run's certificate authority, when the engine
/// terminates some TLS, and the system's roots with it added.
pub const AUTHORITY_FILE: &str = "/etc/stockade/ca.pem";
/// The system's roots and the run's authority, in one file.
pub const BUNDLE_FILE: &str = "/etc/stockade/ca-bundle.pem";
/// What makes node's built-in `fetch`, which ignores the proxy variables,
/// use the proxy: loaded into every node through `NODE_OPTIONS`.
pub const NODE_FETCH_FILE: &str = "/etc/stockade/node-fetch.js";
const NODE_FETCH: &str = include_str!("node-fetch.js");
/// The host's bundle of roots, as Debian and its kin keep it.
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What a jailed program needs to use the run's network: the proxy's
/// variables and the authority to trust.
pub struct GuestNetwork {
    /// Variables of the guest's environment.
    pub env: Vec<(String, String)>,
    /// Files of the guest's `/etc/stockade`: path and contents.
    pub files: Vec<(&'static str, Vec<u8>)>,
}

impl GuestNetwork {
    /// The guest's side of `egress`.
    pub fn of(egress: &dyn stockade_core::Egress) -> GuestNetwork {
        // The secrets' placeholders come with the policy's `[env]`, which
        // the facade fills for the run.
        let mut env = proxy_env();
        env.push(("NODE_OPTIONS".to_string(), format!("--require={NODE_FETCH_FILE}")));
        let mut files = vec![(NODE_FETCH_FILE, NODE_FETCH.as_bytes().to_vec())];
        if let Some(authority) = egress.authority_pem() {
            let mut bundle = std::fs::read(SYSTEM_BUNDLE).unwrap_or_default();
            if !bundle.is_empty() && !bundle.ends_with(b"\n") {
                bundle.push(b'\n');
            }
            bundle.extend_from_slice(authority.as_bytes());
            // Each program family reads its own variable: OpenSSL (curl,
            // Python's ssl, git), requests, pip, the AWS SDKs, and Node,
            // which adds the file's certificates to its own roots.
            for name in [
                "SSL_CERT_FILE",
                "CURL_CA_BUNDLE",
                "REQUESTS_CA_BUNDLE",
                "PIP_CERT",
                "GIT_SSL_CAINFO",
                "AWS_CA_BUNDLE",
            ] {
                env.push((name.to_string(), BUNDLE_FILE.to_string()));
            }
            env.push(("NODE_EXTRA_CA_CERTS".to_string(), AUTHORITY_FILE.to_string()));
            files.push((AUTHORITY_FILE, authority.into_bytes()));
            files.push((BUNDLE_FILE, bundle));
        }
        GuestNetwork { env, files }
    }
}

/// Brings `lo` up and listens on `127.0.0.1:port`; returns the listening
/// descriptor, or a negative value.
///
/// # Safety
/// Raw system calls on stack memory only: safe between `clone` and `execve`.
pub unsafe fn listen_on_loopback(port: u16) -> RawFd {
    // SAFETY: every pointer passed is to a local of the size given.
    unsafe {
        let control = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if control < 0 {
            return control;
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (to, from) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *to = *from as libc::c_char;
        }
        request.ifr_ifru.ifru_flags =
            (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as libc::c_short;
        let up = libc::ioctl(control, libc::SIOCSIFFLAGS, &raw mut request);
        libc::close(control);
        if up < 0 {
            return -1;
        }
        let listener = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if listener < 0 {
            return listener;
        }
        let address = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be() },
            sin_zero: [0; 8],
        };
        let size = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::bind(listener, (&raw const address).cast(), size) < 0 || libc::listen(listener, 128) < 0 {
            libc::close(listener);
            return -1;
        }
        listener
    }
}

/// Sends `fd` over the Unix socket `channel`; returns a negative value on failure.
///
/// # Safety
/// Raw system calls on stack memory only: safe between `clone` and `execve`.
pub unsafe fn send_fd(channel: RawFd, fd: RawFd) -> i32 {
    // Room for one descriptor's control message, aligned as cmsghdr needs.
    #[repr(C)]
    struct Control {
        header: libc::cmsghdr,
        fd: RawFd,
    }
    // SAFETY: the message and its control block are locals that outlive
    // the call; the sizes given are theirs.
    unsafe {
        let mut byte = [1u8];
        let mut io = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
        let mut control: Control = std::mem::zeroed();
        control.header.cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        control.header.cmsg_level = libc::SOL_SOCKET;
        control.header.cmsg_type = libc::SCM_RIGHTS;
        control.fd = fd;
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = &raw mut io;
        message.msg_iovlen = 1;
        message.msg_control = (&raw mut control).cast();
        message.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as _;
        if libc::sendmsg(channel, &raw const message, libc::MSG_NOSIGNAL) == 1 { 0 } else { -1 }
    }
}

/// Receives the descriptor the child sent on `channel`, if it sent one
/// (any others in the message are closed).
pub fn receive_fd(channel: &OwnedFd) -> std::io::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let none = || std::io::Error::other("the jail sent no listener");
    let mut received = crate::descriptors::receive(channel.as_raw_fd())?.ok_or_else(none)?;
    if received.is_empty() {
        return Err(none());
    }
    Ok(received.swap_remove(0))
}
