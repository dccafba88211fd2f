//! The lies a hostile Graph server told about the item it stored (`wrong-size`, `wrong-hash`,
//! `old-item`), as a plain client observes them over HTTP, with what the drive really holds.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use resumable_core::time::UnixTime;
use resumable_emulator::{EmulatorConfig, EmulatorHandle};
use serde_json::{Value, json};

async fn lookup(
    emulator: &EmulatorHandle,
    client: &reqwest::Client,
    path: &str,
) -> (StatusCode, Value) {
    let answer = client
        .get(format!("{}/me/drive/root:/{path}", emulator.graph_url()))
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap();
    json(answer).await
}

fn config(script: &str) -> EmulatorConfig {
    EmulatorConfig::default().with_script(script.parse().unwrap())
}

#[tokio::test]
async fn wrong_size_answers_a_size_the_stored_file_does_not_have() {
    let total = KIB320 + 10;
    let file = data(total, 71);
    // On the fragment that is not the last there is no item to lie in: not counted.
    let emulator = start(config("fragment#1=wrong-size, fragment#2=wrong-size")).await;
    let client = client();
    let url = drive_session(&emulator, &client, "size.bin", json!({})).await;
    let first = put_range(&client, &url, &file[..KIB320], 0, total)
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let (status, item) = json(
        put_range(&client, &url, &file[KIB320..], KIB320, total)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(item["size"], total + 1);
    assert_eq!(item["file"]["hashes"]["quickXorHash"], quick_xor(&file));
    // The drive holds the truth.
    assert_eq!(emulator.files()[0].size, total as u64);
    assert_eq!(
        lookup(&emulator, &client, "size.bin").await.1["size"],
        total
    );
    assert_eq!(emulator.stats().faults["wrong-size"], 1);

    // `wrong-size:0` on the commit of a deferred upload.
    let emulator = start(config("commit#1=wrong-size:0")).await;
    let url = drive_session(&emulator, &client, "zero.bin", json!({"deferCommit": true})).await;
    let small = data(700, 72);
    let all_in = put_range(&client, &url, &small, 0, 700).await.unwrap();
    assert_eq!(all_in.status(), StatusCode::ACCEPTED);
    let (status, item) = json(call(&client, Method::POST, &url).await.unwrap()).await;
    assert_eq!((status, &item["size"]), (StatusCode::CREATED, &json!(0)));
    assert_eq!(emulator.files()[0].size, 700);
    assert_eq!(emulator.stats().faults["wrong-size"], 1);
}

#[tokio::test]
async fn wrong_hash_answers_the_hashes_of_other_bytes() {
    let file = data(5000, 73);
    let zeros = vec![0u8; 5000];
    let mut config = config("fragment#1=wrong-hash");
    config.set("drive-hashes", "personal").unwrap();
    let emulator = start(config).await;
    let client = client();
    let url = drive_session(&emulator, &client, "hash.bin", json!({})).await;
    let (status, item) = json(put_range(&client, &url, &file, 0, 5000).await.unwrap()).await;
    assert_eq!((status, &item["size"]), (StatusCode::CREATED, &json!(5000)));
    let hashes = &item["file"]["hashes"];
    // Every hash reported is that of 5000 zero bytes, none is the file's.
    let (other, truth) = (
        resumable_core::digest::SourceHashes::of(&zeros),
        resumable_core::digest::SourceHashes::of(&file),
    );
    let upper_hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02X}")).collect::<String>();
    assert_eq!(hashes["quickXorHash"], quick_xor(&zeros));
    assert_eq!(hashes["sha1Hash"], upper_hex(&other.sha1.unwrap()));
    assert_eq!(hashes["crc32Hash"], upper_hex(&other.crc32.to_le_bytes()));
    assert_ne!(hashes["quickXorHash"], quick_xor(&file));
    assert_ne!(hashes["sha1Hash"], upper_hex(&truth.sha1.unwrap()));
    assert_ne!(hashes["crc32Hash"], upper_hex(&truth.crc32.to_le_bytes()));
    // The file stored and the item in the drive are the real ones.
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
    let (_, found) = lookup(&emulator, &client, "hash.bin").await;
    assert_eq!(found["file"]["hashes"]["quickXorHash"], quick_xor(&file));
    assert_eq!(emulator.stats().faults["wrong-hash"], 1);
}

#[tokio::test]
async fn old_item_loses_the_last_fragment_and_leaves_someone_elses_file_at_the_path() {
    let total = KIB320 + 4000;
    let file = data(total, 74);
    let emulator = start(config("fragment#2=old-item")).await;
    let client = client();
    let now = std::time::SystemTime::now();
    let before_create = UnixTime::from_system_time(now - std::time::Duration::from_secs(1));
    let url = drive_session(&emulator, &client, "docs/old.bin", json!({})).await;
    let first = put_range(&client, &url, &file[..KIB320], 0, total)
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    // The last fragment: read, and the connection closes without an answer.
    let error = put_range(&client, &url, &file[KIB320..], KIB320, total)
        .await
        .unwrap_err();
    assert!(!error.is_status());
    // The session is gone for every request.
    for method in [Method::GET, Method::POST, Method::DELETE] {
        let answer = call(&client, method.clone(), &url).await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{method}");
    }
    let resend = put_range(&client, &url, &file[KIB320..], KIB320, total)
        .await
        .unwrap();
    assert_eq!(resend.status(), StatusCode::NOT_FOUND);
    // Looked up by path: a file of the same size, other bytes, from before the upload began.
    let (status, found) = lookup(&emulator, &client, "docs/old.bin").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&found["name"], &found["size"]),
        (&json!("old.bin"), &json!(total))
    );
    assert_eq!(
        found["file"]["hashes"]["quickXorHash"],
        quick_xor(&vec![0; total])
    );
    assert_ne!(found["file"]["hashes"]["quickXorHash"], quick_xor(&file));
    for field in ["createdDateTime", "lastModifiedDateTime"] {
        let at = UnixTime::parse_rfc3339(found[field].as_str().unwrap()).unwrap();
        assert!(
            at < before_create,
            "{field} {at} is not older than the session"
        );
    }
    // Nothing of the upload was stored.
    assert!(emulator.files().is_empty());
    assert!(part_files(&emulator).is_empty());
    let stats = emulator.stats();
    assert_eq!(stats.faults["old-item"], 1);
    // The first fragment, the lost last one and its resend: every byte was read.
    assert_eq!(stats.bytes_received, (KIB320 + 2 * 4000) as u64);
}
