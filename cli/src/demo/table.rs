//! The demo's summary: one row per variant, then the faults met.

use std::collections::BTreeMap;
use std::io::{self, Write};

use resumable_reqwest::UploadStats;

use crate::size::{HumanBytes, Rate};
use crate::upload::ProtocolArg;

/// What one variant's upload did, from both sides.
pub(crate) struct VariantReport {
    /// The variant.
    pub(crate) protocol: ProtocolArg,
    /// Bytes uploaded.
    pub(crate) size: u64,
    /// The client's counters.
    pub(crate) stats: UploadStats,
    /// Why it failed, if it did.
    pub(crate) error: Option<String>,
    /// The SHA-256 of the bytes uploaded.
    pub(crate) expected_sha256: String,
    /// The SHA-256 the emulator computed of what it stored.
    pub(crate) stored_sha256: Option<String>,
    /// Faults the emulator injected, by name.
    pub(crate) faults: BTreeMap<String, u64>,
    /// Bytes the emulator received although it had them already.
    pub(crate) bytes_received_twice: u64,
}

impl VariantReport {
    /// Completed, and the stored copy has the expected SHA-256.
    pub(crate) fn succeeded(&self) -> bool {
        self.error.is_none() && self.stored_sha256.as_deref() == Some(self.expected_sha256.as_str())
    }

    fn verdict(&self) -> String {
        match (&self.error, &self.stored_sha256) {
            (Some(error), _) => format!("FAILED: {error}"),
            (None, None) => "FAILED: nothing stored".into(),
            (None, Some(stored)) if *stored == self.expected_sha256 => "identical".into(),
            (None, Some(stored)) => format!("DIFFERENT ({}…)", &stored[..16.min(stored.len())]),
        }
    }
}

/// Prints the table (100 columns at most, but for a failure's reason), then the faults met.
pub(crate) fn print_summary(out: &mut impl Write, reports: &[VariantReport]) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{:<16} {:>9} {:>7} {:>10} {:>6} {:>7} {:>7} {:>8} {:>9}  stored copy",
        "variant", "size", "time", "rate", "faults", "retries", "resyncs", "sessions", "resent"
    )?;
    for report in reports {
        let faults: u64 = report.faults.values().sum();
        let rate = report
            .stats
            .bytes_per_second()
            .map_or_else(|| "-".to_owned(), |r| Rate(r).to_string());
        writeln!(
            out,
            "{:<16} {:>9} {:>6.1}s {:>10} {:>6} {:>7} {:>7} {:>8} {:>9}  {}",
            report.protocol.name(),
            HumanBytes(report.size).to_string(),
            report.stats.elapsed.as_secs_f64(),
            rate,
            faults,
            report.stats.retries,
            report.stats.resyncs,
            report.stats.sessions,
            HumanBytes(report.bytes_received_twice).to_string(),
            report.verdict()
        )?;
    }
    if let Some(first) = reports.first() {
        writeln!(
            out,
            "stored copies compared by SHA-256 with the local file's, {}",
            first.expected_sha256
        )?;
    }
    let met = super::faults_met(reports);
    if met.is_empty() {
        writeln!(out, "\nfaults met: none")?;
    } else {
        let list: Vec<String> = met.iter().map(|(name, n)| format!("{name} ×{n}")).collect();
        writeln!(out, "\nfaults met: {}", list.join(", "))?;
    }
    let recreated: Vec<&str> = reports
        .iter()
        .filter(|r| r.stats.sessions_lost > 0)
        .map(|r| r.protocol.name())
        .collect();
    if !recreated.is_empty() {
        writeln!(
            out,
            "sessions lost and recreated: {} (the upload started over in a new session, as Graph requires)",
            recreated.join(", ")
        )?;
    }
    writeln!(
        out,
        "resent: bytes the server received twice (a fragment resent after its answer was lost is trimmed to what the server lacks)"
    )?;
    if reports.iter().all(VariantReport::succeeded) {
        writeln!(out, "every stored copy is byte-identical to the local file")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn report(stored: Option<&str>) -> VariantReport {
        let mut stats = UploadStats::default();
        stats.total = 1 << 20;
        stats.confirmed = 1 << 20;
        stats.retries = 2;
        stats.resyncs = 1;
        stats.sessions = 2;
        stats.sessions_lost = 1;
        stats.elapsed = Duration::from_millis(500);
        VariantReport {
            protocol: ProtocolArg::Drive,
            size: 1 << 20,
            stats,
            error: None,
            expected_sha256: "ab".repeat(32),
            stored_sha256: stored.map(str::to_owned),
            faults: BTreeMap::from([("lose-answer".to_owned(), 1), ("status-503".to_owned(), 2)]),
            bytes_received_twice: 0,
        }
    }

    #[test]
    fn table_shows_counters_faults_and_the_verdict() {
        let good = report(Some(&"ab".repeat(32)));
        let bad = report(Some(&"cd".repeat(32)));
        assert!(good.succeeded());
        assert!(!bad.succeeded());
        assert!(!report(None).succeeded());
        let mut out = Vec::new();
        print_summary(&mut out, &[good]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("graph-drive"), "{text}");
        assert!(text.contains("  identical\n"), "{text}");
        for line in text.lines().take(3) {
            assert!(line.chars().count() <= 100, "{line}");
        }
        assert!(
            text.contains("faults met: lose-answer ×1, status-503 ×2"),
            "{text}"
        );
        assert!(
            text.contains("sessions lost and recreated: graph-drive"),
            "{text}"
        );
        assert!(text.contains("byte-identical"), "{text}");
    }
}
