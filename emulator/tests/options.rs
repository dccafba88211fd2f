//! Behaviours reachable only through settings, set by name as `resumable emulator serve` flags
//! are ([`EmulatorConfig::set`]), and observed over HTTP.

mod common;

use std::time::Duration;

use common::clock::FrozenClock;
use common::*;
use reqwest::StatusCode;
use resumable_emulator::{EmulatorConfig, OPTIONS};
use serde_json::json;
use sha1::Digest;

fn config_from_flags(flags: &[(&str, &str)]) -> EmulatorConfig {
    let mut config = EmulatorConfig::default();
    for (name, value) in flags {
        config
            .set(name, value)
            .unwrap_or_else(|e| panic!("--{name} {value}: {e}"));
    }
    config
}

#[tokio::test]
async fn tokens_range_form_and_a_host_without_upload_sessions_are_settable() {
    let emulator = start(config_from_flags(&[
        ("bearer-token", "test-token"),
        ("wopi-access-token", "wopi-secret"),
        ("wopi-upload-sessions", "false"),
        ("drive-range-form", "closed"),
    ]))
    .await;
    let client = client();
    let create = emulator.drive_upload_session_url("c.bin");
    let wrong = client
        .post(&create)
        .header("authorization", "Bearer other-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // `TOKEN` is `Bearer test-token`: the configured one.
    let total = 2 * KIB320;
    let url = drive_session(
        &emulator,
        &client,
        "c.bin",
        json!({"item": {"fileSize": total}}),
    )
    .await;
    let (status, progress) = json(
        put_range(&client, &url, &data(KIB320, 1), 0, total)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        progress["nextExpectedRanges"],
        json!([format!("{KIB320}-{}", total - 1)])
    );

    let wopi = |token: &str| {
        client
            .post(format!(
                "{}?access_token={token}",
                emulator.wopi_file_url("f")
            ))
            .header("x-wopi-override", "CREATE_UPLOAD_SESSION")
            .send()
    };
    assert_eq!(wopi("t").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wopi("wopi-secret").await.unwrap().status(),
        StatusCode::NOT_IMPLEMENTED
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_always_asynchronous_workbook_creation_is_settable() {
    // Service time passes on tokio's clock, frozen for the test and moved only between its
    // requests: exact, and free of wall time.
    let clock = FrozenClock::hold();
    let emulator = start(config_from_flags(&[
        ("workbook-creation-delay", "10s"),
        ("workbook-always-async", "true"),
        ("time-scale", "50"),
    ]))
    .await;
    let client = client();
    let (status, _) = post_json(
        &client,
        &format!("{}/createSession", emulator.workbook_url("01BOOK")),
        json!({"persistChanges": false}),
    )
    .await;
    // No `Prefer: respond-async`, yet an operation to poll.
    assert_eq!(status, StatusCode::ACCEPTED);
    let answer = client
        .post(format!("{}/createSession", emulator.workbook_url("01BOOK")))
        .header("authorization", TOKEN)
        .body(json!({"persistChanges": true}).to_string())
        .send()
        .await
        .unwrap();
    let operation = answer.headers()["location"].to_str().unwrap().to_owned();
    let poll = || async {
        let answer = client
            .get(&operation)
            .header("authorization", TOKEN)
            .send()
            .await
            .unwrap();
        json(answer).await.1["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(poll().await, "notStarted");
    // 10 service seconds at x50: 200 ms.
    clock.advance(Duration::from_millis(300)).await;
    assert_eq!(poll().await, "succeeded");
}

#[tokio::test]
async fn personal_drive_items_report_sha1_and_crc32_besides_the_quick_xor_hash() {
    let client = client();
    let file = data(KIB320 + 77, 9);
    for (flags, personal) in [(vec![], false), (vec![("drive-hashes", "personal")], true)] {
        let emulator = start(config_from_flags(&flags)).await;
        let url = drive_session(&emulator, &client, "h.bin", json!({})).await;
        put_range(&client, &url, &file[..KIB320], 0, file.len())
            .await
            .unwrap();
        let (status, item) = json(
            put_range(&client, &url, &file[KIB320..], KIB320, file.len())
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let hashes = &item["file"]["hashes"];
        assert_eq!(hashes["quickXorHash"], quick_xor(&file));
        assert!(hashes.get("sha256Hash").is_none(), "{hashes}");
        if !personal {
            assert_eq!(hashes.as_object().unwrap().len(), 1, "{hashes}");
            continue;
        }
        let sha1: String = sha1::Sha1::digest(&file)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let crc: String = crc32fast::hash(&file)
            .to_le_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(
            (&hashes["sha1Hash"], &hashes["crc32Hash"]),
            (&json!(sha1), &json!(crc))
        );
    }
}

#[test]
fn every_listed_option_is_settable() {
    for option in OPTIONS {
        let mut config = EmulatorConfig::default();
        config
            .set(&format!("--{}", option.name), option.example)
            .unwrap_or_else(|e| panic!("--{} {}: {e}", option.name, option.example));
    }
}
