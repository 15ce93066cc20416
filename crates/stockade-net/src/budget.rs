//! A run's network budgets: requests, and bytes each way, shared by every
//! connection of the run.

use crate::refusal::{Budget, Refusal};
use std::sync::atomic::{AtomicU64, Ordering};
use stockade_core::NetworkUsage;
use stockade_policy::NetworkPolicy;

/// What a run has used of its network, and what it may.
#[derive(Debug, Default)]
pub struct Budgets {
    max_requests: Option<u64>,
    max_bytes_out: Option<u64>,
    max_bytes_in: Option<u64>,
    requests: AtomicU64,
    bytes_out: AtomicU64,
    bytes_in: AtomicU64,
}

impl Budgets {
    /// The budgets `policy` sets, none used yet.
    pub fn new(policy: &NetworkPolicy) -> Budgets {
        Budgets {
            max_requests: policy.max_requests,
            max_bytes_out: policy.max_bytes_out,
            max_bytes_in: policy.max_bytes_in,
            ..Budgets::default()
        }
    }

    /// Takes one request from the budget, or refuses it.
    pub fn take_request(&self) -> Result<(), Refusal> {
        take(&self.requests, 1, self.max_requests).map_err(|max| Refusal::Budget(Budget::Requests(max)))
    }

    /// Counts `n` bytes sent; refuses once the run's total passes its budget.
    pub fn take_out(&self, n: u64) -> Result<(), Refusal> {
        take(&self.bytes_out, n, self.max_bytes_out).map_err(|max| Refusal::Budget(Budget::BytesOut(max)))
    }

    /// Counts `n` bytes received; refuses once the run's total passes its budget.
    pub fn take_in(&self, n: u64) -> Result<(), Refusal> {
        take(&self.bytes_in, n, self.max_bytes_in).map_err(|max| Refusal::Budget(Budget::BytesIn(max)))
    }

    /// What the run has used.
    pub fn usage(&self) -> NetworkUsage {
        NetworkUsage {
            requests: self.requests.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
        }
    }
}

/// Adds `n` to `counter` unless that would pass `max`; returns `max` when it would.
fn take(counter: &AtomicU64, n: u64, max: Option<u64>) -> Result<(), u64> {
    let Some(max) = max else {
        counter.fetch_add(n, Ordering::Relaxed);
        return Ok(());
    };
    counter
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            used.checked_add(n).filter(|total| *total <= max)
        })
        .map(drop)
        .map_err(|_| max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_what_would_pass_it_and_keeps_what_fit() {
        let policy =
            NetworkPolicy { max_requests: Some(2), max_bytes_in: Some(10), ..NetworkPolicy::default() };
        let budgets = Budgets::new(&policy);
        assert!(budgets.take_request().is_ok() && budgets.take_request().is_ok());
        assert_eq!(budgets.take_request(), Err(Refusal::Budget(Budget::Requests(2))));
        assert!(budgets.take_in(6).is_ok());
        assert!(budgets.take_in(5).is_err());
        assert!(budgets.take_in(4).is_ok());
        assert!(budgets.take_out(u64::MAX).is_ok(), "no budget, no refusal");
        assert_eq!(budgets.usage(), NetworkUsage { requests: 2, bytes_out: u64::MAX, bytes_in: 10 });
    }
}
