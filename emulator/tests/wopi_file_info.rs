//! WOPI `CheckFileInfo`: what a client learns of a file before it uploads (its committed size,
//! SHA-256, version and sequence number).

mod common;

use common::*;
use reqwest::StatusCode;
use resumable_core::http::Segment;
use resumable_core::secret::Secret;
use resumable_core::wopi::{
    ChunkSignature, ChunkingScheme, PutChunkedFileMessage, StreamSignature, put_chunked_file_body,
};
use resumable_emulator::{EmulatorConfig, WopiConfig};
use serde_json::Value;

/// Commits `source` to `file` inline as one `FullFile` chunk, with sequence number `sequence`.
async fn commit(
    emulator: &resumable_emulator::EmulatorHandle,
    client: &reqwest::Client,
    file: &str,
    sequence: u64,
    source: &[u8],
) -> reqwest::Response {
    let (chunk, _) = full_file_stream(source);
    let message = PutChunkedFileMessage::new(vec![StreamSignature {
        stream_id: "MainContent".into(),
        chunking_scheme: ChunkingScheme::FullFile,
        chunk_signatures: vec![ChunkSignature {
            chunk_id: chunk.id,
            length: chunk.len,
        }],
    }]);
    let mut body = Vec::new();
    for segment in put_chunked_file_body(&message, &[chunk]).unwrap() {
        match segment {
            Segment::Inline(bytes) => body.extend_from_slice(&bytes),
            Segment::Source(range) => {
                body.extend_from_slice(&source[range.start() as usize..range.end() as usize])
            }
        }
    }
    client
        .post(format!(
            "{}/contents?access_token=t",
            emulator.wopi_file_url(file)
        ))
        .header("x-wopi-override", "PUT_CHUNKED_FILE")
        .header("x-wopi-sequencenumber", sequence.to_string())
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The SHA-256 of `data` in standard base64 (the encoding written out here, not the
/// emulator's).
fn sha256_base64(data: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = String::new();
    for byte in digest.iter() {
        bits.push_str(&format!("{byte:08b}"));
    }
    // 256 bits: 42 whole sextets and 4 bits padded with zeros, then one `=`.
    bits.push_str("00");
    let mut out: String = bits
        .as_bytes()
        .chunks(6)
        .map(|six| {
            let value = six.iter().fold(0, |v, b| v * 2 + usize::from(*b == b'1'));
            char::from(alphabet[value])
        })
        .collect();
    out.push('=');
    out
}

async fn check_file_info(
    emulator: &resumable_emulator::EmulatorHandle,
    client: &reqwest::Client,
    file: &str,
    token: &str,
) -> (StatusCode, Value) {
    let url = format!("{}?access_token={token}", emulator.wopi_file_url(file));
    json(client.get(url).send().await.unwrap()).await
}

#[tokio::test]
async fn check_file_info_tells_the_committed_size_hash_version_and_sequence_number() {
    let emulator = start(EmulatorConfig {
        wopi: WopiConfig {
            access_token: Some(Secret::new("t")),
            known_files: Some(vec!["doc.bin".into()]),
            ..WopiConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let client = client();
    let (status, fresh) = check_file_info(&emulator, &client, "doc.bin", "t").await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(fresh["BaseFileName"], "doc.bin");
    assert_eq!(
        (fresh["Size"].as_u64(), fresh["Version"].as_str()),
        (Some(0), Some("v0"))
    );
    assert_eq!(fresh["SupportsUpdate"], true);
    // Nothing committed yet: the file is empty, and so is what its hash is of.
    assert_eq!(fresh["SHA256"], sha256_base64(b""));
    assert!(fresh["OwnerId"].is_string() && fresh["UserId"].is_string());

    let source = data(2500, 46);
    let answer = commit(&emulator, &client, "doc.bin", 1, &source).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let (status, committed) = check_file_info(&emulator, &client, "doc.bin", "t").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(committed["Size"], 2500);
    assert_eq!(committed["SHA256"], sha256_base64(&source));
    assert_eq!(
        committed["Version"],
        answer.headers()["x-wopi-itemversion"].to_str().unwrap()
    );
    // The number the next commit must carry.
    assert_eq!(committed["SequenceNumber"], 2);
    let next = commit(&emulator, &client, "doc.bin", 2, &source[..100]).await;
    assert_eq!(next.status(), StatusCode::OK);
    let (_, replaced) = check_file_info(&emulator, &client, "doc.bin", "t").await;
    assert_eq!(
        (&replaced["Size"], &replaced["SHA256"]),
        (
            &Value::from(100),
            &Value::from(sha256_base64(&source[..100]))
        )
    );

    let (unknown, _) = check_file_info(&emulator, &client, "other", "t").await;
    assert_eq!(unknown, StatusCode::NOT_FOUND);
    let (unauthorised, _) = check_file_info(&emulator, &client, "doc.bin", "nope").await;
    assert_eq!(unauthorised, StatusCode::UNAUTHORIZED);
    assert_eq!(emulator.stats().requests["wopi-check-file-info"], 5);
}
