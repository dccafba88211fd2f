//! Workbook sessions: creation (immediate, long-running), polling, keep-alive, close, expiry.

mod common;

use std::time::Duration;

use common::clock::FrozenClock;
use common::*;
use reqwest::StatusCode;
use resumable_emulator::{EmulatorConfig, EmulatorHandle, TimeScale, WorkbookConfig};
use serde_json::{Value, json};

async fn create(
    emulator: &EmulatorHandle,
    client: &reqwest::Client,
    item: &str,
    persist: bool,
) -> String {
    let url = format!("{}/createSession", emulator.workbook_url(item));
    let (status, session) = post_json(client, &url, json!({"persistChanges": persist})).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["persistChanges"], persist);
    session["id"].as_str().unwrap().to_owned()
}

async fn session_call(
    client: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    post: bool,
) -> StatusCode {
    let mut request = if post {
        client.post(url).header("content-length", "0")
    } else {
        client.get(url)
    };
    request = request.header("authorization", TOKEN);
    if let Some(session) = session {
        request = request.header("workbook-session-id", session);
    }
    request.send().await.unwrap().status()
}

async fn poll(client: &reqwest::Client, url: &str) -> Value {
    let answer = client
        .get(url)
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap();
    let (status, body) = json(answer).await;
    assert_eq!(status, StatusCode::OK, "a poll always answers 200");
    body
}

#[tokio::test]
async fn create_use_refresh_and_close() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let workbook = emulator.workbook_url("01BOOK");
    let unauthenticated = client
        .post(format!("{workbook}/createSession"))
        .body("{\"persistChanges\":true}")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = post_json(&client, &format!("{workbook}/createSession"), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let id = create(&emulator, &client, "01BOOK", true).await;
    let sheets = format!("{workbook}/worksheets");
    assert_eq!(
        session_call(&client, &sheets, Some(&id), false).await,
        StatusCode::OK
    );
    assert_eq!(
        session_call(&client, &sheets, None, false).await,
        StatusCode::OK
    );
    assert_eq!(
        session_call(&client, &sheets, Some("bogus"), false).await,
        StatusCode::NOT_FOUND
    );
    // A session belongs to its workbook.
    let other = format!("{}/worksheets", emulator.workbook_url("01OTHER"));
    assert_eq!(
        session_call(&client, &other, Some(&id), false).await,
        StatusCode::NOT_FOUND
    );
    let refresh = format!("{workbook}/refreshSession");
    assert_eq!(
        session_call(&client, &refresh, None, true).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        session_call(&client, &refresh, Some(&id), true).await,
        StatusCode::NO_CONTENT
    );
    let close = format!("{workbook}/closeSession");
    assert_eq!(
        session_call(&client, &close, Some(&id), true).await,
        StatusCode::NO_CONTENT
    );
    let gone = client
        .post(&refresh)
        .header("authorization", TOKEN)
        .header("workbook-session-id", &id)
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    let (status, error) = json(gone).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        error["error"]["innerError"]["code"],
        "invalidSessionReCreatable"
    );
    assert_eq!(emulator.stats().requests["workbook-call"], 4);
}

