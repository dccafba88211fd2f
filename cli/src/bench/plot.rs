//! The sweep as a picture: throughput against fragment size (top) and the paired ratio to the
//! raw loop (bottom), one line per protocol, the raw loop's line with the first; medians with
//! whiskers from the smallest to the largest round. The raw loops are black (PUT) and grey
//! (PATCH).

use std::path::Path;

use plotters::prelude::*;

use super::report::{CellResult, Report, Spread};
use super::{BenchProtocol, Cell};
use crate::size::HumanBytes;

/// A line colour per protocol; the raw loop is black.
fn colour(protocol: BenchProtocol) -> RGBColor {
    match protocol {
        BenchProtocol::GraphDrive => RGBColor(31, 119, 180),
        BenchProtocol::Wopi => RGBColor(214, 39, 40),
        BenchProtocol::Tus => RGBColor(44, 160, 44),
        BenchProtocol::Ietf => RGBColor(148, 103, 189),
    }
}

/// One line of the plot: its points (fragment size, median, min, max).
struct Line {
    label: String,
    colour: RGBColor,
    points: Vec<(f64, Spread)>,
    dashed: bool,
}

fn lines(report: &Report) -> (Vec<Line>, Vec<Line>) {
    let mut protocols: Vec<BenchProtocol> =
        report.results.iter().map(|r| r.cell.protocol).collect();
    protocols.dedup();
    let (mut rates, mut ratios) = (Vec::new(), Vec::new());
    for protocol in protocols {
        let fixed: Vec<&CellResult> = report
            .results
            .iter()
            .filter(|r| r.cell.protocol == protocol && r.cell.size.is_some())
            .collect();
        let at = |r: &CellResult| r.cell.size.unwrap_or_default() as f64;
        let raw_label = match protocol.raw() {
            super::raw::RawProtocol::Graph => "raw PUT loop",
            super::raw::RawProtocol::Tus => "raw PATCH loop",
        };
        if !rates.iter().any(|l: &Line| l.label == raw_label) {
            rates.push(Line {
                label: raw_label.into(),
                // Black for the PUT loop, grey for the PATCH loop: both can be on one plot.
                colour: match protocol.raw() {
                    super::raw::RawProtocol::Graph => BLACK,
                    super::raw::RawProtocol::Tus => RGBColor(140, 140, 140),
                },
                points: fixed
                    .iter()
                    .filter_map(|r| Some((at(r), CellResult::rate(&r.raw, report.size)?)))
                    .collect(),
                dashed: false,
            });
        }
        rates.push(Line {
            label: format!("resumable {}", protocol.name()),
            colour: colour(protocol),
            points: fixed
                .iter()
                .filter_map(|r| Some((at(r), CellResult::rate(&r.ours, report.size)?)))
                .collect(),
            dashed: false,
        });
        ratios.push(Line {
            label: format!("{} / raw", protocol.name()),
            colour: colour(protocol),
            points: fixed
                .iter()
                .filter_map(|r| Some((at(r), r.ratio()?)))
                .collect(),
            dashed: false,
        });
        // Adaptive sizing has no fixed size: a dashed level across the sweep.
        if let Some(adaptive) = report.results.iter().find(|r| {
            r.cell
                == Cell {
                    protocol,
                    size: None,
                }
        }) {
            let span: Vec<f64> = fixed.iter().map(|r| at(r)).collect();
            if let (Some(rate), Some(ratio)) = (
                CellResult::rate(&adaptive.ours, report.size),
                adaptive.ratio(),
            ) {
                let ends = |s: Spread| {
                    let low = span.first().copied().unwrap_or(327_680.0);
                    let high = span.last().copied().unwrap_or(low * 2.0);
                    vec![(low, s), (high, s)]
                };
                rates.push(Line {
                    label: format!("resumable {} --adaptive", protocol.name()),
                    colour: colour(protocol),
                    points: ends(rate),
                    dashed: true,
                });
                ratios.push(Line {
                    label: format!("{} --adaptive / raw 10 MiB", protocol.name()),
                    colour: colour(protocol),
                    points: ends(ratio),
                    dashed: true,
                });
            }
        }
    }
    (rates, ratios)
}

