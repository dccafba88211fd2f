//! The lies a hostile server told when a session was created (`expired-session`,
//! `malformed-create`) or updated (`wopi-offset-jump`), as a plain client observes them over
//! HTTP, with what the server really holds.

mod common;

use common::*;
use reqwest::StatusCode;
use resumable_core::http::Segment;
use resumable_core::secret::Secret;
use resumable_core::time::UnixTime;
use resumable_core::wopi::{
    ChunkSignature, ChunkingScheme, PutChunkedFileMessage, StreamSignature, put_chunked_file_body,
};
use resumable_emulator::EmulatorConfig;
use serde_json::{Value, json};

fn config(script: &str) -> EmulatorConfig {
    EmulatorConfig::default().with_script(script.parse().unwrap())
}

fn now() -> UnixTime {
    UnixTime::from_system_time(std::time::SystemTime::now())
}

#[tokio::test]
async fn expired_session_answers_an_expiry_in_the_past_for_a_live_session() {
    let emulator = start(config(
        "create-drive#1=expired-session, create-mail#1=expired-session",
    ))
    .await;
    let client = client();
    let (status, session) = post_json(
        &client,
        &emulator.drive_upload_session_url("late.bin"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let expiry = UnixTime::parse_rfc3339(session["expirationDateTime"].as_str().unwrap()).unwrap();
    let hour_ago = UnixTime::from_millis(now().as_millis() - 3_590_000);
    assert!(expiry < hour_ago, "{expiry} is not an hour in the past");
    // The session lives regardless, and its answers carry its real expiry.
    let url = session["uploadUrl"].as_str().unwrap();
    let file = data(KIB320 + 1, 81);
    let (status, progress) = json(
        put_range(&client, url, &file[..KIB320], 0, file.len())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let renewed =
        UnixTime::parse_rfc3339(progress["expirationDateTime"].as_str().unwrap()).unwrap();
    assert!(renewed > now());
    let last = put_range(&client, url, &file[KIB320..], KIB320, file.len())
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::CREATED);
    // Mail sessions take it too (their create answers 201).
    let body = json!({"AttachmentItem": {"attachmentType": "file", "name": "a.pdf", "size": 10}});
    let (status, mail) = post_json(&client, &emulator.mail_upload_session_url("m1"), body).await;
    assert_eq!(status, StatusCode::CREATED);
    let expiry = UnixTime::parse_rfc3339(mail["expirationDateTime"].as_str().unwrap()).unwrap();
    assert!(expiry < hour_ago);
    assert_eq!(emulator.stats().faults["expired-session"], 2);
}

#[tokio::test]
async fn malformed_create_answers_success_without_a_usable_session() {
    let script = "create-drive#1=malformed-create, create-drive#2=malformed-create:no-url, \
                  wopi-create#1=malformed-create, wopi-create#2=malformed-create:no-url";
    let emulator = start(config(script)).await;
    let client = client();
    let create = emulator.drive_upload_session_url("m.bin");
    let answer = client
        .post(&create)
        .header("authorization", TOKEN)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "application/json");
    let text = answer.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    let (status, no_url) = post_json(&client, &create, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(no_url.get("uploadUrl").is_none(), "{no_url}");
    assert!(no_url["expirationDateTime"].is_string());
    // Nothing was created by either.
    let stats = emulator.stats();
    assert_eq!((stats.sessions_created, stats.sessions_live), (0, 0));
    assert_eq!(stats.faults["malformed-create"], 1);
    assert_eq!(stats.faults["malformed-create-no-url"], 1);
    // WOPI: a 200 whose body is not JSON, then JSON without UploadSessionToken.
    let create_wopi = || {
        client
            .post(format!("{}?access_token=t", emulator.wopi_file_url("w")))
            .header("x-wopi-override", "CREATE_UPLOAD_SESSION")
            .send()
    };
    let answer = create_wopi().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(serde_json::from_str::<Value>(&answer.text().await.unwrap()).is_err());
    let (status, body) = json(create_wopi().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    assert_eq!(emulator.stats().sessions_created, 0);
    // The next creates are honest.
    let _ = drive_session(&emulator, &client, "m.bin", json!({})).await;
    assert!(wopi_create(&emulator, &client, "w").await.is_ok());
}

fn offset(answer: &reqwest::Response) -> u64 {
    answer.headers()["x-wopi-uploadsessioncurrentoffset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn wopi_offset_jump_answers_an_offset_past_what_the_host_received() {
    let emulator = start(config("wopi-update#1=wopi-offset-jump:1000")).await;
    let client = client();
    let source = data(3000, 82);
    let (chunk, stream) = full_file_stream(&source);
    let token = wopi_create(&emulator, &client, "doc").await.unwrap();
    let first = wopi_update(&emulator, &client, "doc", &token, 0, &stream[..500]).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(offset(&first), 1500);
    // The host has 500 bytes: an update from the claimed offset is refused with the truth.
    let believer = wopi_update(&emulator, &client, "doc", &token, 1500, &stream[1500..]).await;
    assert_eq!(believer.status(), StatusCode::BAD_REQUEST);
    assert_eq!(offset(&believer), 500);
    let rest = wopi_update(&emulator, &client, "doc", &token, 500, &stream[500..]).await;
    assert_eq!(rest.status(), StatusCode::OK);
    assert_eq!(offset(&rest), stream.len() as u64);
    // The file committed from the session is the source.
    let message = PutChunkedFileMessage::new(vec![StreamSignature {
        stream_id: "MainContent".into(),
        chunking_scheme: ChunkingScheme::FullFile,
        chunk_signatures: vec![ChunkSignature {
            chunk_id: chunk.id,
            length: chunk.len,
        }],
    }])
    .with_session_token(Secret::new(token));
    let mut body = Vec::new();
    for segment in put_chunked_file_body(&message, &[]).unwrap() {
        if let Segment::Inline(bytes) = segment {
            body.extend_from_slice(&bytes);
        }
    }
    let commit = client
        .post(format!(
            "{}/contents?access_token=t",
            emulator.wopi_file_url("doc")
        ))
        .header("x-wopi-override", "PUT_CHUNKED_FILE")
        .header("x-wopi-sequencenumber", "1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(commit.status(), StatusCode::OK);
    assert_eq!(emulator.files()[0].sha256, sha256(&source));
    let stats = emulator.stats();
    assert_eq!(stats.faults["wopi-offset-jump"], 1);
    assert_eq!(stats.wopi_updates_out_of_order, 1);
}
