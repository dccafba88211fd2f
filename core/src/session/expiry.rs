//! When a session expires, known ahead of time.
//!
//! Graph sessions carry an absolute `expirationDateTime` that each accepted fragment extends; WOPI
//! sessions and workbook sessions slide a fixed lifetime from their last use. Either way the
//! machine keeps one deadline and acts before it, by a margin, rather than learning of the expiry
//! from a `404`. The margin never exceeds a quarter of the lifetime the server granted, so a
//! service with short sessions (an emulator on a fast time scale) is not given up at once.

use crate::time::{Duration, Instant, UnixTime};

use crate::session::ServerClock;

/// The expiry of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SessionExpiry {
    at: Option<Instant>,
    wall: Option<UnixTime>,
    margin: Duration,
    granted: Option<Duration>,
}

impl SessionExpiry {
    /// No expiry known yet; `margin` is how long before the expiry the session counts as gone.
    pub(crate) const fn new(margin: Duration) -> Self {
        SessionExpiry {
            at: None,
            wall: None,
            margin,
            granted: None,
        }
    }

    /// The server said at `now` that the session expires at `expires` on its clock. Without a
    /// clock anchor the wall time is kept and [`SessionExpiry::reanchor`] converts it later.
    pub(crate) fn set_absolute(&mut self, now: Instant, expires: UnixTime, clock: &ServerClock) {
        self.wall = Some(expires);
        self.at = clock.instant_at(expires);
        self.granted = self.at.map(|at| at.saturating_duration_since(now));
    }

    /// The session lives `lifetime` from `now` (a sliding expiry).
    pub(crate) fn set_sliding(&mut self, now: Instant, lifetime: Duration) {
        self.at = Some(now.saturating_add(lifetime));
        self.wall = None;
        self.granted = Some(lifetime);
    }

    /// Converts a wall-clock expiry again, after the clock learnt a better anchor.
    pub(crate) fn reanchor(&mut self, clock: &ServerClock) {
        if let Some(wall) = self.wall {
            self.at = clock.instant_at(wall).or(self.at);
        }
    }

    /// Forgets the expiry (the session is gone).
    pub(crate) fn clear(&mut self) {
        self.at = None;
        self.wall = None;
        self.granted = None;
    }

    /// The expiry on the server's clock, if it was given as one.
    pub(crate) const fn wall(&self) -> Option<UnixTime> {
        self.wall
    }

    /// When the session expires on the caller's clock (no margin), if known. A machine that acts
    /// ahead of the expiry (a keep-alive, a warning) acts at [`SessionExpiry::deadline`]; this is
    /// when the session is gone if nothing extended it.
    pub(crate) const fn expires_at(&self) -> Option<Instant> {
        self.at
    }

    /// When the session counts as expired: the expiry less the margin (at most a quarter of the
    /// lifetime granted).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let margin = match self.granted {
            Some(granted) => self.margin.min(granted / 4),
            None => self.margin,
        };
        self.at.map(|at| at.saturating_sub(margin))
    }

    /// Whether the session counts as expired at `now`.
    pub(crate) fn has_expired(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|deadline| deadline <= now)
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn expiry_keeps_a_margin_before_the_server_deadline() {
        use crate::session::ServerClock;
        use crate::session::expiry::SessionExpiry;
        use crate::time::{Duration, Instant, UnixTime, WallClock};

        let mut clock = ServerClock::new();
        clock.set_anchor(WallClock::new(Instant::ZERO, UnixTime::from_secs(1_000)));
        let mut expiry = SessionExpiry::new(Duration::from_secs(10));
        expiry.set_absolute(Instant::ZERO, UnixTime::from_secs(1_100), &clock);
        assert_eq!(expiry.deadline(), Some(Instant::from_millis(90_000)));
        assert!(!expiry.has_expired(Instant::from_millis(89_999)));
        assert!(expiry.has_expired(Instant::from_millis(90_000)));
        // A session granted 20 s gets a 5 s margin, not 10.
        expiry.set_absolute(Instant::ZERO, UnixTime::from_secs(1_020), &clock);
        assert_eq!(expiry.deadline(), Some(Instant::from_millis(15_000)));
        expiry.set_sliding(Instant::from_millis(60_000), Duration::from_secs(30 * 60));
        assert_eq!(
            expiry.deadline(),
            Some(Instant::from_millis(60_000 + 1_790_000))
        );
        assert_eq!(
            expiry.expires_at(),
            Some(Instant::from_millis(60_000 + 1_800_000))
        );
    }
}
