//! The keep-alive schedule of one live session: when it was last active, when to refresh it, and
//! when the service would drop it.

use crate::time::{Duration, Instant};

/// When a live session needs its next `refreshSession`.
///
/// Activity is counted from when the request that proves it was *sent*: the server saw it no
/// earlier, so the server's idle clock started no earlier, and an expiry computed from the send
/// time is never later than the server's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeepAlive {
    /// The inactivity limit assumed for this session.
    limit: Duration,
    /// Idle time after which a refresh is sent (the limit minus the safety margin).
    interval: Duration,
    /// The latest instant the session is known to have been active.
    last_activity: Instant,
    /// No refresh before this (a failed refresh waits out its backoff or `Retry-After`).
    not_before: Instant,
    /// An answer hinted that the session may be gone: refresh as soon as allowed, to find out.
    checking: bool,
}

impl KeepAlive {
    /// A schedule for a session last active at `last_activity`.
    pub(crate) fn new(last_activity: Instant, limit: Duration, interval: Duration) -> Self {
        KeepAlive {
            limit,
            interval: interval.min(limit),
            last_activity,
            not_before: Instant::ZERO,
            checking: false,
        }
    }

    /// Counts activity at `at`. Returns whether it moved the schedule (older reports do not).
    pub(crate) fn record(&mut self, at: Instant) -> bool {
        if at > self.last_activity {
            self.last_activity = at;
            true
        } else {
            false
        }
    }

    /// When the next refresh is due: after `interval` of idleness, and not before a pending
    /// retry wait. Activity in between pushes it back, so a busy session is never refreshed.
    /// While a check is pending it is due at once (still after any retry wait).
    pub(crate) fn refresh_due(&self) -> Instant {
        if self.checking {
            return self.not_before;
        }
        (self.last_activity + self.interval).max(self.not_before)
    }

    /// Asks for a refresh as soon as allowed: an answer suggested the session may be gone, and
    /// the refresh's answer will tell.
    pub(crate) fn check_now(&mut self) {
        self.checking = true;
    }

    /// When the session would expire if nothing happens: `limit` after the last activity.
    pub(crate) fn expiry(&self) -> Instant {
        self.last_activity + self.limit
    }

    /// Holds the next refresh back until `until` (after a failed attempt).
    pub(crate) fn defer_until(&mut self, until: Instant) {
        self.not_before = until;
    }

    /// Records a successful refresh sent at `sent_at`: it counts as activity, and any retry wait
    /// or pending check is over.
    pub(crate) fn refreshed(&mut self, sent_at: Instant) {
        self.record(sent_at);
        self.not_before = Instant::ZERO;
        self.checking = false;
    }

    /// Shortens a blind retry wait so the retry still goes out before the expiry: at most half
    /// the time left, so several attempts fit before it. Once the expiry has passed the wait is
    /// left alone: the answer will say whether the session survived.
    pub(crate) fn cap_blind_wait(&self, now: Instant, wait: Duration) -> Duration {
        let expiry = self.expiry();
        if now < expiry {
            wait.min((expiry - now) / 2)
        } else {
            wait
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Instant {
        Instant::from_millis(secs * 1000)
    }

    #[test]
    fn activity_pushes_the_refresh_back() {
        let mut keep = KeepAlive::new(at(0), Duration::from_secs(300), Duration::from_secs(240));
        assert_eq!(keep.refresh_due(), at(240));
        assert_eq!(keep.expiry(), at(300));
        assert!(keep.record(at(100)));
        assert_eq!(keep.refresh_due(), at(340));
        assert!(
            !keep.record(at(50)),
            "older reports do not move the schedule"
        );
        assert_eq!(keep.expiry(), at(400));
    }

    #[test]
    fn deferral_holds_the_refresh_until_cleared() {
        let mut keep = KeepAlive::new(at(0), Duration::from_secs(300), Duration::from_secs(240));
        keep.defer_until(at(250));
        assert_eq!(keep.refresh_due(), at(250));
        keep.record(at(200));
        assert_eq!(
            keep.refresh_due(),
            at(440),
            "activity after the failure wins"
        );
        keep.defer_until(at(500));
        keep.refreshed(at(300));
        assert_eq!(keep.refresh_due(), at(540));
    }

    #[test]
    fn a_check_is_due_at_once_but_after_a_retry_wait() {
        let mut keep = KeepAlive::new(at(0), Duration::from_secs(300), Duration::from_secs(240));
        keep.check_now();
        assert_eq!(keep.refresh_due(), Instant::ZERO);
        keep.defer_until(at(20));
        assert_eq!(keep.refresh_due(), at(20));
        keep.refreshed(at(30));
        assert_eq!(keep.refresh_due(), at(270));
    }

    #[test]
    fn blind_waits_fit_before_the_expiry() {
        let keep = KeepAlive::new(at(0), Duration::from_secs(300), Duration::from_secs(240));
        assert_eq!(
            keep.cap_blind_wait(at(240), Duration::from_secs(60)),
            Duration::from_secs(30)
        );
        assert_eq!(
            keep.cap_blind_wait(at(240), Duration::from_secs(5)),
            Duration::from_secs(5)
        );
        assert_eq!(
            keep.cap_blind_wait(at(300), Duration::from_secs(60)),
            Duration::from_secs(60)
        );
        let interval_over_limit =
            KeepAlive::new(at(0), Duration::from_secs(10), Duration::from_secs(60));
        assert_eq!(interval_over_limit.refresh_due(), at(10));
    }
}
