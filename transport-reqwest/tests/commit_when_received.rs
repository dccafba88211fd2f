//! `UploadJob::commit_when_received`: the transport commits a deferred upload by itself as soon
//! as every byte is in, and the upload ends with the committed item.

use std::time::Duration;

use resumable_core::chunk::FragmentSizing;
use resumable_core::graph::Destination;
use resumable_core::graph::{DriveItem, Target};
use resumable_core::secret::Secret;
use resumable_emulator::{Emulator, EmulatorConfig, StorageMode};
use resumable_reqwest::source::BytesSource;
use resumable_reqwest::{UploadJob, Uploader};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn a_deferred_upload_commits_itself_once_every_byte_is_in() {
    let config = EmulatorConfig::default().with_storage(StorageMode::Discard);
    let emulator = Emulator::start(config).await.unwrap();
    let bytes: Vec<u8> = (0..2 * 327_680 + 9).map(|i| (i % 251) as u8).collect();
    let job = UploadJob::new(
        BytesSource::new(bytes.clone()),
        Destination::new_session(emulator.drive_upload_session_url("self.bin")),
        Target::DriveItem(DriveItem::new().deferred()),
    )
    .configure(|config| config.fragment_size = FragmentSizing::Fixed(327_680))
    .commit_when_received();
    let uploader = Uploader::builder().token(Secret::new("t")).build().unwrap();
    // Nothing else wakes the upload once the last fragment is answered: a commit that is not
    // sent then is never sent, and the upload hangs.
    let summary = tokio::time::timeout(Duration::from_secs(30), uploader.upload(job))
        .await
        .expect("the commit was never sent")
        .unwrap();
    assert_eq!(summary.completion.status, 201);
    let stats = emulator.stats();
    assert_eq!(stats.requests.get("commit"), Some(&1));
    assert_eq!(stats.requests.get("fragment"), Some(&3));
    let files = emulator.files();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "me/drive/root:/self.bin");
    let expected: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(files[0].sha256, expected);
}
