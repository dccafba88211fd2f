//! The monotonic clock the transport feeds the core.

use resumable_core::time::{Instant, UnixTime, WallClock};

/// Milliseconds since the clock was made, on tokio's clock (so tests can pause and advance it).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: tokio::time::Instant,
}

impl Clock {
    /// A clock whose zero is now.
    pub fn new() -> Self {
        Clock {
            start: tokio::time::Instant::now(),
        }
    }

    /// The current time as the core counts it.
    pub fn now(&self) -> Instant {
        let elapsed = self.start.elapsed().as_millis();
        Instant::from_millis(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    /// The core's reading of the tokio instant `at` (zero if it is before the clock's start).
    pub fn at(&self, at: tokio::time::Instant) -> Instant {
        let elapsed = at.saturating_duration_since(self.start).as_millis();
        Instant::from_millis(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    /// The wall-clock anchor for a machine: now on this clock is now on the system clock.
    /// Machines prefer the servers' `Date` headers; this covers answers without one.
    pub fn wall_clock(&self) -> WallClock {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        WallClock::new(self.now(), UnixTime::from_millis(unix))
    }

    /// The tokio instant at which the core's clock reads `at` (for sleeping until a deadline).
    pub fn tokio_instant(&self, at: Instant) -> tokio::time::Instant {
        let far = self.start + std::time::Duration::from_secs(100 * 365 * 86_400);
        self.start
            .checked_add(std::time::Duration::from_millis(at.as_millis()))
            .unwrap_or(far)
            .min(far)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
