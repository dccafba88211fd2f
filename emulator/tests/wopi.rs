//! The WOPI host: upload sessions, frame checks, commits, sequence numbers, locks, expiry.

mod common;

use std::time::Duration;

use common::clock::FrozenClock;
use common::*;
use reqwest::{Response, StatusCode};
use resumable_core::http::Segment;
use resumable_core::secret::Secret;
use resumable_core::wopi::{
    ChunkId, ChunkSignature, ChunkingScheme, FramePrefix, PutChunkedFileMessage, StreamChunk,
    StreamSignature, UploadStream, put_chunked_file_body,
};
use resumable_emulator::{EmulatorConfig, EmulatorHandle, Protocol, TimeScale, WopiConfig};

struct Wopi {
    emulator: EmulatorHandle,
    client: reqwest::Client,
}

impl Wopi {
    async fn new(config: EmulatorConfig) -> Self {
        Wopi {
            emulator: start(config).await,
            client: client(),
        }
    }

    fn url(&self, file: &str, contents: bool) -> String {
        let suffix = if contents { "/contents" } else { "" };
        format!(
            "{}{suffix}?access_token=secret-token",
            self.emulator.wopi_file_url(file)
        )
    }

    async fn create(&self, file: &str) -> String {
        let answer = self
            .client
            .post(self.url(file, false))
            .header("x-wopi-override", "CREATE_UPLOAD_SESSION")
            .header("content-length", "0")
            .send()
            .await
            .unwrap();
        let (status, body) = json(answer).await;
        assert_eq!(status, StatusCode::OK);
        body["UploadSessionToken"].as_str().unwrap().to_owned()
    }

