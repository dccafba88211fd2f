//! The lies a hostile Graph server told about fragments (`premature-item`, `skip-ahead`,
//! `regress`, `empty-accept`), as a plain client observes them over HTTP, with what the server
//! really holds when asked again.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use resumable_emulator::{EmulatorConfig, EmulatorHandle};
use serde_json::{Value, json};

/// An emulator with `script`, a drive session for `name` on it and the client.
async fn scripted(script: &str, name: &str) -> (EmulatorHandle, reqwest::Client, String) {
    let emulator = start(EmulatorConfig::default().with_script(script.parse().unwrap())).await;
    let client = client();
    let url = drive_session(&emulator, &client, name, json!({})).await;
    (emulator, client, url)
}

async fn status_of(client: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    json(call(client, Method::GET, url).await.unwrap()).await
}

async fn lookup(emulator: &EmulatorHandle, client: &reqwest::Client, path: &str) -> StatusCode {
    client
        .get(format!("{}/me/drive/root:/{path}", emulator.graph_url()))
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn premature_item_answers_a_finished_item_for_a_fragment_that_is_not_the_last() {
    let total = 3 * KIB320;
    let file = data(total, 61);
    let (emulator, client, url) = scripted("fragment#1=premature-item", "early.bin").await;
    let (status, item) = json(
        put_range(&client, &url, &file[..KIB320], 0, total)
            .await
            .unwrap(),
    )
    .await;
    // A drive item as if the upload were done: the whole size, the hash of what was stored.
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&item["name"], &item["size"]),
        (&json!("early.bin"), &json!(total))
    );
    assert!(item["id"].is_string() && item["eTag"].is_string());
    assert_eq!(
        item["file"]["hashes"]["quickXorHash"],
        quick_xor(&file[..KIB320])
    );
    // Nothing was committed: the session is alive at its true position, the name is free.
    let (status, progress) = status_of(&client, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        progress["nextExpectedRanges"],
        json!([format!("{KIB320}-")])
    );
    assert!(emulator.files().is_empty());
    assert_eq!(
        lookup(&emulator, &client, "early.bin").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(emulator.stats().faults["premature-item"], 1);
    // A client that does not believe it finishes the upload.
    let rest = put_range(&client, &url, &file[KIB320..2 * KIB320], KIB320, total)
        .await
        .unwrap();
    assert_eq!(rest.status(), StatusCode::ACCEPTED);
    let last = put_range(&client, &url, &file[2 * KIB320..], 2 * KIB320, total)
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));

    // On the last fragment there is nothing to lie about: the truth, and nothing counted.
    let (emulator, client, url) = scripted("fragment#1=premature-item", "one.bin").await;
    let small = data(1000, 62);
    let (status, item) = json(put_range(&client, &url, &small, 0, 1000).await.unwrap()).await;
    assert_eq!((status, &item["size"]), (StatusCode::CREATED, &json!(1000)));
    assert_eq!(emulator.files().len(), 1);
    assert_eq!(emulator.stats().faults_total, 0);
}

#[tokio::test]
async fn premature_item_on_a_print_document_answers_the_whole_document() {
    let script = "fragment#1=premature-item".parse().unwrap();
    let emulator = start(EmulatorConfig::default().with_script(script)).await;
    let client = client();
    let url = print_session(&emulator, &client, 5000).await;
    let file = data(5000, 63);
    let (status, document) = json(
        put_range(&client, &url, &file[..2000], 0, 5000)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &document["size"]),
        (StatusCode::CREATED, &json!(5000))
    );
    let (_, progress) = status_of(&client, &url).await;
    assert_eq!(progress["nextExpectedRanges"], json!(["2000-4999"]));
    assert!(emulator.files().is_empty());
}

