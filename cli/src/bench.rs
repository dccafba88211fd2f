//! `resumable bench`: chunk throughput, measured against the plainest client in the same run.
//!
//! For each protocol and fragment size of the sweep, and each round, two processes upload the
//! same file to the same endpoint one after the other, in alternating order: `resumable upload`
//! with its defaults (checkpoints, retries, the check of what the service stored) and
//! `resumable bench-raw`, a bare reqwest loop that reads each fragment and sends it. Each run
//! is timed as a whole process (wall clock from spawn to exit, CPU from the kernel's account
//! of the child), so start-up, session creation and the final check count on both sides. The
//! table gives medians, and the ratio of each round's pair (raw time / resumable time) with
//! its median, smallest and largest; the plot shows throughput and paired ratio against
//! fragment size. By default the endpoint is an emulator in this process in `discard` mode,
//! optionally behind an emulated link (`--bandwidth`, `--latency`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use resumable_emulator::{Emulator, EmulatorConfig, EmulatorHandle, StorageMode};

use crate::duration::parse_duration;
use crate::error::CliError;
use crate::size::{HumanBytes, parse_size};
use crate::upload::eprintln_line;

mod cpu;
mod plot;
pub(crate) mod raw;
mod report;

use raw::RawProtocol;
use report::{CellResult, Measured};

/// The protocols a sweep can cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub(crate) enum BenchProtocol {
    /// Graph drive items (fragments: multiples of 320 KiB); baseline: a raw `PUT` loop.
    GraphDrive,
    /// A WOPI host's upload session; baseline: the raw Graph `PUT` loop (WOPI framing has no
    /// plainer client).
    Wopi,
    /// tus 1.0; baseline: a raw `PATCH` loop.
    Tus,
    /// The IETF draft; baseline: the raw tus `PATCH` loop.
    Ietf,
}

impl BenchProtocol {
    pub(crate) fn name(self) -> &'static str {
        match self {
            BenchProtocol::GraphDrive => "graph-drive",
            BenchProtocol::Wopi => "wopi",
            BenchProtocol::Tus => "tus",
            BenchProtocol::Ietf => "ietf",
        }
    }

    fn raw(self) -> RawProtocol {
        match self {
            BenchProtocol::GraphDrive | BenchProtocol::Wopi => RawProtocol::Graph,
            BenchProtocol::Tus | BenchProtocol::Ietf => RawProtocol::Tus,
        }
    }
}

/// `resumable bench` options.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Fragment sizes to sweep, comma-separated. Drive fragments are multiples of 320 KiB
    /// (327680 bytes) under 60 MiB.
    #[arg(
        long,
        value_name = "SIZES",
        value_delimiter = ',',
        value_parser = parse_size,
        default_value = "320KiB,1280KiB,3200KiB,10MiB,40MiB"
    )]
    sizes: Vec<u64>,
    /// Protocols to sweep, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "graph-drive")]
    protocols: Vec<BenchProtocol>,
    /// Also run `resumable upload --adaptive` (Graph and WOPI), the fragment size following
    /// the link from the default; its baseline is the raw loop at 10 MiB.
    #[arg(long)]
    adaptive: bool,
    /// Rounds: each runs every cell once on each side, the order alternating.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// The size of the generated file (random bytes) when no --file is given.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "256MiB")]
    file_size: u64,
    /// Upload this file instead of a generated one.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// A real createUploadSession URL to measure against (graph-drive only; the item is
    /// replaced by every run) instead of the embedded emulator.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// The bearer token for --endpoint.
    #[arg(
        long,
        env = "RESUMABLE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// The embedded emulator's link: request bodies arrive no faster than this many bytes per
    /// second (`100MB`, `12MiB`), all connections together.
    #[arg(long, value_name = "RATE", value_parser = parse_size)]
    bandwidth: Option<u64>,
    /// The embedded emulator's link: every answer is held back this long (a round trip per
    /// request), such as 40ms.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    latency: Option<Duration>,
    /// Where to write the plot (SVG) of throughput and ratio against fragment size.
    #[arg(long, value_name = "PATH", default_value = "resumable-bench.svg")]
    plot: PathBuf,
    /// Print the results as one JSON document on standard output instead of the table.
    #[arg(long)]
    json: bool,
    /// No line per run on standard error.
    #[arg(short, long)]
    quiet: bool,
}

