//! `stockade exec -- CMD ARGS...`: any program the jail's read-only view
//! holds, in a fresh process jail.

use crate::render;
use anyhow::bail;
use stockade::Language;

/// Arguments of `stockade exec`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    sandbox: super::SandboxArgs,
    /// Print the whole outcome as JSON instead of the program's output.
    #[arg(long)]
    json: bool,
    /// The program (found on the jail's default PATH) and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

/// Runs the command; the exit code is the program's, or the limit's.
pub fn run(args: Args) -> anyhow::Result<i32> {
    if args.command.is_empty() {
        bail!("give the command after --: stockade exec -- CMD ARGS...");
    }
    let sandbox = args.sandbox.sandbox(Some(Language::Shell))?;
    let outcome = sandbox.run(Language::Shell, &exec_line(&args.command))?;
    render::outcome(&outcome, sandbox.policy(), args.json)
}

/// `exec 'CMD' 'ARG'...`: the jail's shell replaces itself with the program,
/// each word quoted so that nothing in it is shell syntax.
fn exec_line(command: &[String]) -> String {
    let quoted: Vec<String> =
        command.iter().map(|word| format!("'{}'", word.replace('\'', r"'\''"))).collect();
    format!("exec {}", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_quoted_whole() {
        let words = ["python3", "-c", "print('a b'); $HOME `id`"].map(String::from);
        assert_eq!(super::exec_line(&words), r#"exec 'python3' '-c' 'print('\''a b'\''); $HOME `id`'"#);
    }
}
