//! The state every upload dialect keeps the same way, in one value: requests in flight, events
//! waiting, the retry schedule, the server's clock, the session's expiry and the measured
//! throughput, with the few operations that touch several of them at once.

use crate::http::{Request, Response};
use crate::retry::{GiveUp, RetryPolicy};
use crate::time::{Duration, Instant, WallClock};

use super::event_queue::EventQueue;
use super::expiry::SessionExpiry;
use super::failure::Failure;
use super::in_flight::InFlight;
use super::retry_attempt::RetryAttempt;
use super::schedule::RetrySchedule;
use super::server_clock::ServerClock;
use super::throughput::Throughput;

/// The shared part of an upload machine. `S` is the note kept with each request in flight,
/// `E` the machine's event.
#[derive(Debug)]
pub struct SessionCore<S, E> {
    /// Requests in flight, each with what it was for.
    pub(crate) in_flight: InFlight<S>,
    /// Events waiting for `poll_event`.
    pub(crate) events: EventQueue<E>,
    /// Backoff, the retry budget and the "not before" gate.
    pub(crate) schedule: RetrySchedule,
    /// When the session expires, on the caller's clock and the server's.
    pub(crate) expiry: SessionExpiry,
    /// The server's wall clock, measured from its `Date` headers (or the caller's anchor).
    pub(crate) clock: ServerClock,
    /// The measured rate, and time limits that scale with it.
    pub(crate) throughput: Throughput,
    /// The retry scheduled last, until the machine ends: what a caller's retry policy is shown,
    /// and what declining it gives up on.
    pub(crate) last_retry: Option<RetryAttempt>,
}

impl<S, E> SessionCore<S, E> {
    /// A machine's shared state at `now`: nothing in flight, retries under `retry` (jitter
    /// seeded with `seed`), a session treated as expired `expiry_margin` before it does.
    pub fn new(retry: RetryPolicy, seed: u64, now: Instant, expiry_margin: Duration) -> Self {
        SessionCore {
            in_flight: InFlight::new(),
            events: EventQueue::new(),
            schedule: RetrySchedule::new(retry, seed, now),
            expiry: SessionExpiry::new(expiry_margin),
            clock: ServerClock::new(),
            throughput: Throughput::new(),
            last_retry: None,
        }
    }

    /// Reads the server's clock off an answer's `Date`, and places the expiry again by it.
    pub fn observe(&mut self, now: Instant, response: &Response) {
        self.clock.observe(now, response);
        self.expiry.reanchor(&self.clock);
    }

    /// Gives the wall clock: expiries recorded on the server's clock are placed again.
    pub fn anchor(&mut self, wall: WallClock) {
        self.clock.set_anchor(wall);
        self.expiry.reanchor(&self.clock);
    }

    /// The time limit for `request`: it grows with the body and shrinks with the measured rate.
    pub fn time_limit(&self, request: &Request) -> Duration {
        self.throughput.timeout_for(request.body.len())
    }

    /// Schedules a retry after a failure for `reason` (at the earliest `wait` from now, when
    /// the server asked for one) and reports it with the event `retrying` makes of its time and
    /// delay; or says why retries are over. The retry is the [last](Self::last_retry) until
    /// another replaces it or the machine ends.
    pub fn retry(
        &mut self,
        now: Instant,
        reason: Failure,
        wait: Option<Duration>,
        retrying: impl FnOnce(Instant, Duration) -> E,
    ) -> Result<(), GiveUp> {
        let at = self.schedule.after_failure(now, wait)?;
        let delay = at.saturating_duration_since(now);
        self.last_retry = Some(RetryAttempt::new(self.schedule.attempts(), reason, delay));
        self.events.push(retrying(at, delay));
        Ok(())
    }

    /// The retry scheduled last, unless the machine has ended.
    pub fn last_retry(&self) -> Option<RetryAttempt> {
        self.last_retry
    }

    /// Takes back the last retry, for a caller that declined it (if it already went out, its
    /// answer will be ignored once the machine ends): what the dialect then fails with
    /// ([`GiveUp::Declined`], after the retry's reason). `None` when there is no retry to
    /// decline (none was scheduled, or the machine ended).
    pub fn decline_retry(&mut self) -> Option<(Failure, GiveUp)> {
        let declined = self.last_retry.take()?;
        self.schedule.open();
        Some((
            declined.reason,
            GiveUp::Declined {
                attempt: declined.attempt,
            },
        ))
    }

    /// Ends the machine with `event` (completed, failed, cancelled): nothing in flight counts
    /// any more and no retry is pending.
    pub fn end(&mut self, event: E) {
        self.in_flight.clear();
        self.schedule.open();
        self.last_retry = None;
        self.events.push(event);
    }
}
