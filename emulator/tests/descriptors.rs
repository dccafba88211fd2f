//! Sessions cost no file descriptors while nobody uploads to them: thousands of idle or
//! abandoned sessions must not exhaust the process's descriptors (a server that runs out answers
//! `500 Too many open files` and cannot even accept connections).
//!
//! Alone in its test binary so no other test's sockets move the count.

#![cfg(target_os = "linux")]

mod common;

use common::*;
use reqwest::StatusCode;
use resumable_emulator::EmulatorConfig;
use serde_json::json;

/// Descriptors the process has open now.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[tokio::test]
async fn idle_sessions_hold_no_file_descriptors() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let before = open_descriptors();
    let per_kind = 65;
    for i in 0..per_kind {
        drive_session(&emulator, &client, &format!("d{i}.bin"), json!({})).await;

        let mail = mail_session(&emulator, &client, 2000).await;
        let answer = put_range(&client, &mail, &data(1000, 1), 0, 2000)
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);

        let print = print_session(&emulator, &client, 2000).await;
        let answer = put_range(&client, &print, &data(1000, 2), 1000, 2000)
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::ACCEPTED);

        let file = format!("w{i}");
        let token = wopi_create(&emulator, &client, &file).await.unwrap();
        let (_, stream) = full_file_stream(&data(1000, 3));
        let answer = wopi_update(&emulator, &client, &file, &token, 0, &stream[..500]).await;
        assert_eq!(answer.status(), StatusCode::OK);
    }
    // old: no sessions_live
    // Each session with bytes has a part file, but none of them is held open.
    // old
    let after = open_descriptors();
    assert!(
        after < before + 20,
        "{} sessions left {} more descriptors open",
        4 * per_kind,
        after.saturating_sub(before)
    );
}
