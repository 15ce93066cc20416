//! Background commands of a jailed shell session.
//!
//! The host makes a fresh folder in the jail's `/tmp` holding four FIFOs
//! (`in`, `out`, `err`, `status`) and opens its ends of them first, so that
//! no open on either side ever blocks. The session's shell then starts
//! `shell -c COMMAND` as an asynchronous list with its streams on those
//! FIFOs, and writes the exit status to `status` when it ends. Everything
//! the host does there goes through descriptors relative to the folder it
//! made (`O_NOFOLLOW`, type checked), so a guest that swaps a FIFO for a
//! symlink cannot turn the host's open into one outside the jail.
//!
//! Signals go from the host, never through the guest's shell (which a
//! guest may have changed): to each process descended from the list's own
//! process, and each left in the process group the command leads (it is
//! started through `setsid`), found in `/proc` and only among the jail's
//! pid namespace, so a reused pid can never name a process outside it. A
//! shell runs an asynchronous list with `SIGINT` and `SIGQUIT` ignored; the
//! command is started through `env --default-signal` so that it can be
//! interrupted.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stockade_core::{CommandControl, CommandError, CommandLog, Signal, Stream};

/// How often the reader looks again when nothing happened (it also wakes
/// for every write and for the command's and the jail's ends).
const IDLE: Duration = Duration::from_secs(1);

/// At most this many passes of `SIGKILL` over a command's processes, for
/// one that forks as fast as it is killed (its pids are capped anyway).
const KILL_PASSES: usize = 32;
/// How long a signal or the close of stdin waits for the command to start.
const START_WAIT: Duration = Duration::from_secs(5);

/// The host's ends of a command's FIFOs, and the folder that holds them.
pub(crate) struct Channel {
    /// The folder's name in the jail's `/tmp`.
    pub name: String,
    folder: OwnedFd,
    stdin: File,
    stdout: File,
    stderr: File,
    status: File,
}

impl Channel {
    /// Makes `.stockade-command-{id}` in `tmp` (the jail's `/tmp`, open),
    /// with its four FIFOs, all owned by the guest's `owner`.
    pub(crate) fn make(tmp: &File, id: &str, owner: (u32, u32)) -> std::io::Result<Channel> {
        let name = format!(".stockade-command-{id}");
        // Made as the guest's user: the jail's /tmp belongs to its user
        // namespace, where no other owner can be made.
        let folder = crate::as_file_owner(owner, || -> std::io::Result<OwnedFd> {
            let folder_name = c_name(&name)?;
            // SAFETY: a valid directory descriptor and a NUL-terminated name.
            check(unsafe { libc::mkdirat(tmp.as_raw_fd(), folder_name.as_ptr(), 0o700) })?;
            let folder = open_at(tmp.as_raw_fd(), &name, libc::O_DIRECTORY | libc::O_RDONLY)?;
            for fifo in ["in", "out", "err", "status"] {
                let fifo_name = c_name(fifo)?;
                // SAFETY: the folder's descriptor and a NUL-terminated name.
                check(unsafe { libc::mkfifoat(folder.as_raw_fd(), fifo_name.as_ptr(), 0o600) })?;
            }
            Ok(folder)
        })??;
        // Read-write for stdin: the host is a reader too, so its open never
        // waits for the command's, and the command reads end-of-file only
        // once the host closes it.
        let fifo = |name: &str, access: libc::c_int| -> std::io::Result<File> {
            let fd = open_at(folder.as_raw_fd(), name, access | libc::O_NONBLOCK)?;
            let file = File::from(fd);
            if !std::os::unix::fs::FileTypeExt::is_fifo(&file.metadata()?.file_type()) {
                return Err(std::io::Error::other(format!("{name} is no longer a FIFO")));
            }
            Ok(file)
        };
        Ok(Channel {
            stdin: fifo("in", libc::O_RDWR)?,
            stdout: fifo("out", libc::O_RDONLY)?,
            stderr: fifo("err", libc::O_RDONLY)?,
            status: fifo("status", libc::O_RDONLY)?,
            folder,
            name,
        })
    }

