//! The server's wall clock, mapped onto the caller's monotonic clock.
//!
//! Expiry times and `Retry-After` dates are written on the server's clock. Each answer's `Date`
//! header says what that clock read when the answer arrived, which makes an anchor immune to local
//! clock skew; before any such answer, the caller's own wall-clock reading serves.

use crate::http::Response;
use crate::time::{Instant, UnixTime, WallClock};

/// The best known mapping between the server's wall clock and the caller's [`Instant`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ServerClock {
    anchor: Option<WallClock>,
    from_server: bool,
}

impl ServerClock {
    /// A clock that knows nothing yet.
    pub(crate) const fn new() -> Self {
        ServerClock {
            anchor: None,
            from_server: false,
        }
    }

    /// Sets the caller's anchor ("at `instant` the wall clock read `unix`"). A `Date` header seen
    /// later takes over, being the server's own clock.
    pub(crate) fn set_anchor(&mut self, anchor: WallClock) {
        if !self.from_server {
            self.anchor = Some(anchor);
        }
    }

    /// Reads the `Date` header of an answer that arrived at `now`, if it has a valid one.
    pub(crate) fn observe(&mut self, now: Instant, response: &Response) {
        if let Some(date) = response
            .header("date")
            .and_then(|text| UnixTime::parse_http_date(text).ok())
        {
            self.anchor = Some(WallClock::new(now, date));
            self.from_server = true;
        }
    }

    /// The instant at which the server's clock reads `unix`, if an anchor is known.
    pub(crate) fn instant_at(&self, unix: UnixTime) -> Option<Instant> {
        self.anchor.map(|anchor| anchor.instant_at(unix))
    }

    /// What the server's clock reads at `now`, if an anchor is known.
    pub(crate) fn unix_at(&self, now: Instant) -> Option<UnixTime> {
        self.anchor.map(|anchor| anchor.unix_at(now))
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn server_dates_map_to_local_instants() {
        use crate::http::Response;
        use crate::session::ServerClock;
        use crate::time::{Instant, UnixTime};

        let mut clock = ServerClock::new();
        assert_eq!(clock.instant_at(UnixTime::from_secs(60)), None); // nothing known yet
        let answer = Response::new(200).with_header("Date", "Thu, 01 Jan 1970 00:00:10 GMT");
        clock.observe(Instant::from_millis(500), &answer);
        assert_eq!(
            clock.instant_at(UnixTime::from_secs(60)),
            Some(Instant::from_millis(50_500))
        );
    }
}
