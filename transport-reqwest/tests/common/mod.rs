//! Shared by the end-to-end tests: real HTTP on loopback through the emulator.

#![allow(dead_code, unreachable_pub)]

pub mod clock;

#[allow(unused_imports)]
pub use clock::eventually;

use std::sync::Arc;
use std::time::Duration;

use resumable_core::chunk::FragmentSizing;
use resumable_core::graph::Destination;
use resumable_core::graph::{DriveItem, Target, UploadConfig};
use resumable_core::secret::Secret;
use resumable_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, FaultScript, StorageMode, StoredFile, TimeScale,
};
use resumable_reqwest::source::{BytesSource, Source};
use resumable_reqwest::{UploadJob, Uploader};
use sha2::{Digest, Sha256};

/// 320 KiB: the drive fragment unit.
pub const KIB320: u64 = 327_680;

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

/// Lowercase hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An emulator that keeps only sizes and hashes, with faults from `script`; expiries run 60
/// times faster than real time.
pub async fn emulator(script: &str) -> EmulatorHandle {
    let script: FaultScript = script.parse().expect("fault script");
    let config = EmulatorConfig::default()
        .with_storage(StorageMode::Discard)
        .with_time_scale(TimeScale::new(60.0).unwrap())
        .with_script(script);
    Emulator::start(config).await.expect("emulator starts")
}

/// An uploader with a token the emulator accepts.
pub fn uploader() -> Uploader {
    Uploader::builder()
        .token(Secret::new("test-token"))
        .build()
        .unwrap()
}

/// Retries and 404 delays short enough for tests; fragments of `fragment` bytes.
pub fn quick(config: &mut UploadConfig, fragment: u64) {
    config.fragment_size = FragmentSizing::Fixed(fragment);
    config.retry.initial_backoff = Duration::from_millis(20);
    config.retry.max_backoff = Duration::from_millis(200);
    config.session.not_found_delay = Duration::from_millis(50);
    config.seed = 7;
}

/// A drive upload of `bytes` to `name` on `emulator`, in `fragment`-byte fragments.
pub fn drive_job(
    emulator: &EmulatorHandle,
    name: &str,
    bytes: Vec<u8>,
    fragment: u64,
) -> UploadJob {
    job(
        emulator.drive_upload_session_url(name),
        Arc::new(BytesSource::new(bytes)),
        Target::DriveItem(DriveItem::new()),
        fragment,
    )
}

/// An upload of `source` to the creation URL `create_url`.
pub fn job(
    create_url: String,
    source: Arc<dyn Source>,
    target: Target,
    fragment: u64,
) -> UploadJob {
    UploadJob::shared(source, Destination::new_session(create_url), target)
        .configure(|config| quick(config, fragment))
}

/// The file the emulator stored at `path`.
pub fn stored(emulator: &EmulatorHandle, path: &str) -> StoredFile {
    emulator
        .files()
        .into_iter()
        .find(|file| file.path == path)
        .unwrap_or_else(|| panic!("nothing stored at {path}: {:?}", emulator.files()))
}

/// The number of requests of `kind` the emulator saw.
pub fn requests(emulator: &EmulatorHandle, kind: &str) -> u64 {
    emulator.stats().requests.get(kind).copied().unwrap_or(0)
}
