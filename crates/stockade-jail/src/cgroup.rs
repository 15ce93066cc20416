//! A cgroup per run for memory and processes: under cgroup v2, one group;
//! under v1 (what these machines mount), one group in each of the `memory`
//! and `pids` hierarchies. Every group is nested under the caller's own
//! (`/proc/self/cgroup`) in a `stockade` folder, never made at a hierarchy's
//! root, and removed when the run ends (its processes killed first).
//!
//! Where the caller may not make groups (an ordinary user without a
//! delegated subtree), there is none: the run is bound by rlimits alone,
//! and [`Enforcement`](crate::Enforcement) says so.
//!
//! How the first process gets in matters for the time a run takes. Moving
//! another process (its pid into `cgroup.procs`) takes the kernel's global
//! `cgroup_threadgroup_rwsem` for writing, which waits for an RCU grace
//! period: 4 to 20 ms on these machines, more than the rest of a run. A
//! thread that moves only itself (`0` into a v1 group's `tasks`) skips that
//! lock (kernel/cgroup/cgroup.c, `cgroup_procs_write_start`) and takes tens
//! of microseconds. So under v1 the parent opens each group's `tasks` file
//! ([`RunCgroup::join_files`]) and the child, single-threaded, writes `0`
//! into them as its very first step. The kernel checks the writer against
//! the credentials of the file's opener (the parent), so the child needs no
//! privilege of its own. Under v2 the child is born in its group
//! (`CLONE_INTO_CGROUP`), and where that is refused the parent moves it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const ROOT: &str = "/sys/fs/cgroup";

/// The groups of one run.
#[derive(Debug)]
pub struct RunCgroup {
    memory: PathBuf,
    pids: PathBuf,
    v2: bool,
}

impl RunCgroup {
    /// Makes the groups, with their limits; `Err` says why there are none.
    pub fn create(memory_bytes: u64, processes: u64) -> Result<RunCgroup, String> {
        let name = group_name();
        let own =
            std::fs::read_to_string("/proc/self/cgroup").map_err(|e| format!("/proc/self/cgroup: {e}"))?;
        if Path::new(ROOT).join("cgroup.controllers").exists() {
            let path = own_path(&own, "").ok_or("no cgroup v2 line in /proc/self/cgroup")?;
            let own = Path::new(ROOT).join(path.trim_start_matches('/'));
            // The controllers must be delegated down to the run's group;
            // this fails where the caller's group holds processes and is not
            // the root (then there is nothing to nest under without systemd).
            let delegate = |dir: &Path| {
                std::fs::write(dir.join("cgroup.subtree_control"), "+memory +pids")
                    .map_err(|e| format!("{}: {e}", dir.join("cgroup.subtree_control").display()))
            };
            delegate(&own)?;
            let group = make(&own, &name)?;
            // From here the group is removed on every return (`Drop`).
            let cgroup = RunCgroup { memory: group.clone(), pids: group.clone(), v2: true };
            delegate(group.parent().unwrap_or(&own))?;
            cgroup.limit("memory.max", memory_bytes)?;
            // Swap must not stretch the memory limit (v1's memsw does the same).
            let _ = std::fs::write(cgroup.memory.join("memory.swap.max"), "0");
            cgroup.limit_pids("pids.max", processes)?;
            return Ok(cgroup);
        }
        let under = |controller: &str| -> Result<PathBuf, String> {
            let path =
                own_path(&own, controller).ok_or(format!("no {controller} cgroup in /proc/self/cgroup"))?;
            make(&Path::new(ROOT).join(controller).join(path.trim_start_matches('/')), &name)
        };
        let memory = under("memory")?;
        let pids = match under("pids") {
            Ok(pids) => pids,
            Err(why) => {
                let _ = std::fs::remove_dir(&memory);
                return Err(why);
            }
        };
        let cgroup = RunCgroup { memory, pids, v2: false };
        cgroup.limit("memory.limit_in_bytes", memory_bytes)?;
        // With swap accounting, swap counts too; without it the file is absent.
        let _ = std::fs::write(cgroup.memory.join("memory.memsw.limit_in_bytes"), memory_bytes.to_string());
        cgroup.limit_pids("pids.max", processes)?;
        Ok(cgroup)
    }

    fn limit(&self, file: &str, value: u64) -> Result<(), String> {
        std::fs::write(self.memory.join(file), value.to_string()).map_err(|e| format!("{file}: {e}"))
    }

    fn limit_pids(&self, file: &str, value: u64) -> Result<(), String> {
        std::fs::write(self.pids.join(file), value.to_string()).map_err(|e| format!("{file}: {e}"))
    }