    /// The script that starts `command` with `shell`, from the session's
    /// shell, and prints the pid of the list that runs it.
    ///
    /// The list opens the four FIFOs itself, before it starts the command,
    /// and holds them until it ends: so once it has a child, the command's
    /// stdin is open and the host may close its own end (a FIFO closed by
    /// every holder before its reader came would lose what was written and
    /// leave that reader's open waiting for ever).
    pub(crate) fn launcher(&self, shell: &str, command: &str) -> String {
        let quoted = command.replace('\'', r"'\''");
        let at = format!("/tmp/{}", self.name);
        format!(
            "{{ command setsid env --default-signal=INT,QUIT {shell} -c '{quoted}' 9>&-; \
             command printf '%d\\n' \"$?\" >&9; }} <{at}/in >{at}/out 2>{at}/err 9>{at}/status &\n\
             command printf '%d\\n' \"$!\"\n"
        )
    }

    /// Starts reading the command's output and end into `log`, and gives
    /// the host's control of it. `list` is the host pid of the list that
    /// runs it (none when it ended before it could be found), `jail` a
    /// pidfd of the jail's first process.
    pub(crate) fn start(
        self,
        log: Arc<CommandLog>,
        list: Option<Process>,
        jail: OwnedFd,
        tmp: File,
    ) -> Control {
        let list_fd = list.as_ref().and_then(|list| list.pidfd.try_clone().ok());
        let Channel { name, folder, stdin, stdout, stderr, status } = self;
        let reader = Reader { log: log.clone(), stdout, stderr, status, list: list_fd, jail };
        std::thread::spawn(move || {
            reader.run();
            remove(&folder, &tmp, &name);
        });
        Control { stdin: Mutex::new(Some(stdin)), list, log }
    }
}

/// The process that runs a command's list, as the host names it.
pub(crate) struct Process {
    pid: libc::pid_t,
    /// Held so that its pid is not reused while the host may signal it.
    pidfd: OwnedFd,
    /// The jail's pid namespace (`pid:[...]`), which all it starts is in.
    namespace: std::path::PathBuf,
}

impl Process {
    /// The process whose pid in the jail of `jail_pid` (its first process,
    /// as the host names it) is `guest_pid`; none when it has gone.
    pub(crate) fn find(jail_pid: libc::pid_t, guest_pid: libc::pid_t) -> std::io::Result<Option<Process>> {
        let namespace = std::fs::read_link(format!("/proc/{jail_pid}/ns/pid"))?;
        for pid in jailed(&namespace)? {
            if last_nspid(pid) == Some(guest_pid) {
                let Ok(pidfd) = crate::descriptors::pidfd(pid) else { return Ok(None) };
                // The pid may have been reused between the scan and the
                // pidfd: it must still be the same process of the jail.
                if last_nspid(pid) != Some(guest_pid) || !in_namespace(pid, &namespace) {
                    return Ok(None);
                }
                return Ok(Some(Process { pid, pidfd, namespace }));
            }
        }
        Ok(None)
    }

    fn alive(&self) -> bool {
        !readable(self.pidfd.as_raw_fd())
    }

    /// The processes of the command: every process of the jail descended
    /// from the list's (not the list itself), and every one still in a
    /// process group or a session that one of those, or of `seen` (found
    /// by an earlier pass, dead since), leads. That catches what they left
    /// behind as orphans, `(sleep 9 &)`, and a child a process forked as it
    /// was killed, after a `setsid` of its own: the kernel keeps a group's
    /// or a session's id from being any other process's pid while it lasts.
    fn processes(&self, seen: &[libc::pid_t]) -> std::io::Result<Vec<libc::pid_t>> {
        let jailed: Vec<(libc::pid_t, Lineage)> =
            jailed(&self.namespace)?.into_iter().filter_map(|pid| Some((pid, lineage(pid)?))).collect();
        // Once the list has ended its pid may be another's: then only what
        // `seen` leads is the command's.
        let mut found = vec![self.pid];
        let mut at = if self.alive() { 0 } else { 1 };
        while at < found.len() {
            let of = found[at];
            found.extend(jailed.iter().filter(|(_, lineage)| lineage.parent == of).map(|(pid, _)| *pid));
            at += 1;
        }
        found.remove(0);
        let leaders: Vec<libc::pid_t> = found.iter().chain(seen).copied().collect();
        for (pid, lineage) in &jailed {
            let led = leaders.contains(&lineage.group) || leaders.contains(&lineage.session);
            if led && *pid != self.pid && !found.contains(pid) {
                found.push(*pid);
            }
        }
        Ok(found)
    }
}

