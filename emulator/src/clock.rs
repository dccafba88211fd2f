//! Time in the emulator: the time scale and the wall clock the answers are written in.
//!
//! Expiries and creation delays are service time: a 30-minute WOPI expiry under a ×60 scale
//! happens 30 real seconds after the last update. The emulator writes real wall-clock times
//! (`expirationDateTime`, `Date`, `Retry-After` dates), so a client that measures expiries against
//! the server's clock sees the scaled figures and needs no knowledge of the scale.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use resumable_core::time::UnixTime;

use crate::config::ConfigError;

/// How many times faster than real time expiries and creation delays run.
///
/// The factor lies between [`TimeScale::SLOWEST`] (a thousand times slower) and
/// [`TimeScale::FASTEST`] (a million times faster): beyond those a 30-minute expiry would last
/// years or pass in under two milliseconds, and neither tests anything.
///
/// ```
/// use std::time::Duration;
/// use resumable_emulator::TimeScale;
/// let scale: TimeScale = "60".parse().unwrap();
/// assert_eq!(scale.real(Duration::from_secs(30 * 60)), Duration::from_secs(30));
/// assert_eq!("x60".parse::<TimeScale>().unwrap(), scale);
/// assert_eq!(TimeScale::new(0.5).unwrap().real(Duration::from_secs(1)), Duration::from_secs(2));
/// assert!("0".parse::<TimeScale>().is_err());
/// assert!("1e-300".parse::<TimeScale>().is_err());
/// assert!("1e9".parse::<TimeScale>().is_err());
/// assert!("fast".parse::<TimeScale>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct TimeScale(f64);

impl TimeScale {
    /// Service time is real time.
    pub const REAL_TIME: TimeScale = TimeScale(1.0);

    /// The slowest scale: service time runs a thousand times slower than real time.
    pub const SLOWEST: TimeScale = TimeScale(1e-3);

    /// The fastest scale: service time runs a million times faster than real time.
    pub const FASTEST: TimeScale = TimeScale(1e6);

    /// A scale of `factor`, or `None` unless it lies between [`TimeScale::SLOWEST`] and
    /// [`TimeScale::FASTEST`].
    pub fn new(factor: f64) -> Option<Self> {
        (factor.is_finite() && (Self::SLOWEST.0..=Self::FASTEST.0).contains(&factor))
            .then_some(TimeScale(factor))
    }

    /// The factor.
    pub fn factor(&self) -> f64 {
        self.0
    }

    /// The real duration of `service` service time.
    pub fn real(&self, service: Duration) -> Duration {
        Duration::try_from_secs_f64(service.as_secs_f64() / self.0).unwrap_or(Duration::MAX)
    }

    /// Whole real seconds for a `Retry-After` of `service_secs` service seconds: rounded up, and
    /// at least one when `service_secs` is not zero, so a scaled wait never reads as "now".
    pub fn real_secs(&self, service_secs: u64) -> u64 {
        if service_secs == 0 {
            return 0;
        }
        let real = (service_secs as f64 / self.0).ceil();
        (real as u64).max(1)
    }
}

impl Default for TimeScale {
    fn default() -> Self {
        TimeScale::REAL_TIME
    }
}

impl fmt::Display for TimeScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "x{}", self.0)
    }
}

impl FromStr for TimeScale {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let trimmed = text.trim();
        let number = trimmed.strip_prefix(['x', 'X']).unwrap_or(trimmed);
        number
            .parse::<f64>()
            .ok()
            .and_then(TimeScale::new)
            .ok_or_else(|| {
                ConfigError::new(
                    "time scale",
                    text,
                    "expected a number from 0.001 to 1000000 (optionally written x60)",
                )
            })
    }
}

