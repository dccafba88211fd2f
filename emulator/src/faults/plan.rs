//! The fault plan: which fault, if any, each request gets.
//!
//! Decisions are a pure function of the seed, the script and the request's position: scripted
//! rules count requests per kind and overall; the profile draws from a generator seeded with
//! the plan's seed and the request's index *within its session* (or within its kind, for requests
//! outside a session, such as creations). Two uploads that run concurrently therefore see the same
//! faults whichever way their requests interleave, as long as their sessions are created in the
//! same order.

use std::collections::HashMap;
use std::sync::Mutex;

use resumable_core::retry::JitterRng;

use super::{Fault, FaultProfile, FaultScript, RequestKind};
use crate::config::FaultConfig;

/// Where a request's index is counted for the profile's draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Scope {
    Session(u64),
    Kind(RequestKind),
}

#[derive(Default)]
struct Counters {
    any: u64,
    per_kind: HashMap<RequestKind, u64>,
    per_scope: HashMap<Scope, u64>,
}

/// Decides the faults of an emulator's requests.
pub(crate) struct FaultPlan {
    profile: FaultProfile,
    seed: u64,
    script: FaultScript,
    counters: Mutex<Counters>,
}

impl FaultPlan {
    pub(crate) fn new(config: &FaultConfig) -> Self {
        FaultPlan {
            profile: config.profile,
            seed: config.seed,
            script: config.script.clone(),
            counters: Mutex::new(Counters::default()),
        }
    }

    /// The fault for the next request of `kind`; `session` is the ordinal of the live session it
    /// addresses, `body_len` its declared body length. Requests of kind `Other` are not counted.
    pub(crate) fn decide(
        &self,
        kind: RequestKind,
        session: Option<u64>,
        body_len: u64,
    ) -> Option<Fault> {
        if kind == RequestKind::Other {
            return None;
        }
        let scope = match session {
            Some(ordinal) => Scope::Session(ordinal),
            None => Scope::Kind(kind),
        };
        let (any_nth, kind_nth, scope_nth) = {
            let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
            counters.any += 1;
            let any_nth = counters.any;
            let kind_nth = bump(counters.per_kind.entry(kind).or_default());
            let scope_nth = bump(counters.per_scope.entry(scope).or_default());
            (any_nth, kind_nth, scope_nth)
        };
        if let Some(fault) = self.script.lookup(kind, kind_nth, any_nth) {
            return fault.applies_to(kind, session.is_some()).then_some(fault);
        }
        let mut rng = JitterRng::new(self.seed ^ scope_key(scope) ^ mix(scope_nth));
        self.profile
            .pick(&mut rng, kind, session.is_some(), body_len)
    }
}

fn bump(counter: &mut u64) -> u64 {
    *counter += 1;
    *counter
}

/// Spreads a small number over all 64 bits so neighbouring indices seed unrelated draws.
fn mix(value: u64) -> u64 {
    JitterRng::new(value).next_u64()
}

fn scope_key(scope: Scope) -> u64 {
    match scope {
        Scope::Session(ordinal) => mix(ordinal.wrapping_mul(2)),
        Scope::Kind(kind) => mix((kind as u64).wrapping_mul(2) | 1 | (1 << 40)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FaultConfig;

    fn plan(profile: FaultProfile, seed: u64, script: &str) -> FaultPlan {
        FaultPlan::new(&FaultConfig {
            profile,
            seed,
            script: script.parse().unwrap(),
        })
    }

    fn run(plan: &FaultPlan, requests: &[(RequestKind, Option<u64>)]) -> Vec<Option<Fault>> {
        requests
            .iter()
            .map(|&(kind, session)| plan.decide(kind, session, 5_000_000))
            .collect()
    }

    #[test]
    fn same_seed_same_faults() {
        let requests: Vec<_> = (0..500)
            .map(|i| match i % 3 {
                0 => (RequestKind::Fragment, Some(1)),
                1 => (RequestKind::Status, Some(1)),
                _ => (RequestKind::CreateDrive, None),
            })
            .collect();
        let a = run(&plan(FaultProfile::Hostile, 7, ""), &requests);
        let b = run(&plan(FaultProfile::Hostile, 7, ""), &requests);
        let c = run(&plan(FaultProfile::Hostile, 8, ""), &requests);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().filter(|f| f.is_some()).count() > 50);
    }

    #[test]
    fn interleaving_sessions_does_not_change_their_faults() {
        let one = plan(FaultProfile::Hostile, 3, "");
        let two = plan(FaultProfile::Hostile, 3, "");
        let mut first = Vec::new();
        for _ in 0..100 {
            first.push((1, one.decide(RequestKind::Fragment, Some(1), 1000)));
            first.push((2, one.decide(RequestKind::Fragment, Some(2), 1000)));
        }
        let mut second = Vec::new();
        for _ in 0..100 {
            second.push((2, two.decide(RequestKind::Fragment, Some(2), 1000)));
        }
        for _ in 0..100 {
            second.push((1, two.decide(RequestKind::Fragment, Some(1), 1000)));
        }
        for session in [1, 2] {
            let a: Vec<_> = first.iter().filter(|(s, _)| *s == session).collect();
            let b: Vec<_> = second.iter().filter(|(s, _)| *s == session).collect();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn script_rules_land_on_their_request_and_replace_the_profile() {
        let plan = plan(
            FaultProfile::None,
            0,
            "fragment#2=lose-answer, any#1=status:503, status#1=partial-store:3",
        );
        assert_eq!(
            plan.decide(RequestKind::CreateDrive, None, 0),
            Some(Fault::Status(503))
        );
        assert_eq!(plan.decide(RequestKind::Fragment, Some(1), 10), None);
        assert_eq!(
            plan.decide(RequestKind::Fragment, Some(1), 10),
            Some(Fault::LoseAnswer)
        );
        // A partial store cannot strike a status query: nothing is injected.
        assert_eq!(plan.decide(RequestKind::Status, Some(1), 0), None);
        assert_eq!(plan.decide(RequestKind::Other, None, 0), None);
    }
}
