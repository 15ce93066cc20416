//! `stockade run`: one fresh sandbox, one program.

use crate::render;
use anyhow::{Context, bail};
use std::io::Read;
use std::path::PathBuf;
use stockade::{Language, Request};

/// The exit codes of `stockade run`, as `--help` shows them.
const EXIT_CODES: &str = "\
Exit codes:
  0     the code ran to the end
  1     the code raised an uncaught error
  2     bad invocation, request or policy (nothing ran)
  3     stockade or this machine could not run it (engine, jail,
        guest artifact or audit log failure)
  75    busy: every instance slot is in use; try again
  124   wall time exceeded (limits.wall_ms)
  125   fuel exhausted (limits.fuel)
  137   memory limit exceeded (limits.memory_bytes)
  141   output limit exceeded (output_overflow = \"kill\")
  130   cancelled (Ctrl-C)
A guest that exits by itself (sys.exit(N), exit N) exits with its own N,
which may be any of these: `sys.exit(124)` looks like the wall limit. Where
it matters, use --json: its status.kind tells `exited` (the guest's own
exit) from `limit_exceeded` (stockade stopped it), and status.limit names
the limit.";

/// Arguments of `stockade run`.
#[derive(clap::Args)]
#[command(after_long_help = EXIT_CODES)]
pub struct Args {
    /// Language of the code: js or python (WebAssembly), or sh, bash,
    /// python-native or node-native (the host's programs, in the process jail).
    #[arg(long, short, value_parser = parse_language)]
    lang: Language,
    /// The code itself, instead of a file.
    #[arg(short = 'c', long = "code", conflicts_with = "file")]
    code: Option<String>,
    /// File holding the code; `-` reads standard input.
    file: Option<PathBuf>,
    #[command(flatten)]
    sandbox: super::SandboxArgs,
    /// Print the whole outcome as JSON instead of the guest's output.
    #[arg(long)]
    json: bool,
}

pub(crate) fn parse_language(text: &str) -> Result<Language, String> {
    text.parse().map_err(|unknown: stockade::policy::UnknownLanguage| unknown.to_string())
}

/// Runs the code; the exit code is the guest's, or the limit's.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let code = match (args.code, args.file) {
        (Some(code), _) => code,
        (None, Some(path)) => read_code(&path)?,
        (None, None) => bail!("give the code with -c CODE, a FILE, or - for standard input"),
    };
    let sandbox = args.sandbox.sandbox(Some(args.lang))?;
    let request = Request::new(args.lang, code);
    if args.json {
        let outcome = sandbox.run_request(&request, None)?;
        return render::outcome(&outcome, sandbox.policy(), true);
    }
    // Output reaches the terminal (or the pipe) as the guest writes it.
    let live = std::sync::Arc::new(render::Live::default());
    let outcome = sandbox.run_with(&request, None, live.clone());
    live.finish();
    Ok(render::after_live(&outcome?, sandbox.policy()))
}

fn read_code(path: &std::path::Path) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).context("cannot read the code from standard input")?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        stockade::SandboxError::Request(format!("the code is not valid UTF-8 (at byte {at})")).into()
    })
}
