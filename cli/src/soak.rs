//! `resumable soak`: many seeds, each a random source, protocol and fault schedule in an
//! emulator of its own, with the upload process killed (`SIGKILL`) at random moments and run
//! again with the same command until it ends; then the stored bytes against the source's.
//! The summary counts completed, failed cleanly, corrupted and hung runs, the crashes survived,
//! the sessions left behind and the bytes sent per byte stored, and names the seed of every
//! bad run with the command that replays it.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::CliError;
use crate::size::{HumanBytes, parse_size};
use crate::upload::eprintln_line;
use crate::upload::progress::print_json_line;

mod plan;
mod run;
mod summary;

use plan::Plan;
use run::{Outcome, Report, Setting};
use summary::Summary;

/// The largest source by default.
const MAX_SIZE: u64 = 64 << 20;

/// `resumable soak` options.
#[derive(Debug, Args)]
pub(crate) struct SoakArgs {
    /// How many seeds (runs).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// The first seed; the run covers `S` to `S + N - 1`. A seed makes the same plan
    /// (source, protocol, faults, kill times) every time.
    #[arg(long, value_name = "S", default_value_t = 1)]
    first_seed: u64,
    /// The largest source, such as 64MiB (the default) or 4MiB for a quick run. Plans depend on
    /// it: replay a seed with the same value.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64MiB")]
    max_size: u64,
    /// Seeds run at once (each uploads with its own process and emulator). Default: 4.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    jobs: u64,
    /// How long one upload process may run before it counts as hung, such as 120s.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_duration, default_value = "120s")]
    deadline: Duration,
    /// Print one JSON line per seed, then the summary (`"event": "summary"`), instead of the
    /// progress bar and text.
    #[arg(long)]
    json: bool,
    /// Where the seeds' files go (each seed's directory is removed after it); default: the
    /// system's temporary directory.
    #[arg(long, value_name = "DIR")]
    scratch: Option<PathBuf>,
    /// Keep the files of bad runs (the source, the state directory with its checkpoints, each
    /// run's standard error; with RUST_LOG set, the uploads' logs) and name where.
    #[arg(long)]
    keep: bool,
}

/// Runs the soak; fails (exit status 1) if any run was corrupted, hung or failed needlessly.
pub(crate) fn run(args: SoakArgs) -> Result<(), CliError> {
    if cfg!(not(unix)) {
        return Err(CliError::Invalid(
            "the soak kills upload processes with SIGKILL: it runs on Unix only".into(),
        ));
    }
    let last = args.first_seed.checked_add(args.seeds - 1).ok_or_else(|| {
        CliError::Invalid("--first-seed plus --seeds goes past the largest seed".into())
    })?;
    let program = std::env::current_exe()
        .map_err(|e| CliError::Invalid(format!("cannot find this program to run it: {e}")))?;
    let scratch = args.scratch.clone().unwrap_or_else(std::env::temp_dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Invalid(format!("cannot start the async runtime: {e}")))?;
    let replay = |seed: u64| {
        let size = if args.max_size == MAX_SIZE {
            String::new()
        } else {
            format!(" --max-size {}", args.max_size)
        };
        format!("resumable soak --seeds 1 --first-seed {seed}{size}")
    };
    let bar = (!args.json).then(|| {
        let bar = ProgressBar::new(args.seeds);
        bar.set_style(
            ProgressStyle::with_template("soak {bar:30} {pos}/{len} seeds {elapsed_precise} {msg}")
                .expect("a valid template"),
        );
        bar.set_message("corrupted: 0, hung: 0");
        bar
    });
    let started = Instant::now();
    let next = AtomicU64::new(args.first_seed);
    let (done, reports) = mpsc::channel::<Result<Report, String>>();
    let trouble = Mutex::new(None);
    let mut summary = Summary::default();
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.min(args.seeds) {
            let done = done.clone();
            let (next, program, scratch) = (&next, &program, &scratch);
            let runtime = runtime.handle();
            let max_size = args.max_size;
            let deadline = args.deadline;
            let keep = args.keep;
            scope.spawn(move || {
                let setting = Setting {
                    program,
                    scratch,
                    deadline,
                    runtime,
                    keep,
                };
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed > last {
                        break;
                    }
                    let report = run::run(Plan::new(seed, max_size), &setting);
                    if done.send(report).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        for report in reports {
            let report = match report {
                Ok(report) => report,
                Err(error) => {
                    // The machine, not the engine: stop handing out seeds.
                    next.store(u64::MAX, Ordering::Relaxed);
                    trouble.lock().expect("not poisoned").get_or_insert(error);
                    continue;
                }
            };
            if args.json {
                print_json_line(&summary::seed_json(&report, &replay(report.plan.seed)));
            } else if let Some(bar) = &bar {
                if report.outcome.is_bad() {
                    bar.suspend(|| {
                        eprintln_line(&format!(
                            "seed {}: {}: {} ({}, {}, {} kills; replay: {}){}",
                            report.plan.seed,
                            report.outcome.name(),
                            report.detail,
                            report.plan.protocol,
                            HumanBytes(report.plan.size),
                            report.crashes,
                            replay(report.plan.seed),
                            report
                                .kept
                                .as_ref()
                                .map(|d| format!("; files kept in {}", d.display()))
                                .unwrap_or_default()
                        ))
                    });
                }
                bar.inc(1);
            }
            summary.add(report);
            if let Some(bar) = &bar {
                bar.set_message(format!(
                    "corrupted: {}, hung: {}",
                    summary.count(Outcome::Corrupted),
                    summary.count(Outcome::Hung)
                ));
            }
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let elapsed = started.elapsed();
    if let Some(error) = trouble.into_inner().expect("not poisoned") {
        return Err(CliError::Invalid(format!(
            "the soak stopped: {error} (after {} seeds)",
            summary.runs()
        )));
    }
    if args.json {
        print_json_line(&summary.json(args.first_seed, last, args.max_size, elapsed, &replay));
    } else {
        summary.print(args.first_seed, last, args.max_size, elapsed, &replay);
    }
    let bad = summary.bad();
    if bad > 0 {
        return Err(CliError::Invalid(format!(
            "{bad} of {} runs went wrong (seeds above, each with the command that replays it)",
            summary.runs()
        )));
    }
    Ok(())
}
