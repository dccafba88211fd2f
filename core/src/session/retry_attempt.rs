//! A retry the engine scheduled, as a caller's retry policy sees it (tus-js-client's
//! `onShouldRetry`): the transport asks the caller after each one, and a caller that declines
//! ends the upload with [`GiveUp::Declined`](crate::retry::GiveUp::Declined).

use core::fmt;

use crate::time::Duration;

use super::failure::Failure;

/// A retry the engine scheduled: which one since the last progress, why, and after how long.
/// Nothing in it is secret (statuses and kinds of transport errors, never URLs).
///
/// ```
/// use resumable_core::session::{Failure, RetryAttempt};
/// use resumable_core::time::Duration;
/// let attempt = RetryAttempt::new(2, Failure::Status(503), Duration::from_secs(4));
/// assert_eq!(attempt.to_string(), "retry 2 after HTTP 503 (service unavailable), in 4.0 s");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryAttempt {
    /// Retries since the last progress, this one included (1 for the first).
    pub attempt: u32,
    /// What failed.
    pub reason: Failure,
    /// How long the engine waits before the retry.
    pub delay: Duration,
}

impl RetryAttempt {
    /// The `attempt`th retry since the last progress, after `reason`, in `delay`.
    pub const fn new(attempt: u32, reason: Failure, delay: Duration) -> Self {
        RetryAttempt {
            attempt,
            reason,
            delay,
        }
    }
}

impl fmt::Display for RetryAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "retry {} after {}{}, in {:.1} s",
            self.attempt,
            self.reason,
            self.reason.hint(),
            self.delay.as_secs_f64()
        )
    }
}
