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

/// One scripted fault: the `nth` request of `target` gets `fault`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScriptRule {
    /// Which requests are counted.
    pub target: ScriptTarget,
    /// Which of them (1 is the first).
    pub nth: u64,
    /// What happens to it.
    pub fault: Fault,
}

/// A list of scripted faults. The text form is `TARGET#N=FAULT` rules separated by `,`, `;` or
/// new lines, where `TARGET` is a [`RequestKind`] name or `any` and `FAULT` is a [`Fault`] in its
/// text form.
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
/// assert!("fragment#0=lose-answer".parse::<FaultScript>().is_err());
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
                ScriptTarget::Kind(k) => k == kind && rule.nth == kind_nth,
                ScriptTarget::Any => rule.nth == any_nth,
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
            write!(f, "#{}={}", rule.nth, rule.fault)?;
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
            let bad = || ConfigError::new("fault script rule", item, "expected TARGET#N=FAULT");
            let (target, fault) = item.split_once('=').ok_or_else(bad)?;
            let (target, nth) = target.split_once('#').ok_or_else(bad)?;
            let target = match target.trim() {
                "any" => ScriptTarget::Any,
                kind => ScriptTarget::Kind(kind.parse()?),
            };
            let nth: u64 =
                nth.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ConfigError::new("fault script rule", item, "N counts from 1")
                })?;
            rules.push(ScriptRule {
                target,
                nth,
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
    fn text_and_json_round_trip() {
        let script: FaultScript =
            "any#4=slow:10, fragment#1=partial-store:5, wopi-update#2=throttle:503:seconds:1"
                .parse()
                .unwrap();
        assert_eq!(script.to_string().parse::<FaultScript>().unwrap(), script);
        let json = serde_json::to_string(&script).unwrap();
        assert_eq!(serde_json::from_str::<FaultScript>(&json).unwrap(), script);
        assert!("".parse::<FaultScript>().unwrap().is_empty());
    }
}
