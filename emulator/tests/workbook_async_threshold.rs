//! `Prefer: respond-async` on workbook creation: the service may still answer `201` directly
//! (SPEC 3). The emulator does so when the creation takes less than its async threshold, and
//! answers `202` with an operation from the threshold on.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::StatusCode;
use resumable_emulator::{EmulatorConfig, EmulatorHandle, WorkbookConfig};
use serde_json::json;

async fn emulator_with(creation_delay: Duration, async_threshold: Duration) -> EmulatorHandle {
    let workbook = WorkbookConfig {
        creation_delay,
        async_threshold,
        ..WorkbookConfig::default()
    };
    start(EmulatorConfig {
        workbook,
        ..EmulatorConfig::default()
    })
    .await
}

/// `createSession` with `Prefer: respond-async`: the answer and how long it took.
async fn create_async(emulator: &EmulatorHandle, item: &str) -> (reqwest::Response, Duration) {
    let url = format!("{}/createSession", emulator.workbook_url(item));
    let started = Instant::now();
    let answer = client()
        .post(&url)
        .header("authorization", TOKEN)
        .header("prefer", "respond-async")
        .body(json!({"persistChanges": true}).to_string())
        .send()
        .await
        .unwrap();
    (answer, started.elapsed())
}

#[tokio::test]
async fn a_creation_below_the_threshold_answers_201_after_its_delay() {
    let delay = Duration::from_millis(300);
    let emulator = emulator_with(delay, Duration::from_secs(5)).await;
    let (answer, took) = create_async(&emulator, "01SHORT").await;
    assert_eq!(answer.status(), StatusCode::CREATED);
    assert!(answer.headers().get("location").is_none());
    assert!(
        took >= delay,
        "answered after {took:?}, before the creation delay"
    );
    let (_, session) = json(answer).await;
    assert_eq!(session["persistChanges"], true);
    let id = session["id"].as_str().expect("a session id").to_owned();
    // The session is usable at once: no operation stands between the client and it.
    let worksheets = client()
        .get(format!("{}/worksheets", emulator.workbook_url("01SHORT")))
        .header("authorization", TOKEN)
        .header("workbook-session-id", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(worksheets.status(), StatusCode::OK);
    assert_eq!(emulator.stats().sessions_created, 1);
}

#[tokio::test]
async fn a_creation_at_the_threshold_answers_202_with_an_operation() {
    let threshold = Duration::from_millis(200);
    let emulator = emulator_with(threshold, threshold).await;
    let (answer, took) = create_async(&emulator, "01LONG").await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/v1.0/"), "{location}");
    assert!(location.contains("/workbook/operations/"), "{location}");
    assert!(
        took < threshold,
        "a 202 answers at once, not after the creation ({took:?})"
    );
}
