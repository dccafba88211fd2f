//! Measured throughput, and request time limits that scale with it.
//!
//! A fixed time limit kills large fragments on slow links (SPEC 5, lesson 12). The engine measures
//! each fragment from when its bytes started going out to its answer, and offers a limit for each
//! request that grows with the body size and shrinks as the link proves fast.

use crate::time::Duration;

/// Limits for requests without a body to speak of, and the floor for every request.
pub(crate) const BASE_TIMEOUT: Duration = Duration::from_secs(30);

/// The rate assumed before anything is measured: 64 KiB/s, a poor mobile link.
pub(crate) const ASSUMED_RATE: u64 = 64 * 1024;

/// Measured upload throughput (an exponentially weighted average).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Throughput {
    rate: Option<u64>,
}

impl Throughput {
    /// Nothing measured yet.
    pub(crate) const fn new() -> Self {
        Throughput { rate: None }
    }

    /// Records that `bytes` took `elapsed` to send and be answered.
    pub(crate) fn record(&mut self, bytes: u64, elapsed: Duration) {
        let millis = elapsed.as_millis().max(1);
        let sample = u64::try_from(u128::from(bytes) * 1000 / millis).unwrap_or(u64::MAX);
        // New samples weigh a quarter: one fast or slow fragment does not swing the estimate.
        self.rate = Some(match self.rate {
            None => sample,
            Some(rate) => rate - rate / 4 + sample / 4,
        });
    }

    /// The estimate in bytes per second, if anything was measured.
    pub(crate) const fn bytes_per_second(&self) -> Option<u64> {
        self.rate
    }

    /// A time limit for a request carrying `len` bytes: [`BASE_TIMEOUT`] plus the time `len`
    /// takes at a quarter of the measured rate (or at [`ASSUMED_RATE`] before any measurement).
    pub(crate) fn timeout_for(&self, len: u64) -> Duration {
        let rate = self
            .rate
            .map_or(ASSUMED_RATE, |rate| (rate / 4).max(1024))
            .max(1);
        BASE_TIMEOUT.saturating_add(Duration::from_secs(len.div_ceil(rate)))
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn time_limits_follow_the_measured_rate() {
        use crate::session::throughput::Throughput;
        use crate::time::Duration;
        let mut link = Throughput::new();
        let mib = 1024 * 1024;
        // Nothing measured: 10 MiB at the assumed 64 KiB/s, plus the base.
        assert_eq!(link.timeout_for(10 * mib), Duration::from_secs(30 + 160));
        link.record(10 * mib, Duration::from_secs(1)); // 10 MiB/s
        assert_eq!(link.bytes_per_second(), Some(10 * mib));
        // Allow for the link getting four times slower: 10 MiB at 2.5 MiB/s.
        assert_eq!(link.timeout_for(10 * mib), Duration::from_secs(30 + 4));
    }
}
