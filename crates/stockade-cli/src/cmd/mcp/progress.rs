//! A `run_code` call that carries a progress token: the guest's output
//! goes back as MCP progress notifications while the run goes on, each
//! one's `message` a chunk of text (stderr's marked `[stderr] `), its
//! `progress` the count of chunks so far. The tool's result still has the
//! whole output. Everything sent is within the policy's output caps.

use crate::render::Whole;
use rmcp::RoleServer;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::Peer;
use stockade::{OutputSink, Stream};
use tokio::sync::mpsc;

/// Hands the output to the task that notifies the client.
pub struct Progress {
    // Unbounded, yet bounded by the output caps: only kept bytes come here.
    // Taken at the end, which ends the notifying task.
    sender: std::sync::Mutex<Option<mpsc::UnboundedSender<String>>>,
    whole: Whole,
}

impl Progress {
    /// The sink, and the task that sends its notifications to `peer` (it
    /// ends once the sink is dropped and everything is sent).
    pub fn start(peer: Peer<RoleServer>, token: ProgressToken) -> (Progress, tokio::task::JoinHandle<()>) {
        let (sender, mut receiver) = mpsc::unbounded_channel::<String>();
        let notifier = tokio::spawn(async move {
            let mut sent = 0u32;
            while let Some(message) = receiver.recv().await {
                sent += 1;
                let note =
                    ProgressNotificationParam::new(token.clone(), f64::from(sent)).with_message(message);
                if peer.notify_progress(note).await.is_err() {
                    return;
                }
            }
        });
        (Progress { sender: std::sync::Mutex::new(Some(sender)), whole: Whole::default() }, notifier)
    }

    /// Sends what is still held (a character that never finished), and
    /// ends the notifications.
    pub fn finish(&self) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            self.send(stream, &[], true);
        }
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn notify(&self, message: String) {
        if let Some(sender) = &*self.sender.lock().unwrap_or_else(|p| p.into_inner()) {
            let _ = sender.send(message);
        }
    }

    fn send(&self, stream: Stream, bytes: &[u8], end: bool) {
        let whole = self.whole.take(stream, bytes, end);
        if whole.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&whole);
        let message = match stream {
            Stream::Stdout => text.into_owned(),
            _ => format!("[stderr] {text}"),
        };
        self.notify(message);
    }
}

impl OutputSink for Progress {
    fn chunk(&self, stream: Stream, bytes: &[u8]) {
        self.send(stream, bytes, false);
    }

    fn cut(&self, stream: Stream) {
        self.send(stream, &[], true);
        let name = if stream == Stream::Stdout { "stdout" } else { "stderr" };
        self.notify(format!("[stockade: {name} passed its cap; the rest was dropped]"));
    }
}
