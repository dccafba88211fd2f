//! Declared sizes are checked against configurable maxima before anything is stored, and a
//! refused upload is answered at once, its connection closed, without reading its body.

mod common;

use common::*;
use reqwest::StatusCode;
use resumable_emulator::{EmulatorConfig, Limits, WopiConfig};
use serde_json::json;

/// A request head declaring a huge body, of which only a little is ever sent: an answer can
/// only come from a server that refuses without reading the body.
async fn refused_unread(emulator: &resumable_emulator::EmulatorHandle, head: &str) -> String {
    let raw = RawRequest::send(emulator, head, &[7u8; 1000]).await;
    raw.answer().await.to_ascii_lowercase()
}

#[tokio::test]
async fn print_sizes_beyond_the_maximum_are_refused() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = emulator.print_upload_session_url("p", "j", "d");
    for size in [u64::MAX, 10_000_000_000_000, 250_000_000_001] {
        let body = json!({"properties": {"documentName": "big.pdf", "size": size}});
        let (status, error) = post_json(&client, &url, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{size}: {error}");
        assert_eq!(error["error"]["code"], "invalidRequest");
    }
    let body = json!({"properties": {"documentName": "big.pdf", "size": 250_000_000_000u64}});
    let (status, session) = post_json(&client, &url, body).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    // Nothing is allocated for a declared size.
    assert!(part_files(&emulator).is_empty());
}

#[tokio::test]
async fn drive_sizes_beyond_250_gb_or_the_quota_are_refused() {
    let emulator = start(EmulatorConfig {
        limits: Limits {
            drive_quota: 1_000_000,
            ..Limits::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let client = client();
    let create_url = emulator.drive_upload_session_url("big.bin");
    let create = |size: u64| post_json(&client, &create_url, json!({"item": {"fileSize": size}}));
    assert_eq!(create(250_000_000_001).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(create(u64::MAX).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(create(1_000_001).await.0, StatusCode::INSUFFICIENT_STORAGE);
    // Without a declared size, the first fragment's total is held to the same limits.
    let url = drive_session(&emulator, &client, "open.bin", json!({})).await;
    let over_quota = put_range(&client, &url, &data(KIB320, 1), 0, 2_000_000)
        .await
        .unwrap();
    assert_eq!(over_quota.status(), StatusCode::INSUFFICIENT_STORAGE);
    let impossible = put_range(&client, &url, &data(KIB320, 1), 0, 300_000_000_000)
        .await
        .unwrap();
    assert_eq!(impossible.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_oversized_fragment_is_refused_before_its_body() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = drive_session(&emulator, &client, "huge.bin", json!({})).await;
    let len: u64 = 10_000_000_000;
    let head = format!(
        "PUT {} HTTP/1.1\r\ncontent-range: bytes 0-{}/{len}\r\ncontent-length: {len}",
        path_of(&url),
        len - 1
    );
    let answer = refused_unread(&emulator, &head).await;
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(emulator.stats().bytes_received <= 1000);
}

#[tokio::test]
async fn a_fault_on_a_huge_body_is_answered_without_reading_it() {
    let emulator =
        start(EmulatorConfig::default().with_script("fragment#1=status:503".parse().unwrap()))
            .await;
    let client = client();
    let url = drive_session(&emulator, &client, "huge.bin", json!({})).await;
    let len: u64 = 10_000_000_000;
    let head = format!(
        "PUT {} HTTP/1.1\r\ncontent-range: bytes 0-{}/{len}\r\ncontent-length: {len}",
        path_of(&url),
        len - 1
    );
    let answer = refused_unread(&emulator, &head).await;
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
}

fn small_wopi_host() -> EmulatorConfig {
    EmulatorConfig {
        wopi: WopiConfig {
            max_file_size: 1_000_000,
            ..WopiConfig::default()
        },
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn a_wopi_update_past_the_largest_file_is_refused_before_its_body() {
    let emulator = start(small_wopi_host()).await;
    let client = client();
    let token = wopi_create(&emulator, &client, "f").await.unwrap();
    let len: u64 = 10_000_000_000;
    let head = format!(
        "POST {}?access_token=t HTTP/1.1\r\nx-wopi-override: UPDATE_UPLOAD_SESSION\r\n\
         x-wopi-uploadsessiontoken: {token}\r\nx-wopi-contentrangeoffset: 0\r\n\
         x-wopi-contentrangelength: {len}\r\ncontent-length: {len}",
        path_of(&emulator.wopi_file_url("f"))
    );
    let answer = refused_unread(&emulator, &head).await;
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    // The session is untouched: an update within the limit still goes through.
    let (_, stream) = full_file_stream(&data(1000, 1));
    let answer = wopi_update(&emulator, &client, "f", &token, 0, &stream).await;
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_put_chunked_file_past_the_largest_file_is_refused_before_its_body() {
    let emulator = start(small_wopi_host()).await;
    let len: u64 = 10_000_000_000;
    let head = format!(
        "POST {}/contents?access_token=t HTTP/1.1\r\nx-wopi-override: PUT_CHUNKED_FILE\r\n\
         x-wopi-sequencenumber: 1\r\ncontent-length: {len}",
        path_of(&emulator.wopi_file_url("f"))
    );
    let answer = refused_unread(&emulator, &head).await;
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
}

#[tokio::test]
async fn inline_chunks_past_the_largest_file_stop_the_read() {
    use resumable_core::http::Segment;
    use resumable_core::wopi::{
        ChunkId, ChunkSignature, ChunkingScheme, PutChunkedFileMessage, StreamChunk,
        StreamSignature, put_chunked_file_body,
    };
    let emulator = start(EmulatorConfig {
        wopi: WopiConfig {
            max_file_size: 1000,
            ..WopiConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let source = data(1200, 5);
    let chunks: Vec<StreamChunk> = [0usize, 600]
        .iter()
        .map(|&start| StreamChunk {
            id: ChunkId::of(&source[start..start + 600]),
            source_offset: start as u64,
            len: 600,
        })
        .collect();
    let message = PutChunkedFileMessage::new(vec![StreamSignature {
        stream_id: "MainContent".into(),
        chunking_scheme: ChunkingScheme::FullFile,
        chunk_signatures: chunks
            .iter()
            .map(|c| ChunkSignature {
                chunk_id: c.id,
                length: c.len,
            })
            .collect(),
    }]);
    let mut body = Vec::new();
    for segment in put_chunked_file_body(&message, &chunks).unwrap() {
        match segment {
            Segment::Inline(bytes) => body.extend_from_slice(&bytes),
            Segment::Source(range) => {
                body.extend_from_slice(&source[range.start() as usize..range.end() as usize])
            }
        }
    }
    // Every frame but the EndFrame, in one HTTP chunk, and the body never ends: each chunk is
    // within the limit, together they are past it.
    let frames = &body[..body.len() - 16];
    let mut wire = format!("{:x}\r\n", frames.len()).into_bytes();
    wire.extend_from_slice(frames);
    wire.extend_from_slice(b"\r\n");
    let head = format!(
        "POST {}/contents?access_token=t HTTP/1.1\r\nx-wopi-override: PUT_CHUNKED_FILE\r\n\
         x-wopi-sequencenumber: 1\r\ntransfer-encoding: chunked",
        path_of(&emulator.wopi_file_url("f"))
    );
    let answer = RawRequest::send(&emulator, &head, &wire)
        .await
        .answer()
        .await
        .to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(part_files(&emulator).is_empty());
}
