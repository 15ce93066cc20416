//! Writes BENCHMARKS.md: the machine, then one table per section.

use crate::row::Row;
use std::fmt::Write;
use std::process::Command;

/// A titled group of rows.
pub struct Section {
    /// The heading.
    pub title: &'static str,
    /// Notes printed under the table: how it was measured.
    pub notes: &'static str,
    /// The measurements.
    pub rows: Vec<Row>,
}

/// The machine's state, read before and after measuring.
pub struct Machine {
    /// CPU model and count.
    pub cpu: String,
    /// 1-minute load average when the run started.
    pub load_before: String,
    /// And when it ended.
    pub load_after: String,
}

impl Machine {
    /// Reads the CPU and the current load.
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Machine { cpu: format!("{cores} × {model}"), load_before: load(), load_after: String::new() }
    }
}

/// The 1-minute load average.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The whole report.
pub fn render(machine: &Machine, sections: &[Section]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `cargo run --release -p stockade-bench`; do not edit by hand. Every figure is a median. \
         Each peer ran on the same machine in the same run, so the **ratio** (stockade ÷ peer; below 1 is \
         faster) is the figure to trust: absolute times move with the machine's load.\n"
    );
    let _ = writeln!(out, "- date: {}", command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]));
    let _ = writeln!(out, "- commit: {}", command_line("git", &["rev-parse", "--short", "HEAD"]));
    let _ = writeln!(out, "- machine: {}, kernel {}", machine.cpu, command_line("uname", &["-r"]));
    let _ = writeln!(out, "- rustc: {}", command_line("rustc", &["--version"]));
    let _ = writeln!(
        out,
        "- load average (1 min): {} at the start, {} at the end\n",
        machine.load_before, machine.load_after
    );
    for section in sections {
        out.push_str(&render_section(section));
    }
    out
}

/// `existing` (a whole report) with `section` in place of its namesake, or
/// added at the end: for a section measured on its own (`--only S --write`).
pub fn splice(existing: &str, section: &Section) -> String {
    let heading = format!("## {}\n", section.title);
    let mut text = render_section(section);
    // The report's date and commit are the whole run's; this section's own.
    let _ = writeln!(
        text,
        "- This section was measured alone (`--only ... --write`) on {} at commit {}, load {}.\n",
        command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        command_line("git", &["rev-parse", "--short", "HEAD"]),
        load()
    );
    match existing.find(&heading) {
        Some(start) => {
            let rest = &existing[start + heading.len()..];
            let end = rest.find("\n## ").map_or(existing.len(), |at| start + heading.len() + at + 1);
            format!("{}{text}{}", &existing[..start], &existing[end..])
        }
        None => format!("{}\n{text}", existing.trim_end()),
    }
}

fn render_section(section: &Section) -> String {
    let mut out = String::new();
    {
        let _ = writeln!(out, "## {}\n", section.title);
        let _ = writeln!(out, "| id | what | stockade | peer | peer's median | ratio | goal |");
        let _ = writeln!(out, "|---|---|---:|---|---:|---:|---|");
        for row in &section.rows {
            let peer = match &row.peer.median {
                Ok(median) => median.to_string(),
                Err(why) => format!("not measured: {}", why.replace('|', "/").replace('\n', " ")),
            };
            let ratio = row.ratio().map(|r| format!("{r:.3}×")).unwrap_or_else(|| "–".into());
            let goal = match (row.goal, row.met()) {
                (Some(goal), met) => {
                    let sign = if matches!(goal, crate::row::Quantity::PerSecond(_)) { "≥" } else { "≤" };
                    format!("{sign} {goal} {}", if met == Some(true) { "✅" } else { "❌" })
                }
                (None, _) => "–".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | **{}** | {} | {} | {} | {} |",
                row.id, row.what, row.ours, row.peer.name, peer, ratio, goal
            );
        }
        let _ = writeln!(out, "\n{}\n", section.notes.trim());
    }
    out
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "?".into())
}
