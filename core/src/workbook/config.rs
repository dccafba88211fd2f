//! How a workbook session is created and kept alive.

use core::fmt;

use crate::retry::RetryPolicy;
use crate::time::Duration;

/// The longest poll interval the client chooses for a long-running creation. Microsoft asks
/// clients never to let more than 4 minutes pass between polls, so a longer configured interval
/// is cut to this. A server that asks for a longer wait with `Retry-After` gets it: the client
/// never polls earlier than asked.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(4 * 60);

/// Which inactivity limit the keep-alive is scheduled from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LimitBasis {
    /// The shorter of the two limits, whatever the session's kind. The documentation has given
    /// the 5 and 7 minutes both ways round over the years, so this is the safe default.
    #[default]
    Shorter,
    /// The limit of the session's own kind (persistent or not), as the server reports it.
    OwnKind,
}

/// How long a session may stay idle before the service drops it.
///
/// ```
/// use resumable_core::time::Duration;
/// use resumable_core::workbook::{InactivityLimits, LimitBasis};
/// let limits = InactivityLimits::default();
/// assert_eq!(limits.limit_for(false), Duration::from_secs(5 * 60)); // the shorter, for both
/// let own = InactivityLimits { basis: LimitBasis::OwnKind, ..limits };
/// assert_eq!(own.limit_for(false), Duration::from_secs(7 * 60));
/// assert_eq!(InactivityLimits::uniform(Duration::from_secs(2)).limit_for(true), Duration::from_secs(2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct InactivityLimits {
    /// Idle time after which a persistent session expires (documented: about 5 minutes).
    pub persistent: Duration,
    /// Idle time after which a non-persistent session expires (documented: about 7 minutes).
    pub non_persistent: Duration,
    /// Which of the two the keep-alive follows.
    pub basis: LimitBasis,
}

impl Default for InactivityLimits {
    /// 5 minutes persistent, 7 minutes non-persistent, scheduled from the shorter for both.
    fn default() -> Self {
        InactivityLimits {
            persistent: Duration::from_secs(5 * 60),
            non_persistent: Duration::from_secs(7 * 60),
            basis: LimitBasis::Shorter,
        }
    }
}

impl InactivityLimits {
    /// The same limit for both kinds of session (a server with a known, or scaled, clock).
    pub const fn uniform(limit: Duration) -> Self {
        InactivityLimits {
            persistent: limit,
            non_persistent: limit,
            basis: LimitBasis::Shorter,
        }
    }

    /// The limit the keep-alive assumes for a session that persists changes or not.
    pub fn limit_for(&self, persist_changes: bool) -> Duration {
        match self.basis {
            LimitBasis::Shorter => self.persistent.min(self.non_persistent),
            LimitBasis::OwnKind if persist_changes => self.persistent,
            LimitBasis::OwnKind => self.non_persistent,
        }
    }
}

/// Everything a [`WorkbookSession`](super::WorkbookSession) needs to know besides the URL.
///
/// ```
/// use resumable_core::time::Duration;
/// use resumable_core::workbook::WorkbookConfig;
/// let config = WorkbookConfig { respond_async: true, ..WorkbookConfig::new(false) };
/// assert!(config.validate().is_ok());
/// // Default limits and margin: refresh 4 minutes after the last activity.
/// assert_eq!(config.refresh_interval(false), Duration::from_secs(4 * 60));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WorkbookConfig {
    /// `persistChanges` in the `createSession` body: `true` saves changes to the workbook,
    /// `false` works on a temporary copy that is thrown away with the session.
    pub persist_changes: bool,
    /// Sends `Prefer: respond-async`, so the service may answer `202` and create the session as a
    /// long-running operation instead of holding the request open (and answering `504`).
    pub respond_async: bool,
    /// The inactivity limits the keep-alive is scheduled from.
    pub inactivity: InactivityLimits,
    /// How long before the assumed expiry the refresh is sent, leaving room for its latency and
    /// for retries. At most half the limit is used, so a short (scaled) limit still refreshes at
    /// half-life.
    pub safety_margin: Duration,
    /// The wait between polls of a long-running creation (Microsoft suggests about 30 seconds).
    /// The machine uses at most [`MAX_POLL_INTERVAL`], and at most the refresh interval (a
    /// session born right after a poll must be found before its inactivity limit). A longer
    /// `Retry-After` on a poll answer wins over all of these.
    pub poll_interval: Duration,
    /// How long a long-running creation may take, from the `202` to the session, before the
    /// machine gives up.
    pub max_creation_wait: Duration,
    /// New sessions the machine may create in a row, after expiries, before the replacement has
    /// proven healthy (a successful refresh or a reported call). Stops a loop of sessions that
    /// die at once.
    pub max_recreations: u32,
    /// Retries of throttled (429), failed (5xx, including `504` on `createSession`) and
    /// unanswered requests.
    pub retry: RetryPolicy,
    /// Seed for the retry jitter; fixed seeds make tests deterministic.
    pub seed: u64,
}