#[tokio::test]
async fn skip_ahead_claims_bytes_that_were_never_sent() {
    let total = 4 * KIB320;
    let file = data(total, 64);
    let (emulator, client, url) = scripted(
        "fragment#1=skip-ahead, fragment#3=skip-ahead:1000000000",
        "skip.bin",
    )
    .await;
    let (status, progress) = json(
        put_range(&client, &url, &file[..KIB320], 0, total)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // The next 320 KiB were never sent, yet the server claims them.
    assert_eq!(
        progress["nextExpectedRanges"],
        json!([format!("{}-", 2 * KIB320)])
    );
    // Asked again, the server tells the truth; a client that believed it is refused.
    let (_, truth) = status_of(&client, &url).await;
    assert_eq!(truth["nextExpectedRanges"], json!([format!("{KIB320}-")]));
    let believer = put_range(
        &client,
        &url,
        &file[2 * KIB320..3 * KIB320],
        2 * KIB320,
        total,
    )
    .await
    .unwrap();
    assert_eq!(believer.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // A larger claim stops at the last byte, which is still a lie.
    let (_, progress) = json(
        put_range(&client, &url, &file[KIB320..2 * KIB320], KIB320, total)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        progress["nextExpectedRanges"],
        json!([format!("{}-", total - 1)])
    );
    let mut at = 2 * KIB320;
    while at < total {
        let end = at + KIB320;
        let answer = put_range(&client, &url, &file[at..end], at, total)
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        at = end;
    }
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
    let stats = emulator.stats();
    assert_eq!(stats.faults["skip-ahead"], 2);
    assert_eq!(stats.refusals["416"], 1);
}

#[tokio::test]
async fn regress_on_every_third_fragment_never_lets_an_upload_end() {
    let total = 4 * KIB320;
    let file = data(total, 65);
    let (emulator, client, url) = scripted("fragment#3/3=regress", "endless.bin").await;
    // A client that trusts the server's ranges: it never gets past the third fragment.
    let mut regressions = 0;
    for sent in 1..=12 {
        let (_, before) = status_of(&client, &url).await;
        let at = next_start(&before).unwrap() as usize;
        let end = (at + KIB320).min(total);
        let (status, progress) = json(
            put_range(&client, &url, &file[at..end], at, total)
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "fragment {sent}");
        if sent % 3 == 0 {
            assert_eq!(at, 2 * KIB320);
            assert_eq!(
                progress["nextExpectedRanges"],
                json!(["0-"]),
                "fragment {sent}"
            );
            regressions += 1;
            // Forgotten for real: the server asks from the start, and its part file is empty.
            let (_, truth) = status_of(&client, &url).await;
            assert_eq!(truth["nextExpectedRanges"], json!(["0-"]));
            let parts = part_files(&emulator);
            assert_eq!(parts.len(), 1);
            assert_eq!(std::fs::metadata(&parts[0]).unwrap().len(), 0);
        }
    }
    assert_eq!(regressions, 4);
    assert!(emulator.files().is_empty());
    assert_eq!(emulator.stats().faults["regress"], 4);
}

#[tokio::test]
async fn empty_accept_leaves_a_finished_upload_waiting_for_a_commit_it_was_not_told_of() {
    let total = KIB320 + 500;
    let file = data(total, 66);
    let (emulator, client, url) = scripted("fragment#2=empty-accept", "quiet.bin").await;
    put_range(&client, &url, &file[..KIB320], 0, total)
        .await
        .unwrap();
    let (status, answer) = json(
        put_range(&client, &url, &file[KIB320..], KIB320, total)
            .await
            .unwrap(),
    )
    .await;
    // No deferCommit was asked for, yet: 202, nothing missing, no item.
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["nextExpectedRanges"], json!([]));
    assert!(answer.get("id").is_none());
    assert!(emulator.files().is_empty());
    assert_eq!(
        lookup(&emulator, &client, "quiet.bin").await,
        StatusCode::NOT_FOUND
    );
    let (status, waiting) = status_of(&client, &url).await;
    assert_eq!(
        (status, &waiting["nextExpectedRanges"]),
        (StatusCode::OK, &json!([]))
    );
    // The commit a deferred upload takes creates the file.
    let (status, item) = json(call(&client, Method::POST, &url).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(item["file"]["hashes"]["quickXorHash"], quick_xor(&file));
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
    assert_eq!(emulator.stats().faults["empty-accept"], 1);
}
