//! When to try again: classification of answers, exponential backoff with full jitter, retry
//! budgets and `Retry-After`.
//!
//! The rules (SPEC section 4): `Retry-After` is never undercut; blind retries back off
//! exponentially with full jitter from a caller-seeded generator, so tests are deterministic; a
//! budget bounds blind retries and refills whenever the upload makes progress; waits the server
//! asks for are bounded by how long the caller accepts to stall without progress.

use core::fmt;

use crate::time::{Duration, Instant, TimeError, UnixTime};

/// What an HTTP status code means for the request that got it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// 2xx: the request did what it asked.
    Success,
    /// 429: the server refused before doing anything; wait (at least `Retry-After`) and resend.
    Throttled,
    /// 408, 500, 502, 503, 504 and other server errors: the request may or may not have taken
    /// effect. Wait, ask the server where it is, then send what it lacks.
    Transient,
    /// 416: the request does not fit the server's position; ask it where it is.
    Resync,
    /// 404, 410: the session is unknown or expired.
    SessionGone,
    /// Everything else (400, 401, 403, 409, 412, 413, 501, 507, ...): not retried blindly.
    Fatal,
}

impl StatusClass {
    /// Classifies a status code as SPEC section 4 does. Protocol-specific exceptions (a WOPI 400
    /// for an offset mismatch, a Graph 409 on the last fragment) are the engines' to make.
    ///
    /// ```
    /// use resumable_core::retry::StatusClass;
    /// assert_eq!(StatusClass::of(202), StatusClass::Success);
    /// assert_eq!(StatusClass::of(503), StatusClass::Transient);
    /// assert_eq!(StatusClass::of(416), StatusClass::Resync);
    /// assert_eq!(StatusClass::of(410), StatusClass::SessionGone);
    /// assert_eq!(StatusClass::of(507), StatusClass::Fatal);
    /// ```
    pub const fn of(status: u16) -> StatusClass {
        match status {
            200..=299 => StatusClass::Success,
            429 => StatusClass::Throttled,
            408 => StatusClass::Transient,
            416 => StatusClass::Resync,
            404 | 410 => StatusClass::SessionGone,
            // Not implemented, HTTP version, insufficient storage, loop detected: retrying the
            // same request cannot help.
            501 | 505 | 507 | 508 => StatusClass::Fatal,
            500..=599 => StatusClass::Transient,
            _ => StatusClass::Fatal,
        }
    }
}

/// A `Retry-After` value: delta-seconds or an HTTP-date.
///
/// ```
/// use resumable_core::retry::RetryAfter;
/// use resumable_core::time::{Duration, UnixTime};
/// assert_eq!("120".parse::<RetryAfter>().unwrap(), RetryAfter::Delay(Duration::from_secs(120)));
/// let at: RetryAfter = "Thu, 01 Jan 1970 00:01:00 GMT".parse().unwrap();
/// assert_eq!(at.delay_from(UnixTime::from_secs(45)), Duration::from_secs(15));
/// assert_eq!(at.delay_from(UnixTime::from_secs(90)), Duration::ZERO);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long from when the answer arrived.
    Delay(Duration),
    /// Wait until this wall-clock time.
    At(UnixTime),
}

impl RetryAfter {
    /// How long to wait when the wall clock (preferably the server's `Date`) reads `now`.
    pub fn delay_from(&self, now: UnixTime) -> Duration {
        match *self {
            RetryAfter::Delay(d) => d,
            RetryAfter::At(at) => at.saturating_duration_since(now),
        }
    }
}

impl core::str::FromStr for RetryAfter {
    type Err = TimeError;

    /// Delta-seconds (digits only; huge values saturate rather than fail) or an HTTP-date.
    fn from_str(text: &str) -> Result<Self, TimeError> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let secs = text.bytes().fold(0u64, |acc, b| {
                acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
            });
            return Ok(RetryAfter::Delay(Duration::from_secs(secs)));
        }
        UnixTime::parse_http_date(text).map(RetryAfter::At)
    }
}

