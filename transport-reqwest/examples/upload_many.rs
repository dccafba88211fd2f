//! Upload several files at once, at most two at a time, and report each one.
//!
//! ```sh
//! cargo run -p resumable-reqwest --example upload_many
//! ```

// An example shows what it does on standard output.
#![allow(clippy::print_stdout)]

use resumable_core::graph::{Destination, DriveItem, Target};
use resumable_core::secret::Secret;
use resumable_emulator::{Emulator, EmulatorConfig, StorageMode};
use resumable_reqwest::source::BytesSource;
use resumable_reqwest::{UploadJob, Uploader};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Uploads five files of different sizes, two at a time; answers how many completed and how
/// many the service stored.
async fn run() -> Result<(usize, usize)> {
    let emulator =
        Emulator::start(EmulatorConfig::default().with_storage(StorageMode::Discard)).await?;
    let uploader = Uploader::builder().token(Secret::new("a-token")).build()?;
    let jobs = (1..=5u32).map(|n| {
        let bytes = vec![n as u8; (n as usize) * 700_000];
        UploadJob::new(
            BytesSource::new(bytes),
            Destination::new_session(emulator.drive_upload_session_url(&format!("many/{n}.bin"))),
            Target::DriveItem(DriveItem::new()),
        )
    });
    let outcomes = uploader.upload_many(jobs, 2).await;
    let mut completed = 0;
    for (n, outcome) in (1..).zip(&outcomes) {
        match outcome {
            Ok(summary) => {
                completed += 1;
                println!(
                    "{n}.bin: {} bytes in {:.2} s",
                    summary.stats.total,
                    summary.stats.elapsed.as_secs_f64()
                );
            }
            Err(failure) => println!("{n}.bin: {failure}"),
        }
    }
    Ok((completed, emulator.files().len()))
}

#[tokio::main]
async fn main() -> Result<()> {
    let (completed, stored) = run().await?;
    println!("{completed} uploads completed, {stored} files stored");
    Ok(())
}

#[tokio::test]
async fn the_example_uploads_every_file() {
    assert_eq!(run().await.unwrap(), (5, 5));
}
