//! Progress of long guest compiles (CPython's takes minutes on a small
//! machine): an [`Observer`] a surface installs, and the one on stderr that
//! the CLI and the Python package install.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
pub use stockade_wasm::progress::{Observer, set_observer};

/// Shows every compile on stderr from now on: as a bar when stderr is a
/// terminal, and as a line at the start and end of each otherwise (logs and
/// CI stay readable). Replaces any observer installed before.
pub fn show_on_stderr() {
    set_observer(Arc::new(Bar { bar: Mutex::new(None), terminal: std::io::stderr().is_terminal() }));
}

struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    terminal: bool,
}

impl Observer for Bar {
    fn started(&self, what: &str, total: u64) {
        let message = format!("compiling the {what} guest (once per machine)");
        let bar = if self.terminal {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg}\n[{elapsed_precise}] {wide_bar} {pos}/{len} functions, {eta} left",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(message);
            bar
        } else {
            eprintln!("stockade: {message}: {total} functions");
            ProgressBar::hidden()
        };
        *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    }

    fn advanced(&self, done: u64) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            bar.set_position(done);
        }
    }

    fn finished(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            if !self.terminal {
                eprintln!("stockade: compiled in {:.1?}", bar.elapsed());
            }
            bar.finish_and_clear();
        }
    }
}