/// One cell of the sweep: a protocol at a fragment size (`None`: adaptive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cell {
    pub(crate) protocol: BenchProtocol,
    pub(crate) size: Option<u64>,
}

/// The raw loop's fragment size for the adaptive cell.
const ADAPTIVE_BASELINE: u64 = 10 << 20;

impl Cell {
    fn raw_size(self) -> u64 {
        self.size.unwrap_or(ADAPTIVE_BASELINE)
    }

    pub(crate) fn label(self) -> String {
        match self.size {
            Some(size) => format!("{} {}", self.protocol.name(), HumanBytes(size)),
            None => format!("{} adaptive", self.protocol.name()),
        }
    }
}

/// Where the runs go.
struct Target {
    emulator: Option<EmulatorHandle>,
    endpoint: Option<String>,
}

impl Target {
    /// The creation URL for `protocol` (a fresh item name per run on the emulator).
    fn endpoint(&self, protocol: BenchProtocol, name: &str) -> String {
        if let Some(endpoint) = &self.endpoint {
            return endpoint.clone();
        }
        let emulator = self
            .emulator
            .as_ref()
            .expect("an emulator without --endpoint");
        match protocol {
            BenchProtocol::GraphDrive => emulator.drive_upload_session_url(name),
            BenchProtocol::Wopi => format!("{}?access_token=bench", emulator.wopi_file_url(name)),
            BenchProtocol::Tus => emulator.tus_endpoint(),
            BenchProtocol::Ietf => emulator.ietf_endpoint(),
        }
    }

    /// Requests the emulator has answered so far.
    fn requests(&self) -> Option<u64> {
        self.emulator.as_ref().map(|e| e.stats().requests_total)
    }
}

