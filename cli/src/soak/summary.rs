//! The soak's counts, as text and as JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::plan::Protocol;
use super::run::{Outcome, Report};
use crate::size::HumanBytes;
use crate::upload::eprintln_line;

/// What the seeds so far add up to.
#[derive(Default)]
pub(crate) struct Summary {
    outcomes: BTreeMap<Outcome, u64>,
    by_protocol: BTreeMap<Protocol, BTreeMap<Outcome, u64>>,
    by_expect: BTreeMap<&'static str, BTreeMap<Outcome, u64>>,
    crashes_survived: u64,
    crashes: u64,
    abandoned: u64,
    /// Bytes the service received per byte stored, of each completed run with bytes.
    amplification: Vec<f64>,
    bytes_stored: u64,
    /// The bad runs: seed, outcome, detail, protocol, the command's last words.
    bad: Vec<(u64, Outcome, String, Protocol, String)>,
}

impl Summary {
    pub(crate) fn add(&mut self, report: Report) {
        let outcome = report.outcome;
        *self.outcomes.entry(outcome).or_default() += 1;
        *self
            .by_protocol
            .entry(report.plan.protocol)
            .or_default()
            .entry(outcome)
            .or_default() += 1;
        *self
            .by_expect
            .entry(report.plan.expect.name())
            .or_default()
            .entry(outcome)
            .or_default() += 1;
        self.crashes += u64::from(report.crashes);
        if !outcome.is_bad() {
            self.crashes_survived += u64::from(report.crashes);
        }
        self.abandoned += report.abandoned;
        if outcome == Outcome::Completed && report.plan.size > 0 {
            self.amplification
                .push(report.bytes_received as f64 / report.plan.size as f64);
            self.bytes_stored += report.plan.size;
        }
        if outcome.is_bad() {
            self.bad.push((
                report.plan.seed,
                outcome,
                report.detail,
                report.plan.protocol,
                report.last_words,
            ));
        }
    }

    pub(crate) fn count(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }

    pub(crate) fn runs(&self) -> u64 {
        self.outcomes.values().sum()
    }

    /// Runs that show a bug.
    pub(crate) fn bad(&self) -> u64 {
        self.bad.len() as u64
    }

    /// Median and maximum of the bytes sent per byte stored.
    fn amplification(&self) -> Option<(f64, f64)> {
        let mut sorted = self.amplification.clone();
        sorted.sort_by(f64::total_cmp);
        let median = *sorted.get(sorted.len() / 2)?;
        Some((median, *sorted.last()?))
    }

    pub(crate) fn print(
        &self,
        first: u64,
        last: u64,
        max_size: u64,
        elapsed: Duration,
        replay: &dyn Fn(u64) -> String,
    ) {
        let line = |text: String| eprintln_line(&text);
        line(format!(
            "soak: seeds {first} to {last}, sources of 0 B to {}, {:.0} s",
            HumanBytes(max_size),
            elapsed.as_secs_f64()
        ));
        line(format!("runs: {}", self.runs()));
        line(format!("completed: {}", self.count(Outcome::Completed)));
        line(format!(
            "unconfirmed: {} (last answer lost with the session, nothing to read back)",
            self.count(Outcome::Unconfirmed)
        ));
        line(format!(
            "failed cleanly: {} (no proven success was possible: lies, outages)",
            self.count(Outcome::FailedCleanly)
        ));
        line(format!(
            "failed needlessly: {} (must be 0)",
            self.count(Outcome::FailedNeedlessly)
        ));
        line(format!(
            "corrupted: {} (must be 0)",
            self.count(Outcome::Corrupted)
        ));
        line(format!("hung: {} (must be 0)", self.count(Outcome::Hung)));
        line(format!(
            "crashes survived: {} (of {} SIGKILLs)",
            self.crashes_survived, self.crashes
        ));
        line(format!(
            "sessions abandoned without DELETE: {}",
            self.abandoned
        ));
        match self.amplification() {
            Some((median, max)) => line(format!(
                "bytes sent per byte stored: median {median:.3}, max {max:.3} ({} stored)",
                HumanBytes(self.bytes_stored)
            )),
            None => line("bytes sent per byte stored: no completed run with bytes".into()),
        }
        line(String::new());
        line(format!(
            "{:<22} {:>5} {:>9} {:>14} {:>4}",
            "protocol", "runs", "completed", "failed cleanly", "bad"
        ));
        for (protocol, outcomes) in &self.by_protocol {
            line(row(protocol.name(), outcomes));
        }
        line(String::new());
        line(format!(
            "{:<22} {:>5} {:>9} {:>14} {:>4}",
            "schedule", "runs", "completed", "failed cleanly", "bad"
        ));
        for (expect, outcomes) in &self.by_expect {
            line(row(expect, outcomes));
        }
        if !self.bad.is_empty() {
            line(String::new());
            line("bad runs:".into());
            for (seed, outcome, detail, protocol, last_words) in &self.bad {
                line(format!(
                    "  seed {seed} ({protocol}): {}: {detail}; it said: {last_words}",
                    outcome.name()
                ));
                line(format!("    replay: {}", replay(*seed)));
            }
        }
    }

