//! Measures how fast the emulator takes a drive upload over loopback, in discard mode (disk out
//! of the way) and on disk:
//!
//! ```text
//! cargo run --release -p resumable-emulator --example throughput -- 512
//! ```
//!
//! The argument is the file size in MiB (default 256); fragments are 10 MiB (32 × 320 KiB).

// A measuring program reports on standard output.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use resumable_emulator::{Emulator, EmulatorConfig, StorageMode};

const FRAGMENT: usize = 32 * 327_680;

#[tokio::main]
async fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let total = mib * 1024 * 1024;
    let fragment: Vec<u8> = (0..FRAGMENT).map(|i| (i * 31) as u8).collect();
    let fragment = bytes::Bytes::from(fragment);
    for storage in [StorageMode::Discard, StorageMode::TempDir] {
        let emulator = Emulator::start(EmulatorConfig::default().with_storage(storage.clone()))
            .await
            .expect("emulator starts");
        let client = reqwest::Client::new();
        let session: serde_json::Value = serde_json::from_str(
            &client
                .post(emulator.drive_upload_session_url("throughput.bin"))
                .header("authorization", "Bearer t")
                .send()
                .await
                .expect("create")
                .text()
                .await
                .expect("create body"),
        )
        .expect("session JSON");
        let url = session["uploadUrl"].as_str().expect("uploadUrl").to_owned();
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
                .body(fragment.slice(..len))
                .send()
                .await
                .expect("fragment");
            assert!(answer.status().is_success(), "{}", answer.status());
            sent += len;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let file = &emulator.files()[0];
        assert_eq!(file.size, total as u64);
        println!(
            "{storage:?}: {mib} MiB in {elapsed:.2} s = {:.0} MiB/s",
            mib as f64 / elapsed
        );
    }
}