    async fn update(&self, file: &str, token: &str, offset: u64, body: &[u8]) -> Response {
        self.client
            .post(self.url(file, false))
            .header("x-wopi-override", "UPDATE_UPLOAD_SESSION")
            .header("x-wopi-uploadsessiontoken", token)
            .header("x-wopi-contentrangeoffset", offset.to_string())
            .header("x-wopi-contentrangelength", body.len().to_string())
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    async fn commit(
        &self,
        file: &str,
        sequence: u64,
        body: Vec<u8>,
        lock: Option<&str>,
    ) -> Response {
        let mut request = self
            .client
            .post(self.url(file, true))
            .header("x-wopi-override", "PUT_CHUNKED_FILE")
            .header("x-wopi-sequencenumber", sequence.to_string())
            .body(body);
        if let Some(lock) = lock {
            request = request.header("x-wopi-lock", lock);
        }
        request.send().await.unwrap()
    }
}

fn reason(answer: &Response) -> String {
    answer
        .headers()
        .get("x-wopi-failurereason")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn offset_header(answer: &Response) -> u64 {
    answer.headers()["x-wopi-uploadsessioncurrentoffset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The framed upload-session stream of `source` cut into chunks at `cuts`.
fn stream(source: &[u8], cuts: &[usize]) -> (Vec<StreamChunk>, Vec<u8>) {
    let mut chunks = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain([source.len()].iter()) {
        chunks.push(StreamChunk {
            id: ChunkId::of(&source[start..end]),
            source_offset: start as u64,
            len: (end - start) as u64,
        });
        start = end;
    }
    let bytes = UploadStream::from_chunks(chunks.clone())
        .unwrap()
        .materialise(source)
        .unwrap();
    (chunks, bytes)
}

fn signature(chunks: &[StreamChunk]) -> StreamSignature {
    StreamSignature {
        stream_id: "MainContent".into(),
        chunking_scheme: ChunkingScheme::FullFile,
        chunk_signatures: chunks
            .iter()
            .map(|c| ChunkSignature {
                chunk_id: c.id,
                length: c.len,
            })
            .collect(),
    }
}

/// A `PutChunkedFile` body: the message, `inline` chunks read from `source`, `EndFrame`.
fn commit_body(message: &PutChunkedFileMessage, inline: &[StreamChunk], source: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for segment in put_chunked_file_body(message, inline).unwrap() {
        match segment {
            Segment::Inline(bytes) => body.extend_from_slice(&bytes),
            Segment::Source(range) => {
                body.extend_from_slice(&source[range.start() as usize..range.end() as usize])
            }
        }
    }
    body
}

fn config() -> EmulatorConfig {
    EmulatorConfig {
        wopi: WopiConfig {
            access_token: Some(Secret::new("secret-token")),
            ..WopiConfig::default()
        },
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn a_session_upload_in_unaligned_ranges_commits_the_file() {
    let wopi = Wopi::new(config()).await;
    let source = data(200_000, 41);
    let (chunks, bytes) = stream(&source, &[]);
    let token = wopi.create("f1").await;
    let mut offset = 0;
    for cut in [10, 40_000, bytes.len()] {
        let answer = wopi
            .update("f1", &token, offset as u64, &bytes[offset..cut])
            .await;
        assert_eq!(answer.status(), StatusCode::OK, "{}", reason(&answer));
        assert_eq!(offset_header(&answer), cut as u64);
        offset = cut;
    }
    let message = PutChunkedFileMessage::new(vec![signature(&chunks)])
        .with_session_token(Secret::new(token.clone()));
    let answer = wopi
        .commit("f1", 1, commit_body(&message, &[], &source), None)
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", reason(&answer));
    assert_eq!(answer.headers()["x-wopi-sequencenumber"], "2");
    assert_eq!(answer.headers()["x-wopi-itemversion"], "v1");
    let stored = &wopi.emulator.files()[0];
    assert_eq!(
        (stored.protocol, stored.path.as_str()),
        (Protocol::Wopi, "wopi/files/f1")
    );
    assert_eq!(
        (stored.size, stored.sha256.as_str()),
        (200_000, sha256(&source).as_str())
    );
    assert_eq!(
        std::fs::read(stored.disk_path.as_ref().unwrap()).unwrap(),
        source
    );
    // The session is gone after the commit.
    assert_eq!(
        wopi.update("f1", &token, offset as u64, &bytes[..10])
            .await
            .status(),
        StatusCode::GONE
    );
}

#[tokio::test]
async fn updates_must_follow_the_rules() {
    let wopi = Wopi::new(config()).await;
    let source = data(1000, 42);
    let (_, bytes) = stream(&source, &[300]);
    let token = wopi.create("f2").await;
    let unauthenticated = wopi
        .client
        .post(wopi.emulator.wopi_file_url("f2"))
        .header("x-wopi-override", "CREATE_UPLOAD_SESSION")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let wrong_token = wopi
        .client
        .post(format!(
            "{}?access_token=nope",
            wopi.emulator.wopi_file_url("f2")
        ))
        .header("x-wopi-override", "CREATE_UPLOAD_SESSION")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wopi.update("f2", "no-such-session", 0, &bytes[..10])
            .await
            .status(),
        StatusCode::GONE
    );
    // A session belongs to its file.
    assert_eq!(
        wopi.update("other", &token, 0, &bytes[..10]).await.status(),
        StatusCode::GONE
    );
    let ahead = wopi.update("f2", &token, 5, &bytes[5..10]).await;
    assert_eq!(
        (ahead.status(), offset_header(&ahead)),
        (StatusCode::BAD_REQUEST, 0)
    );
    let length_mismatch = wopi
        .client
        .post(wopi.url("f2", false))
        .header("x-wopi-override", "UPDATE_UPLOAD_SESSION")
        .header("x-wopi-uploadsessiontoken", &token)
        .header("x-wopi-contentrangeoffset", "0")
        .header("x-wopi-contentrangelength", "11")
        .body(bytes[..10].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(length_mismatch.status(), StatusCode::BAD_REQUEST);
    let no_token = wopi
        .client
        .post(wopi.url("f2", false))
        .header("x-wopi-override", "UPDATE_UPLOAD_SESSION")
        .body(vec![1])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wopi.update("f2", &token, 0, &bytes[..100]).await.status(),
        StatusCode::OK
    );
    let behind = wopi.update("f2", &token, 50, &bytes[50..150]).await;
    assert_eq!(
        (behind.status(), offset_header(&behind)),
        (StatusCode::BAD_REQUEST, 100)
    );
    assert_eq!(wopi.emulator.stats().bytes_received_twice, 50);
    // A corrupted chunk byte: the ChunkId check refuses the update, and nothing of it is kept.
    let mut corrupt = bytes[100..].to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    let refused = wopi.update("f2", &token, 100, &corrupt).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        reason(&refused).contains("ChunkId") || reason(&refused).to_lowercase().contains("chunk"),
        "{}",
        reason(&refused)
    );
    assert_eq!(offset_header(&refused), 100);
    let accepted = wopi.update("f2", &token, 100, &bytes[100..]).await;
    assert_eq!(
        (accepted.status(), offset_header(&accepted)),
        (StatusCode::OK, bytes.len() as u64)
    );
    // A frame that is not a Chunk is refused in a session stream.
    let end_frame = FramePrefix::end_frame().encode();
    let not_chunk = wopi
        .update("f2", &token, bytes.len() as u64, &end_frame)
        .await;
    assert_eq!(not_chunk.status(), StatusCode::BAD_REQUEST);
    assert_eq!(offset_header(&not_chunk), bytes.len() as u64);
}

#[tokio::test(start_paused = true)]
async fn sessions_slide_their_30_minute_expiry_then_answer_410() {
    // Service time passes on tokio's clock, frozen for the test and moved only between its
    // requests: exact, and free of wall time.
    let clock = FrozenClock::hold();
    // 30 minutes under ×1800: one second.
    let wopi = Wopi::new(config().with_time_scale(TimeScale::new(1800.0).unwrap())).await;
    let source = data(5000, 43);
    let (_, bytes) = stream(&source, &[]);
    let token = wopi.create("f3").await;
    clock.advance(Duration::from_millis(600)).await;
    assert_eq!(
        wopi.update("f3", &token, 0, &bytes[..1000]).await.status(),
        StatusCode::OK
    );
    clock.advance(Duration::from_millis(600)).await;
    assert_eq!(
        wopi.update("f3", &token, 1000, &bytes[1000..2000])
            .await
            .status(),
        StatusCode::OK
    );
    clock.advance(Duration::from_millis(1200)).await;
    let gone = wopi.update("f3", &token, 2000, &bytes[2000..]).await;
    assert_eq!(gone.status(), StatusCode::GONE);
    assert!(gone.headers().contains_key("x-wopi-failurereason"));
}

#[tokio::test]
async fn commits_check_frames_signatures_and_sequence_numbers() {
    let wopi = Wopi::new(config()).await;
    let source = data(3000, 44);
    let (chunks, _) = stream(&source, &[1000]);
    let message = PutChunkedFileMessage::new(vec![signature(&chunks)]);
    let body = commit_body(&message, &chunks, &source);
    // Truncated before EndFrame, and without MainContent.
    assert_eq!(
        wopi.commit("f4", 1, body[..body.len() - 16].to_vec(), None)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    let mut other = signature(&chunks);
    other.stream_id = "Alternate".into();
    let no_main = commit_body(
        &PutChunkedFileMessage::new(vec![other, signature(&chunks[..1])]),
        &chunks[..1],
        &source,
    );
    let answer = wopi.commit("f4", 1, no_main, None).await;
    assert_eq!(
        answer.status(),
        StatusCode::OK,
        "an alternate stream is allowed when MainContent is there: {}",
        reason(&answer)
    );
    let without_main = {
        let mut text = commit_body(
            &PutChunkedFileMessage::new(vec![signature(&chunks)]),
            &[],
            &source,
        );
        let at = text.windows(11).position(|w| w == b"MainContent").unwrap();
        text[at..at + 11].copy_from_slice(b"MainContenX");
        text
    };
    assert_eq!(
        wopi.commit("f4", 2, without_main, None).await.status(),
        StatusCode::BAD_REQUEST
    );
    // A chunk listed but never sent.
    assert_eq!(
        wopi.commit("f4", 2, commit_body(&message, &chunks[..1], &source), None)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        wopi.commit("f4", 0, body.clone(), None).await.status(),
        StatusCode::BAD_REQUEST
    );
    // The host is at 2 after the first commit: 1 is stale.
    let stale = wopi.commit("f4", 1, body.clone(), None).await;
    assert_eq!(
        (
            stale.status(),
            stale.headers()["x-wopi-sequencenumber"].to_str().unwrap()
        ),
        (StatusCode::PRECONDITION_FAILED, "2")
    );
    let answer = wopi.commit("f4", 2, body, None).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["x-wopi-sequencenumber"], "3");
    let files = wopi.emulator.files();
    assert_eq!(files.last().unwrap().sha256, sha256(&source));
    assert_eq!(files[0].sha256, sha256(&source[..1000]));
}

#[tokio::test]
async fn chunks_are_assembled_in_signature_order_from_session_and_body() {
    let wopi = Wopi::new(config()).await;
    let source = data(9000, 45);
    let (chunks, _) = stream(&source, &[3000, 6000]);
    // The session gets the last chunk, then the first; the middle one comes inline.
    let token = wopi.create("f5").await;
    let mut session_stream = UploadStream::from_chunks([chunks[2], chunks[0]])
        .unwrap()
        .materialise(&source)
        .unwrap();
    assert_eq!(
        wopi.update("f5", &token, 0, &session_stream).await.status(),
        StatusCode::OK
    );
    session_stream.clear();
    let message =
        PutChunkedFileMessage::new(vec![signature(&chunks)]).with_session_token(Secret::new(token));
    let answer = wopi
        .commit("f5", 1, commit_body(&message, &chunks[1..2], &source), None)
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", reason(&answer));
    let stored = &wopi.emulator.files()[0];
    assert_eq!(
        (stored.size, stored.sha256.as_str()),
        (9000, sha256(&source).as_str())
    );
    assert_eq!(
        std::fs::read(stored.disk_path.as_ref().unwrap()).unwrap(),
        source
    );
}

#[tokio::test]
async fn locks_are_checked_and_exclusive() {
    let wopi = Wopi::new(config()).await;
    let source = data(100, 46);
    let (chunks, _) = stream(&source, &[]);
    let body = commit_body(
        &PutChunkedFileMessage::new(vec![signature(&chunks)]),
        &chunks,
        &source,
    );
    let lock = wopi
        .client
        .post(wopi.url("f6", false))
        .header("x-wopi-override", "LOCK")
        .header("x-wopi-lock", "L1")
        .send()
        .await
        .unwrap();
    assert_eq!(lock.status(), StatusCode::OK);
    let conflict = wopi.commit("f6", 1, body.clone(), Some("L2")).await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert_eq!(conflict.headers()["x-wopi-lock"], "L1");
    assert_eq!(
        conflict.headers()["x-wopi-conflictingmechanism"],
        "WOPI-Lock"
    );
    let both = wopi
        .client
        .post(wopi.url("f6", true))
        .header("x-wopi-override", "PUT_CHUNKED_FILE")
        .header("x-wopi-sequencenumber", "1")
        .header("x-wopi-lock", "L1")
        .header("x-wopi-coauthlockid", "C1")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wopi.commit("f6", 1, body, Some("L1")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_host_without_upload_sessions_answers_501() {
    let config = EmulatorConfig {
        wopi: WopiConfig {
            upload_sessions: false,
            ..WopiConfig::default()
        },
        ..EmulatorConfig::default()
    };
    let wopi = Wopi::new(config).await;
    let answer = wopi
        .client
        .post(wopi.url("f7", false))
        .header("x-wopi-override", "CREATE_UPLOAD_SESSION")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_IMPLEMENTED);
    // The fallback, one PutChunkedFile with the chunk inline, works.
    let source = data(50, 47);
    let (chunks, _) = stream(&source, &[]);
    let body = commit_body(
        &PutChunkedFileMessage::new(vec![signature(&chunks)]),
        &chunks,
        &source,
    );
    assert_eq!(
        wopi.commit("f7", 1, body, None).await.status(),
        StatusCode::OK
    );
    let unknown = EmulatorConfig {
        wopi: WopiConfig {
            known_files: Some(vec!["known".into()]),
            ..WopiConfig::default()
        },
        ..EmulatorConfig::default()
    };
    let wopi = Wopi::new(unknown).await;
    let answer = wopi
        .client
        .post(wopi.url("f8", false))
        .header("x-wopi-override", "CREATE_UPLOAD_SESSION")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn partial_stores_and_lost_answers_on_updates() {
    let script = "wopi-update#1=partial-store:100, wopi-update#2=lose-answer"
        .parse()
        .unwrap();
    let wopi = Wopi::new(
        config()
            .with_script(script)
            .with_storage(resumable_emulator::StorageMode::Discard),
    )
    .await;
    let source = data(4000, 48);
    let (chunks, bytes) = stream(&source, &[]);
    let token = wopi.create("f9").await;
    let partial = wopi.update("f9", &token, 0, &bytes[..1000]).await;
    assert_eq!(
        (partial.status(), offset_header(&partial)),
        (StatusCode::OK, 100)
    );
    let lost = wopi
        .client
        .post(wopi.url("f9", false))
        .header("x-wopi-override", "UPDATE_UPLOAD_SESSION")
        .header("x-wopi-uploadsessiontoken", &token)
        .header("x-wopi-contentrangeoffset", "100")
        .header("x-wopi-contentrangelength", (bytes.len() - 100).to_string())
        .body(bytes[100..].to_vec())
        .send()
        .await;
    assert!(lost.is_err());
    let again = wopi.update("f9", &token, 100, &bytes[100..]).await;
    assert_eq!(
        (again.status(), offset_header(&again)),
        (StatusCode::BAD_REQUEST, bytes.len() as u64)
    );
    let message =
        PutChunkedFileMessage::new(vec![signature(&chunks)]).with_session_token(Secret::new(token));
    assert_eq!(
        wopi.commit("f9", 1, commit_body(&message, &[], &source), None)
            .await
            .status(),
        StatusCode::OK
    );
    let stored = &wopi.emulator.files()[0];
    assert_eq!(
        (stored.sha256.as_str(), stored.disk_path.is_none()),
        (sha256(&source).as_str(), true)
    );
    let stats = wopi.emulator.stats();
    assert_eq!(
        (stats.faults["partial-store"], stats.faults["lose-answer"]),
        (1, 1)
    );
    assert_eq!(stats.bytes_received_twice, (bytes.len() - 100) as u64);
}
