//! The uploader's bandwidth limit over real HTTP: an upload under a limit takes at least as long
//! as the limit says, and concurrent uploads share one limit.

mod common;

use std::time::{Duration, Instant};

use resumable_core::secret::Secret;
use resumable_reqwest::{RateLimit, Uploader};

use common::*;

const MIB: u64 = 1 << 20;

/// What may go faster than the rate: the burst the bucket holds (50 ms of the rate), plus
/// scheduling slack.
const ALLOWANCE: Duration = Duration::from_millis(150);

fn limited(limit: impl Into<RateLimit>) -> Uploader {
    Uploader::builder()
        .token(Secret::new("test-token"))
        .rate_limit(limit)
        .build()
        .unwrap()
}

/// Uploads `files` files of `size` bytes at once under one uploader limited to `rate`, checks
/// every stored copy, and returns how long it took.
async fn upload_under(rate: u64, files: usize, size: u64) -> Duration {
    let emulator = emulator("").await;
    let uploader = limited(rate);
    let contents: Vec<Vec<u8>> = (0..files)
        .map(|i| data(size as usize, i as u8 + 3))
        .collect();
    let jobs = contents.iter().enumerate().map(|(i, bytes)| {
        drive_job(
            &emulator,
            &format!("limited-{i}.bin"),
            bytes.clone(),
            8 * KIB320,
        )
    });
    let started = Instant::now();
    let outcomes = uploader.upload_many(jobs, files).await;
    let elapsed = started.elapsed();
    for (i, (outcome, bytes)) in outcomes.into_iter().zip(&contents).enumerate() {
        outcome.unwrap_or_else(|e| panic!("{e}"));
        let path = format!("me/drive/root:/limited-{i}.bin");
        assert_eq!(stored(&emulator, &path).sha256, sha256(bytes));
    }
    let total = size * files as u64;
    // Printed for whoever measures the limit (`cargo test -- --nocapture`).
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "{files} × {} MiB under {} MiB/s: {:.2} s, {:.3} MiB/s",
            size / MIB,
            rate as f64 / MIB as f64,
            elapsed.as_secs_f64(),
            total as f64 / MIB as f64 / elapsed.as_secs_f64()
        );
    }
    elapsed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_goes_no_faster_than_the_limit() {
    let (rate, size) = (2 * MIB, 8 * MIB);
    let elapsed = upload_under(rate, 1, size).await;
    let floor = Duration::from_secs_f64(size as f64 / rate as f64) - ALLOWANCE;
    assert!(elapsed >= floor, "{elapsed:?} < {floor:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_share_the_limit() {
    let (rate, size, files) = (8 * MIB, 8 * MIB, 2);
    let elapsed = upload_under(rate, files, size).await;
    let total = size * files as u64;
    let floor = Duration::from_secs_f64(total as f64 / rate as f64) - ALLOWANCE;
    assert!(
        elapsed >= floor,
        "{elapsed:?} < {floor:?}: the uploads did not share the limit"
    );
}
