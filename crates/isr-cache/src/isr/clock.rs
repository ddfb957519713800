//! Time, as the cache sees it: a trait so tests can move it by hand instead of
//! sleeping through TTLs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A clock in milliseconds.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the clock's start.
    fn now_millis(&self) -> u64;
}

/// The real clock: Unix time in milliseconds, so a time stored by one
/// process (when a page was rendered) means the same to another, and after a
/// restart. It never goes back within a process: a step back of the system
/// clock holds it still until the time catches up.
#[derive(Debug, Default)]
pub struct SystemClock {
    latest: AtomicU64,
}

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        let now = std::time::UNIX_EPOCH
            .elapsed()
            .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
        self.latest.fetch_max(now, Ordering::AcqRel).max(now)
    }
}

/// A clock that only moves when told to: for tests of expiry and stale windows.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.millis.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.millis.load(Ordering::SeqCst)
    }
}
