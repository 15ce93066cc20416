//! Samples and their medians. The machine is noisy, so every figure is a
//! median and every comparison a ratio taken in the same run.

use std::time::{Duration, Instant};

/// Times `iterations` calls of `f`, after `warmup` untimed calls.
pub fn sample<T>(
    warmup: usize,
    iterations: usize,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<Vec<Duration>> {
    for _ in 0..warmup {
        f()?;
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        f()?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

/// The median of `samples` (the mean of the middle two for an even count).
pub fn median(samples: &[Duration]) -> Duration {
    assert!(!samples.is_empty(), "a median needs samples");
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2 }
}

/// Milliseconds, from a peer's JSON sample list.
pub fn from_millis(values: &[f64]) -> Vec<Duration> {
    values.iter().map(|ms| Duration::from_secs_f64(ms / 1000.0)).collect()
}

/// A duration the way the report prints it: µs below 1 ms, else ms.
pub fn show(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1000.0 { format!("{micros:.1} µs") } else { format!("{:.2} ms", micros / 1000.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        let ms = |v: &[u64]| v.iter().map(|&m| Duration::from_millis(m)).collect::<Vec<_>>();
        assert_eq!(median(&ms(&[5, 1, 3])), Duration::from_millis(3));
        assert_eq!(median(&ms(&[4, 1, 3, 2])), Duration::from_micros(2500));
    }
}
