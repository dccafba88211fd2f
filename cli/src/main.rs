//! `resumable`: resumable uploads from the command line, and tools for the protocols.
//!
//! Each subcommand family lives in its own module and adds one variant to [`Command`]; `main`
//! only parses and dispatches. Every family returns `Result<(), CliError>`, and `main` turns an
//! error into a message on stderr and a non-zero exit status.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod demo;
mod duration;
mod emulator;
mod error;
mod file_hash;
mod logging;
mod resume;
mod runtime;
mod size;
mod soak;
mod upload;
mod wopi;
mod workbook;

use error::CliError;

/// Resumable chunked uploads (Microsoft Graph, WOPI, tus, the IETF draft) and protocol tools.
#[derive(Debug, Parser)]
#[command(name = "resumable", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommand families.
#[derive(Debug, Subcommand)]
enum Command {
    /// Upload a file into a Microsoft Graph upload session, a WOPI host's (--protocol wopi), a
    /// tus server or an IETF draft server (--protocol tus|ietf): resumable, with retries and
    /// checkpoints (kept without being asked: run the same command again to resume). Without
    /// --endpoint it goes to an emulator started for the command.
    Upload(upload::UploadArgs),
    /// The interrupted uploads whose checkpoints are kept (--list), or drop them (--clean).
    Resume(resume::ResumeArgs),
    /// Upload a generated file with every Graph variant, to a WOPI host and to a tus server
    /// through faulty emulators, and show what happened.
    Demo(demo::DemoArgs),
    /// The service emulator: strict Graph, WOPI and workbook sessions with fault injection.
    #[command(subcommand)]
    Emulator(emulator::EmulatorCommand),
    /// WOPI frame tools: ChunkIds, encoding and decoding frame streams.
    #[command(subcommand)]
    Wopi(wopi::WopiCommand),
    /// Graph workbook sessions: open one, keep it alive, close it.
    #[command(subcommand)]
    Workbook(workbook::WorkbookCommand),
    /// Many uploads under random faults and crashes: each seed a random file, protocol and
    /// fault schedule, the upload process killed (SIGKILL) and run again until it ends; then
    /// what the service stored against the file. Counts corrupted and hung runs (must be 0).
    Soak(soak::SoakArgs),
    /// Chunk throughput: sweep fragment sizes (and protocols) against the embedded emulator or
    /// a real endpoint, each run paired with a raw reqwest loop in the same run; a table, a
    /// plot (SVG) and --json.
    Bench(bench::BenchArgs),
    /// The raw loop `resumable bench` measures against (not for direct use).
    #[command(hide = true)]
    BenchRaw(bench::raw::RawArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Upload(args) => upload::run(args),
        Command::Resume(args) => resume::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Emulator(command) => emulator::run(command),
        Command::Wopi(command) => wopi::run(command),
        Command::Workbook(command) => workbook::run(command),
        Command::Soak(args) => soak::run(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchRaw(args) => bench::raw::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::BrokenPipe) => ExitCode::SUCCESS,
        Err(err @ CliError::BadUrl(_)) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "resumable: {err}");
            ExitCode::from(2)
        }
        Err(err) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "resumable: {err}");
            ExitCode::FAILURE
        }
    }
}
