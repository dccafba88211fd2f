//! Fault scripts: faults at exact requests ("the third fragment loses its answer").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Fault, RequestKind};
use crate::config::ConfigError;

/// Which requests a scripted fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptTarget {
    /// The `nth` request of this kind, counted from 1 over the emulator's lifetime.
    Kind(RequestKind),
    /// The `nth` request of any kind (inspection requests are not counted).
    Any,
}

/// One scripted fault: the `nth` request of `target` gets `fault`, and with `every`, each
/// `every`-th request after it too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScriptRule {
    /// Which requests are counted.
    pub target: ScriptTarget,
    /// Which of them (1 is the first).
    pub nth: u64,
    /// `Some(k)`: the `nth + k`-th, `nth + 2k`-th, ... requests get the fault as well (`k` is at
    /// least 1; `Some(1)` is every request from the `nth` on). `None`: the `nth` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// What happens to it.
    pub fault: Fault,
}

impl ScriptRule {
    /// Whether the rule strikes the `n`-th request it counts.
    pub fn strikes(&self, n: u64) -> bool {
        match self.every {
            _ if n == self.nth => true,
            Some(period) if period > 0 && n > self.nth => (n - self.nth).is_multiple_of(period),
            _ => false,
        }
    }
}

/// A list of scripted faults. The text form is `TARGET#WHICH=FAULT` rules separated by `,`, `;`
/// or new lines, where `TARGET` is a [`RequestKind`] name or `any`, `FAULT` is a [`Fault`] in its
/// text form, and `WHICH` says which of the requests `TARGET` counts get it:
///
/// | `WHICH` | requests |
/// |---|---|
/// | `N` | the `N`-th (from 1) |
/// | `*` | every one (the endless `503`: `fragment#*=throttle:503:seconds:1`) |
/// | `N/K` | the `N`-th and every `K`-th after it (`fragment#3/3=regress`: the 3rd, 6th, 9th, ...) |
///
/// When several rules strike one request, the first listed wins.
///
/// A scripted fault that cannot apply to the request it lands on (a partial store on a status
/// query) is not injected and not counted. Where a rule exists, the profile draws nothing.
/// Requests refused by the access checks (missing or wrong credentials, an unknown or expired
/// session) never reach the fault plan: they are not counted here, so a rule strikes the `nth`
/// request that passed them.
///
/// ```
/// use resumable_emulator::{Fault, FaultScript, RequestKind};
/// let script: FaultScript = "fragment#2=lose-answer; workbook-create#1=status:504".parse().unwrap();
/// assert_eq!(script.rules().len(), 2);
/// assert_eq!(script.rules()[0].fault, Fault::LoseAnswer);
/// assert_eq!(script.to_string(), "fragment#2=lose-answer, workbook-create#1=status:504");
/// let endless: FaultScript = "status#*=status:503, fragment#3/3=regress".parse().unwrap();
/// assert!(endless.rules()[0].strikes(1) && endless.rules()[0].strikes(1000));
/// assert!(endless.rules()[1].strikes(6) && !endless.rules()[1].strikes(7));
/// assert_eq!(endless.to_string(), "status#*=status:503, fragment#3/3=regress");
/// assert!("fragment#0=lose-answer".parse::<FaultScript>().is_err());
/// assert!("fragment#2/0=lose-answer".parse::<FaultScript>().is_err());
/// assert!("fragment=lose-answer".parse::<FaultScript>().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultScript {
    rules: Vec<ScriptRule>,
}

impl FaultScript {
    /// A script of these rules.
    pub fn new(rules: Vec<ScriptRule>) -> Self {
        FaultScript { rules }
    }

    /// Adds a rule: the `nth` request of `kind` gets `fault`.
    pub fn on(mut self, kind: RequestKind, nth: u64, fault: Fault) -> Self {
        self.rules.push(ScriptRule {
            target: ScriptTarget::Kind(kind),
            nth,
            every: None,
            fault,
        });
        self
    }

    /// Adds a rule: the `first` request of `kind` and every `period`-th after it get `fault`
    /// (`period` 1: every request of `kind` from the `first` on).
    ///
    /// ```
    /// use resumable_emulator::{Fault, FaultScript, RequestKind};
    /// let script = FaultScript::default().on_every(RequestKind::Status, 1, 1, Fault::Status(503));
    /// assert_eq!(script.to_string(), "status#*=status:503");
    /// ```
    pub fn on_every(mut self, kind: RequestKind, first: u64, period: u64, fault: Fault) -> Self {
        self.rules.push(ScriptRule {
            target: ScriptTarget::Kind(kind),
            nth: first,
            every: Some(period.max(1)),
            fault,
        });
        self
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> &[ScriptRule] {
        &self.rules
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The fault for a request that is the `kind_nth` of its kind and the `any_nth` overall.
    pub(crate) fn lookup(&self, kind: RequestKind, kind_nth: u64, any_nth: u64) -> Option<Fault> {
        self.rules
            .iter()
            .find(|rule| match rule.target {
                ScriptTarget::Kind(k) => k == kind && rule.strikes(kind_nth),
                ScriptTarget::Any => rule.strikes(any_nth),
            })
            .map(|rule| rule.fault)
    }
}

impl fmt::Display for FaultScript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match rule.target {
                ScriptTarget::Kind(kind) => write!(f, "{kind}")?,
                ScriptTarget::Any => f.write_str("any")?,
            }
            match rule.every {
                None => write!(f, "#{}", rule.nth)?,
                Some(1) if rule.nth == 1 => f.write_str("#*")?,
                Some(period) => write!(f, "#{}/{period}", rule.nth)?,
            }
            write!(f, "={}", rule.fault)?;
        }
        Ok(())
    }
}

