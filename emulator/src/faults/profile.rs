//! Named fault mixes: how often each fault strikes a request it can apply to.

use std::fmt;
use std::str::FromStr;

use resumable_core::retry::JitterRng;

use super::{Fault, RequestKind, RetryAfterForm};
use crate::config::ConfigError;

/// A named fault mix.
///
/// | fault | `flaky` | `hostile` |
/// |---|---|---|
/// | `status` 500/502/503/504 (equally likely) | 2 % | 6 % |
/// | `throttle` 429 (¾) or 503 (¼), seconds or HTTP-date (½ each) | 1.5 % (1–2 s) | 4 % (1–5 s) |
/// | `drop-before-body` | 1 % | 3 % |
/// | `drop-mid-body` (upload bodies of 2+ bytes) | 1 % | 3 % |
/// | `drop-after-body` | 0.5 % | 2 % |
/// | `lose-answer` (state-changing requests) | 1 % | 4 % |
/// | `partial-store` (fragments of 2+ bytes) | 1 % | 3 % |
/// | `partial-store-lost` (fragments of 2+ bytes) | 0.5 % | 2 % |
/// | `slow` | 1 % (100–500 ms) | 3 % (0.5–2 s) |
/// | `transient-404` (Graph upload sessions) | 0.5 % | 2 % |
/// | `expire-session` (requests on a session) | — | 0.5 % |
/// | `fail-operation` (workbook creation) | — | 5 % |
///
/// Each figure is the chance that a request the fault applies to gets it; faults that do not
/// apply to a request are skipped, not redistributed. `Retry-After` figures are service seconds.
///
/// ```
/// use resumable_emulator::FaultProfile;
/// assert_eq!("hostile".parse::<FaultProfile>().unwrap(), FaultProfile::Hostile);
/// assert_eq!(FaultProfile::Flaky.to_string(), "flaky");
/// assert!("chaotic".parse::<FaultProfile>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FaultProfile {
    /// No random faults (scripted ones still happen).
    #[default]
    None,
    /// About one request in ten goes wrong; every fault a client must survive, no early expiry.
    Flaky,
    /// About one in three goes wrong, sessions expire early, workbook creations fail.
    Hostile,
}

/// A fault without its parameters; the profile tables are written in these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultClass {
    Status,
    Throttle,
    DropBeforeBody,
    DropMidBody,
    DropAfterBody,
    LoseAnswer,
    PartialStore,
    PartialStoreLost,
    Slow,
    Transient404,
    ExpireSession,
    FailOperation,
}

/// Chances in parts per million, and the ranges parameters are drawn from.
struct ProfileTable {
    chances: &'static [(FaultClass, u32)],
    retry_after_secs: (u64, u64),
    slow_ms: (u64, u64),
}

const FLAKY: ProfileTable = ProfileTable {
    chances: &[
        (FaultClass::Status, 20_000),
        (FaultClass::Throttle, 15_000),
        (FaultClass::DropBeforeBody, 10_000),
        (FaultClass::DropMidBody, 10_000),
        (FaultClass::DropAfterBody, 5_000),
        (FaultClass::LoseAnswer, 10_000),
        (FaultClass::PartialStore, 10_000),
        (FaultClass::PartialStoreLost, 5_000),
        (FaultClass::Slow, 10_000),
        (FaultClass::Transient404, 5_000),
    ],
    retry_after_secs: (1, 2),
    slow_ms: (100, 500),
};

const HOSTILE: ProfileTable = ProfileTable {
    chances: &[
        (FaultClass::Status, 60_000),
        (FaultClass::Throttle, 40_000),
        (FaultClass::DropBeforeBody, 30_000),
        (FaultClass::DropMidBody, 30_000),
        (FaultClass::DropAfterBody, 20_000),
        (FaultClass::LoseAnswer, 40_000),
        (FaultClass::PartialStore, 30_000),
        (FaultClass::PartialStoreLost, 20_000),
        (FaultClass::Slow, 30_000),
        (FaultClass::Transient404, 20_000),
        (FaultClass::ExpireSession, 5_000),
        (FaultClass::FailOperation, 50_000),
    ],
    retry_after_secs: (1, 5),
    slow_ms: (500, 2_000),
};

impl FaultProfile {
    fn table(self) -> Option<&'static ProfileTable> {
        match self {
            FaultProfile::None => None,
            FaultProfile::Flaky => Some(&FLAKY),
            FaultProfile::Hostile => Some(&HOSTILE),
        }
    }

    /// The fault this profile injects into a request, drawn from `rng`: `kind` and `in_session`
    /// say what the request is, `body_len` its declared body length.
    pub(crate) fn pick(
        self,
        rng: &mut JitterRng,
        kind: RequestKind,
        in_session: bool,
        body_len: u64,
    ) -> Option<Fault> {
        let table = self.table()?;
        let roll = rng.below_or_equal(999_999) as u32;
        let mut threshold = 0u32;
        for &(class, chance) in table.chances {
            let Some(fault) = build(class, table, rng, body_len) else {
                continue;
            };
            if !fault.applies_to(kind, in_session) {
                continue;
            }
            threshold += chance;
            if roll < threshold {
                return Some(fault);
            }
        }
        None
    }
}

