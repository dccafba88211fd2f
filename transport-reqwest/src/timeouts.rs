//! Per-request time limits that scale with the body size and the throughput seen so far.
//!
//! A fixed limit kills large fragments on slow links (one SDK's 100 s limit did). The limit for a
//! request is a base allowance plus the time its body takes at a pessimistic rate: a quarter of
//! the throughput measured on this upload, but never assuming less than a floor rate. Separately,
//! an idle limit catches connections that stop moving bytes altogether.

use std::time::Duration;

/// How long requests may take.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeoutPolicy {
    /// Allowance for connecting, the server's processing and the answer.
    pub base: Duration,
    /// The slowest rate assumed for a body, in bytes per second.
    pub floor_rate: u64,
    /// With no bytes moving for this long, the connection is given up as stalled.
    pub idle: Duration,
}

impl Default for TimeoutPolicy {
    /// 60 s base, 64 KiB/s floor, 60 s idle.
    fn default() -> Self {
        TimeoutPolicy {
            base: Duration::from_secs(60),
            floor_rate: 64 * 1024,
            idle: Duration::from_secs(60),
        }
    }
}

/// Throughput measured on successful bodies, smoothed.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThroughputMeter {
    bytes_per_sec: Option<f64>,
}

impl ThroughputMeter {
    /// Records that `bytes` went out and were answered in `elapsed`.
    pub fn record(&mut self, bytes: u64, elapsed: Duration) {
        if bytes < 64 * 1024 {
            // Small bodies measure latency, not throughput.
            return;
        }
        let rate = bytes as f64 / elapsed.as_secs_f64().max(0.001);
        self.bytes_per_sec = Some(match self.bytes_per_sec {
            None => rate,
            Some(old) => old * 0.7 + rate * 0.3,
        });
    }

    /// The smoothed rate, if anything was measured.
    pub fn bytes_per_sec(&self) -> Option<f64> {
        self.bytes_per_sec
    }
}

impl TimeoutPolicy {
    /// The time limit for a request with a `body_len`-byte body.
    ///
    /// ```
    /// use std::time::Duration;
    /// use resumable_reqwest::timeouts::{ThroughputMeter, TimeoutPolicy};
    /// let policy = TimeoutPolicy::default();
    /// let mut meter = ThroughputMeter::default();
    /// // Nothing measured yet: 60 MiB at 64 KiB/s is 960 s, plus the base.
    /// assert_eq!(policy.limit(60 << 20, &meter), Duration::from_secs(1020));
    /// // 100 MiB/s measured: a quarter of it, 25 MiB/s, gives 60 MiB 2.4 s.
    /// meter.record(100 << 20, Duration::from_secs(1));
    /// assert_eq!(policy.limit(60 << 20, &meter).as_secs(), 62);
    /// ```
    pub fn limit(&self, body_len: u64, meter: &ThroughputMeter) -> Duration {
        let floor = self.floor_rate.max(1) as f64;
        let rate = meter
            .bytes_per_sec()
            .map_or(floor, |measured| (measured / 4.0).max(floor));
        self.base + Duration::from_secs_f64(body_len as f64 / rate)
    }
}