impl Default for WorkbookConfig {
    /// A persistent session created synchronously; see [`WorkbookConfig::new`].
    fn default() -> Self {
        WorkbookConfig::new(true)
    }
}

impl WorkbookConfig {
    /// Defaults for a session that persists changes or not: no `respond-async`, 5/7-minute
    /// limits scheduled from the shorter, a 60-second margin, 30-second polls, 30 minutes at
    /// most for a long-running creation, 3 recreations in a row, the default [`RetryPolicy`].
    pub fn new(persist_changes: bool) -> Self {
        WorkbookConfig {
            persist_changes,
            respond_async: false,
            inactivity: InactivityLimits::default(),
            safety_margin: Duration::from_secs(60),
            poll_interval: Duration::from_secs(30),
            max_creation_wait: Duration::from_secs(30 * 60),
            max_recreations: 3,
            retry: RetryPolicy::default(),
            seed: 0,
        }
    }

    /// Refuses settings that cannot work: a zero inactivity limit (every session would be
    /// expired) or a zero poll interval (polls would never let time pass).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.inactivity.persistent.is_zero() || self.inactivity.non_persistent.is_zero() {
            return Err(ConfigError::ZeroInactivityLimit);
        }
        if self.poll_interval.is_zero() {
            return Err(ConfigError::ZeroPollInterval);
        }
        Ok(())
    }

    /// The idle time after which a session of this kind is refreshed: the assumed limit minus
    /// the safety margin (at most half the limit).
    pub fn refresh_interval(&self, persist_changes: bool) -> Duration {
        let limit = self.inactivity.limit_for(persist_changes);
        limit.saturating_sub(self.safety_margin.min(limit / 2))
    }

    /// The poll interval actually used: the configured one, at most [`MAX_POLL_INTERVAL`].
    pub fn effective_poll_interval(&self) -> Duration {
        self.poll_interval.min(MAX_POLL_INTERVAL)
    }
}

/// Why a [`WorkbookConfig`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An inactivity limit is zero.
    ZeroInactivityLimit,
    /// The poll interval is zero.
    ZeroPollInterval,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::ZeroInactivityLimit => "the inactivity limits must be longer than zero",
            ConfigError::ZeroPollInterval => "the poll interval must be longer than zero",
        })
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_interval_keeps_the_margin_but_at_least_half_the_limit() {
        let config = WorkbookConfig::new(true);
        assert_eq!(config.refresh_interval(true), Duration::from_secs(240));
        let scaled = WorkbookConfig {
            inactivity: InactivityLimits::uniform(Duration::from_secs(4)),
            ..config.clone()
        };
        assert_eq!(scaled.refresh_interval(true), Duration::from_secs(2));
        let own = WorkbookConfig {
            inactivity: InactivityLimits {
                basis: LimitBasis::OwnKind,
                ..InactivityLimits::default()
            },
            ..config.clone()
        };
        assert_eq!(own.refresh_interval(false), Duration::from_secs(360));
        assert_eq!(own.refresh_interval(true), Duration::from_secs(240));
        let no_margin = WorkbookConfig {
            safety_margin: Duration::ZERO,
            ..config
        };
        assert_eq!(no_margin.refresh_interval(true), Duration::from_secs(300));
    }

    #[test]
    fn limits_swapped_as_in_older_documentation_still_schedule_from_the_shorter() {
        let swapped = InactivityLimits {
            persistent: Duration::from_secs(7 * 60),
            non_persistent: Duration::from_secs(5 * 60),
            basis: LimitBasis::Shorter,
        };
        assert_eq!(swapped.limit_for(true), Duration::from_secs(300));
        assert_eq!(swapped.limit_for(false), Duration::from_secs(300));
    }

    #[test]
    fn validation_and_poll_ceiling() {
        let config = WorkbookConfig::default();
        assert!(config.persist_changes);
        assert_eq!(config.validate(), Ok(()));
        let zero_limit = WorkbookConfig {
            inactivity: InactivityLimits::uniform(Duration::ZERO),
            ..config.clone()
        };
        assert_eq!(zero_limit.validate(), Err(ConfigError::ZeroInactivityLimit));
        let zero_poll = WorkbookConfig {
            poll_interval: Duration::ZERO,
            ..config.clone()
        };
        assert_eq!(zero_poll.validate(), Err(ConfigError::ZeroPollInterval));
        let slow = WorkbookConfig {
            poll_interval: Duration::from_secs(600),
            ..config
        };
        assert_eq!(slow.effective_poll_interval(), MAX_POLL_INTERVAL);
    }
}