    /// `"v2"`, or `"v1"` (memory and pids hierarchies).
    pub fn version(&self) -> &'static str {
        if self.v2 { "v2" } else { "v1" }
    }

    /// The v2 group's directory, open for `clone3(CLONE_INTO_CGROUP)`;
    /// `None` under v1 (or if it cannot be opened: then `attach`).
    pub fn v2_directory(&self) -> Option<std::fs::File> {
        if !self.v2 {
            return None;
        }
        std::fs::File::open(&self.memory).ok()
    }

    /// Under v1, each group's `tasks` file, open for writing: the child
    /// joins the groups by writing `0` into them (see the module's doc).
    /// Empty under v2, which has no such file.
    pub fn join_files(&self) -> std::io::Result<Vec<std::fs::File>> {
        if self.v2 {
            return Ok(Vec::new());
        }
        let open = |dir: &Path| std::fs::OpenOptions::new().write(true).open(dir.join("tasks"));
        Ok(vec![open(&self.memory)?, open(&self.pids)?])
    }

    /// Puts `pid` (and so everything it starts) in the v2 group, when it
    /// was not born there (`clone3` refused). Slow (see the module's doc),
    /// and never needed under v1, whose child joins by itself.
    pub fn attach(&self, pid: libc::pid_t) -> std::io::Result<()> {
        if !self.v2 {
            return Ok(());
        }
        std::fs::write(self.memory.join("cgroup.procs"), pid.to_string())
    }

    /// The pids the groups hold now: those of the memory group, then those
    /// of the pids group (the same group under v2).
    #[cfg(test)]
    pub fn members(&self) -> (Vec<libc::pid_t>, Vec<libc::pid_t>) {
        let read = |dir: &Path| {
            std::fs::read_to_string(dir.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|line| line.trim().parse().ok())
                .collect()
        };
        (read(&self.memory), read(&self.pids))
    }

    /// Whether the kernel killed a process of the run for memory.
    pub fn oom_killed(&self) -> bool {
        let (file, key) =
            if self.v2 { ("memory.events", "oom_kill") } else { ("memory.oom_control", "oom_kill") };
        std::fs::read_to_string(self.memory.join(file)).is_ok_and(|text| {
            text.lines().any(|line| line.split_once(' ').is_some_and(|(k, v)| k == key && v.trim() != "0"))
        })
    }

    /// The run's peak memory, page cache and kernel memory included.
    pub fn peak_memory(&self) -> Option<u64> {
        let file = if self.v2 { "memory.peak" } else { "memory.max_usage_in_bytes" };
        std::fs::read_to_string(self.memory.join(file)).ok()?.trim().parse().ok()
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        for dir in [&self.memory, &self.pids] {
            // The namespace's processes die with its first one; a group is
            // removable once the kernel has reaped them, which takes a moment.
            for _ in 0..200 {
                if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                    for pid in procs.lines().filter_map(|line| line.trim().parse::<libc::pid_t>().ok()) {
                        // SAFETY: kill takes a pid and a signal; these pids are the run's own.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
                match std::fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        }
    }
}

/// The path of the caller's group for `controller` (v1), or of its v2 group (`""`).
fn own_path<'a>(cgroups: &'a str, controller: &str) -> Option<&'a str> {
    cgroups.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = if controller.is_empty() {
            controllers.is_empty()
        } else {
            controllers.split(',').any(|c| c == controller)
        };
        matches.then_some(path)
    })
}

