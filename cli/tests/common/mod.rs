//! Shared by the command's end-to-end tests: running the binary, test files, hashes.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use resumable_emulator::{Emulator, EmulatorConfig, EmulatorHandle, FaultScript, StorageMode};
use sha2::{Digest, Sha256};

pub mod served;

/// How long a test waits, in real time, for something that should happen soon: generous, so a
/// loaded machine never fails a test that would pass.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Checks `condition` every 10 ms until it holds (`true`) or `limit` has passed (`false`).
/// The binary runs in a process of its own, on real time: what a test waits for there, it
/// watches for, with a deadline, rather than sleeping for a guess.
pub fn poll_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        // The poll interval of a wait for a condition, not a guess at how long it takes.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until `condition` holds; fails the test if it does not within [`PATIENCE`].
pub fn wait_until(what: &str, condition: impl FnMut() -> bool) {
    assert!(
        poll_until(PATIENCE, condition),
        "{what}: not within {PATIENCE:?}"
    );
}

pub fn resumable() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resumable"));
    command.env_remove("RESUMABLE_TOKEN");
    // Checkpoints kept without --checkpoint go to a folder of this test process, not the
    // user's state directory.
    let state = std::env::temp_dir().join(format!("resumable-test-state-{}", std::process::id()));
    command.env("RESUMABLE_STATE_DIR", state);
    command
}

pub fn run(command: &mut Command) -> Output {
    command.output().unwrap()
}

/// The report of a `--json` upload: its last line (`"event": "summary"`). Every line before it
/// must be an event object naming its kind and file: standard output carries nothing else.
pub fn summary(stdout: &[u8]) -> serde_json::Value {
    let all = text(stdout);
    let mut lines: Vec<serde_json::Value> = all
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}\n{all}")))
        .collect();
    let last = lines
        .pop()
        .unwrap_or_else(|| panic!("no JSON line on standard output"));
    assert_eq!(
        last["event"], "summary",
        "the last line is the summary: {all}"
    );
    for event in &lines {
        assert!(event["event"].is_string(), "an event line: {event}");
        assert_ne!(event["event"], "summary", "one summary: {all}");
    }
    last
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(u32::from(seed % 31)) as u8
                ^ seed
        })
        .collect()
}

/// The QuickXorHash of `bytes`, in base64 as Graph writes it.
pub fn quick_xor(bytes: &[u8]) -> String {
    resumable_core::digest::SourceHashes::of(bytes)
        .quick_xor_base64()
        .as_str()
        .to_owned()
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An emulator on its own runtime thread, so a test can block on child processes.
pub struct Background {
    pub emulator: EmulatorHandle,
    pub runtime: tokio::runtime::Runtime,
}

/// An emulator that keeps only sizes and hashes, with `script`'s faults and whatever
/// `configure` changes.
pub fn background(script: &str, configure: impl FnOnce(&mut EmulatorConfig)) -> Background {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let script: FaultScript = script.parse().unwrap();
    let mut config = EmulatorConfig::default()
        .with_storage(StorageMode::Discard)
        .with_script(script);
    configure(&mut config);
    let emulator = runtime.block_on(Emulator::start(config)).unwrap();
    Background { emulator, runtime }
}
