//! Runs an emulator until Ctrl-C, as `resumable emulator serve` does:
//!
//! ```text
//! cargo run -p resumable-emulator --example serve -- --addr 127.0.0.1:8080 --faults flaky --seed 7 --time-scale 60
//! ```
//!
//! Every option of [`resumable_emulator::OPTIONS`] is a flag (`--NAME VALUE` or
//! `--NAME=VALUE`): `--bearer-token`, `--wopi-access-token`, `--wopi-upload-sessions false`,
//! `--drive-range-form closed`, `--workbook-creation-delay 10s`, `--workbook-always-async true`,
//! the limits, ... `--help` lists them all.

// A command-line program reports on standard output and standard error.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use resumable_emulator::{EmulatorConfig, OPTIONS, serve};

/// What the command line asks for.
enum Command {
    Serve(Box<EmulatorConfig>),
    Help,
}

fn command_from(args: &[String]) -> Result<Command, String> {
    let mut config = EmulatorConfig::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("expected an option, found `{arg}`"));
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, value.to_owned()),
            None => (
                flag,
                args.next()
                    .cloned()
                    .ok_or(format!("--{flag} needs a value"))?,
            ),
        };
        config.set(name, &value).map_err(|e| e.to_string())?;
    }
    Ok(Command::Serve(Box::new(config)))
}

fn print_help() {
    println!("Runs the resumable service emulator until Ctrl-C.\n\nOptions:");
    for option in OPTIONS {
        println!(
            "  --{} {}\n        {}",
            option.name, option.syntax, option.help
        );
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match command_from(&args) {
        Ok(Command::Serve(config)) => *config,
        Ok(Command::Help) => {
            print_help();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let ready = |emulator: &resumable_emulator::EmulatorHandle| {
        println!("emulator listening on {}", emulator.base_url());
        println!("  graph: {}", emulator.graph_url());
        println!("  files: {}", emulator.files_url());
        println!("  stats: {}", emulator.stats_url());
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match serve(config, ready, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
