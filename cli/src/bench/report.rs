//! The sweep's figures: medians, paired ratios, the table and the JSON document.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::Cell;
use crate::size::HumanBytes;

/// One process's run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Measured {
    /// Seconds from spawn to exit.
    pub(crate) wall: f64,
    /// Seconds of CPU (user + system), where the platform says.
    pub(crate) cpu: Option<f64>,
    /// Requests the embedded emulator answered during the run.
    pub(crate) requests: Option<u64>,
}

impl Measured {
    /// Decimal megabytes per second for `size` bytes.
    pub(crate) fn rate(&self, size: u64) -> f64 {
        size as f64 / self.wall / 1e6
    }
}

/// A cell's runs, round by round (`raw[i]` and `ours[i]` are one round's pair).
#[derive(Clone, Debug)]
pub(crate) struct CellResult {
    pub(crate) cell: Cell,
    pub(crate) raw: Vec<Measured>,
    pub(crate) ours: Vec<Measured>,
}

/// Median, smallest, largest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Spread {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Spread {
    /// `None` for no values. The median of an even count is the mean of the middle two.
    pub(crate) fn of(mut values: Vec<f64>) -> Option<Spread> {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => values[n / 2],
            _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        };
        Some(Spread {
            median,
            min: values[0],
            max: values[n - 1],
        })
    }

    fn json(self) -> serde_json::Value {
        json!({"median": self.median, "min": self.min, "max": self.max})
    }
}

impl CellResult {
    pub(crate) fn new(cell: Cell) -> Self {
        CellResult {
            cell,
            raw: Vec::new(),
            ours: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, raw: Measured, ours: Measured) {
        self.raw.push(raw);
        self.ours.push(ours);
    }

    /// Throughput in MB/s of one side.
    pub(crate) fn rate(runs: &[Measured], size: u64) -> Option<Spread> {
        Spread::of(runs.iter().map(|m| m.rate(size)).collect())
    }

    /// Each round's resumable throughput over the raw loop's (raw time / resumable time).
    pub(crate) fn ratio(&self) -> Option<Spread> {
        Spread::of(
            self.raw
                .iter()
                .zip(&self.ours)
                .map(|(raw, ours)| raw.wall / ours.wall)
                .collect(),
        )
    }

    /// Each round's resumable CPU over the raw loop's.
    fn cpu_ratio(&self) -> Option<Spread> {
        Spread::of(
            self.raw
                .iter()
                .zip(&self.ours)
                .filter_map(|(raw, ours)| Some(ours.cpu? / raw.cpu?))
                .collect(),
        )
    }

    /// CPU seconds per GiB of one side.
    fn cpu_per_gib(runs: &[Measured], size: u64) -> Option<Spread> {
        let gib = size as f64 / f64::from(1u32 << 30);
        Spread::of(runs.iter().filter_map(|m| Some(m.cpu? / gib)).collect())
    }

    /// Requests per second of one side (as the emulator counted them).
    fn requests_per_second(runs: &[Measured]) -> Option<Spread> {
        Spread::of(
            runs.iter()
                .filter_map(|m| Some(m.requests? as f64 / m.wall))
                .collect(),
        )
    }
}

/// The whole sweep.
pub(crate) struct Report {
    pub(crate) size: u64,
    pub(crate) rounds: u32,
    pub(crate) link: (Option<u64>, Option<Duration>),
    pub(crate) real_endpoint: bool,
    pub(crate) results: Vec<CellResult>,
}

fn or_dash(value: Option<f64>, decimals: usize) -> String {
    value.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

impl Report {
    /// The table: fits 100 columns.
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} file, {}; medians; ratio = resumable throughput / raw loop's, paired by round",
            HumanBytes(self.size),
            rounds(self.rounds)
        );
        let _ = writeln!(
            out,
            "{:<23} {:>8} {:>9} {:>17} {:>13} {:>8} {:>13}",
            "", "raw", "resumable", "", "CPU s/GiB", "CPU", "requests/s"
        );
        let _ = writeln!(
            out,
            "{:<23} {:>8} {:>9} {:>17} {:>6} {:>6} {:>8} {:>6} {:>6}",
            "protocol, fragment",
            "MB/s",
            "MB/s",
            "ratio (min-max)",
            "raw",
            "ours",
            "ours/raw",
            "raw",
            "ours"
        );
        for result in &self.results {
            let raw = CellResult::rate(&result.raw, self.size);
            let ours = CellResult::rate(&result.ours, self.size);
            let ratio = result.ratio().map_or("-".into(), |r| {
                format!("{:.2} ({:.2}-{:.2})", r.median, r.min, r.max)
            });
            let _ = writeln!(
                out,
                "{:<23} {:>8} {:>9} {:>17} {:>6} {:>6} {:>8} {:>6} {:>6}",
                result.cell.label(),
                or_dash(raw.map(|s| s.median), 0),
                or_dash(ours.map(|s| s.median), 0),
                ratio,
                or_dash(
                    CellResult::cpu_per_gib(&result.raw, self.size).map(|s| s.median),
                    2
                ),
                or_dash(
                    CellResult::cpu_per_gib(&result.ours, self.size).map(|s| s.median),
                    2
                ),
                or_dash(result.cpu_ratio().map(|s| s.median), 2),
                or_dash(
                    CellResult::requests_per_second(&result.raw).map(|s| s.median),
                    0
                ),
                or_dash(
                    CellResult::requests_per_second(&result.ours).map(|s| s.median),
                    0
                ),
            );
        }
        out
    }

    /// Everything, as one JSON document.
    pub(crate) fn json(&self, plot: &Path) -> serde_json::Value {
        let spread = |s: Option<Spread>| s.map_or(serde_json::Value::Null, Spread::json);
        let cells: Vec<serde_json::Value> = self
            .results
            .iter()
            .map(|result| {
                let runs = |runs: &[Measured]| -> Vec<serde_json::Value> {
                    runs.iter()
                        .map(|m| json!({"wall_s": m.wall, "cpu_s": m.cpu, "requests": m.requests}))
                        .collect()
                };
                json!({
                    "protocol": result.cell.protocol.name(),
                    "fragment_size": result.cell.size,
                    "adaptive": result.cell.size.is_none(),
                    "raw_fragment_size": result.cell.raw_size(),
                    "raw_mb_per_s": spread(CellResult::rate(&result.raw, self.size)),
                    "resumable_mb_per_s": spread(CellResult::rate(&result.ours, self.size)),
                    "ratio": spread(result.ratio()),
                    "raw_cpu_s_per_gib": spread(CellResult::cpu_per_gib(&result.raw, self.size)),
                    "resumable_cpu_s_per_gib": spread(CellResult::cpu_per_gib(&result.ours, self.size)),
                    "cpu_ratio": spread(result.cpu_ratio()),
                    "raw_requests_per_s": spread(CellResult::requests_per_second(&result.raw)),
                    "resumable_requests_per_s": spread(CellResult::requests_per_second(&result.ours)),
                    "raw_runs": runs(&result.raw),
                    "resumable_runs": runs(&result.ours),
                })
            })
            .collect();
        json!({
            "file_size": self.size,
            "rounds": self.rounds,
            "endpoint": if self.real_endpoint { "real" } else { "embedded emulator (discard)" },
            "bandwidth_bytes_per_s": self.link.0,
            "latency_ms": self.link.1.map(|l| l.as_millis() as u64),
            "plot": plot.display().to_string(),
            "cells": cells,
        })
    }
}