#[tokio::test(start_paused = true)]
async fn sessions_expire_after_inactivity_and_refresh_keeps_them() {
    // Service time passes on tokio's clock, frozen for the test and moved only between its
    // requests: exact, and free of wall time.
    let clock = FrozenClock::hold();
    // Persistent: 5 minutes, non-persistent: 7 minutes; under ×600 that is 0.5 s and 0.7 s.
    let emulator =
        start(EmulatorConfig::default().with_time_scale(TimeScale::new(600.0).unwrap())).await;
    let client = client();
    let kept = create(&emulator, &client, "01A", true).await;
    let idle = create(&emulator, &client, "01A", true).await;
    let temporary = create(&emulator, &client, "01A", false).await;
    let refresh = format!("{}/refreshSession", emulator.workbook_url("01A"));
    for _ in 0..3 {
        clock.advance(Duration::from_millis(300)).await;
        assert_eq!(
            session_call(&client, &refresh, Some(&kept), true).await,
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        session_call(&client, &refresh, Some(&idle), true).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        session_call(&client, &refresh, Some(&temporary), true).await,
        StatusCode::NOT_FOUND
    );
    let fresh = create(&emulator, &client, "01A", false).await;
    clock.advance(Duration::from_millis(550)).await;
    // 0.55 s: a persistent session would be gone, a non-persistent one (0.7 s) is not.
    assert_eq!(
        session_call(&client, &refresh, Some(&fresh), true).await,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test(start_paused = true)]
async fn long_running_creation_is_polled_to_success() {
    // Service time passes on tokio's clock, frozen for the test and moved only between its
    // requests: exact, and free of wall time.
    let clock = FrozenClock::hold();
    let workbook = WorkbookConfig {
        creation_delay: Duration::from_secs(30),
        ..WorkbookConfig::default()
    };
    let config = EmulatorConfig {
        workbook,
        ..EmulatorConfig::default()
    }
    .with_time_scale(TimeScale::new(100.0).unwrap());
    let emulator = start(config).await;
    let client = client();
    let url = format!("{}/createSession", emulator.workbook_url("01B"));
    let answer = client
        .post(&url)
        .header("authorization", TOKEN)
        .header("prefer", "respond-async")
        .body(json!({"persistChanges": false}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/workbook/operations/"));
    assert!(answer.text().await.unwrap().is_empty());
    let mut states = vec![
        poll(&client, &location).await["status"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    let done = loop {
        clock.advance(Duration::from_millis(60)).await;
        let body = poll(&client, &location).await;
        let status = body["status"].as_str().unwrap().to_owned();
        if states.last() != Some(&status) {
            states.push(status.clone());
        }
        if status == "succeeded" {
            break body;
        }
    };
    assert_eq!(states, ["notStarted", "running", "succeeded"]);
    let resource = done["resourceLocation"].as_str().unwrap();
    let (status, info) = json(
        client
            .get(resource)
            .header("authorization", TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["persistChanges"], false);
    let id = info["id"].as_str().unwrap();
    let sheets = format!("{}/worksheets", emulator.workbook_url("01B"));
    assert_eq!(
        session_call(&client, &sheets, Some(id), false).await,
        StatusCode::OK
    );
    // Without `Prefer`, the same creation takes its 0.3 s and answers 201: the clock moves
    // while the emulator holds the answer.
    let started = tokio::time::Instant::now();
    let step = Duration::from_millis(10);
    clock
        .run(step, || true, create(&emulator, &client, "01B", true))
        .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let unknown = format!("{}/operations/nope", emulator.workbook_url("01B"));
    assert_eq!(
        client
            .get(unknown)
            .header("authorization", TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_failed_operation_still_answers_200_and_504_is_injected_on_create() {
    let workbook = WorkbookConfig {
        always_async: true,
        ..WorkbookConfig::default()
    };
    let script = "workbook-create#1=status:504, workbook-create#2=fail-operation"
        .parse()
        .unwrap();
    let emulator = start(
        EmulatorConfig {
            workbook,
            ..EmulatorConfig::default()
        }
        .with_script(script),
    )
    .await;
    let client = client();
    let url = format!("{}/createSession", emulator.workbook_url("01C"));
    let (status, _) = post_json(&client, &url, json!({"persistChanges": true})).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let answer = client
        .post(&url)
        .header("authorization", TOKEN)
        .body(json!({"persistChanges": true}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let failed = poll(&client, &location).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"]["code"].is_string());
    assert!(failed["error"]["innerError"].is_object());
    let stats = emulator.stats();
    assert_eq!(
        (stats.faults["status-504"], stats.faults["fail-operation"]),
        (1, 1)
    );
}
