//! What every scenario needs: an emulator on a runtime of its own, source files, hashes.

use std::path::PathBuf;
use std::time::Duration;

use resumable_core::chunk::FragmentSizing;
use resumable_core::graph::UploadConfig;
use resumable_core::wopi::WopiConfig;
use resumable_emulator::{Emulator, EmulatorConfig, EmulatorHandle, StatsSnapshot, StoredFile};
use sha2::{Digest, Sha256};

/// 320 KiB: the drive fragment unit.
pub const KIB320: u64 = 327_680;

/// An emulator serving on a tokio runtime of its own, and a directory for sources and
/// checkpoints. A blocking transport calls it from the test's thread; an async one runs on
/// [`Env::runtime`].
pub struct Env {
    // Dropped before the runtime it serves on.
    emulator: EmulatorHandle,
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
}

impl Env {
    /// An emulator with `config`.
    pub fn new(config: EmulatorConfig) -> Env {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let emulator = runtime
            .block_on(Emulator::start(config))
            .expect("the emulator starts");
        Env {
            emulator,
            runtime,
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// An emulator that keeps sizes and hashes only, with faults from `script` (see the
    /// emulator's `FaultScript`), its clock 60 times faster.
    pub fn with_script(script: &str) -> Env {
        Env::new(
            EmulatorConfig::default()
                .with_storage(resumable_emulator::StorageMode::Discard)
                .with_time_scale(resumable_emulator::TimeScale::new(60.0).expect("a scale"))
                .with_script(script.parse().expect("a fault script")),
        )
    }

    /// The emulator.
    pub fn emulator(&self) -> &EmulatorHandle {
        &self.emulator
    }

    /// The runtime the emulator serves on, for async transports.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// Writes `bytes` to the file `name` in the scenario's directory.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("the source file is written");
        path
    }

    /// A path for a checkpoint called `name` in the scenario's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// What the emulator stored at `path`.
    pub fn stored(&self, path: &str) -> Option<StoredFile> {
        self.emulator
            .files()
            .into_iter()
            .find(|file| file.path == path)
    }

    /// The emulator's counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.emulator.stats()
    }

    /// Requests of `kind` the emulator saw.
    pub fn requests(&self, kind: &str) -> u64 {
        self.stats().requests.get(kind).copied().unwrap_or(0)
    }
}

/// Deterministic bytes that differ from seed to seed.
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

/// `len` pseudo-random bytes (xorshift) from `seed`: incompressible, unlike [`data`].
pub fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The SHA-256 of `bytes`, in lower-case hex.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The suite's Graph settings: `fragment`-byte fragments, retries and 404 delays short enough
/// for tests, a fixed seed. Every transport applies them.
pub fn quick_graph(config: &mut UploadConfig, fragment: u64) {
    config.fragment_size = FragmentSizing::Fixed(fragment);
    config.retry.initial_backoff = Duration::from_millis(20);
    config.retry.max_backoff = Duration::from_millis(200);
    config.session.not_found_delay = Duration::from_millis(50);
    config.seed = 7;
}

/// The suite's WOPI settings: `range`-byte ranges, short retries, a fixed seed.
pub fn quick_wopi(config: &mut WopiConfig, range: u64) {
    config.range_size = FragmentSizing::Fixed(range);
    config.retry.initial_backoff = Duration::from_millis(20);
    config.retry.max_backoff = Duration::from_millis(200);
    config.seed = 11;
}
