//! A limit on upload bandwidth, shared by every upload that holds a clone of it: a token bucket
//! that request bodies draw from as they hand their pieces to the connection.
//!
//! The limit is on the total, as `rclone --bwlimit` users expect: an [`Uploader`](crate::Uploader)
//! built with [`rate_limit`](crate::UploaderBuilder::rate_limit) gives the same bucket to all its
//! uploads, so four concurrent uploads under 8 MiB/s share 8 MiB/s, not 32.
//!
//! The bucket holds at most a twentieth of a second of bytes (50 ms): an idle upload cannot
//! save up a burst that would overshoot the rate for long, so the rate holds within a few
//! percent over any few seconds. A piece larger than what the bucket holds is let through
//! and paid for afterwards (the bucket goes into debt, and the next piece waits it out), so
//! any piece size works at any rate. Only body bytes count; headers and the small JSON
//! bodies of API requests are not limited.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use resumable_core::rate::TokenBucket;
use tokio::time::Instant;

/// The share of a second of bytes the bucket can hold: the largest burst.
const BURST: Duration = Duration::from_millis(50);

/// A limit on upload bandwidth, in bytes per second. Clones share it: every body sent under
/// any clone draws from the same bucket.
///
/// ```
/// use resumable_reqwest::RateLimit;
/// let limit = RateLimit::new(8 << 20); // 8 MiB/s
/// assert_eq!(limit.bytes_per_second(), 8 << 20);
/// let shared = limit.clone(); // the same 8 MiB/s, not another
/// # drop(shared);
/// ```
#[derive(Clone, Debug)]
pub struct RateLimit {
    bucket: Arc<Mutex<TokenBucket>>,
    /// The bucket's time origin.
    origin: Instant,
}

impl RateLimit {
    /// A limit of `bytes_per_second` (at least 1).
    pub fn new(bytes_per_second: u64) -> Self {
        RateLimit {
            bucket: Arc::new(Mutex::new(TokenBucket::new(bytes_per_second, BURST))),
            origin: Instant::now(),
        }
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, TokenBucket> {
        self.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The limit, in bytes per second.
    pub fn bytes_per_second(&self) -> u64 {
        self.bucket().bytes_per_second()
    }

    /// The size of the pieces bodies are handed over in under this limit: 50 ms worth of
    /// bytes, between 1 KiB and `largest`, so a slow limit sends small pieces often rather than
    /// large ones in bursts (and the idle watchdog sees them move).
    pub(crate) fn piece_size(&self, largest: usize) -> usize {
        let per_burst = usize::try_from(self.bucket().capacity()).unwrap_or(usize::MAX);
        per_burst.clamp(1024.min(largest), largest)
    }

    /// Takes `bytes` from the bucket, waiting until the rate allows them.
    pub(crate) async fn acquire(&self, bytes: usize) {
        let wait = self.bucket().take(bytes as u64, self.origin.elapsed());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// A limit of this many bytes per second.
impl From<u64> for RateLimit {
    fn from(bytes_per_second: u64) -> Self {
        RateLimit::new(bytes_per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn holds_the_rate_over_seconds() {
        let limit = RateLimit::new(1 << 20);
        let start = Instant::now();
        let piece = limit.piece_size(64 * 1024);
        let mut sent = 0;
        while sent < 4 << 20 {
            limit.acquire(piece).await;
            sent += piece;
        }
        let secs = start.elapsed().as_secs_f64();
        let rate = sent as f64 / secs;
        assert!(
            (rate / f64::from(1 << 20) - 1.0).abs() < 0.05,
            "{rate} B/s in {secs} s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_one_bucket() {
        let limit = RateLimit::new(1 << 20);
        let start = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let limit = limit.clone();
                tokio::spawn(async move {
                    for _ in 0..16 {
                        limit.acquire(16 * 1024).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // 4 × 256 KiB = 1 MiB at 1 MiB/s, less the burst the bucket holds at most.
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn slow_limits_send_small_pieces() {
        assert_eq!(RateLimit::new(10_240).piece_size(65_536), 1024);
        assert_eq!(RateLimit::new(1 << 20).piece_size(65_536), 52_428);
        assert_eq!(RateLimit::new(100 << 20).piece_size(65_536), 65_536);
    }
}
