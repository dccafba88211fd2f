//! Time as the caller supplies it: a monotonic [`Instant`] and wall-clock [`UnixTime`]. The two
//! textual forms the services write (RFC 3339 timestamps and HTTP-dates) are read and written
//! in `text.rs`.
//!
//! The core never reads a clock. Every `handle_*` and `poll_*` method takes `now: Instant`, which
//! the caller derives from whatever monotonic clock it has (`std::time::Instant`, a tick counter,
//! a simulated clock in tests). Wall-clock time enters only as text from the server
//! (`expirationDateTime`, `Date`, `Retry-After`) and is turned into an `Instant` with a
//! [`WallClock`] anchor.

use core::ops::{Add, AddAssign, Sub};

pub use core::time::Duration;

/// A point on the caller's monotonic clock, in milliseconds since an epoch the caller chooses.
///
/// Only differences between instants mean anything. Arithmetic saturates instead of overflowing,
/// so a hostile `Retry-After` of 2^63 seconds gives "far in the future", never a panic.
///
/// ```
/// use resumable_core::time::{Duration, Instant};
/// let start = Instant::from_millis(1_000);
/// let later = start + Duration::from_secs(2);
/// assert_eq!(later.as_millis(), 3_000);
/// assert_eq!(later - start, Duration::from_secs(2));
/// assert_eq!(start - later, Duration::ZERO); // saturates
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Instant(u64);

impl Instant {
    /// The caller's epoch.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant; used as "never".
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `millis` milliseconds after the caller's epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis)
    }

    /// Milliseconds since the caller's epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// `self + duration`, or `None` if that is past [`Instant::MAX`].
    pub fn checked_add(self, duration: Duration) -> Option<Instant> {
        let millis = u64::try_from(duration.as_millis()).ok()?;
        self.0.checked_add(millis).map(Instant)
    }

    /// `self + duration`, clamped at [`Instant::MAX`].
    pub fn saturating_add(self, duration: Duration) -> Instant {
        self.checked_add(duration).unwrap_or(Instant::MAX)
    }

    /// `self - duration`, clamped at [`Instant::ZERO`].
    pub fn saturating_sub(self, duration: Duration) -> Instant {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_sub(millis))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, rhs: Duration) -> Instant {
        self.saturating_sub(rhs)
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// Wall-clock time: milliseconds since 1970-01-01T00:00:00Z (negative before it).
///
/// `Display` writes RFC 3339 with milliseconds, as Graph does:
///
/// ```
/// use resumable_core::time::UnixTime;
/// let t = UnixTime::parse_rfc3339("2026-01-29T09:21:55.523Z").unwrap();
/// assert_eq!(t.to_string(), "2026-01-29T09:21:55.523Z");
/// assert_eq!(t.http_date().to_string(), "Thu, 29 Jan 2026 09:21:55 GMT");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UnixTime(i64);

impl UnixTime {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: UnixTime = UnixTime(0);

    /// A time `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        UnixTime(millis)
    }

    /// A time `secs` seconds after the Unix epoch.
    pub const fn from_secs(secs: i64) -> Self {
        UnixTime(secs.saturating_mul(1000))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// The time a [`std::time::SystemTime`] reads: what a transport hands the machines as their
    /// wall-clock anchor (`set_wall_clock`).
    ///
    /// ```
    /// use resumable_core::time::UnixTime;
    /// use std::time::{Duration, SystemTime};
    /// let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_500);
    /// assert_eq!(UnixTime::from_system_time(t), UnixTime::from_millis(1_500));
    /// let before = SystemTime::UNIX_EPOCH - Duration::from_secs(2);
    /// assert_eq!(UnixTime::from_system_time(before), UnixTime::from_secs(-2));
    /// ```
    #[cfg(feature = "std")]
    pub fn from_system_time(time: std::time::SystemTime) -> UnixTime {
        let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        match time.duration_since(std::time::SystemTime::UNIX_EPOCH) {
            Ok(after) => UnixTime(millis(after)),
            Err(before) => UnixTime(-millis(before.duration())),
        }
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: UnixTime) -> Duration {
        let diff = self.0.saturating_sub(earlier.0);
        Duration::from_millis(u64::try_from(diff).unwrap_or(0))
    }

    /// `self + duration`, saturating.
    pub fn saturating_add(self, duration: Duration) -> UnixTime {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        UnixTime(self.0.saturating_add(millis))
    }
}

/// Maps server wall-clock times onto the caller's monotonic clock.
///
/// Made from one observation "at monotonic `instant` the wall clock read `unix`". The engines
/// make one from each response's `Date` header when there is one, so an expiry written by the
/// server is measured against the server's own clock and local clock skew does not matter.
///
/// ```
/// use resumable_core::time::{Duration, Instant, UnixTime, WallClock};
/// let clock = WallClock::new(Instant::from_millis(5_000), UnixTime::from_secs(1_000));
/// assert_eq!(clock.instant_at(UnixTime::from_secs(1_060)), Instant::from_millis(65_000));
/// assert_eq!(clock.unix_at(Instant::from_millis(6_000)), UnixTime::from_secs(1_001));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WallClock {
    instant: Instant,
    unix: UnixTime,
}

impl WallClock {
    /// An anchor: at `instant` the wall clock read `unix`.
    pub const fn new(instant: Instant, unix: UnixTime) -> Self {
        WallClock { instant, unix }
    }

    /// The instant at which the wall clock reads `unix` (clamped to the representable range).
    pub fn instant_at(&self, unix: UnixTime) -> Instant {
        let delta = unix.0.saturating_sub(self.unix.0);
        if delta >= 0 {
            Instant(self.instant.0.saturating_add(delta.unsigned_abs()))
        } else {
            Instant(self.instant.0.saturating_sub(delta.unsigned_abs()))
        }
    }

    /// The wall-clock time at `instant`.
    pub fn unix_at(&self, instant: Instant) -> UnixTime {
        let delta = i64::try_from(instant.0).unwrap_or(i64::MAX)
            - i64::try_from(self.instant.0).unwrap_or(i64::MAX);
        UnixTime(self.unix.0.saturating_add(delta))
    }
}

mod text;

pub use text::{HttpDate, TimeError};

#[cfg(test)]
mod tests;
