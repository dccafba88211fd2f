//! Resume after a crash: an upload stopped partway (as a killed process would leave it) goes on
//! from its checkpoint in a second run, sending only what the service lacks.
//!
//! ```sh
//! cargo run -p resumable-reqwest --example resume_after_crash
//! ```

// An example shows what it does on standard output.
#![allow(clippy::print_stdout)]

use futures::StreamExt;
use resumable_core::graph::{Destination, DriveItem, Event, Target};
use resumable_core::secret::Secret;
use resumable_core::session::Resumption;
use resumable_emulator::{Emulator, EmulatorConfig, StorageMode};
use resumable_reqwest::source::BytesSource;
use resumable_reqwest::{FailureCause, FileCheckpointStore, UploadJob, Uploader};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Runs the two halves; answers how the second began and the bytes it sent.
async fn run() -> Result<(Resumption, u64, u64)> {
    let emulator =
        Emulator::start(EmulatorConfig::default().with_storage(StorageMode::Discard)).await?;
    let dir = tempfile::tempdir()?;
    let store = FileCheckpointStore::new(dir.path().join("video.checkpoint"));
    let bytes = vec![7u8; 8 << 20];
    let uploader = Uploader::builder().token(Secret::new("a-token")).build()?;
    let job = || {
        UploadJob::new(
            BytesSource::new(bytes.clone()),
            Destination::new_session(emulator.drive_upload_session_url("video.bin")),
            Target::DriveItem(DriveItem::new()),
        )
        .configure(|config| {
            config.fragment_size = resumable_core::chunk::FragmentSizing::Fixed(327_680 * 4)
        })
        .checkpoint(store.clone())
    };

    // The first run stops after 3 MiB are confirmed, keeping its session and checkpoint.
    let mut task = uploader.start(job()).await?;
    while let Some(event) = task.next().await {
        if let Event::Acknowledged { confirmed, .. } = event
            && confirmed >= 3 << 20
        {
            task.stop();
        }
    }
    match task.finish().await {
        Err(failure) if matches!(failure.cause, FailureCause::Stopped) => {}
        other => return Err(format!("expected a stop, got {other:?}").into()),
    }
    println!("stopped; checkpoint kept at {}", store.path().display());

    // The second run (another process, after a crash) resumes from the checkpoint.
    let summary = uploader.upload(job()).await?;
    println!(
        "{}; sent {} bytes this time",
        summary.resumption, summary.stats.bytes_sent
    );
    Ok((
        summary.resumption,
        summary.stats.bytes_sent,
        bytes.len() as u64,
    ))
}

#[tokio::main]
async fn main() -> Result<()> {
    run().await?;
    Ok(())
}

#[tokio::test]
async fn the_example_resumes_and_sends_only_the_rest() {
    let (resumption, sent, total) = run().await.unwrap();
    assert!(
        matches!(resumption, Resumption::Resumed { .. }),
        "{resumption:?}"
    );
    assert!(sent < total, "sent {sent} of {total}");
}
