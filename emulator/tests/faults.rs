//! Every fault kind, as a plain client observes it, and its counter in `/_emulator/stats`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::{Method, StatusCode};
use resumable_core::time::UnixTime;
use resumable_emulator::{EmulatorConfig, EmulatorHandle, FaultProfile, StatsSnapshot};
use serde_json::json;

const TOTAL: usize = 3 * KIB320;

/// An emulator with `script`, a drive session on it and the file to upload.
async fn scripted(script: &str) -> (EmulatorHandle, reqwest::Client, String, Vec<u8>) {
    let emulator = start(EmulatorConfig::default().with_script(script.parse().unwrap())).await;
    let client = client();
    let url = drive_session(&emulator, &client, "f.bin", json!({})).await;
    (emulator, client, url, data(TOTAL, 31))
}

async fn position(client: &reqwest::Client, url: &str) -> Option<u64> {
    let (status, body) = json(call(client, Method::GET, url).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    next_start(&body)
}

async fn stats_over_http(emulator: &EmulatorHandle) -> StatsSnapshot {
    let text = client()
        .get(emulator.stats_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn dropped_connections_store_nothing() {
    for fault in ["drop-before-body", "drop-mid-body:1000", "drop-after-body"] {
        let (emulator, client, url, file) = scripted(&format!("fragment#1={fault}")).await;
        let error = put_range(&client, &url, &file[..KIB320], 0, TOTAL)
            .await
            .unwrap_err();
        assert!(!error.is_status(), "{fault}: the client sees no answer");
        assert_eq!(position(&client, &url).await, Some(0), "{fault}");
        let name = fault.split(':').next().unwrap();
        let stats = stats_over_http(&emulator).await;
        assert_eq!(stats.faults[name], 1);
        assert_eq!(stats.faults_total, 1);
        assert_eq!(stats.recent_faults[0].fault, fault);
        // The same fragment goes through afterwards.
        assert_eq!(
            put_range(&client, &url, &file[..KIB320], 0, TOTAL)
                .await
                .unwrap()
                .status(),
            StatusCode::ACCEPTED
        );
    }
}

#[tokio::test]
async fn a_lost_answer_leaves_the_bytes_stored_and_a_resend_gets_416() {
    let (emulator, client, url, file) = scripted("fragment#1=lose-answer").await;
    assert!(
        put_range(&client, &url, &file[..KIB320], 0, TOTAL)
            .await
            .is_err()
    );
    assert_eq!(position(&client, &url).await, Some(KIB320 as u64));
    let resend = put_range(&client, &url, &file[..KIB320], 0, TOTAL)
        .await
        .unwrap();
    assert_eq!(resend.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let stats = emulator.stats();
    assert_eq!(stats.faults["lose-answer"], 1);
    assert_eq!(stats.bytes_received_twice, KIB320 as u64);
    assert_eq!(stats.bytes_received, 2 * KIB320 as u64);
}

#[tokio::test]
async fn a_lost_answer_on_the_last_fragment_leaves_a_complete_file() {
    let emulator =
        start(EmulatorConfig::default().with_script("fragment#1=lose-answer".parse().unwrap()))
            .await;
    let client = client();
    let url = drive_session(&emulator, &client, "whole.bin", json!({})).await;
    let file = data(1000, 32);
    assert!(put_range(&client, &url, &file, 0, 1000).await.is_err());
    // Completed: the session is gone, the file is there.
    assert_eq!(
        call(&client, Method::GET, &url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}

#[tokio::test]
async fn partial_stores_keep_exactly_the_prefix() {
    let (emulator, client, url, file) =
        scripted("fragment#1=partial-store-lost:5000, fragment#2=partial-store:7").await;
    assert!(
        put_range(&client, &url, &file[..KIB320], 0, TOTAL)
            .await
            .is_err()
    );
    assert_eq!(position(&client, &url).await, Some(5000));
    let (status, progress) = json(
        put_range(&client, &url, &file[5000..KIB320], 5000, TOTAL)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(progress["nextExpectedRanges"], json!(["5007-"]));
    let rest = put_range(&client, &url, &file[5007..], 5007, TOTAL)
        .await
        .unwrap();
    assert_eq!(rest.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
    let stats = emulator.stats();
    assert_eq!(
        (
            stats.faults["partial-store-lost"],
            stats.faults["partial-store"]
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn server_errors_and_throttling_change_nothing() {
    let script = "fragment#1=status:500, fragment#2=status:502, fragment#3=status:503, fragment#4=status:504, \
                  fragment#5=throttle:429:seconds:120, fragment#6=throttle:503:date:2";
    let config = EmulatorConfig::default()
        .with_script(script.parse().unwrap())
        .with_time_scale("60".parse().unwrap());
    let emulator = start(config).await;
    let client = client();
    let url = drive_session(&emulator, &client, "e.bin", json!({})).await;
    let file = data(TOTAL, 33);
    for want in [500, 502, 503, 504] {
        let (status, error) = json(
            put_range(&client, &url, &file[..KIB320], 0, TOTAL)
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status.as_u16(), want);
        assert!(error["error"]["code"].is_string());
    }
    let throttled = put_range(&client, &url, &file[..KIB320], 0, TOTAL)
        .await
        .unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    // 120 service seconds at ×60.
    assert_eq!(throttled.headers()["retry-after"], "2");
    let unavailable = put_range(&client, &url, &file[..KIB320], 0, TOTAL)
        .await
        .unwrap();
    assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
    let date = unavailable.headers()["retry-after"].to_str().unwrap();
    let at = UnixTime::parse_http_date(date).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(at >= UnixTime::from_secs(now), "{date}");
    assert_eq!(position(&client, &url).await, Some(0));
    let stats = emulator.stats();
    for name in [
        "status-500",
        "status-502",
        "status-503",
        "status-504",
        "throttle-429-seconds",
        "throttle-503-date",
    ] {
        assert_eq!(stats.faults[name], 1, "{name}");
    }
    assert_eq!(stats.faults_total, 6);
    assert!(
        stats.refusals.is_empty(),
        "faults are not counted as refusals"
    );
}

#[tokio::test]
async fn slow_answers_arrive_late_but_whole() {
    let (emulator, client, url, file) = scripted("fragment#1=slow:400").await;
    let started = Instant::now();
    let answer = put_range(&client, &url, &file[..KIB320], 0, TOTAL)
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    assert_eq!(emulator.stats().faults["slow"], 1);
}

#[tokio::test]
async fn early_expiry_and_transient_404() {
    let (emulator, client, url, file) =
        scripted("status#1=transient-404, fragment#2=expire-session").await;
    let (status, error) = json(call(&client, Method::GET, &url).await.unwrap()).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("itemNotFound"))
    );
    // Transient: the session is still there.
    assert_eq!(position(&client, &url).await, Some(0));
    assert_eq!(
        put_range(&client, &url, &file[..KIB320], 0, TOTAL)
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    let expired = put_range(&client, &url, &file[KIB320..2 * KIB320], KIB320, TOTAL)
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        call(&client, Method::GET, &url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let stats = emulator.stats();
    assert_eq!(
        (
            stats.faults["transient-404"],
            stats.faults["expire-session"]
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn faults_on_create_requests() {
    let emulator = start(
        EmulatorConfig::default().with_script(
            "create-drive#1=lose-answer, create-drive#2=status:503"
                .parse()
                .unwrap(),
        ),
    )
    .await;
    let client = client();
    let url = emulator.drive_upload_session_url("c.bin");
    let lost = client
        .post(&url)
        .header("authorization", TOKEN)
        .send()
        .await;
    assert!(lost.is_err());
    let (status, _) = post_json(&client, &url, json!({})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = post_json(&client, &url, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    // The lost answer still created a session: three creates, two sessions.
    let stats = emulator.stats();
    assert_eq!(
        (stats.sessions_created, stats.requests["create-drive"]),
        (2, 3)
    );
}

/// Uploads `file` like a careful client: on any failure ask the server where it is and resend
/// from there. Returns what the client observed, by kind.
async fn resilient_upload(
    emulator: &EmulatorHandle,
    path: &str,
    file: &[u8],
) -> std::collections::BTreeMap<&'static str, u64> {
    let client = client();
    let mut seen = std::collections::BTreeMap::new();
    let mut note = |what: &'static str| *seen.entry(what).or_insert(0) += 1;
    'session: loop {
        let created = client
            .post(emulator.drive_upload_session_url(path))
            .header("authorization", TOKEN)
            .body(json!({"item": {"@microsoft.graph.conflictBehavior": "replace"}}).to_string())
            .send()
            .await;
        let Ok(created) = created else {
            note("no-answer");
            continue;
        };
        let (status, session) = json(created).await;
        if status != StatusCode::OK {
            note("5xx-429");
            continue;
        }
        let url = session["uploadUrl"].as_str().unwrap().to_owned();
        let mut next = 0usize;
        loop {
            let end = (next + KIB320).min(file.len());
            // Keep fragments on the 320 KiB grid after a partial receipt.
            let end = if end < file.len() {
                end / KIB320 * KIB320
            } else {
                end
            };
            let end = if end <= next {
                (next + KIB320).min(file.len())
            } else {
                end
            };
            match put_range(&client, &url, &file[next..end], next, file.len()).await {
                Ok(answer) => match answer.status() {
                    StatusCode::CREATED | StatusCode::OK => return seen,
                    StatusCode::ACCEPTED => {
                        let (_, body) = json(answer).await;
                        let at = next_start(&body).unwrap() as usize;
                        if at != end {
                            note("partial");
                        }
                        next = at;
                        continue;
                    }
                    StatusCode::NOT_FOUND => note("404"),
                    StatusCode::RANGE_NOT_SATISFIABLE => note("416"),
                    status
                        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS =>
                    {
                        note("5xx-429")
                    }
                    status => panic!("unexpected {status}"),
                },
                Err(_) => note("no-answer"),
            }
            // Ambiguous or refused: ask the server.
            let Ok(answer) = call(&client, Method::GET, &url).await else {
                note("no-answer");
                continue;
            };
            match answer.status() {
                StatusCode::OK => next = next_start(&json(answer).await.1).unwrap() as usize,
                StatusCode::NOT_FOUND => {
                    note("status-404");
                    // Completed (answer lost) or gone: the file list tells.
                    if emulator.files().iter().any(|f| {
                        f.path.ends_with(path)
                            && f.size == file.len() as u64
                            && f.sha256 == sha256(file)
                    }) {
                        return seen;
                    }
                    continue 'session;
                }
                status if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
                    note("5xx-429")
                }
                status => panic!("unexpected status answer {status}"),
            }
        }
    }
}

#[tokio::test]
async fn uploads_survive_the_hostile_profile_and_faults_are_counted() {
    let config = EmulatorConfig::default()
        .with_faults(FaultProfile::Hostile, 7)
        .with_storage(resumable_emulator::StorageMode::Discard);
    let emulator = start(config).await;
    let file = data(40 * KIB320 + 123, 34);
    let seen = resilient_upload(&emulator, "hostile.bin", &file).await;
    let stored = emulator.files().into_iter().last().unwrap();
    assert_eq!(
        (stored.size, stored.sha256),
        (file.len() as u64, sha256(&file))
    );
    assert!(stored.disk_path.is_none());
    let stats = emulator.stats();
    assert!(stats.faults_total >= 5, "{stats:?}");
    let count = |prefixes: &[&str]| -> u64 {
        stats
            .faults
            .iter()
            .filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p)))
            .map(|(_, n)| n)
            .sum()
    };
    // What the client saw as "no answer" is exactly the dropped connections and lost answers.
    assert_eq!(
        seen.get("no-answer").copied().unwrap_or(0),
        count(&["drop-", "lose-answer", "partial-store-lost"])
    );
    assert_eq!(
        seen.get("5xx-429").copied().unwrap_or(0),
        count(&["status-", "throttle-"])
    );
    assert_eq!(
        seen.get("partial").copied().unwrap_or(0),
        stats.faults.get("partial-store").copied().unwrap_or(0)
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    async fn run(seed: u64) -> Vec<String> {
        let emulator =
            start(EmulatorConfig::default().with_faults(FaultProfile::Flaky, seed)).await;
        let file = data(20 * KIB320, 35);
        resilient_upload(&emulator, "same.bin", &file).await;
        emulator
            .stats()
            .recent_faults
            .into_iter()
            .map(|f| format!("{}:{}", f.kind, f.fault))
            .collect()
    }
    let first = run(11).await;
    assert_eq!(first, run(11).await);
    assert!(!first.is_empty());
    let other = run(12).await;
    assert_ne!(first, other);
}

#[tokio::test]
async fn a_repeating_rule_strikes_every_request_of_its_kind() {
    // The endless 503: every status query is throttled, for as long as the client asks; the
    // fragments, another kind, are untouched.
    let (emulator, client, url, file) =
        scripted("status#*=throttle:503:seconds:1, fragment#2/2=status:500").await;
    for _ in 0..5 {
        let answer = call(&client, Method::GET, &url).await.unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers()["retry-after"], "1");
    }
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        let mut at = 0;
        while statuses.len() < 5 {
            let end = (at + KIB320).min(TOTAL);
            let answer = put_range(&client, &url, &file[at..end], at, TOTAL)
                .await
                .unwrap();
            if answer.status().is_success() {
                at = end;
            }
            statuses.push(answer.status().as_u16());
        }
        statuses
    };
    // Fragments 2 and 4 fail; 1, 3 and 5 go through, and the fifth is the last.
    assert_eq!(statuses, [202, 500, 202, 500, 201]);
    let stats = emulator.stats();
    assert_eq!(stats.faults["throttle-503-seconds"], 5);
    assert_eq!(stats.faults["status-500"], 2);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}
