//! Runs an emulator until Ctrl-C, as `resumable emulator serve` does:
//!
//! ```text
//! cargo run -p resumable-emulator --example serve -- --addr 127.0.0.1:8080 --faults flaky --seed 7 --time-scale 60
//! ```
//!
//! Options: `--addr`, `--faults none|flaky|hostile`, `--seed N`, `--time-scale X`,
//! `--storage temp|discard|dir:PATH`, `--script 'fragment#2=lose-answer, ...'`.

// A command-line program reports on standard output and standard error.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use resumable_emulator::{EmulatorConfig, serve};

fn config_from(args: &[String]) -> Result<EmulatorConfig, String> {
    let mut config = EmulatorConfig::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let error = |e: &dyn std::fmt::Display| e.to_string();
        match flag.as_str() {
            "--addr" => config.addr = value.parse().map_err(|e| error(&e))?,
            "--faults" => config.faults.profile = value.parse().map_err(|e| error(&e))?,
            "--seed" => config.faults.seed = value.parse().map_err(|e| error(&e))?,
            "--time-scale" => config.time_scale = value.parse().map_err(|e| error(&e))?,
            "--storage" => config.storage = value.parse().map_err(|e| error(&e))?,
            "--script" => config.faults.script = value.parse().map_err(|e| error(&e))?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match config_from(&args) {
        Ok(config) => config,
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