/// The host's control of a running command.
pub(crate) struct Control {
    stdin: Mutex<Option<File>>,
    list: Option<Process>,
    log: Arc<CommandLog>,
}

impl Control {
    /// Waits, at most [`START_WAIT`], until the command has started (its
    /// list has a child, and so has opened the FIFOs) or its list has
    /// ended: the launcher's turn returns as soon as the list is forked.
    fn started(&self) {
        let Some(list) = self.list.as_ref() else { return };
        let deadline = Instant::now() + START_WAIT;
        while list.alive() && Instant::now() < deadline {
            if list.processes(&[]).is_ok_and(|found| !found.is_empty()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl CommandControl for Control {
    fn write_stdin(&self, bytes: &[u8], timeout: Duration) -> Result<(), CommandError> {
        let mut stdin = self.stdin.lock().unwrap_or_else(|p| p.into_inner());
        let Some(file) = stdin.as_mut() else { return Err(CommandError::StdinClosed) };
        if !self.log.running() {
            *stdin = None;
            return Err(CommandError::StdinClosed);
        }
        let deadline = Instant::now() + timeout;
        let mut left = bytes;
        while !left.is_empty() {
            match file.write(left) {
                Ok(n) => left = &left[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    if wait.is_zero() || !self.log.running() {
                        return Err(CommandError::StdinFull(timeout));
                    }
                    poll_one(file.as_raw_fd(), libc::POLLOUT, wait.min(Duration::from_millis(50)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => return Err(CommandError::Io { step: "write to its stdin", source }),
            }
        }
        Ok(())
    }

    fn close_stdin(&self) {
        self.started();
        self.stdin.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn signal(&self, signal: Signal) -> Result<(), CommandError> {
        let Some(list) = self.list.as_ref().filter(|list| list.alive()) else { return Ok(()) };
        // A signal sent as the command starts is for the command, which
        // may not have been forked yet.
        self.started();
        let number = number(signal);
        let passes = if signal == Signal::Kill { KILL_PASSES } else { 1 };
        let mut seen = Vec::new();
        for _ in 0..passes {
            let targets = list
                .processes(&seen)
                .map_err(|source| CommandError::Io { step: "find its processes", source })?;
            if targets.is_empty() {
                break;
            }
            for &pid in &targets {
                // SAFETY: kill takes a pid and a signal; every pid here is
                // a process of the jail's own pid namespace.
                unsafe { libc::kill(pid, number) };
            }
            seen.extend(targets);
        }
        Ok(())
    }
}

/// Reads a command's streams and end into its log, on a thread of its own.
struct Reader {
    log: Arc<CommandLog>,
    stdout: File,
    stderr: File,
    status: File,
    list: Option<OwnedFd>,
    jail: OwnedFd,
}

impl Reader {
    fn run(mut self) {
        let mut open = [true, true];
        let mut status = Vec::new();
        let mut status_open = true;
        let mut list_alive = self.list.is_some();
        let mut chunk = vec![0u8; 64 << 10];
        if !list_alive {
            // It ended before it was found: its status, if any, is there.
            drain(&mut self.status, &mut status);
            self.log.end(parse(&status));
            status_open = false;
        }
        loop {
            let mut fds = vec![
                pollfd(self.stdout.as_raw_fd(), open[0]),
                pollfd(self.stderr.as_raw_fd(), open[1]),
                pollfd(self.status.as_raw_fd(), status_open),
                pollfd(self.list.as_ref().map_or(-1, AsRawFd::as_raw_fd), list_alive),
                pollfd(self.jail.as_raw_fd(), true),
            ];
            let millis = i32::try_from(IDLE.as_millis()).unwrap_or(i32::MAX);
            // SAFETY: a valid array of pollfds; negative descriptors are skipped.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
            if ready < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            for (index, (file, stream)) in
                [(&mut self.stdout, Stream::Stdout), (&mut self.stderr, Stream::Stderr)]
                    .into_iter()
                    .enumerate()
            {
                if open[index] && fds[index].revents != 0 && !read_into(file, stream, &self.log, &mut chunk) {
                    open[index] = false;
                    self.log.close(stream);
                }
            }
            if status_open && fds[2].revents != 0 && !read_status(&mut self.status, &mut status) {
                status_open = false;
                self.log.end(parse(&status));
            }
            if list_alive && fds[3].revents != 0 {
                // The list wrote its status before it exited, if it could.
                list_alive = false;
                drain(&mut self.status, &mut status);
                status_open = false;
                self.log.end(parse(&status));
            }
            if fds[4].revents != 0 {
                // The jail is gone, and every process in it: what they
                // wrote is all there will be.
                for (file, stream) in [(&mut self.stdout, Stream::Stdout), (&mut self.stderr, Stream::Stderr)]
                {
                    while read_into(file, stream, &self.log, &mut chunk) {}
                }
                drain(&mut self.status, &mut status);
                self.log.finish(parse(&status));
                return;
            }
            if !list_alive {
                // The list has ended, so every writer its command will have
                // has opened its end. A stream that reads its end now has
                // none left, or never had one (the guest removed the FIFO
                // before the command could open it), which poll does not
                // report: without this, a follower would wait forever.
                for (index, (file, stream)) in
                    [(&mut self.stdout, Stream::Stdout), (&mut self.stderr, Stream::Stderr)]
                        .into_iter()
                        .enumerate()
                {
                    if open[index] && !read_into(file, stream, &self.log, &mut chunk) {
                        open[index] = false;
                        self.log.close(stream);
                    }
                }
            }
            if !status_open && !list_alive && !open[0] && !open[1] {
                return;
            }
        }
        self.log.finish(None);
    }
}

/// Reads what `file` has into `log`; false at its end.
fn read_into(file: &mut File, stream: Stream, log: &CommandLog, chunk: &mut [u8]) -> bool {
    loop {
        match file.read(chunk) {
            Ok(0) => return false,
            Ok(n) => log.push(stream, &chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// Reads the status FIFO (a line, capped, since a guest may write there
/// too); false at its end.
fn read_status(file: &mut File, status: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 64];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) if status.len() < 64 => status.extend_from_slice(&chunk[..n]),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

fn drain(file: &mut File, status: &mut Vec<u8>) {
    while read_status(file, status) && readable(file.as_raw_fd()) {}
}

/// The exit status the list wrote: its first line.
fn parse(status: &[u8]) -> Option<i32> {
    std::str::from_utf8(status).ok()?.lines().next()?.trim().parse().ok()
}

/// Removes the command's FIFOs and folder, through the folder's own
/// descriptor (the guest may have moved or replaced what is there).
fn remove(folder: &OwnedFd, tmp: &File, name: &str) {
    for fifo in ["in", "out", "err", "status"] {
        if let Ok(fifo) = c_name(fifo) {
            // SAFETY: the folder's descriptor and a NUL-terminated name.
            unsafe { libc::unlinkat(folder.as_raw_fd(), fifo.as_ptr(), 0) };
        }
    }
    if let Ok(name) = c_name(name) {
        // SAFETY: as above; an emptied folder is removed, a refilled one stays.
        unsafe { libc::unlinkat(tmp.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) };
    }
}

/// The pids (as the host names them) of the processes in `namespace`.
fn jailed(namespace: &std::path::Path) -> std::io::Result<Vec<libc::pid_t>> {
    Ok(std::fs::read_dir("/proc")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| in_namespace(*pid, namespace))
        .collect())
}

fn in_namespace(pid: libc::pid_t, namespace: &std::path::Path) -> bool {
    std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|link| link == namespace)
}

/// A `/proc/{pid}/status` field's first value.
fn status_field(pid: libc::pid_t, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix(field)).map(|rest| rest.trim().to_string())
}

/// The process's pid in its innermost pid namespace (the jail's).
fn last_nspid(pid: libc::pid_t) -> Option<libc::pid_t> {
    status_field(pid, "NSpid:")?.split_whitespace().last()?.parse().ok()
}

/// A process's parent and process group, as the host names them.
struct Lineage {
    parent: libc::pid_t,
    group: libc::pid_t,
    session: libc::pid_t,
}

fn lineage(pid: libc::pid_t) -> Option<Lineage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the name, which may hold anything, in parentheses: the state,
    // the parent, the process group, the session.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().skip(1);
    let mut next = || fields.next()?.parse().ok();
    Some(Lineage { parent: next()?, group: next()?, session: next()? })
}

fn number(signal: Signal) -> libc::c_int {
    match signal {
        Signal::Hup => libc::SIGHUP,
        Signal::Int => libc::SIGINT,
        Signal::Quit => libc::SIGQUIT,
        Signal::Kill => libc::SIGKILL,
        Signal::Usr1 => libc::SIGUSR1,
        Signal::Usr2 => libc::SIGUSR2,
        Signal::Term => libc::SIGTERM,
        Signal::Cont => libc::SIGCONT,
        Signal::Stop => libc::SIGSTOP,
    }
}

fn pollfd(fd: RawFd, wanted: bool) -> libc::pollfd {
    libc::pollfd { fd: if wanted { fd } else { -1 }, events: libc::POLLIN, revents: 0 }
}

fn poll_one(fd: RawFd, events: libc::c_short, wait: Duration) -> bool {
    let mut poll = libc::pollfd { fd, events, revents: 0 };
    let millis = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut poll, 1, millis) > 0 }
}

fn readable(fd: RawFd) -> bool {
    poll_one(fd, libc::POLLIN, Duration::ZERO)
}

fn open_at(folder: RawFd, name: &str, flags: libc::c_int) -> std::io::Result<OwnedFd> {
    let name = c_name(name)?;
    // SAFETY: a valid directory descriptor and a NUL-terminated name.
    let fd = unsafe { libc::openat(folder, name.as_ptr(), flags | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    check(fd)?;
    // SAFETY: openat succeeded; the descriptor is ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn c_name(name: &str) -> std::io::Result<CString> {
    CString::new(name).map_err(std::io::Error::other)
}

fn check(result: libc::c_int) -> std::io::Result<()> {
    if result < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pidfd(child: &std::process::Child) -> OwnedFd {
        let pid = libc::pid_t::try_from(child.id()).expect("a pid");
        crate::descriptors::pidfd(pid).expect("pidfd_open")
    }

    /// A command whose FIFOs were removed before it could open them (the
    /// guest may remove anything in its `/tmp`) never has a writer on its
    /// streams, which poll never reports: once its list has ended, the
    /// streams are closed all the same, while the jail lives on.
    #[test]
    fn streams_no_writer_ever_opened_are_closed_once_the_list_has_ended() {
        let tmp = tempfile::tempdir().expect("tmp");
        let folder = File::open(tmp.path()).expect("open tmp");
        // SAFETY: getuid and getgid only read the caller's ids.
        let owner = unsafe { (libc::getuid(), libc::getgid()) };
        let channel = Channel::make(&folder, "test", owner).expect("channel");
        let mut list = std::process::Command::new("true").spawn().expect("true");
        let mut jail = std::process::Command::new("sleep").arg("600").spawn().expect("sleep");
        let log = Arc::new(CommandLog::new(1 << 10, 1 << 10));
        let Channel { stdout, stderr, status, .. } = channel;
        let reader =
            Reader { log: log.clone(), stdout, stderr, status, list: Some(pidfd(&list)), jail: pidfd(&jail) };
        let reading = std::thread::spawn(move || reader.run());
        // Guards against a hang, not timings: the jail outlives them by far.
        let followed = log.follow(&|_: Stream, _: &[u8]| {}, Some(Duration::from_secs(20)), None);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !reading.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let finished = reading.is_finished();
        let _ = jail.kill();
        let _ = jail.wait();
        let _ = list.wait();
        assert!(finished, "the reader still waits on streams nobody can write");
        assert!(!followed.running, "{followed:?}");
        assert_eq!(followed.exit_code, None, "no status was written: {followed:?}");
    }

    #[test]
    fn the_status_is_the_first_line_and_nothing_else() {
        assert_eq!(super::parse(b"0\n"), Some(0));
        assert_eq!(super::parse(b"143\nforged\n"), Some(143));
        assert_eq!(super::parse(b"x\n"), None);
        assert_eq!(super::parse(b""), None);
    }
}
