//! The monotonic clock the transport feeds the core, started when an upload or a session starts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use resumable_core::time::{Instant, UnixTime, WallClock};

/// Milliseconds since the clock was made, on [`std::time::Instant`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    start: std::time::Instant,
}

impl Clock {
    /// A clock whose zero is now.
    pub(crate) fn new() -> Self {
        Clock {
            start: std::time::Instant::now(),
        }
    }

    /// The current time as the core counts it.
    pub(crate) fn now(&self) -> Instant {
        self.at(std::time::Instant::now())
    }

    /// The core's reading of `at` (zero if it is before the clock's start).
    pub(crate) fn at(&self, at: std::time::Instant) -> Instant {
        let elapsed = at.saturating_duration_since(self.start).as_millis();
        Instant::from_millis(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    /// How long from now until the core's clock reads `at` (zero if it already does).
    pub(crate) fn until(&self, at: Instant) -> Duration {
        Duration::from_millis(at.as_millis().saturating_sub(self.now().as_millis()))
    }

    /// The wall-clock anchor a machine is given once: now on this clock is now on the system
    /// clock. Machines prefer the servers' `Date` headers; this covers answers without one.
    pub(crate) fn wall_clock(&self) -> WallClock {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        WallClock::new(self.now(), UnixTime::from_millis(unix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_count_from_the_start_and_never_go_back() {
        let clock = Clock::new();
        let first = clock.now();
        let second = clock.now();
        assert!(second >= first);
        if let Some(before) = clock.start.checked_sub(Duration::from_secs(1)) {
            assert_eq!(clock.at(before), Instant::ZERO);
        }
        assert_eq!(clock.until(Instant::ZERO), Duration::ZERO);
    }
}