/// "1 round", "5 rounds".
pub(crate) fn rounds(n: u32) -> String {
    format!("{n} round{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::super::BenchProtocol;
    use super::*;

    fn run(wall: f64, cpu: f64) -> Measured {
        Measured {
            wall,
            cpu: Some(cpu),
            requests: Some(10),
        }
    }

    #[test]
    fn medians_take_the_middle() {
        assert_eq!(Spread::of(vec![3.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert_eq!(Spread::of(vec![4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert_eq!(Spread::of(vec![]), None);
        assert_eq!(Spread::of(vec![f64::NAN]), None);
    }

    #[test]
    fn the_ratio_is_paired_by_round_not_a_ratio_of_medians() {
        let mut result = CellResult::new(Cell {
            protocol: BenchProtocol::GraphDrive,
            size: Some(327_680),
        });
        // A noisy machine: each round both sides slow down together.
        for (raw, ours) in [(1.0, 1.1), (2.0, 2.2), (3.0, 3.3), (0.5, 0.55), (4.0, 4.4)] {
            result.push(run(raw, raw), run(ours, ours * 2.0));
        }
        let ratio = result.ratio().unwrap();
        assert!((ratio.median - 1.0 / 1.1).abs() < 1e-9, "{ratio:?}");
        assert!((ratio.max - ratio.min).abs() < 1e-9);
        let cpu = result.cpu_ratio().unwrap();
        assert!((cpu.median - 2.2).abs() < 1e-9, "{cpu:?}");
    }

    #[test]
    fn the_table_fits_100_columns() {
        let mut result = CellResult::new(Cell {
            protocol: BenchProtocol::GraphDrive,
            size: Some(40 << 20),
        });
        result.push(run(0.5, 0.3), run(0.6, 0.4));
        let adaptive = CellResult {
            cell: Cell {
                protocol: BenchProtocol::Wopi,
                size: None,
            },
            ..result.clone()
        };
        let report = Report {
            size: 256 << 20,
            rounds: 1,
            link: (None, None),
            real_endpoint: false,
            results: vec![result, adaptive],
        };
        let table = report.table();
        for line in table.lines() {
            assert!(
                line.chars().count() <= 100,
                "{} columns: {line}",
                line.len()
            );
        }
        assert!(table.contains("0.83 (0.83-0.83)"), "{table}");
        let json = report.json(Path::new("p.svg"));
        assert_eq!(json["cells"][1]["adaptive"], true);
        assert_eq!(json["cells"][0]["raw_runs"][0]["wall_s"], 0.5);
    }
}