/// The wait an answer's `Retry-After` asks for, measured so it never falls short of what the
/// server meant where that can be known. `retry_after` and `date` are the answer's `Retry-After`
/// and `Date` header values.
///
/// Delta-seconds are taken as they are. An HTTP-date is measured from the answer's own `Date`
/// (the server's clock, immune to local skew); without one, from `wall_now`, the machine's best
/// reading of the wall clock when the answer arrived (an earlier `Date`, or the anchor the
/// transport gave from its own clock). With neither, the date cannot be placed and the wait is
/// `unplaced`: callers pass [`RetryPolicy::max_retry_after`], the longest wait they would accept
/// anyway, so no acceptable ask is undercut. `None` without a valid `Retry-After`.
///
/// ```
/// use resumable_core::retry::requested_wait;
/// use resumable_core::time::{Duration, UnixTime};
/// let hour = Duration::from_secs(3600);
/// let at = Some("Thu, 01 Jan 2026 00:01:00 GMT");
/// assert_eq!(requested_wait(Some("120"), None, None, hour), Some(Duration::from_secs(120)));
/// let date = Some("Thu, 01 Jan 2026 00:00:45 GMT");
/// assert_eq!(requested_wait(at, date, None, hour), Some(Duration::from_secs(15)));
/// let wall = UnixTime::parse_http_date("Thu, 01 Jan 2026 00:00:30 GMT").ok();
/// assert_eq!(requested_wait(at, None, wall, hour), Some(Duration::from_secs(30)));
/// assert_eq!(requested_wait(at, None, None, hour), Some(hour));
/// assert_eq!(requested_wait(None, date, wall, hour), None);
/// ```
pub fn requested_wait(
    retry_after: Option<&str>,
    date: Option<&str>,
    wall_now: Option<UnixTime>,
    unplaced: Duration,
) -> Option<Duration> {
    let value: RetryAfter = retry_after?.parse().ok()?;
    let server_now = date
        .and_then(|text| UnixTime::parse_http_date(text).ok())
        .or(wall_now);
    Some(match (value, server_now) {
        (RetryAfter::Delay(delay), _) => delay,
        (at @ RetryAfter::At(_), Some(now)) => at.delay_from(now),
        (RetryAfter::At(_), None) => unplaced,
    })
}

/// A small, seedable pseudo-random generator for jitter (SplitMix64). Not for secrets.
///
/// ```
/// use resumable_core::retry::JitterRng;
/// let mut a = JitterRng::new(7);
/// let mut b = JitterRng::new(7);
/// assert_eq!(a.next_u64(), b.next_u64()); // deterministic per seed
/// assert!(a.below_or_equal(10) <= 10);
/// ```
#[derive(Clone, Debug)]
pub struct JitterRng {
    state: u64,
}

