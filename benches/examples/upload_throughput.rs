//! End-to-end upload throughput on loopback, against a baseline measured in the same run.
//!
//! Both sides upload the same bytes as a drive item in 10 MiB fragments to one emulator in
//! `discard` mode (it hashes what it receives and writes nothing), in the same process:
//!
//! - **baseline**: a plain `reqwest` client PUTting each fragment from memory, one after another
//!   (no file reads, no checks, no CRCs: the best a client can do on this link);
//! - **resumable**: `resumable-reqwest`'s `Uploader` reading the file by position, with CRCs,
//!   checkpoints off, the engine deciding every request.
//!
//! ```text
//! cargo run --release -p resumable-benches --example upload_throughput -- 1024 5
//! ```
//!
//! Arguments: the file size in MiB (default 1024) and the number of rounds (default 5); rounds
//! alternate the two sides so both see the same machine load. Prints each run, the medians and
//! the median of the per-round ratios (resumable throughput over the baseline's) with its
//! smallest and largest.

// A measuring program reports on standard output.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::time::Instant;

use bytes::Bytes;
use resumable_core::chunk::FragmentSizing;
use resumable_core::graph::Destination;
use resumable_core::graph::{DriveItem, Target};
use resumable_core::secret::Secret;
use resumable_emulator::{Emulator, EmulatorConfig, EmulatorHandle, StorageMode};
use resumable_reqwest::source::FileSource;
use resumable_reqwest::{UploadJob, Uploader};

const FRAGMENT: usize = 32 * 327_680;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let total = mib << 20;
    let content = Bytes::from(sample(total));
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("sample.bin");
    std::fs::write(&path, &content).expect("write sample");
    let emulator = Emulator::start(EmulatorConfig::default().with_storage(StorageMode::Discard))
        .await
        .expect("emulator starts");
    let (mut baseline, mut resumable) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternating which goes first, so neither side always meets a warmer machine.
        let (a, b) = if round.is_multiple_of(2) {
            let a = plain_reqwest(&emulator, &content, round).await;
            (a, uploader(&emulator, &path, round).await)
        } else {
            let b = uploader(&emulator, &path, round).await;
            (plain_reqwest(&emulator, &content, round).await, b)
        };
        println!(
            "round {round}: baseline {:.0} MB/s, resumable {:.0} MB/s",
            rate(total, a),
            rate(total, b)
        );
        std::io::stdout().flush().ok();
        baseline.push(a);
        resumable.push(b);
    }
    // Each round's ratio, so a round where the machine was busy for both sides counts as one
    // pair rather than moving one median.
    let mut ratios: Vec<f64> = baseline
        .iter()
        .zip(&resumable)
        .map(|(a, b)| a / b)
        .collect();
    let (a, b) = (median(&mut baseline), median(&mut resumable));
    let ratio = median(&mut ratios);
    println!(
        "{mib} MiB, median of {rounds}: baseline {:.0} MB/s ({a:.2} s), resumable {:.0} MB/s ({b:.2} s); \
         paired ratio {ratio:.2}x (min {:.2}, max {:.2})",
        rate(total, a),
        rate(total, b),
        ratios[0],
        ratios[ratios.len() - 1],
    );
}

/// Seconds for a plain reqwest client to PUT `content` in fragments.
async fn plain_reqwest(emulator: &EmulatorHandle, content: &Bytes, round: usize) -> f64 {
    let client = reqwest::Client::new();
    let total = content.len();
    let created: serde_json::Value = client
        .post(emulator.drive_upload_session_url(&format!("baseline-{round}.bin")))
        .bearer_auth("t")
        .header("content-type", "application/json")
        .body(format!(r#"{{"item":{{"fileSize":{total}}}}}"#))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("session JSON");
    let url = created["uploadUrl"].as_str().expect("uploadUrl").to_owned();
    let started = Instant::now();
    let mut sent = 0;
    while sent < total {
        let len = FRAGMENT.min(total - sent);
        let answer = client
            .put(&url)
            .header(
                "content-range",
                format!("bytes {sent}-{}/{total}", sent + len - 1),
            )
            .body(content.slice(sent..sent + len))
            .send()
            .await
            .expect("fragment");
        assert!(answer.status().is_success(), "{}", answer.status());
        answer.bytes().await.expect("answer");
        sent += len;
    }
    started.elapsed().as_secs_f64()
}

/// Seconds for `resumable-reqwest` to upload the file.
async fn uploader(emulator: &EmulatorHandle, path: &std::path::Path, round: usize) -> f64 {
    let uploader = Uploader::builder()
        .token(Secret::new("t"))
        .build()
        .expect("uploader");
    let job = UploadJob::new(
        FileSource::open(path).expect("open sample"),
        Destination::new_session(
            emulator.drive_upload_session_url(&format!("resumable-{round}.bin")),
        ),
        Target::DriveItem(DriveItem::new()),
    )
    .configure(|c| c.fragment_size = FragmentSizing::Fixed(FRAGMENT as u64));
    let started = Instant::now();
    let summary = uploader.upload(job).await.expect("upload");
    assert_eq!(summary.stats.confirmed, summary.stats.total);
    started.elapsed().as_secs_f64()
}

fn sample(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn rate(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