/// A duration of service time as a setting is written: a number and a unit, `ms`, `s`, `m` or
/// `h` (a bare number is seconds; fractions are allowed), at most ten years.
///
/// ```
/// use std::time::Duration;
/// use resumable_emulator::ServiceDuration;
/// let delay: ServiceDuration = "1.5s".parse().unwrap();
/// assert_eq!(Duration::from(delay), Duration::from_millis(1500));
/// assert_eq!(delay.to_string(), "1500ms");
/// assert!("soon".parse::<ServiceDuration>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceDuration(pub Duration);

impl ServiceDuration {
    /// The longest duration a setting accepts: ten years.
    pub const MAX: ServiceDuration = ServiceDuration(Duration::from_secs(10 * 365 * 24 * 3600));
}

impl From<ServiceDuration> for Duration {
    fn from(duration: ServiceDuration) -> Duration {
        duration.0
    }
}

impl fmt::Display for ServiceDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis.is_multiple_of(1000) {
            write!(f, "{}s", millis / 1000)
        } else {
            write!(f, "{millis}ms")
        }
    }
}

impl FromStr for ServiceDuration {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let bad = || {
            ConfigError::new(
                "duration",
                text,
                "expected a number with ms, s, m or h (at most ten years)",
            )
        };
        let trimmed = text.trim();
        let unit_at = trimmed
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(unit_at);
        let per_unit = match unit {
            "ms" => 1e-3,
            "" | "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        let value: f64 = number.parse().map_err(|_| bad())?;
        let secs = value * per_unit;
        if !secs.is_finite() || secs < 0.0 || secs > Self::MAX.0.as_secs_f64() {
            return Err(bad());
        }
        Ok(ServiceDuration(Duration::from_secs_f64(secs)))
    }
}

/// How far ahead deadlines go at most: about thirty years. A session configured to live
/// "forever" simply never expires, instead of overflowing a clock or writing a date past the
/// year 9999.
const FAR_AHEAD: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// The instant `after` from now, at most [`FAR_AHEAD`].
pub(crate) fn deadline_after(after: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + after.min(FAR_AHEAD)
}

/// The wall-clock time `after` from now, at most [`FAR_AHEAD`]: what an answer writes as the
/// matching expiry.
pub(crate) fn wall_after(after: Duration) -> UnixTime {
    wall_now().saturating_add(after.min(FAR_AHEAD))
}

/// The wall clock now, as the services write it.
pub(crate) fn wall_now() -> UnixTime {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    UnixTime::from_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_round_up_and_never_vanish() {
        let scale = TimeScale::new(60.0).unwrap();
        assert_eq!(scale.real_secs(0), 0);
        assert_eq!(scale.real_secs(1), 1);
        assert_eq!(scale.real_secs(120), 2);
        assert_eq!(scale.real_secs(121), 3);
        assert_eq!(TimeScale::REAL_TIME.real_secs(7), 7);
    }

    #[test]
    fn huge_durations_saturate() {
        assert!(TimeScale::new(1e-300).is_none());
        assert_eq!(
            TimeScale::SLOWEST.real(Duration::MAX),
            Duration::MAX,
            "an unrepresentable real duration saturates"
        );
        // And a deadline that far away does not overflow the clock.
        let far = deadline_after(Duration::MAX);
        assert!(far > tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600));
    }

    #[test]
    fn service_durations_parse_with_units() {
        let cases = [
            ("30s", Duration::from_secs(30)),
            ("30", Duration::from_secs(30)),
            ("250ms", Duration::from_millis(250)),
            ("1.5m", Duration::from_secs(90)),
            ("2h", Duration::from_secs(7200)),
            ("0", Duration::ZERO),
        ];
        for (text, want) in cases {
            let parsed: ServiceDuration = text.parse().unwrap();
            assert_eq!(Duration::from(parsed), want, "{text}");
            assert_eq!(
                parsed.to_string().parse::<ServiceDuration>().unwrap(),
                parsed
            );
        }
        for text in ["", "s", "-1s", "1d", "NaNs", "inf", "100000000h", "1e30"] {
            assert!(text.parse::<ServiceDuration>().is_err(), "{text:?} parsed");
        }
    }
}
