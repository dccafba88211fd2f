//! Upload one file into a Graph upload session, with progress, and check the stored copy.
//!
//! Against a real OneDrive, pass the `createUploadSession` URL and a token; here it goes to the
//! emulator (started in the example), so it runs anywhere:
//!
//! ```sh
//! cargo run -p resumable-reqwest --example upload_file
//! ```

// An example shows what it does on standard output.
#![allow(clippy::print_stdout)]

use futures::StreamExt;
use resumable_core::graph::{Destination, DriveItem, Event, Target};
use resumable_core::secret::Secret;
use resumable_emulator::{Emulator, EmulatorConfig, StorageMode};
use resumable_reqwest::source::FileSource;
use resumable_reqwest::{UploadJob, Uploader};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Uploads a 5 MiB file and returns the SHA-256 the service stored, with the local one.
async fn run() -> Result<(String, String)> {
    let emulator =
        Emulator::start(EmulatorConfig::default().with_storage(StorageMode::Discard)).await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("report.bin");
    let bytes: Vec<u8> = (0..5u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes)?;

    let uploader = Uploader::builder().token(Secret::new("a-token")).build()?;
    let job = UploadJob::new(
        FileSource::open(&path)?,
        Destination::new_session(emulator.drive_upload_session_url("docs/report.bin")),
        Target::DriveItem(DriveItem::new()),
    );
    let mut task = uploader.start(job).await?;
    while let Some(event) = task.next().await {
        if let Event::Acknowledged {
            confirmed, total, ..
        } = event
        {
            println!("{confirmed} of {total} bytes confirmed");
        }
    }
    let summary = task.finish().await?;
    println!("stored ({})", summary.completion.verification);
    let stored = emulator.files().pop().ok_or("nothing stored")?.sha256;
    let local = sha256_hex(&bytes);
    Ok((stored, local))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::main]
async fn main() -> Result<()> {
    let (stored, local) = run().await?;
    println!("stored SHA-256 {stored}\nlocal  SHA-256 {local}");
    Ok(())
}

#[tokio::test]
async fn the_example_stores_the_file() {
    let (stored, local) = run().await.unwrap();
    assert_eq!(stored, local);
}
