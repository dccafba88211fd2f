//! Sessions nobody comes back to: they expire and are swept away with their part files without
//! any request touching them, and the number of live sessions is capped with a clear refusal.

mod common;

use std::time::Duration;

use common::clock::FrozenClock;
use common::*;
use reqwest::{Method, StatusCode};
use resumable_emulator::{EmulatorConfig, Limits, TimeScale};
use serde_json::json;

/// ×1800: a Graph session lives 0.5 s, a WOPI session 1 s, a workbook session 0.17 s.
fn fast_expiry() -> EmulatorConfig {
    EmulatorConfig::default().with_time_scale(TimeScale::new(1800.0).unwrap())
}

#[tokio::test(start_paused = true)]
async fn abandoned_sessions_are_swept_with_their_part_files() {
    // Service time passes on tokio's clock, frozen for the test and moved only between its
    // requests: exact, and free of wall time.
    let clock = FrozenClock::hold();
    let emulator = start(fast_expiry()).await;
    let client = client();
    let mail = mail_session(&emulator, &client, 2000).await;
    put_range(&client, &mail, &data(1000, 1), 0, 2000)
        .await
        .unwrap();
    let print = print_session(&emulator, &client, 2000).await;
    put_range(&client, &print, &data(1000, 2), 1000, 2000)
        .await
        .unwrap();
    let token = wopi_create(&emulator, &client, "w").await.unwrap();
    let (_, stream) = full_file_stream(&data(1000, 3));
    wopi_update(&emulator, &client, "w", &token, 0, &stream[..500]).await;
    drive_session(&emulator, &client, "never.bin", json!({})).await;
    assert_eq!(part_files(&emulator).len(), 3);
    assert_eq!(emulator.stats().sessions_live, 4);

    // Nobody touches the sessions again; the sweep alone must free them.
    clock.advance(Duration::from_millis(1600)).await;
    clock
        .until("the sweep", || emulator.stats().sessions_expired >= 4)
        .await;
    let stats = emulator.stats();
    assert_eq!(stats.sessions_live, 0);
    assert_eq!(stats.sessions_expired, 4);
    assert_eq!(part_files(&emulator), Vec::<std::path::PathBuf>::new());
    // Their URLs answer as expired sessions do.
    assert_eq!(
        call(&client, Method::GET, &mail).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(start_paused = true)]
async fn creates_beyond_the_session_cap_answer_503_until_a_session_goes() {
    // Service time passes on tokio's clock, frozen for the test and moved only between its
    // requests: exact, and free of wall time.
    let clock = FrozenClock::hold();
    let config = EmulatorConfig {
        limits: Limits {
            max_live_sessions: 2,
            ..Limits::default()
        },
        ..fast_expiry()
    };
    let emulator = start(config).await;
    let client = client();
    let first = drive_session(&emulator, &client, "a.bin", json!({})).await;
    let token = wopi_create(&emulator, &client, "w").await.unwrap();

    let (status, body) = post_json(
        &client,
        &emulator.drive_upload_session_url("b.bin"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "serviceNotAvailable");
    let refused = client
        .post(emulator.drive_upload_session_url("b.bin"))
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap();
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // The first session expires within 0.5 s: retry in a second.
    assert_eq!(retry_after, 1);
    assert_eq!(
        wopi_create(&emulator, &client, "w2").await,
        Err(StatusCode::SERVICE_UNAVAILABLE)
    );
    let workbook = post_json(
        &client,
        &format!("{}/createSession", emulator.workbook_url("01BOOK")),
        json!({"persistChanges": true}),
    )
    .await;
    assert_eq!(workbook.0, StatusCode::SERVICE_UNAVAILABLE);

    // A cancelled session gives its slot back at once.
    assert_eq!(
        call(&client, Method::DELETE, &first)
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let second = drive_session(&emulator, &client, "b.bin", json!({})).await;
    assert_ne!(second, first);
    // Expired sessions give theirs back once swept, whoever touches them or not.
    clock.advance(Duration::from_millis(1600)).await;
    clock
        .until("the sweep", || emulator.stats().sessions_live == 0)
        .await;
    assert_eq!(emulator.stats().sessions_live, 0);
    drive_session(&emulator, &client, "c.bin", json!({})).await;
    wopi_create(&emulator, &client, "w3").await.unwrap();
    assert_eq!(
        wopi_update(&emulator, &client, "w", &token, 0, b"x")
            .await
            .status(),
        StatusCode::GONE
    );
}

#[tokio::test]
async fn sessions_that_live_practically_forever_do_not_overflow_the_clock() {
    let mut config = EmulatorConfig::default().with_time_scale(TimeScale::SLOWEST);
    config.graph.session_lifetime = Duration::MAX;
    config.wopi.session_idle = Duration::MAX;
    config.workbook.persistent_idle = Duration::MAX;
    config.workbook.non_persistent_idle = Duration::MAX;
    let emulator = start(config).await;
    let client = client();
    let (status, session) = post_json(
        &client,
        &emulator.drive_upload_session_url("forever.bin"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The expiry is written as a real date, however far.
    let expiry = session["expirationDateTime"].as_str().unwrap();
    resumable_core::time::UnixTime::parse_rfc3339(expiry).unwrap();
    let url = session["uploadUrl"].as_str().unwrap();
    let answer = put_range(&client, url, &data(KIB320, 1), 0, 2 * KIB320)
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let token = wopi_create(&emulator, &client, "w").await.unwrap();
    let (_, stream) = full_file_stream(b"abc");
    let answer = wopi_update(&emulator, &client, "w", &token, 0, &stream).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let (status, _) = post_json(
        &client,
        &format!("{}/createSession", emulator.workbook_url("01BOOK")),
        json!({"persistChanges": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(emulator.stats().sessions_live, 3);
}
