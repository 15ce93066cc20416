//! Output handed to the caller as the guest writes it (`run_with`), for
//! each guest, in fresh runs and in sessions. Each guest prints a line and
//! then spins forever; the sink cancels the run when the line reaches it.
//! Only output that arrives while the guest still runs can stop it, so a
//! sink that got the output at the end would see the run stopped by its
//! wall time instead, and the test fails.

use crate::python::ensure_fetched;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stockade::{Cancel, Language, OutputSink, Policy, Request, Sandbox, Status, Stream};

/// Records what it is given, and cancels the run at the first chunk that
/// holds `until`.
struct Recorder {
    events: Mutex<Vec<(Stream, String)>>,
    cuts: Mutex<Vec<Stream>>,
    until: &'static str,
    cancel: Cancel,
}

impl Recorder {
    fn new(until: &'static str) -> Arc<Recorder> {
        Arc::new(Recorder { events: Mutex::default(), cuts: Mutex::default(), until, cancel: Cancel::new() })
    }

    fn text(&self, stream: Stream) -> String {
        let events = self.events.lock().expect("events");
        events.iter().filter(|(s, _)| *s == stream).map(|(_, text)| text.as_str()).collect()
    }
}

impl OutputSink for Recorder {
    fn chunk(&self, stream: Stream, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes).into_owned();
        if text.contains(self.until) {
            self.cancel.cancel();
        }
        self.events.lock().expect("events").push((stream, text));
    }

    fn cut(&self, stream: Stream) {
        self.cuts.lock().expect("cuts").push(stream);
    }
}

fn policy() -> Policy {
    Policy::builder().wall_time(Duration::from_secs(20)).build().expect("policy")
}

/// Each guest's program: a line on stderr, one on stdout, then a spin.
const PROGRAMS: &[(Language, &str)] = &[
    (Language::JavaScript, "console.error('to stderr'); console.log('streamed'); while (true) {}"),
    (
        Language::Python,
        "import sys\nprint('to stderr', file=sys.stderr)\nprint('streamed')\nwhile True: pass",
    ),
    (Language::Shell, "echo 'to stderr' >&2; echo streamed; while :; do :; done"),
];

#[test]
fn output_reaches_the_sink_while_the_guest_still_runs() {
    let sandbox = Sandbox::new(policy()).expect("sandbox");
    for (language, code) in PROGRAMS {
        if *language == Language::Python {
            ensure_fetched();
        }
        let recorder = Recorder::new("streamed");
        let request = Request::new(*language, *code);
        let sink: Arc<dyn OutputSink> = recorder.clone();
        let outcome = sandbox.run_with(&request, Some(&recorder.cancel), sink).expect("run");
        assert_eq!(outcome.status, Status::Cancelled, "{language}: {outcome:?}");
        assert_eq!(recorder.text(Stream::Stdout), "streamed\n", "{language}");
        assert_eq!(recorder.text(Stream::Stderr), "to stderr\n", "{language}");
        assert_eq!(outcome.stdout, "streamed\n", "{language}: the outcome keeps it too");
    }
}

#[test]
fn a_sessions_turns_stream_each_to_its_own_sink() {
    let sandbox = Sandbox::new(policy()).expect("sandbox");
    for (language, code) in PROGRAMS {
        if *language == Language::Python {
            ensure_fetched();
        }
        let session = sandbox.session(*language).expect("session");
        // A first turn without a sink, then one whose output streams.
        let quiet = session.run(if *language == Language::Shell { "echo quiet" } else { "1" }).expect("run");
        assert_eq!(quiet.status, Status::Ok, "{language}: {quiet:?}");
        let recorder = Recorder::new("streamed");
        let sink: Arc<dyn OutputSink> = recorder.clone();
        let request = Request::in_session("s", *code);
        let outcome = session.run_with(&request, Some(&recorder.cancel), sink).expect("run");
        assert_eq!(outcome.status, Status::Cancelled, "{language}: {outcome:?}");
        assert_eq!(recorder.text(Stream::Stdout), "streamed\n", "{language}");
        assert!(!recorder.text(Stream::Stdout).contains("quiet"), "{language}");
    }
}

#[test]
fn the_cap_holds_for_the_stream_and_its_cut_is_said_once() {
    let policy = Policy::from_toml_str("[limits]\nstdout_bytes = 10\n").expect("policy");
    let sandbox = Sandbox::new(policy).expect("sandbox");
    for (language, code) in [
        (Language::JavaScript, "for (let i = 0; i < 5; i++) console.log('0123456789')"),
        (Language::Shell, "for i in 1 2 3 4 5; do echo 0123456789; done"),
    ] {
        let recorder = Recorder::new("never");
        let sink: Arc<dyn OutputSink> = recorder.clone();
        let outcome = sandbox.run_with(&Request::new(language, code), None, sink).expect("run");
        assert!(outcome.stdout_truncated, "{language}: {outcome:?}");
        assert_eq!(recorder.text(Stream::Stdout), "0123456789", "{language}: no byte past the cap");
        assert_eq!(*recorder.cuts.lock().expect("cuts"), [Stream::Stdout], "{language}");
    }
}
