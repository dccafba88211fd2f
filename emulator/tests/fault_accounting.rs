//! Faults are counted as what they did, never drawn for requests refused for their
//! credentials, and never shift a session's sequence; absurd figures are capped or refused.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use resumable_core::time::UnixTime;
use resumable_emulator::{EmulatorConfig, EmulatorHandle, FaultProfile, FaultScript};
use serde_json::json;

const TOTAL: usize = 3 * KIB320;

/// An emulator with `script`, a drive session on it and the file to upload.
async fn scripted(script: &str) -> (EmulatorHandle, reqwest::Client, String, Vec<u8>) {
    let emulator = start(EmulatorConfig::default().with_script(script.parse().unwrap())).await;
    let client = client();
    let url = drive_session(&emulator, &client, "f.bin", json!({})).await;
    (emulator, client, url, data(TOTAL, 31))
}

#[tokio::test]
async fn a_lost_answer_on_a_refused_request_is_a_refusal_not_a_fault() {
    let (emulator, client, url, file) = scripted("fragment#1=lose-answer").await;
    // Skips ahead: refused with 416, and the client hears it.
    let refused = put_range(&client, &url, &file[KIB320..2 * KIB320], KIB320, TOTAL)
        .await
        .expect("a refusal is answered, not dropped");
    assert_eq!(refused.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let stats = emulator.stats();
    assert_eq!(stats.faults_total, 0, "{:?}", stats.faults);
    assert_eq!(stats.refusals["416"], 1);
}

#[tokio::test]
async fn a_partial_store_that_would_keep_nothing_is_not_injected() {
    let (emulator, client, url, _) = scripted("fragment#1=partial-store:5").await;
    // A one-byte file: a partial store would keep nothing, so the fragment goes through whole.
    let answer = put_range(&client, &url, b"x", 0, 1).await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].sha256, sha256(b"x"));
    assert_eq!(emulator.stats().faults_total, 0);
    // And a script cannot ask for a store of nothing.
    for script in [
        "fragment#1=partial-store:0",
        "fragment#1=partial-store-lost:0",
        "fragment#1=drop-mid-body:0",
    ] {
        assert!(script.parse::<FaultScript>().is_err(), "{script}");
    }
}

#[tokio::test]
async fn a_cut_that_falls_past_the_body_counts_as_a_drop_after_it() {
    let (emulator, client, url, _) = scripted("fragment#1=drop-mid-body:5000").await;
    let error = put_range(&client, &url, &data(1000, 9), 0, 1000)
        .await
        .unwrap_err();
    assert!(!error.is_status());
    let stats = emulator.stats();
    assert_eq!(stats.faults.get("drop-mid-body"), None);
    assert_eq!(stats.faults["drop-after-body"], 1);
}

#[tokio::test]
async fn a_resend_after_a_lost_final_answer_counts_as_received_twice() {
    let (emulator, client, url, file) = scripted("fragment#2=lose-answer").await;
    let total = 2 * KIB320;
    let first = put_range(&client, &url, &file[..KIB320], 0, total)
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    // The last fragment completes the file, but its answer is lost...
    assert!(
        put_range(&client, &url, &file[KIB320..total], KIB320, total)
            .await
            .is_err()
    );
    // ... so the client sends it again, and hears that the session is gone.
    let resend = put_range(&client, &url, &file[KIB320..total], KIB320, total)
        .await
        .unwrap();
    assert_eq!(resend.status(), StatusCode::NOT_FOUND);
    let stats = emulator.stats();
    assert_eq!(stats.bytes_received, 3 * KIB320 as u64);
    assert_eq!(stats.bytes_received_twice, KIB320 as u64);
    // A resend with the wrong token, or of bytes that were never part of the file, is not.
    let wrong = url.replace("tempauth=", "tempauth=x");
    put_range(&client, &wrong, &file[..KIB320], 0, total)
        .await
        .unwrap();
    put_range(&client, &url, &file[..KIB320], 0, 3 * KIB320)
        .await
        .unwrap();
    assert_eq!(emulator.stats().bytes_received_twice, KIB320 as u64);
}