    pub(crate) fn json(
        &self,
        first: u64,
        last: u64,
        max_size: u64,
        elapsed: Duration,
        replay: &dyn Fn(u64) -> String,
    ) -> serde_json::Value {
        let (median, max) = self.amplification().unzip();
        json!({
            "event": "summary",
            "first_seed": first,
            "last_seed": last,
            "max_size": max_size,
            "elapsed_ms": elapsed.as_millis() as u64,
            "runs": self.runs(),
            "completed": self.count(Outcome::Completed),
            "unconfirmed": self.count(Outcome::Unconfirmed),
            "failed_cleanly": self.count(Outcome::FailedCleanly),
            "failed_needlessly": self.count(Outcome::FailedNeedlessly),
            "corrupted": self.count(Outcome::Corrupted),
            "hung": self.count(Outcome::Hung),
            "crashes": self.crashes,
            "crashes_survived": self.crashes_survived,
            "sessions_abandoned": self.abandoned,
            "bytes_sent_per_byte_stored": { "median": median, "max": max },
            "bad": self.bad.iter().map(|(seed, outcome, detail, protocol, last_words)| json!({
                "seed": seed,
                "outcome": outcome.name(),
                "detail": detail,
                "protocol": protocol.name(),
                "said": last_words,
                "replay": replay(*seed),
            })).collect::<Vec<_>>(),
        })
    }
}

fn row(name: &str, outcomes: &BTreeMap<Outcome, u64>) -> String {
    let get = |o| outcomes.get(&o).copied().unwrap_or(0);
    let bad: u64 = outcomes
        .iter()
        .filter(|(o, _)| o.is_bad())
        .map(|(_, n)| n)
        .sum();
    format!(
        "{name:<22} {:>5} {:>9} {:>14} {:>4}",
        outcomes.values().sum::<u64>(),
        get(Outcome::Completed),
        get(Outcome::FailedCleanly),
        bad
    )
}

/// One seed as a JSON line.
pub(crate) fn seed_json(report: &Report, replay: &str) -> serde_json::Value {
    let plan = &report.plan;
    json!({
        "event": "seed",
        "seed": plan.seed,
        "protocol": plan.protocol.name(),
        "size": plan.size,
        "chunk_size": plan.chunk,
        "simple": plan.simple,
        "schedule": plan.expect.name(),
        "faults": plan.script.to_string(),
        "profile": plan.profile.map(|p| p.to_string()),
        "kills_planned": plan.kills.len(),
        "outcome": report.outcome.name(),
        "detail": report.detail,
        "runs": report.runs,
        "crashes": report.crashes,
        "bytes_received": report.bytes_received,
        "sessions_created": report.sessions_created,
        "sessions_abandoned": report.abandoned,
        "elapsed_ms": report.elapsed.as_millis() as u64,
        "said": report.last_words,
        "kept": report.kept.as_ref().map(|d| d.display().to_string()),
        "replay": replay,
    })
}
