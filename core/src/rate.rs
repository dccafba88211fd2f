//! A token bucket: the arithmetic of a bandwidth limit, without a clock.
//!
//! The caller says how much time has passed since an origin it picked (any monotonic clock
//! will do) and how many bytes want to go; the bucket answers how long they must wait. A
//! client's upload limit (`--bwlimit`) and an emulated link's bandwidth are the same bucket.
//!
//! The bucket holds at most `burst` worth of bytes, so an idle sender cannot save up a burst
//! that overshoots the rate for long. A piece larger than the bucket is let through on credit:
//! the bucket goes into debt and the next piece waits it out, so any piece size works at any
//! rate and the average holds.

use crate::time::Duration;

/// A bandwidth limit's state: `bytes_per_second`, at most `burst` of them saved up.
///
/// ```
/// use resumable_core::rate::TokenBucket;
/// use std::time::Duration;
/// let mut bucket = TokenBucket::new(1_000_000, Duration::from_millis(50));
/// // Nothing saved up at first: 100 kB wait 100 ms.
/// assert_eq!(bucket.take(100_000, Duration::ZERO), Duration::from_millis(100));
/// // 100 ms later the debt is paid; 10 ms more buys 10 kB.
/// assert_eq!(bucket.take(10_000, Duration::from_millis(110)), Duration::ZERO);
/// ```
#[derive(Clone, Debug)]
pub struct TokenBucket {
    bytes_per_second: u64,
    capacity: f64,
    /// Bytes that may go now; negative when a piece went on credit.
    tokens: f64,
    /// When `tokens` was last brought up to date (time since the caller's origin).
    updated: Duration,
}

impl TokenBucket {
    /// An empty bucket filling at `bytes_per_second` (at least 1), holding at most `burst`.
    pub fn new(bytes_per_second: u64, burst: Duration) -> Self {
        let bytes_per_second = bytes_per_second.max(1);
        TokenBucket {
            bytes_per_second,
            capacity: bytes_per_second as f64 * burst.as_secs_f64(),
            tokens: 0.0,
            updated: Duration::ZERO,
        }
    }

    /// The rate, in bytes per second.
    pub fn bytes_per_second(&self) -> u64 {
        self.bytes_per_second
    }

    /// The most bytes the bucket holds (the largest burst), at least 1.
    pub fn capacity(&self) -> u64 {
        (self.capacity as u64).max(1)
    }

    /// Takes `bytes` at time `now` (since the caller's origin; earlier times count as
    /// `now` of the last call) and answers how long to wait before sending them.
    pub fn take(&mut self, bytes: u64, now: Duration) -> Duration {
        let elapsed = now.saturating_sub(self.updated);
        self.updated = self.updated.max(now);
        let refill = elapsed.as_secs_f64() * self.bytes_per_second as f64;
        self.tokens = (self.tokens + refill).min(self.capacity);
        self.tokens -= bytes as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.bytes_per_second as f64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `total` bytes in `piece`s, each when the bucket allows: answers the time taken.
    fn send(bucket: &mut TokenBucket, total: u64, piece: u64) -> Duration {
        let mut now = Duration::ZERO;
        let mut sent = 0;
        while sent < total {
            now += bucket.take(piece, now);
            sent += piece;
        }
        now
    }

    #[test]
    fn holds_the_rate_for_any_piece_size() {
        for piece in [1_000, 64 * 1024, 10 << 20] {
            let mut bucket = TokenBucket::new(1 << 20, Duration::from_millis(50));
            let total = 64u64 << 20;
            let secs = send(&mut bucket, total, piece).as_secs_f64();
            let rate = total as f64 / secs;
            assert!(
                (rate / f64::from(1 << 20) - 1.0).abs() < 0.2,
                "piece {piece}: {rate} B/s"
            );
        }
    }

    #[test]
    fn an_idle_sender_saves_up_one_burst_only() {
        let mut bucket = TokenBucket::new(1_000_000, Duration::from_millis(50));
        assert_eq!(bucket.capacity(), 50_000);
        // A minute idle buys 50 ms worth, not a minute's.
        assert_eq!(bucket.take(50_000, Duration::from_secs(60)), Duration::ZERO);
        assert_eq!(
            bucket.take(50_000, Duration::from_secs(60)),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn time_going_back_counts_as_no_time() {
        let mut bucket = TokenBucket::new(1_000, Duration::from_secs(1));
        assert_eq!(bucket.take(0, Duration::from_secs(10)), Duration::ZERO);
        assert_eq!(bucket.take(1_000, Duration::from_secs(5)), Duration::ZERO);
        assert_eq!(
            bucket.take(1_000, Duration::from_secs(5)),
            Duration::from_secs(1)
        );
    }

    proptest::proptest! {
        /// Against the model "never more than rate × time + burst": whatever the pieces, bytes
        /// sent by any moment stay within it.
        #[test]
        fn never_more_than_the_rate_plus_one_burst(
            rate in 1_000u64..100_000_000,
            pieces in proptest::collection::vec((1u64..2_000_000, 0u64..200), 1..50),
        ) {
            let mut bucket = TokenBucket::new(rate, Duration::from_millis(50));
            let mut now = Duration::ZERO;
            let mut sent = 0u64;
            for (piece, idle_ms) in pieces {
                now += Duration::from_millis(idle_ms);
                now += bucket.take(piece, now);
                // A piece is let through on credit once its wait is over: counted after.
                sent += piece;
                let allowed = rate as f64 * (now.as_secs_f64() + 0.05);
                proptest::prop_assert!(sent as f64 <= allowed + 1.0, "{sent} > {allowed}");
            }
        }
    }
}
