//! One line of the report: stockade's median beside a peer's.

use std::time::Duration;

/// A measured capability.
pub struct Row {
    /// The benchmark's id in the issues (`P1`).
    pub id: &'static str,
    /// What was measured.
    pub what: String,
    /// stockade's median.
    pub ours: Duration,
    /// The peer measured in the same run.
    pub peer: Peer,
    /// The target for stockade's median, if the issue sets one.
    pub goal: Option<Duration>,
}

/// A peer's median, or why it could not be measured.
pub struct Peer {
    /// What ran (`amla-sandbox 0.2.8`, `node --jitless`).
    pub name: String,
    /// Its median, or the reason there is none.
    pub median: Result<Duration, String>,
}

impl Row {
    /// stockade's median over the peer's (below 1 means stockade is faster).
    pub fn ratio(&self) -> Option<f64> {
        let peer = self.peer.median.as_ref().ok()?;
        (!peer.is_zero()).then(|| self.ours.as_secs_f64() / peer.as_secs_f64())
    }

    /// Whether stockade met the goal.
    pub fn met(&self) -> Option<bool> {
        self.goal.map(|goal| self.ours <= goal)
    }
}
