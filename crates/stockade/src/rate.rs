//! Rates: the one token bucket behind a tool's `rate` and an API token's.

use std::time::{Duration, Instant};

/// A token bucket: `count` requests at once, refilled evenly at `count`
/// per `period`.
#[derive(Debug)]
pub struct Bucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket for `count` requests per `period`.
    pub fn new(count: u64, period: Duration) -> Bucket {
        let capacity = count as f64;
        Bucket {
            capacity,
            tokens: capacity,
            per_second: capacity / period.as_secs_f64().max(f64::MIN_POSITIVE),
            last: Instant::now(),
        }
    }

    /// A full bucket for a policy's rate, `"N/s"`, `"N/m"` or `"N/h"`.
    pub fn for_rate(rate: &str) -> Result<Bucket, String> {
        let (count, period) = stockade_policy::parse_rate(rate)?;
        Ok(Bucket::new(count, period))
    }

    /// Takes one token if there is one; otherwise how long until one is back.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_and_says_when() {
        let start = Instant::now();
        let mut bucket = Bucket::new(5, Duration::from_secs(1));
        assert_eq!((0..10).filter(|_| bucket.take(start).is_ok()).count(), 5);
        let wait = bucket.take(start + Duration::from_millis(100)).expect_err("empty");
        assert!(wait > Duration::from_millis(50) && wait <= Duration::from_millis(200), "{wait:?}");
        assert!(bucket.take(start + Duration::from_millis(300)).is_ok());
        assert_eq!((0..10).filter(|_| bucket.take(start + Duration::from_secs(60)).is_ok()).count(), 5);
        assert!(Bucket::for_rate("3/m").is_ok() && Bucket::for_rate("three").is_err());
    }
}