impl JitterRng {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        JitterRng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..=bound`, uniform up to a bias of at most 2^-64 per value.
    pub fn below_or_equal(&mut self, bound: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * (u128::from(bound) + 1);
        (wide >> 64) as u64
    }
}

/// How persistent to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RetryPolicy {
    /// The first backoff ceiling; each blind retry doubles it.
    pub initial_backoff: Duration,
    /// The largest backoff ceiling.
    pub max_backoff: Duration,
    /// Retries allowed without progress in between: blind ones, and those a `Retry-After`
    /// asked for alike (a service that answers `503 Retry-After: 1` forever must not be
    /// retried forever).
    pub max_attempts: u32,
    /// The longest single wait a `Retry-After` may ask for; a longer one gives up.
    pub max_retry_after: Duration,
    /// The longest time without progress before giving up, whatever the server asks.
    pub max_stall: Duration,
}

impl Default for RetryPolicy {
    /// 1 s doubling to 60 s, 10 blind retries, `Retry-After` up to an hour, and two hours without
    /// progress at most.
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_attempts: 10,
            max_retry_after: Duration::from_secs(3600),
            max_stall: Duration::from_secs(2 * 3600),
        }
    }
}

/// Decides when to retry: backoff with full jitter, a budget that refills on progress,
/// `Retry-After` never undercut.
///
/// ```
/// use resumable_core::retry::{Retrier, RetryPolicy};
/// use resumable_core::time::{Duration, Instant};
///
/// let mut retrier = Retrier::new(RetryPolicy::default(), 42, Instant::ZERO);
/// let blind = retrier.schedule(Instant::ZERO, None).unwrap();
/// assert!(blind <= Duration::from_secs(1));
/// let told = retrier.schedule(Instant::ZERO, Some(Duration::from_secs(30))).unwrap();
/// assert!(told >= Duration::from_secs(30)); // never earlier than the server asked
/// ```
#[derive(Clone, Debug)]
pub struct Retrier {
    policy: RetryPolicy,
    rng: JitterRng,
    attempts: u32,
    last_progress: Instant,
}

impl Retrier {
    /// A retrier following `policy`, with jitter seeded by `seed`, counting stalls from `now`.
    pub fn new(policy: RetryPolicy, seed: u64, now: Instant) -> Self {
        Retrier {
            policy,
            rng: JitterRng::new(seed),
            attempts: 0,
            last_progress: now,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Blind retries spent since the last progress.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Records progress at `now`: the budget refills and backoff starts over.
    pub fn progress(&mut self, now: Instant) {
        self.attempts = 0;
        self.last_progress = now;
    }

    /// How long to wait before the next attempt, after a failure at `now`. `retry_after` is the
    /// server's wait, if it gave one (already converted with [`RetryAfter::delay_from`]).
    ///
    /// A blind retry waits a uniformly random time up to the current backoff ceiling. A
    /// directed retry waits at least what the server asked (plus up to a second of jitter, so
    /// many clients do not return at the same instant). Either spends one unit of budget
    /// ([`RetryPolicy::max_attempts`]), and either gives up if it would stall past
    /// [`RetryPolicy::max_stall`].
    pub fn schedule(
        &mut self,
        now: Instant,
        retry_after: Option<Duration>,
    ) -> Result<Duration, GiveUp> {
        let ceiling = self.ceiling();
        let jitter_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        let jitter = Duration::from_millis(self.rng.below_or_equal(jitter_ms));
        if let Some(asked) = retry_after.filter(|asked| *asked > self.policy.max_retry_after) {
            return Err(GiveUp::RetryAfterTooLong {
                asked,
                max: self.policy.max_retry_after,
            });
        }
        if self.attempts >= self.policy.max_attempts {
            return Err(GiveUp::BudgetExhausted {
                attempts: self.attempts,
            });
        }
        let delay = match retry_after {
            Some(asked) => asked.saturating_add(jitter.min(Duration::from_secs(1))),
            None => jitter,
        };
        self.check_stall(now, delay)?;
        self.attempts += 1;
        Ok(delay)
    }

    /// Whether a wait of `delay` from `now`, chosen outside the backoff (a fixed pause the
    /// protocol asks for), keeps within [`RetryPolicy::max_stall`]. Spends no budget.
    ///
    /// ```
    /// use resumable_core::retry::{GiveUp, Retrier, RetryPolicy};
    /// use resumable_core::time::{Duration, Instant};
    /// let retrier = Retrier::new(RetryPolicy::default(), 1, Instant::ZERO);
    /// assert_eq!(retrier.check_stall(Instant::ZERO, Duration::from_secs(60)), Ok(()));
    /// let late = Instant::from_millis(2 * 3600 * 1000);
    /// assert!(matches!(retrier.check_stall(late, Duration::from_secs(1)), Err(GiveUp::Stalled { .. })));
    /// ```
    pub fn check_stall(&self, now: Instant, delay: Duration) -> Result<(), GiveUp> {
        let stalled = (now + delay).saturating_duration_since(self.last_progress);
        if stalled > self.policy.max_stall {
            return Err(GiveUp::Stalled {
                stalled,
                max: self.policy.max_stall,
            });
        }
        Ok(())
    }

    fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempts.min(31)).unwrap_or(u32::MAX);
        self.policy
            .initial_backoff
            .saturating_mul(factor)
            .min(self.policy.max_backoff)
    }
}

/// Why the [`Retrier`] will not try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUp {
    /// Every blind retry in the budget failed without progress.
    BudgetExhausted {
        /// Blind retries made since the last progress.
        attempts: u32,
    },
    /// The server asked to wait longer than the policy accepts.
    RetryAfterTooLong {
        /// What the server asked for.
        asked: Duration,
        /// [`RetryPolicy::max_retry_after`].
        max: Duration,
    },
    /// The caller's retry policy declined this retry (a transport's `should_retry` hook): the
    /// upload ends as failed, its session and checkpoint kept for a later resume.
    Declined {
        /// Retries since the last progress, the declined one included.
        attempt: u32,
    },
    /// No progress for longer than the policy accepts.
    Stalled {
        /// Time without progress the next attempt would reach.
        stalled: Duration,
        /// [`RetryPolicy::max_stall`].
        max: Duration,
    },
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUp::BudgetExhausted { attempts } => {
                write!(f, "gave up after {attempts} retries without progress")
            }
            GiveUp::Declined { attempt } => {
                write!(f, "the retry hook declined retry {attempt}")
            }
            GiveUp::RetryAfterTooLong { asked, max } => write!(
                f,
                "the server asked to wait {} s, more than the configured maximum of {} s",
                asked.as_secs(),
                max.as_secs()
            ),
            GiveUp::Stalled { stalled, max } => write!(
                f,
                "no progress for {} s, more than the configured maximum of {} s",
                stalled.as_secs(),
                max.as_secs()
            ),
        }
    }
}

impl core::error::Error for GiveUp {}

#[cfg(test)]
mod tests;