/// A fault of `class` with parameters drawn from `rng`, or `None` when the request cannot take it
/// (a cut needs a body of at least two bytes). Always draws the same number of values, so the
/// rolls that follow do not depend on which classes applied.
fn build(
    class: FaultClass,
    table: &ProfileTable,
    rng: &mut JitterRng,
    body_len: u64,
) -> Option<Fault> {
    let a = rng.next_u64();
    let b = rng.next_u64();
    let between = |value: u64, (lo, hi): (u64, u64)| lo + value % (hi - lo + 1);
    let cut = || (body_len >= 2).then(|| 1 + a % (body_len - 1));
    Some(match class {
        FaultClass::Status => Fault::Status([500, 502, 503, 504][(a % 4) as usize]),
        FaultClass::Throttle => {
            let secs = between(b >> 1, table.retry_after_secs);
            Fault::Throttle {
                status: if a.is_multiple_of(4) { 503 } else { 429 },
                retry_after: if b & 1 == 0 {
                    RetryAfterForm::Seconds(secs)
                } else {
                    RetryAfterForm::HttpDate(secs)
                },
            }
        }
        FaultClass::DropBeforeBody => Fault::DropBeforeBody,
        FaultClass::DropMidBody => Fault::DropMidBody {
            after_bytes: cut()?,
        },
        FaultClass::DropAfterBody => Fault::DropAfterBody,
        FaultClass::LoseAnswer => Fault::LoseAnswer,
        FaultClass::PartialStore => Fault::PartialStore { keep: cut()? },
        FaultClass::PartialStoreLost => Fault::PartialStoreLost { keep: cut()? },
        FaultClass::Slow => Fault::Slow {
            delay_ms: between(a, table.slow_ms),
        },
        FaultClass::Transient404 => Fault::Transient404,
        FaultClass::ExpireSession => Fault::ExpireSession,
        FaultClass::FailOperation => Fault::FailOperation,
    })
}

impl fmt::Display for FaultProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultProfile::None => "none",
            FaultProfile::Flaky => "flaky",
            FaultProfile::Hostile => "hostile",
        })
    }
}

impl FromStr for FaultProfile {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        match text.trim() {
            "none" => Ok(FaultProfile::None),
            "flaky" => Ok(FaultProfile::Flaky),
            "hostile" => Ok(FaultProfile::Hostile),
            _ => Err(ConfigError::new(
                "fault profile",
                text,
                "expected none, flaky or hostile",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(profile: FaultProfile, kind: RequestKind, in_session: bool) -> f64 {
        let mut hits = 0;
        let n = 200_000;
        for i in 0..n {
            let mut rng = JitterRng::new(i);
            if profile
                .pick(&mut rng, kind, in_session, 1_000_000)
                .is_some()
            {
                hits += 1;
            }
        }
        f64::from(hits) / n as f64
    }

    #[test]
    fn none_never_faults() {
        assert_eq!(rate(FaultProfile::None, RequestKind::Fragment, true), 0.0);
    }

    #[test]
    fn rates_match_the_tables() {
        // Fragment on a live session: every flaky class applies: 8.5 % + 1 % + 0.5 % = 10 %.
        let flaky = rate(FaultProfile::Flaky, RequestKind::Fragment, true);
        assert!((flaky - 0.10).abs() < 0.005, "{flaky}");
        // Status GET: no body cut, no lost answer, no partial store: 2+1.5+1+0.5+1+0.5 = 6.5 %.
        let status = rate(FaultProfile::Flaky, RequestKind::Status, true);
        assert!((status - 0.065).abs() < 0.004, "{status}");
        let hostile = rate(FaultProfile::Hostile, RequestKind::Fragment, true);
        assert!((hostile - 0.325).abs() < 0.01, "{hostile}");
    }

    #[test]
    fn picked_faults_always_apply() {
        for i in 0..20_000 {
            for kind in RequestKind::ALL {
                for body_len in [0, 1, 2, 10_000] {
                    let mut rng = JitterRng::new(i);
                    if let Some(fault) = FaultProfile::Hostile.pick(&mut rng, kind, true, body_len)
                    {
                        assert!(fault.applies_to(kind, true), "{fault} on {kind}");
                        match fault {
                            Fault::DropMidBody { after_bytes: n }
                            | Fault::PartialStore { keep: n }
                            | Fault::PartialStoreLost { keep: n } => {
                                assert!(n >= 1 && n < body_len, "{fault} on {body_len}")
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}
