//! Stopping a run from outside it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A request to stop a run early, shared by the run and whoever may stop it
/// (a closing session, a caller's Ctrl-C).
///
/// Backends look at it on every tick of their wall-time clock (10 ms) and
/// while the guest sleeps; a run that sees it ends with
/// [`Status::Cancelled`](crate::Status::Cancelled). A tool handler that is
/// running is not interrupted: the run stops when it returns.
///
/// ```
/// use stockade_core::Cancel;
///
/// let cancel = Cancel::new();
/// let handle = cancel.clone();
/// assert!(!cancel.is_cancelled());
/// handle.cancel();
/// assert!(cancel.is_cancelled());
/// ```
#[derive(Clone, Default)]
pub struct Cancel {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    ask: Option<Box<dyn Fn() -> bool + Send + Sync>>,
}

impl Cancel {
    /// A request nobody has made yet; [`Cancel::cancel`] makes it.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// A request that is also made when `ask` answers true. `ask` is called
    /// on the run's own thread at each check, so it can look at state only
    /// that thread may see (an embedding interpreter's pending signals).
    pub fn asking(ask: impl Fn() -> bool + Send + Sync + 'static) -> Cancel {
        Cancel { inner: Arc::new(Inner { cancelled: AtomicBool::new(false), ask: Some(Box::new(ask)) }) }
    }

    /// A request made when either `self` or `other` is.
    pub fn or(&self, other: &Cancel) -> Cancel {
        let (first, second) = (self.clone(), other.clone());
        Cancel::asking(move || first.is_cancelled() || second.is_cancelled())
    }

    /// Makes the request. The run stops at its next check.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::Release);
    }

    /// Whether the request was made. Once true, always true.
    pub fn is_cancelled(&self) -> bool {
        if self.inner.cancelled.load(Ordering::Acquire) {
            return true;
        }
        let asked = self.inner.ask.as_ref().is_some_and(|ask| ask());
        if asked {
            self.cancel();
        }
        asked
    }
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel").field("cancelled", &self.inner.cancelled.load(Ordering::Relaxed)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn an_asked_request_sticks_and_stops_asking() {
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        let cancel = Cancel::asking(move || counter.fetch_add(1, Ordering::Relaxed) >= 2);
        assert!(!cancel.is_cancelled());
        assert!(!cancel.is_cancelled());
        assert!(cancel.is_cancelled());
        assert!(cancel.is_cancelled());
        assert_eq!(asked.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn either_side_of_or_cancels() {
        let (a, b) = (Cancel::new(), Cancel::new());
        let both = a.or(&b);
        assert!(!both.is_cancelled());
        b.cancel();
        assert!(both.is_cancelled());
        assert!(!a.is_cancelled());
    }
}
