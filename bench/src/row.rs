//! One line of the report: stockade's median beside a peer's.

use std::time::Duration;

/// What a benchmark measures: a time, or an amount of memory.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub enum Quantity {
    /// A duration.
    Time(Duration),
    /// Bytes of memory.
    Bytes(u64),
    /// Events per second (more is better).
    PerSecond(f64),
}

impl From<Duration> for Quantity {
    fn from(time: Duration) -> Quantity {
        Quantity::Time(time)
    }
}

impl Quantity {
    fn value(self) -> f64 {
        match self {
            Quantity::Time(time) => time.as_secs_f64(),
            Quantity::Bytes(bytes) => bytes as f64,
            Quantity::PerSecond(rate) => rate,
        }
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Quantity::Time(time) => f.write_str(&crate::stats::show(time)),
            Quantity::Bytes(bytes) if bytes < 1 << 20 => write!(f, "{:.1} KiB", bytes as f64 / 1024.0),
            Quantity::Bytes(bytes) => write!(f, "{:.2} MiB", bytes as f64 / (1 << 20) as f64),
            Quantity::PerSecond(rate) => write!(f, "{rate:.0} /s"),
        }
    }
}

/// A measured capability.
pub struct Row {
    /// The benchmark's id in the issues (`P1`).
    pub id: &'static str,
    /// What was measured.
    pub what: String,
    /// stockade's median.
    pub ours: Quantity,
    /// The peer measured in the same run.
    pub peer: Peer,
    /// The target for stockade's median, if the issue sets one.
    pub goal: Option<Quantity>,
}

/// A peer's median, or why it could not be measured.
pub struct Peer {
    /// What ran (`amla-sandbox 0.2.8`, `node --jitless`).
    pub name: String,
    /// Its median, or the reason there is none.
    pub median: Result<Quantity, String>,
}

impl Row {
    /// stockade's median over the peer's (below 1 means stockade is faster
    /// or smaller).
    pub fn ratio(&self) -> Option<f64> {
        let peer = self.peer.median.as_ref().ok()?.value();
        (peer != 0.0).then(|| self.ours.value() / peer)
    }

    /// Whether stockade met the goal: at most it, or for a rate, at least.
    pub fn met(&self) -> Option<bool> {
        self.goal.map(|goal| match (self.ours, goal) {
            (Quantity::PerSecond(ours), Quantity::PerSecond(goal)) => ours >= goal,
            (ours, goal) => ours <= goal,
        })
    }
}
