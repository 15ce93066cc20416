//! Call budgets: a token bucket per tool for `rate`.

use std::time::{Duration, Instant};

/// A token bucket: `count` calls at once, refilled at `count` per `period`.
#[derive(Debug)]
pub(crate) struct Bucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket for `count` calls per `period`.
    pub fn new(count: u64, period: Duration) -> Bucket {
        let capacity = count as f64;
        Bucket {
            capacity,
            tokens: capacity,
            per_second: capacity / period.as_secs_f64(),
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills() {
        let start = Instant::now();
        let mut bucket = Bucket::new(5, Duration::from_secs(1));
        assert_eq!((0..10).filter(|_| bucket.take(start)).count(), 5);
        assert!(!bucket.take(start + Duration::from_millis(100)));
        assert!(bucket.take(start + Duration::from_millis(300)));
        assert_eq!((0..10).filter(|_| bucket.take(start + Duration::from_secs(60))).count(), 5);
    }
}
