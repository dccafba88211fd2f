//! `/_emulator/files` and `/_emulator/stats` over HTTP, on disk and in discard mode.

mod common;

use common::*;
use reqwest::StatusCode;
use resumable_core::time::UnixTime;
use resumable_emulator::{EmulatorConfig, StorageMode};
use serde_json::{Value, json};

async fn get(url: &str) -> Value {
    let (status, body) = json(client().get(url).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    body
}

#[tokio::test]
async fn files_and_stats_describe_what_arrived() {
    for storage in [StorageMode::TempDir, StorageMode::Discard] {
        let discard = storage == StorageMode::Discard;
        let emulator = start(EmulatorConfig::default().with_storage(storage)).await;
        assert_eq!(emulator.storage_dir().is_none(), discard);
        let client = client();
        let file = data(KIB320 + 5, 51);
        let url = drive_session(&emulator, &client, "inspect/x.bin", json!({})).await;
        put_range(&client, &url, &file[..KIB320], 0, file.len())
            .await
            .unwrap();
        put_range(&client, &url, &file[..KIB320], 0, file.len())
            .await
            .unwrap();
        put_range(&client, &url, &file[KIB320..], KIB320, file.len())
            .await
            .unwrap();

        let files = get(&emulator.files_url()).await;
        let entry = &files[0];
        assert_eq!(entry["path"], "me/drive/root:/inspect/x.bin");
        assert_eq!(entry["size"], file.len());
        assert_eq!(entry["sha256"], sha256(&file));
        assert_eq!(entry["quick_xor_hash"], quick_xor(&file));
        assert_eq!(entry["protocol"], "graph-drive");
        assert!(UnixTime::parse_rfc3339(entry["completed_at"].as_str().unwrap()).is_ok());
        assert_eq!(entry["disk_path"].is_null(), discard);

        let stats = get(&emulator.stats_url()).await;
        assert_eq!(stats["requests"]["create-drive"], 1);
        assert_eq!(stats["requests"]["fragment"], 3);
        assert_eq!(stats["requests_total"], 4);
        assert_eq!(stats["bytes_received"], 2 * KIB320 + 5);
        assert_eq!(stats["bytes_received_twice"], KIB320);
        assert_eq!(stats["refusals"]["416"], 1);
        assert_eq!(
            (
                stats["sessions_created"].as_u64(),
                stats["files_completed"].as_u64()
            ),
            (Some(1), Some(1))
        );
        assert_eq!(stats["faults_total"], 0);
    }
}

#[tokio::test]
async fn a_directory_outlives_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let path = {
        let emulator = start(
            EmulatorConfig::default().with_storage(StorageMode::Directory(dir.path().join("up"))),
        )
        .await;
        let client = client();
        let url = drive_session(&emulator, &client, "kept.bin", json!({})).await;
        put_range(&client, &url, b"kept bytes", 0, 10)
            .await
            .unwrap();
        emulator.files()[0].disk_path.clone().unwrap()
    };
    assert!(path.starts_with(dir.path()));
    assert_eq!(std::fs::read(path).unwrap(), b"kept bytes");
}

#[tokio::test]
async fn a_temporary_directory_goes_with_the_emulator() {
    let emulator = start(EmulatorConfig::default()).await;
    let dir = emulator.storage_dir().unwrap();
    assert!(dir.exists());
    drop(emulator);
    // Removed as the server winds down, after the drop returns.
    eventually("the temporary directory is removed", || !dir.exists()).await;
}