#[tokio::test]
async fn requests_refused_for_their_credentials_draw_no_fault() {
    let (emulator, client, url, _) = scripted("status#1=expire-session").await;
    let wrong_token = url.replace("tempauth=", "tempauth=x");
    let answer = call(&client, Method::GET, &wrong_token).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let with_bearer = client
        .get(&url)
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(with_bearer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(emulator.stats().faults_total, 0);
    // The rule strikes the first request that passes the checks, and only then.
    assert_eq!(
        call(&client, Method::GET, &url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(emulator.stats().faults["expire-session"], 1);
}

/// The outcome of each of `count` status requests on a fresh session of a hostile emulator,
/// with `noise` wrong-credential requests before each.
async fn status_outcomes(count: usize, noise: bool) -> Vec<String> {
    let config = EmulatorConfig::default().with_faults(FaultProfile::Hostile, 11);
    let emulator = start(config).await;
    let client = client();
    let url = loop {
        let created = client
            .post(emulator.drive_upload_session_url("s.bin"))
            .header("authorization", TOKEN)
            .send()
            .await;
        if let Ok(created) = created
            && created.status() == StatusCode::OK
        {
            break json(created).await.1["uploadUrl"]
                .as_str()
                .unwrap()
                .to_owned();
        }
    };
    let mut outcomes = Vec::new();
    for _ in 0..count {
        if noise {
            let wrong = url.replace("tempauth=", "tempauth=x");
            let answer = call(&client, Method::GET, &wrong).await.unwrap();
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
            let bearer = client.get(&url).header("authorization", TOKEN).send();
            assert_eq!(bearer.await.unwrap().status(), StatusCode::UNAUTHORIZED);
        }
        outcomes.push(match call(&client, Method::GET, &url).await {
            Ok(answer) => answer.status().to_string(),
            Err(_) => "dropped".to_owned(),
        });
    }
    outcomes
}

#[tokio::test]
async fn refused_requests_do_not_shift_a_sessions_faults() {
    let quiet = status_outcomes(40, false).await;
    let noisy = status_outcomes(40, true).await;
    assert!(
        quiet.iter().any(|o| o != "200 OK"),
        "the profile faults some: {quiet:?}"
    );
    assert_eq!(quiet, noisy);
}

#[tokio::test]
async fn wopi_and_workbook_requests_with_wrong_credentials_draw_no_fault() {
    let emulator = start(
        EmulatorConfig::default()
            .with_bearer_token("test-token")
            .with_wopi_access_token("t")
            .with_script(
                "wopi-update#1=expire-session, workbook-refresh#1=expire-session"
                    .parse()
                    .unwrap(),
            ),
    )
    .await;
    let client = client();
    let token = wopi_create(&emulator, &client, "f").await.unwrap();
    let wrong = client
        .post(format!("{}?access_token=nope", emulator.wopi_file_url("f")))
        .header("x-wopi-override", "UPDATE_UPLOAD_SESSION")
        .header("x-wopi-uploadsessiontoken", &token)
        .header("x-wopi-contentrangeoffset", "0")
        .header("x-wopi-contentrangelength", "1")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let workbook = emulator.workbook_url("01BOOK");
    let (status, session) = post_json(
        &client,
        &format!("{workbook}/createSession"),
        json!({"persistChanges": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let refresh = |bearer: &'static str| {
        client
            .post(format!("{workbook}/refreshSession"))
            .header("authorization", bearer)
            .header("content-length", "0")
            .header("workbook-session-id", session["id"].as_str().unwrap())
            .send()
    };
    assert_eq!(
        refresh("Bearer wrong").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(emulator.stats().faults_total, 0);
    // Both sessions are alive until a request with the right credentials meets its rule.
    assert_eq!(
        refresh(TOKEN).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let (_, stream) = full_file_stream(b"abc");
    let right = wopi_update(&emulator, &client, "f", &token, 0, &stream).await;
    assert_eq!(right.status(), StatusCode::GONE);
    assert_eq!(emulator.stats().faults["expire-session"], 2);
}

#[tokio::test]
async fn absurd_fault_figures_are_capped_or_refused_never_a_panic() {
    use resumable_emulator::{Fault, RequestKind, RetryAfterForm};
    // Built in code, the figures bypass the text parser: the emulator must cope with them.
    let script = FaultScript::default()
        .on(
            RequestKind::Fragment,
            1,
            Fault::Throttle {
                status: 429,
                retry_after: RetryAfterForm::HttpDate(u64::MAX),
            },
        )
        .on(
            RequestKind::Fragment,
            2,
            Fault::Throttle {
                status: 503,
                retry_after: RetryAfterForm::Seconds(u64::MAX),
            },
        );
    let emulator = start(EmulatorConfig::default().with_script(script)).await;
    let client = client();
    let url = drive_session(&emulator, &client, "t.bin", json!({})).await;
    let year = 365 * 24 * 3600;
    let dated = put_range(&client, &url, b"x", 0, 1).await.unwrap();
    assert_eq!(dated.status(), StatusCode::TOO_MANY_REQUESTS);
    let at = UnixTime::parse_http_date(dated.headers()["retry-after"].to_str().unwrap()).unwrap();
    let now = UnixTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    let wait = at.saturating_duration_since(now).as_secs();
    assert!(
        (year - 5..=year + 5).contains(&wait),
        "capped at a year: {wait}"
    );
    let seconds = put_range(&client, &url, b"x", 0, 1).await.unwrap();
    assert_eq!(seconds.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seconds.headers()["retry-after"], year.to_string().as_str());
    // Written as text, such figures are refused.
    for text in [
        "fragment#1=throttle:429:date:9223372036854775807",
        "fragment#1=throttle:503:seconds:31536001",
        "fragment#1=slow:3600001",
    ] {
        assert!(text.parse::<FaultScript>().is_err(), "{text}");
    }
    assert!(
        "fragment#1=throttle:429:date:31536000"
            .parse::<FaultScript>()
            .is_ok()
    );
}
