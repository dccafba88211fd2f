//! Requests that race on one session: a commit against a cancel, two commits, a cancel against
//! a fragment in flight, a WOPI commit against an update in flight. Exactly one of two conflicting requests wins, and nothing is
//! left behind. Run on several threads so the requests really overlap.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use resumable_emulator::EmulatorConfig;
use serde_json::json;

const ROUNDS: usize = 60;

/// A deferred session with every byte received, ready for its commit.
async fn all_received(
    emulator: &resumable_emulator::EmulatorHandle,
    client: &reqwest::Client,
    name: &str,
    file: &[u8],
) -> String {
    let url = drive_session(emulator, client, name, json!({"deferCommit": true})).await;
    let answer = put_range(client, &url, file, 0, file.len()).await.unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_and_a_cancel_never_both_succeed() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(3000, 1);
    let mut committed = 0;
    for round in 0..ROUNDS {
        let url = all_received(&emulator, &client, &format!("r{round}.bin"), &file).await;
        let (commit, cancel) = tokio::join!(
            call(&client, Method::POST, &url),
            call(&client, Method::DELETE, &url)
        );
        let outcome = (commit.unwrap().status(), cancel.unwrap().status());
        match outcome {
            (StatusCode::CREATED, StatusCode::NOT_FOUND) => committed += 1,
            (StatusCode::NOT_FOUND, StatusCode::NO_CONTENT) => {}
            other => panic!("round {round}: commit and cancel answered {other:?}"),
        }
    }
    assert_eq!(emulator.files().len(), committed);
    assert_eq!(part_files(&emulator), Vec::<std::path::PathBuf>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_commits_one_wins_and_the_other_hears_the_session_is_gone() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let file = data(3000, 2);
    for round in 0..ROUNDS {
        let url = all_received(&emulator, &client, &format!("c{round}.bin"), &file).await;
        let (a, b) = tokio::join!(
            call(&client, Method::POST, &url),
            call(&client, Method::POST, &url)
        );
        let mut outcome = [a.unwrap().status(), b.unwrap().status()];
        outcome.sort();
        // Never 409: a client reads that as a name conflict and stops.
        assert_eq!(
            outcome,
            [StatusCode::CREATED, StatusCode::NOT_FOUND],
            "round {round}"
        );
    }
    assert_eq!(emulator.files().len(), ROUNDS);
}

#[tokio::test]
async fn a_cancel_while_a_fragment_is_in_flight_leaves_no_part_file() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let total = 3 * KIB320;
    let file = data(total, 3);
    let url = drive_session(&emulator, &client, "gone.bin", json!({})).await;
    let first = put_range(&client, &url, &file[..KIB320], 0, total)
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(part_files(&emulator).len(), 1);
    let head = format!(
        "PUT {} HTTP/1.1\r\ncontent-range: bytes {KIB320}-{}/{total}\r\ncontent-length: {KIB320}",
        path_of(&url),
        2 * KIB320 - 1
    );
    let before = emulator.stats().bytes_received;
    let mut held = RawRequest::send(&emulator, &head, &file[KIB320..KIB320 + 1000]).await;
    // In flight: the emulator is reading its body.
    eventually("the held fragment is being read", || {
        emulator.stats().bytes_received >= before + 1000
    })
    .await;
    assert_eq!(
        call(&client, Method::DELETE, &url).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    held.write(&file[KIB320 + 1000..2 * KIB320]).await;
    let answer = held.answer().await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert_eq!(part_files(&emulator), Vec::<std::path::PathBuf>::new());
}

#[tokio::test]
async fn a_cancel_during_the_last_fragment_wins_over_its_commit() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let total = 2 * KIB320;
    let file = data(total, 4);
    let url = drive_session(&emulator, &client, "last.bin", json!({})).await;
    let first = put_range(&client, &url, &file[..KIB320], 0, total)
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let head = format!(
        "PUT {} HTTP/1.1\r\ncontent-range: bytes {KIB320}-{}/{total}\r\ncontent-length: {KIB320}",
        path_of(&url),
        total - 1
    );
    let before = emulator.stats().bytes_received;
    let mut held = RawRequest::send(&emulator, &head, &file[KIB320..KIB320 + 1000]).await;
    // In flight: the emulator is reading its body.
    eventually("the held fragment is being read", || {
        emulator.stats().bytes_received >= before + 1000
    })
    .await;
    assert_eq!(
        call(&client, Method::DELETE, &url).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    held.write(&file[KIB320 + 1000..]).await;
    let answer = held.answer().await;
    // The cancel was answered first: the upload must not become a file afterwards.
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(emulator.files().is_empty());
    assert_eq!(part_files(&emulator), Vec::<std::path::PathBuf>::new());
}

#[tokio::test]
async fn a_wopi_commit_while_an_update_is_in_flight_is_told_to_retry() {
    use resumable_core::http::Segment;
    use resumable_core::secret::Secret;
    use resumable_core::wopi::{
        ChunkSignature, ChunkingScheme, PutChunkedFileMessage, StreamSignature,
        put_chunked_file_body,
    };
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let source = data(5000, 5);
    let (chunk, stream) = full_file_stream(&source);
    let token = wopi_create(&emulator, &client, "f").await.unwrap();
    let head = format!(
        "POST {}?access_token=t HTTP/1.1\r\nx-wopi-override: UPDATE_UPLOAD_SESSION\r\n\
         x-wopi-uploadsessiontoken: {token}\r\nx-wopi-contentrangeoffset: 0\r\n\
         x-wopi-contentrangelength: {len}\r\ncontent-length: {len}",
        path_of(&emulator.wopi_file_url("f")),
        len = stream.len()
    );
    let before = emulator.stats().bytes_received;
    let mut held = RawRequest::send(&emulator, &head, &stream[..100]).await;
    // In flight: the emulator is reading its body.
    eventually("the held update is being read", || {
        emulator.stats().bytes_received >= before + 100
    })
    .await;
    let message = PutChunkedFileMessage::new(vec![StreamSignature {
        stream_id: "MainContent".into(),
        chunking_scheme: ChunkingScheme::FullFile,
        chunk_signatures: vec![ChunkSignature {
            chunk_id: chunk.id,
            length: chunk.len,
        }],
    }])
    .with_session_token(Secret::new(token));
    let body: Vec<u8> = put_chunked_file_body(&message, &[])
        .unwrap()
        .into_iter()
        .flat_map(|segment| match segment {
            Segment::Inline(bytes) => bytes.to_vec(),
            Segment::Source(_) => Vec::new(),
        })
        .collect();
    let commit = || {
        client
            .post(format!(
                "{}/contents?access_token=t",
                emulator.wopi_file_url("f")
            ))
            .header("x-wopi-override", "PUT_CHUNKED_FILE")
            .header("x-wopi-sequencenumber", "1")
            .body(body.clone())
            .send()
    };
    let busy = commit().await.unwrap();
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.headers()["retry-after"], "1");
    held.write(&stream[100..]).await;
    assert!(held.answer().await.starts_with("HTTP/1.1 200"));
    assert_eq!(commit().await.unwrap().status(), StatusCode::OK);
    assert_eq!(emulator.files()[0].sha256, sha256(&source));
}
