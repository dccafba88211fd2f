//! `--verbose` and `RUST_LOG`: the engine's `tracing` spans and events as lines on standard
//! error.
//!
//! The transports name every upload and request in spans (protocol, range, status, retry
//! cause) and never put a secret in them: upload URLs show only their scheme and host, tokens
//! not at all. `-v` shows what a person follows (sessions, retries, resyncs), `-vv` every
//! request, `-vvv` everything of this project; `RUST_LOG` (such as `RUST_LOG=trace`) chooses
//! instead, for every crate.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The crates whose events `-v` shows.
const OURS: [&str; 5] = [
    "resumable_core",
    "resumable_reqwest",
    "resumable_io",
    "resumable_emulator",
    "resumable",
];

/// Starts writing spans and events to standard error if `--verbose` or `RUST_LOG` asks for
/// them; whether it did (progress then goes as lines, not bars, so the two do not garble each
/// other).
pub(crate) fn start(verbose: u8) -> bool {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|value| !value.trim().is_empty() && !value.trim().eq_ignore_ascii_case("off"));
    let filter = match (from_env, verbose) {
        (Some(directives), _) => EnvFilter::new(directives),
        (None, 0) => return false,
        (None, level) => {
            let level = match level {
                1 => "info",
                2 => "debug",
                _ => "trace",
            };
            let directives: Vec<String> = std::iter::once("warn".to_owned())
                .chain(OURS.iter().map(|krate| format!("{krate}={level}")))
                .collect();
            EnvFilter::new(directives.join(","))
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init()
        .is_ok()
}