/// Writes the plot as SVG to `path`.
pub(crate) fn draw(report: &Report, path: &Path) -> Result<(), String> {
    let (rates, ratios) = lines(report);
    let all = rates
        .iter()
        .chain(&ratios)
        .flat_map(|l| l.points.iter().map(|p| p.0));
    let (low, high) = all.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if low > high {
        return Err("no fixed fragment size was measured".into());
    }
    let x_range = (low / 1.3)..(high * 1.3);
    let top_rate = rates
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1.max))
        .fold(1.0, f64::max);
    let top_ratio = ratios
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1.max))
        .fold(1.1, f64::max);
    let bottom_ratio = ratios
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1.min))
        .fold(0.8, f64::min);
    let root = SVGBackend::new(path, (960, 800)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let link = match report.link {
        (None, None) => "loopback".to_owned(),
        (bandwidth, latency) => format!(
            "link {}, {} ms round trip",
            bandwidth.map_or("unlimited".into(), |b| format!("{}/s", HumanBytes(b))),
            latency.map_or(0, |l| l.as_millis())
        ),
    };
    let title = format!(
        "resumable bench: {} file, {}, {}",
        HumanBytes(report.size),
        super::report::rounds(report.rounds),
        if report.real_endpoint {
            "real endpoint".into()
        } else {
            format!("emulator, {link}")
        }
    );
    let root = root
        .titled(&title, ("sans-serif", 22))
        .map_err(|e| e.to_string())?;
    let (upper, lower) = root.split_vertically(470);
    let label = |x: &f64| HumanBytes(*x as u64).to_string();
    panel(
        &upper,
        &rates,
        x_range.clone(),
        0.0..top_rate * 1.1,
        "throughput, MB/s (median; whiskers: min-max)",
        &label,
        None,
    )?;
    panel(
        &lower,
        &ratios,
        x_range,
        bottom_ratio * 0.95..top_ratio * 1.05,
        "paired ratio to the raw loop (1 = as fast)",
        &label,
        Some(1.0),
    )?;
    root.present().map_err(|e| e.to_string())
}

/// The fragment sizes the lines have points at, in order.
fn ticks(lines: &[Line]) -> Vec<f64> {
    let mut sizes: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().filter(|_| !l.dashed).map(|p| p.0))
        .collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    sizes
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    lines: &[Line],
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    y_desc: &str,
    x_label: &dyn Fn(&f64) -> String,
    reference: Option<f64>,
) -> Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        // Ticks at the sizes measured, not at powers of ten of bytes.
        .build_cartesian_2d(x.clone().log_scale().with_key_points(ticks(lines)), y)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("fragment size (log scale)")
        .y_desc(y_desc)
        .x_label_formatter(x_label)
        .draw()
        .map_err(|e| e.to_string())?;
    if let Some(level) = reference {
        chart
            .draw_series(LineSeries::new(
                [(x.start, level), (x.end, level)],
                BLACK.mix(0.4).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
    }
    for line in lines {
        let colour = line.colour;
        let style = colour.stroke_width(if line.dashed { 1 } else { 2 });
        let points: Vec<(f64, f64)> = line.points.iter().map(|(x, s)| (*x, s.median)).collect();
        if line.dashed {
            chart
                .draw_series(DashedLineSeries::new(points.clone(), 8, 5, style))
                .map_err(|e| e.to_string())?
                .label(&line.label)
                // Dashed in the legend too, so the key tells the adaptive levels apart.
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (5, 0)], colour)
                        + PathElement::new(vec![(8, 0), (13, 0)], colour)
                        + PathElement::new(vec![(16, 0), (20, 0)], colour)
                });
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.clone(), style))
            .map_err(|e| e.to_string())?
            .label(&line.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(line.points.iter().map(|(x, s)| {
                PathElement::new(vec![(*x, s.min), (*x, s.max)], colour.stroke_width(1))
            }))
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::report::Measured;
    use super::*;

    #[test]
    fn draws_an_svg_with_every_line_labelled() {
        let mut results = Vec::new();
        for size in [327_680u64, 10 << 20] {
            let mut result = CellResult::new(Cell {
                protocol: BenchProtocol::GraphDrive,
                size: Some(size),
            });
            for round in 0..3 {
                let wall = 0.5 + f64::from(round) * 0.01;
                let m = Measured {
                    wall,
                    cpu: Some(0.2),
                    requests: Some(30),
                };
                result.push(
                    m,
                    Measured {
                        wall: wall * 1.05,
                        ..m
                    },
                );
            }
            results.push(result);
        }
        let mut adaptive = results[1].clone();
        adaptive.cell.size = None;
        results.push(adaptive);
        let report = Report {
            size: 256 << 20,
            rounds: 3,
            link: (Some(12_500_000), Some(std::time::Duration::from_millis(40))),
            real_endpoint: false,
            results,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.svg");
        draw(&report, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
        for label in [
            "raw PUT loop",
            "resumable graph-drive",
            "resumable graph-drive --adaptive",
            "graph-drive / raw",
            "40 ms round trip",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
    }
}
