//! Clients that vanish mid-request: whatever point the connection dies at, the session is left
//! consistent (bytes fully stored and counted, or not stored at all and reported so), never
//! locked by a request nobody is waiting for.

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use resumable_core::secret::Secret;
use resumable_core::wopi::{
    ChunkSignature, ChunkingScheme, PutChunkedFileMessage, StreamSignature, put_chunked_file_body,
};
use resumable_emulator::{EmulatorConfig, EmulatorHandle};
use serde_json::json;

/// How long the emulator may take to finish the work of a request whose client left.
const SETTLE: Duration = Duration::from_secs(10);

/// Polls `check` every 20 ms until it is true or [`SETTLE`] has passed.
async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + SETTLE;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        // The poll interval of a wait for a condition, with a deadline.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn file_listed(emulator: &EmulatorHandle, sha: &str) -> bool {
    emulator.files().iter().any(|f| f.sha256 == sha)
}

/// `PUT` head for bytes `first..first + len` of a `total`-byte upload.
fn put_head(url: &str, first: usize, len: usize, total: usize) -> String {
    format!(
        "PUT {} HTTP/1.1\r\ncontent-range: bytes {first}-{}/{total}\r\ncontent-length: {len}",
        path_of(url),
        first + len - 1
    )
}

/// How many times each race is run: the moment hyper notices the closed socket varies, so one
/// run may miss the window a handler is cancelled in.
const ATTEMPTS: u8 = 4;

#[tokio::test]
async fn a_drive_fragment_whose_client_leaves_after_the_body_is_stored_whole() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let total = 984_040;
    for attempt in 0..ATTEMPTS {
        let file = data(total, attempt);
        let url = drive_session(
            &emulator,
            &client,
            &format!("gone{attempt}.bin"),
            json!({"item": {"fileSize": total}}),
        )
        .await;
        let raw = RawRequest::send(&emulator, &put_head(&url, 0, total, total), &file).await;
        drop(raw);
        let sha = sha256(&file);
        assert!(
            eventually(|| file_listed(&emulator, &sha)).await,
            "attempt {attempt}: the whole body arrived, the file must be stored"
        );
        assert_eq!(
            call(&client, Method::GET, &url).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "a completed session is gone"
        );
    }
    assert_eq!(
        emulator.stats().bytes_received,
        u64::from(ATTEMPTS) * total as u64
    );
}

#[tokio::test]
async fn a_drive_fragment_cut_mid_body_leaves_the_session_usable() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let total = 3 * KIB320;
    let file = data(total, 2);
    let url = drive_session(&emulator, &client, "cut.bin", json!({})).await;
    let before = emulator.stats().bytes_received;
    let raw = RawRequest::send(&emulator, &put_head(&url, 0, KIB320, total), &file[..1000]).await;
    // Cut mid-body: once the emulator is reading it.
    let reading = eventually(|| async { emulator.stats().bytes_received >= before + 1000 }).await;
    assert!(reading, "the fragment's first bytes were read");
    drop(raw);
    // The cut fragment is rolled back: the server asks for byte 0 again and takes it.
    let resent = eventually(|| async {
        let answer = put_range(&client, &url, &file[..KIB320], 0, total)
            .await
            .unwrap();
        answer.status() == StatusCode::ACCEPTED
    })
    .await;
    assert!(resent, "the session must accept the fragment again");
    let last = put_range(&client, &url, &file[KIB320..], KIB320, total)
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::CREATED);
    assert_eq!(emulator.files()[0].sha256, sha256(&file));
}

#[tokio::test]
async fn a_print_document_completes_when_its_client_leaves_during_the_hash() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let segment = 8_000_000;
    let total = 2 * segment;
    let file = data(total, 3);
    let (status, session) = post_json(
        &client,
        &emulator.print_upload_session_url("p", "j", "d"),
        json!({"properties": {"documentName": "big.pdf", "size": total}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let url = session["uploadUrl"].as_str().unwrap().to_owned();
    let first = put_range(&client, &url, &file[..segment], 0, total)
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let raw = RawRequest::send(
        &emulator,
        &put_head(&url, segment, segment, total),
        &file[segment..],
    )
    .await;
    drop(raw);
    let sha = sha256(&file);
    assert!(
        eventually(|| file_listed(&emulator, &sha)).await,
        "every byte arrived: the document must be stored"
    );
    assert_eq!(
        call(&client, Method::GET, &url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_wopi_update_whose_client_leaves_is_stored_or_undone_never_stuck() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    for attempt in 0..ATTEMPTS {
        wopi_update_and_leave(&emulator, &client, attempt).await;
    }
}

async fn wopi_update_and_leave(emulator: &EmulatorHandle, client: &reqwest::Client, attempt: u8) {
    let file_id = format!("f{attempt}");
    let source = data(3_000_000, attempt);
    let (chunk, stream) = full_file_stream(&source);
    let url = format!("{}?access_token=t", emulator.wopi_file_url(&file_id));
    let token = wopi_create(emulator, client, &file_id).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nx-wopi-override: UPDATE_UPLOAD_SESSION\r\n\
         x-wopi-uploadsessiontoken: {token}\r\nx-wopi-contentrangeoffset: 0\r\n\
         x-wopi-contentrangelength: {len}\r\ncontent-length: {len}",
        path_of(&url),
        len = stream.len()
    );
    drop(RawRequest::send(emulator, &head, &stream).await);
    // A retry either goes through (the cut update was undone) or learns that the host has every
    // byte (the update was stored); it must never keep hearing "in progress".
    let settled = eventually(|| async {
        let answer = wopi_update(emulator, client, &file_id, &token, 0, &stream).await;
        let offset = answer.headers()["x-wopi-uploadsessioncurrentoffset"]
            .to_str()
            .unwrap()
            .to_owned();
        offset == stream.len().to_string()
    })
    .await;
    assert!(
        settled,
        "attempt {attempt}: the session must reach the end of the stream"
    );
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
        if let resumable_core::http::Segment::Inline(bytes) = segment {
            body.extend_from_slice(&bytes);
        }
    }
    let committed = client
        .post(format!(
            "{}/contents?access_token=t",
            emulator.wopi_file_url(&file_id)
        ))
        .header("x-wopi-override", "PUT_CHUNKED_FILE")
        .header("x-wopi-sequencenumber", "1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(committed.status(), StatusCode::OK);
    assert!(file_listed(emulator, &sha256(&source)).await);
}
