//! When the next attempt may go out: a [`Retrier`] plus the deadline it set.
//!
//! Not specific to Graph: every machine that retries keeps one, so `Retry-After` handling,
//! backoff, budgets and the "do not send before" gate behave the same everywhere.

use crate::http::Response;
use crate::retry::{GiveUp, Retrier, RetryPolicy, requested_wait};
use crate::time::{Duration, Instant};

use crate::session::ServerClock;

/// A retry gate: no request goes out before [`RetrySchedule::deadline`].
#[derive(Clone, Debug)]
pub(crate) struct RetrySchedule {
    retrier: Retrier,
    until: Option<Instant>,
}

impl RetrySchedule {
    /// A gate following `policy`, jitter seeded by `seed`, counting stalls from `now`.
    pub(crate) fn new(policy: RetryPolicy, seed: u64, now: Instant) -> Self {
        RetrySchedule {
            retrier: Retrier::new(policy, seed, now),
            until: None,
        }
    }

    /// After a failure at `now`: closes the gate until the retry time and returns it. A wait the
    /// server asked for (`retry_after`) and a blind one both spend budget.
    pub(crate) fn after_failure(
        &mut self,
        now: Instant,
        retry_after: Option<Duration>,
    ) -> Result<Instant, GiveUp> {
        let delay = self.retrier.schedule(now, retry_after)?;
        Ok(self.close_until(now.saturating_add(delay)))
    }

    /// Closes the gate for a fixed `delay` (no budget spent) and returns when it opens.
    pub(crate) fn wait(&mut self, now: Instant, delay: Duration) -> Instant {
        self.close_until(now.saturating_add(delay))
    }

    /// Closes the gate for a fixed `delay` (no budget spent) unless the wait would stall the
    /// upload past [`RetryPolicy::max_stall`]; returns when it opens. For protocol pauses that
    /// may repeat without progress (retries of a `404`), so they cannot go on forever.
    pub(crate) fn wait_unless_stalled(
        &mut self,
        now: Instant,
        delay: Duration,
    ) -> Result<Instant, GiveUp> {
        self.retrier.check_stall(now, delay)?;
        Ok(self.wait(now, delay))
    }

    /// Retries since the last progress.
    pub(crate) fn attempts(&self) -> u32 {
        self.retrier.attempts()
    }

    /// Records progress: the budget refills and backoff starts over.
    pub(crate) fn progress(&mut self, now: Instant) {
        self.retrier.progress(now);
    }

    /// Whether requests must still wait at `now`.
    pub(crate) fn is_waiting(&self, now: Instant) -> bool {
        self.until.is_some_and(|until| now < until)
    }

    /// When the gate opens, if it is closed.
    pub(crate) const fn deadline(&self) -> Option<Instant> {
        self.until
    }

    /// Opens the gate if its time has come (call from `handle_timeout`).
    pub(crate) fn open_if_due(&mut self, now: Instant) {
        if self.until.is_some_and(|until| until <= now) {
            self.until = None;
        }
    }

    /// Opens the gate now (a command that must not wait, such as a cancel).
    pub(crate) fn open(&mut self) {
        self.until = None;
    }

    fn close_until(&mut self, at: Instant) -> Instant {
        let at = self.until.map_or(at, |until| until.max(at));
        self.until = Some(at);
        at
    }
}

/// The wait an answer's `Retry-After` asks for, measured on the server's clock when it is an
/// HTTP-date: from the answer's `Date`, else from `clock` (an earlier `Date`, or the caller's
/// anchor). A date that cannot be placed at all waits `unplaced`; pass
/// [`RetryPolicy::max_retry_after`] so no acceptable ask is undercut. See
/// [`requested_wait`](crate::retry::requested_wait).
pub(crate) fn retry_after(
    response: &Response,
    now: Instant,
    clock: &ServerClock,
    unplaced: Duration,
) -> Option<Duration> {
    requested_wait(
        response.header("retry-after"),
        response.header("date"),
        clock.unix_at(now),
        unplaced,
    )
}

#[cfg(test)]
mod examples {
    #[test]
    fn a_failure_with_retry_after_waits_that_long() {
        use crate::retry::RetryPolicy;
        use crate::session::schedule::RetrySchedule;
        use crate::time::{Duration, Instant};

        let mut schedule = RetrySchedule::new(RetryPolicy::default(), 1, Instant::ZERO);
        let at = schedule
            .after_failure(Instant::ZERO, Some(Duration::from_secs(30)))
            .unwrap();
        assert!(at >= Instant::from_millis(30_000));
        assert!(schedule.is_waiting(Instant::from_millis(29_999)));
        assert!(!schedule.is_waiting(at));
    }
    #[test]
    fn retry_after_reads_delay_seconds() {
        use crate::http::Response;
        use crate::session::{ServerClock, retry_after};
        use crate::time::{Duration, Instant};
        let clock = ServerClock::new();
        let answer = Response::new(503).with_header("Retry-After", "120");
        assert_eq!(
            retry_after(&answer, Instant::ZERO, &clock, Duration::from_secs(60)),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&Response::new(503), Instant::ZERO, &clock, Duration::ZERO),
            None
        );
    }
}