impl FromStr for FaultScript {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let mut rules = Vec::new();
        for item in text.split([',', ';', '\n']).map(str::trim) {
            if item.is_empty() {
                continue;
            }
            let bad = || {
                ConfigError::new(
                    "fault script rule",
                    item,
                    "expected TARGET#N=FAULT, TARGET#*=FAULT or TARGET#N/K=FAULT",
                )
            };
            let (target, fault) = item.split_once('=').ok_or_else(bad)?;
            let (target, nth) = target.split_once('#').ok_or_else(bad)?;
            let target = match target.trim() {
                "any" => ScriptTarget::Any,
                kind => ScriptTarget::Kind(kind.parse()?),
            };
            let count = |text: &str| -> Result<u64, ConfigError> {
                text.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ConfigError::new("fault script rule", item, "N and K count from 1")
                })
            };
            let (nth, every) = match nth.trim() {
                "*" => (1, Some(1)),
                which => match which.split_once('/') {
                    Some((first, period)) => (count(first)?, Some(count(period)?)),
                    None => (count(which)?, None),
                },
            };
            rules.push(ScriptRule {
                target,
                nth,
                every,
                fault: fault.parse()?,
            });
        }
        Ok(FaultScript { rules })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_counts_per_kind_and_overall() {
        let script: FaultScript = "fragment#3=status:500\nany#1=drop-before-body"
            .parse()
            .unwrap();
        assert_eq!(
            script.lookup(RequestKind::CreateDrive, 1, 1),
            Some(Fault::DropBeforeBody)
        );
        assert_eq!(script.lookup(RequestKind::Fragment, 2, 3), None);
        assert_eq!(
            script.lookup(RequestKind::Fragment, 3, 4),
            Some(Fault::Status(500))
        );
        assert_eq!(script.lookup(RequestKind::Status, 3, 5), None);
    }

    #[test]
    fn repeating_rules_strike_from_their_first_request_on() {
        let script: FaultScript = "status#*=status:503; fragment#2/3=lose-answer; any#4/1=slow:1"
            .parse()
            .unwrap();
        let status = |n| script.lookup(RequestKind::Status, n, 1);
        assert!((1..50).all(|n| status(n) == Some(Fault::Status(503))));
        let struck: Vec<u64> = (1..=12)
            .filter(|&n| script.lookup(RequestKind::Fragment, n, 1).is_some())
            .collect();
        assert_eq!(struck, [2, 5, 8, 11]);
        assert_eq!(script.lookup(RequestKind::Cancel, 1, 3), None);
        assert_eq!(
            script.lookup(RequestKind::Cancel, 1, 4),
            Some(Fault::Slow { delay_ms: 1 })
        );
        assert_eq!(
            script.lookup(RequestKind::Cancel, 9, 900),
            Some(Fault::Slow { delay_ms: 1 })
        );
        for bad in [
            "fragment#*/2=status:500",
            "fragment#/2=status:500",
            "fragment#1/=status:500",
        ] {
            assert!(bad.parse::<FaultScript>().is_err(), "{bad}");
        }
    }

    #[test]
    fn text_and_json_round_trip() {
        let script: FaultScript =
            "any#4=slow:10, fragment#1=partial-store:5, wopi-update#2=throttle:503:seconds:1, \
             status#*=status:500, fragment#3/3=status:502, cancel#2/1=status:504"
                .parse()
                .unwrap();
        assert_eq!(script.to_string().parse::<FaultScript>().unwrap(), script);
        let json = serde_json::to_string(&script).unwrap();
        assert_eq!(serde_json::from_str::<FaultScript>(&json).unwrap(), script);
        assert!("".parse::<FaultScript>().unwrap().is_empty());
        // Scripts written before repeating rules existed still read.
        let old = r#"[{"target":{"kind":"fragment"},"nth":2,"fault":"lose-answer"}]"#;
        assert_eq!(
            serde_json::from_str::<FaultScript>(old).unwrap(),
            FaultScript::default().on(RequestKind::Fragment, 2, Fault::LoseAnswer)
        );
    }
}