pub(crate) fn run(args: BenchArgs) -> Result<(), CliError> {
    let cells = cells(&args)?;
    let scratch = tempfile::Builder::new()
        .prefix("resumable-bench-")
        .tempdir()
        .map_err(|e| CliError::Invalid(format!("cannot make a temporary directory: {e}")))?;
    let file = match &args.file {
        Some(file) => file.clone(),
        None => {
            let path = scratch.path().join("bench.bin");
            write_random(&path, args.file_size).map_err(CliError::file(&path))?;
            path
        }
    };
    let size = std::fs::metadata(&file)
        .map_err(CliError::file(&file))?
        .len();
    warm(&file).map_err(CliError::file(&file))?;
    let program = std::env::current_exe()
        .map_err(|e| CliError::Invalid(format!("cannot find this program: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Invalid(format!("cannot start the async runtime: {e}")))?;
    let target = match &args.endpoint {
        Some(endpoint) => Target {
            emulator: None,
            endpoint: Some(endpoint.clone()),
        },
        None => {
            let mut config = EmulatorConfig::default().with_storage(StorageMode::Discard);
            config.link.bandwidth = args.bandwidth;
            config.link.latency = args.latency.unwrap_or_default();
            config.limits.drive_file_max = config.limits.drive_file_max.max(size);
            config.wopi.max_file_size = config.wopi.max_file_size.max(size);
            config.tus.max_size = config.tus.max_size.max(size);
            let emulator = runtime
                .block_on(Emulator::start(config))
                .map_err(|e| CliError::Invalid(format!("cannot start the emulator: {e}")))?;
            Target {
                emulator: Some(emulator),
                endpoint: None,
            }
        }
    };
    if !args.quiet {
        eprintln_line(&format!(
            "bench: {} of {} in {} cells, {}, against {}",
            HumanBytes(size),
            file.display(),
            cells.len(),
            report::rounds(args.rounds),
            match (&target.endpoint, args.bandwidth, args.latency) {
                (Some(_), ..) => "the --endpoint".to_owned(),
                (None, None, None) => "the embedded emulator (discard, loopback)".to_owned(),
                (None, bandwidth, latency) => format!(
                    "the embedded emulator (discard, link {}{})",
                    bandwidth.map_or("unlimited".into(), |b| format!("{}/s", HumanBytes(b))),
                    latency.map_or(String::new(), |l| format!(
                        ", {} ms round trip",
                        l.as_millis()
                    ))
                ),
            }
        ));
    }
    let setting = Setting {
        program: &program,
        file: &file,
        state: scratch.path(),
        target: &target,
        token: args.token.as_deref().unwrap_or("bench"),
    };
    let mut results: Vec<CellResult> = cells.iter().map(|&cell| CellResult::new(cell)).collect();
    for round in 0..args.rounds {
        for (index, result) in results.iter_mut().enumerate() {
            let cell = result.cell;
            let name = format!("r{round}-c{index}");
            // Alternate which side goes first, so neither always meets a warmer machine.
            let raw_first = (round as usize + index).is_multiple_of(2);
            let mut pair = [None, None];
            for side in if raw_first { [0, 1] } else { [1, 0] } {
                let measured = if side == 0 {
                    setting.raw(cell, &format!("{name}-raw"))?
                } else {
                    setting.resumable(cell, &format!("{name}-ours"))?
                };
                pair[side] = Some(measured);
            }
            let [Some(raw), Some(ours)] = pair else {
                unreachable!("both sides ran")
            };
            if !args.quiet {
                eprintln_line(&format!(
                    "round {}/{}  {:<22} raw {:>7.0} MB/s  resumable {:>7.0} MB/s  ratio {:.2}",
                    round + 1,
                    args.rounds,
                    cell.label(),
                    raw.rate(size),
                    ours.rate(size),
                    raw.wall / ours.wall,
                ));
            }
            result.push(raw, ours);
        }
    }
    let report = report::Report {
        size,
        rounds: args.rounds,
        link: (args.bandwidth, args.latency),
        real_endpoint: target.endpoint.is_some(),
        results,
    };
    plot::draw(&report, &args.plot)
        .map_err(|e| CliError::Invalid(format!("cannot draw {}: {e}", args.plot.display())))?;
    if args.json {
        crate::upload::progress::print_json_line(&report.json(&args.plot));
    } else {
        let mut out = std::io::stdout().lock();
        write!(out, "{}", report.table()).map_err(CliError::output)?;
        writeln!(out, "plot: {}", args.plot.display()).map_err(CliError::output)?;
    }
    Ok(())
}

/// The sweep's cells, checked: every size must suit every protocol it is run with.
fn cells(args: &BenchArgs) -> Result<Vec<Cell>, CliError> {
    let mut protocols = args.protocols.clone();
    protocols.sort();
    protocols.dedup();
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    if args.endpoint.is_some() {
        if protocols != [BenchProtocol::GraphDrive] {
            return Err(CliError::Invalid(
                "--endpoint measures graph-drive only (a createUploadSession URL)".into(),
            ));
        }
        if args.token.is_none() {
            return Err(CliError::Invalid(
                "--endpoint needs a token: set RESUMABLE_TOKEN".into(),
            ));
        }
        if args.bandwidth.is_some() || args.latency.is_some() {
            return Err(CliError::Invalid(
                "--bandwidth and --latency shape the embedded emulator's link; a real endpoint has its own".into(),
            ));
        }
    }
    if args.file.is_none() && args.file_size == 0 {
        return Err(CliError::Invalid(
            "--file-size must be at least 1 byte".into(),
        ));
    }
    let mut cells = Vec::new();
    for &protocol in &protocols {
        for &size in &sizes {
            check_size(protocol, size)?;
            cells.push(Cell {
                protocol,
                size: Some(size),
            });
        }
        if args.adaptive && matches!(protocol, BenchProtocol::GraphDrive | BenchProtocol::Wopi) {
            cells.push(Cell {
                protocol,
                size: None,
            });
        }
    }
    if args.adaptive && !cells.iter().any(|c| c.size.is_none()) {
        return Err(CliError::Invalid(
            "--adaptive applies to graph-drive and wopi; add one of them to --protocols".into(),
        ));
    }
    Ok(cells)
}

fn check_size(protocol: BenchProtocol, size: u64) -> Result<(), CliError> {
    use resumable_core::chunk::FragmentRule;
    let rule = match protocol {
        BenchProtocol::GraphDrive => Some(FragmentRule::GRAPH_DRIVE),
        BenchProtocol::Wopi => Some(FragmentRule::WOPI_UPLOAD_SESSION),
        BenchProtocol::Tus | BenchProtocol::Ietf => None,
    };
    if size == 0 {
        return Err(CliError::Invalid(
            "a fragment size of 0 sends nothing".into(),
        ));
    }
    if let Some(rule) = rule {
        rule.check(size).map_err(|error| {
            CliError::Invalid(format!(
                "--sizes {size} does not suit {}: {error} (such as 320KiB, 3200KiB, 10MiB)",
                protocol.name()
            ))
        })?;
    }
    Ok(())
}

/// What every run shares.
struct Setting<'a> {
    program: &'a Path,
    file: &'a Path,
    state: &'a Path,
    target: &'a Target,
    token: &'a str,
}

impl Setting<'_> {
    /// `resumable upload` with its defaults, quiet.
    fn resumable(&self, cell: Cell, name: &str) -> Result<Measured, CliError> {
        let mut command = Command::new(self.program);
        command
            .env("RESUMABLE_STATE_DIR", self.state.join("state"))
            .args(["upload", "--quiet", "--protocol", cell.protocol.name()])
            .args(["--endpoint", &self.target.endpoint(cell.protocol, name)]);
        match cell.size {
            Some(size) => command.args(["--chunk-size", &size.to_string()]),
            None => command.arg("--adaptive"),
        };
        if cell.protocol == BenchProtocol::GraphDrive {
            command.args(["--upload-cutoff", "0", "--conflict", "replace"]);
        }
        command.arg(self.file);
        self.measure(command, "resumable upload")
    }

    /// The raw loop.
    fn raw(&self, cell: Cell, name: &str) -> Result<Measured, CliError> {
        let raw = cell.protocol.raw();
        let endpoint = match raw {
            RawProtocol::Graph => self.target.endpoint(BenchProtocol::GraphDrive, name),
            RawProtocol::Tus => self.target.endpoint(BenchProtocol::Tus, name),
        };
        let mut command = Command::new(self.program);
        command
            .args(["bench-raw", "--endpoint", &endpoint, "--protocol"])
            .arg(match raw {
                RawProtocol::Graph => "graph",
                RawProtocol::Tus => "tus",
            })
            .args(["--chunk-size", &cell.raw_size().to_string()])
            .arg(self.file);
        self.measure(command, "the raw loop")
    }

    fn measure(&self, mut command: Command, what: &str) -> Result<Measured, CliError> {
        command
            .env("RESUMABLE_TOKEN", self.token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let requests = self.target.requests();
        let cpu = cpu::children();
        let started = Instant::now();
        let output = command
            .output()
            .map_err(|e| CliError::Invalid(format!("cannot start {what}: {e}")))?;
        let wall = started.elapsed().as_secs_f64();
        let cpu = cpu
            .zip(cpu::children())
            .map(|(before, after)| after - before);
        if !output.status.success() {
            return Err(CliError::Invalid(format!(
                "{what} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let requests = requests
            .zip(self.target.requests())
            .map(|(before, after)| after - before);
        Ok(Measured {
            wall,
            cpu,
            requests,
        })
    }
}

/// Writes `size` random bytes (xorshift, not zeros: no layer may compress them) to `path`.
fn write_random(path: &Path, size: u64) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ size;
    let mut block = vec![0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Reads the file once, so every run finds it in the page cache.
fn warm(path: &Path) -> std::io::Result<()> {
    std::io::copy(&mut std::fs::File::open(path)?, &mut std::io::sink()).map(|_| ())
}