/// A name no other run's group has: `run-<pid>-<tag>-<n>`, the counter
/// unique within this process and the random tag across processes. The pid
/// alone is not enough: pids are reused (32768 of them here), and a host
/// killed before its groups' `Drop` leaves them behind, so the next process
/// with its pid would find its first name taken; two pid namespaces can also
/// show the same pid under one hierarchy.
fn group_name() -> String {
    static TAG: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tag = TAG.get_or_init(|| {
        let mut bytes = [0u8; 8];
        // SAFETY: getrandom writes at most `bytes.len()` bytes into the live buffer.
        let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
        // Without randomness (never on Linux 3.17+), the time still tells processes apart.
        if got != bytes.len() as isize {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            return nanos.map_or(0, |d| d.as_nanos() as u64);
        }
        u64::from_ne_bytes(bytes)
    });
    format!("run-{}-{tag:016x}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `parent/stockade/name`, made.
fn make(parent: &Path, name: &str) -> Result<PathBuf, String> {
    let base = parent.join("stockade");
    match std::fs::create_dir(&base) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{}: {e}", base.display())),
    }
    let group = base.join(name);
    std::fs::create_dir(&group).map_err(|e| format!("{}: {e}", group.display()))?;
    Ok(group)
}

/// Whether runs here get cgroups, as far as can be told without making
/// one (which costs a run's worth of time on cgroup v1): the cgroup version,
/// or why not. Asked once per process. A run whose groups then fail anyway
/// says so in its outcome.
pub fn probe() -> Result<&'static str, String> {
    static SEEN: std::sync::OnceLock<Result<&'static str, String>> = std::sync::OnceLock::new();
    SEEN.get_or_init(|| {
        let own =
            std::fs::read_to_string("/proc/self/cgroup").map_err(|e| format!("/proc/self/cgroup: {e}"))?;
        let writable = |path: &Path| {
            let text = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
                .map_err(|_| format!("{}: a NUL in the path", path.display()))?;
            // SAFETY: access reads a NUL-terminated path we own.
            if unsafe { libc::access(text.as_ptr(), libc::W_OK) } == 0 {
                Ok(())
            } else {
                Err(format!("{}: {}", path.display(), std::io::Error::last_os_error()))
            }
        };
        if Path::new(ROOT).join("cgroup.controllers").exists() {
            let path = own_path(&own, "").ok_or("no cgroup v2 line in /proc/self/cgroup")?;
            writable(&Path::new(ROOT).join(path.trim_start_matches('/')).join("cgroup.subtree_control"))?;
            return Ok("v2");
        }
        for controller in ["memory", "pids"] {
            let path =
                own_path(&own, controller).ok_or(format!("no {controller} cgroup in /proc/self/cgroup"))?;
            writable(&Path::new(ROOT).join(controller).join(path.trim_start_matches('/')))?;
        }
        Ok("v1")
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::RunCgroup;
    use crate::plan::Plan;
    use crate::run::{Started, start};
    use stockade_core::{Language, RunRequest};
    use stockade_policy::Policy;

    /// A jail running `sleep 30` as its only process, when this machine gives runs cgroups
    /// (root, or a delegated subtree); else `None`, said on stderr.
    fn sleeping(policy: &Policy) -> Option<Started> {
        let plan = Plan::new(Language::Shell, "exec sleep 30", policy, None).expect("plan");
        let started = start(&plan, &policy.limits).expect("the jail starts");
        if started.cgroup.is_none() {
            eprintln!("skipped: no cgroup on this machine");
            return None;
        }
        Some(started)
    }

    #[test]
    fn the_first_process_is_in_its_run_s_groups_before_it_runs() {
        let policy = Policy::default();
        let Some(started) = sleeping(&policy) else { return };
        let pid = started.child.pid();
        let (memory, pids) = started.cgroup.as_ref().expect("cgroup").members();
        assert_eq!(memory, [pid], "the memory group");
        assert_eq!(pids, [pid], "the pids group");
    }

    #[test]
    fn concurrent_runs_never_share_a_group() {
        let policy = Policy::default();
        let runs: Vec<Started> = (0..4).filter_map(|_| sleeping(&policy)).collect();
        for run in &runs {
            let pid = run.child.pid();
            let (memory, pids) = run.cgroup.as_ref().expect("cgroup").members();
            assert_eq!((memory, pids), (vec![pid], vec![pid]), "a group holds one run's process");
        }
    }

    #[test]
    fn a_run_s_memory_is_counted_in_its_group_and_the_next_run_starts_from_zero() {
        const MIB: u64 = 1 << 20;
        let policy = Policy::default();
        let run = |code: &str| {
            let request = RunRequest {
                language: Language::Shell,
                code,
                policy: &policy,
                tools: None,
                cancel: None,
                egress: None,
                output: None,
                workspace: None,
            };
            crate::run::run(request).expect("run")
        };
        // Page cache in its `/tmp` counts against the run, though no process holds it.
        let big = run("head -c 41943040 /dev/zero > /tmp/forty; echo done");
        assert_eq!(big.stdout, "done\n", "{big:?}");
        if RunCgroup::create(MIB, 1).is_err() {
            eprintln!("skipped: no cgroup on this machine");
            return;
        }
        assert!(big.usage.peak_memory_bytes >= 40 * MIB, "peak {}", big.usage.peak_memory_bytes);
        let small = run("true");
        assert!(small.usage.peak_memory_bytes < 40 * MIB, "peak {}", small.usage.peak_memory_bytes);
    }

    #[test]
    fn group_names_never_repeat_and_carry_a_per_process_tag() {
        let (first, second) = (super::group_name(), super::group_name());
        assert_ne!(first, second);
        let prefix = format!("run-{}-", std::process::id());
        let tag = |name: &str| {
            name.strip_prefix(&prefix).and_then(|rest| rest.split_once('-')).map(|(tag, _)| tag.to_string())
        };
        let tag_of_first = tag(&first).expect("pid, tag, counter");
        assert_eq!(tag_of_first.len(), 16, "{first}");
        assert_eq!(tag(&second), Some(tag_of_first), "one tag per process");
    }

    #[test]
    fn finds_the_callers_groups() {
        let text = "9:name=systemd:/\n8:pids:/\n4:memory:/a/b\n2:cpu,cpuacct:/c\n0::/unified\n";
        assert_eq!(super::own_path(text, "memory"), Some("/a/b"));
        assert_eq!(super::own_path(text, "pids"), Some("/"));
        assert_eq!(super::own_path(text, "cpuacct"), Some("/c"));
        assert_eq!(super::own_path(text, ""), Some("/unified"));
        assert_eq!(super::own_path(text, "blkio"), None);
    }
}
