//! Simple uploads (`PUT …:/content`, the whole file in one request) through real HTTP against
//! the emulator: byte-identical at every size up to the cutoff, through server errors, cut
//! connections and lost answers, and never "completed" on a lying service's word.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use resumable_core::digest::stored::Mismatch;
use resumable_core::graph::{ConflictBehavior, Event, SimpleConfig, UploadError, content_url};
use resumable_emulator::EmulatorHandle;
use resumable_reqwest::source::BytesSource;
use resumable_reqwest::{
    FailureCause, SimpleJob, StartError, UploadFailure, UploadSummary, Uploader,
};

use common::*;

/// Retries short enough for tests.
fn quick(config: &mut SimpleConfig) {
    config.retry.initial_backoff = Duration::from_millis(20);
    config.retry.max_backoff = Duration::from_millis(200);
    config.seed = 7;
}

fn simple_job(emulator: &EmulatorHandle, name: &str, bytes: Vec<u8>) -> SimpleJob {
    SimpleJob::new(BytesSource::new(bytes), emulator.drive_content_url(name)).configure(quick)
}

async fn upload(
    emulator: &EmulatorHandle,
    name: &str,
    bytes: &[u8],
    conflict: ConflictBehavior,
) -> Result<UploadSummary, UploadFailure> {
    let job = simple_job(emulator, name, bytes.to_vec()).on_conflict(conflict);
    uploader().upload_simple(job).await
}

fn stored_sha256s(emulator: &EmulatorHandle, name: &str) -> Vec<String> {
    let path = format!("me/drive/root:/{name}");
    emulator
        .files()
        .into_iter()
        .filter(|file| file.path == path)
        .map(|file| file.sha256)
        .collect()
}

#[tokio::test]
async fn every_size_up_to_the_cutoff_is_stored_byte_for_byte_in_one_request() {
    let emulator = emulator("").await;
    for (i, size) in [0usize, 1, 327_680, 3_999_999, 4_000_000]
        .into_iter()
        .enumerate()
    {
        let bytes = data(size, i as u8 + 1);
        let name = format!("small/{size} bytes.bin");
        let summary = upload(&emulator, &name, &bytes, ConflictBehavior::Fail)
            .await
            .unwrap_or_else(|failure| panic!("{size}: {failure}"));
        assert_eq!(summary.completion.status, 201, "{size}");
        assert_eq!(
            summary.completion.verification.to_string(),
            "size and quickXorHash checked"
        );
        let file = stored(&emulator, &format!("me/drive/root:/{name}"));
        assert_eq!((file.size, file.sha256), (size as u64, sha256(&bytes)));
        assert_eq!(summary.stats.confirmed, size as u64);
        assert_eq!(summary.stats.sessions, 0);
        let hashes = summary.source_hashes.expect("every byte was read");
        assert_eq!(hashes.size, size as u64);
    }
    assert_eq!(requests(&emulator, "simple-upload"), 5);
    assert_eq!(requests(&emulator, "create-drive"), 0);
}

#[tokio::test]
async fn a_server_error_is_retried_and_the_file_lands_once() {
    let emulator = emulator("simple-upload#1=status:503").await;
    let bytes = data(100_000, 3);
    let summary = upload(&emulator, "e.bin", &bytes, ConflictBehavior::Fail)
        .await
        .unwrap();
    assert_eq!(summary.stats.retries, 1);
    assert_eq!(requests(&emulator, "simple-upload"), 2);
    assert_eq!(stored_sha256s(&emulator, "e.bin"), [sha256(&bytes)]);
}

#[tokio::test]
async fn throttling_waits_as_long_as_asked() {
    let emulator = emulator("simple-upload#1=throttle:429:seconds:60").await;
    let bytes = data(10, 4);
    let summary = upload(&emulator, "t.bin", &bytes, ConflictBehavior::Replace)
        .await
        .unwrap();
    // 60 service seconds on a clock 60 times faster: one real second at least.
    assert!(
        summary.stats.elapsed >= Duration::from_millis(990),
        "{:?}",
        summary.stats
    );
    assert_eq!(stored_sha256s(&emulator, "t.bin"), [sha256(&bytes)]);
}

#[tokio::test]
async fn a_connection_cut_mid_body_stores_nothing_and_the_retry_stores_the_file() {
    let emulator = emulator("simple-upload#1=drop-mid-body:1000").await;
    let bytes = data(327_680, 5);
    let summary = upload(&emulator, "cut.bin", &bytes, ConflictBehavior::Fail)
        .await
        .unwrap();
    assert_eq!(summary.completion.status, 201);
    assert_eq!(emulator.stats().faults["drop-mid-body"], 1);
    assert_eq!(stored_sha256s(&emulator, "cut.bin"), [sha256(&bytes)]);
}

#[tokio::test]
async fn a_lost_answer_under_replace_is_sent_again_and_proven() {
    let emulator = emulator("simple-upload#1=lose-answer").await;
    let bytes = data(50_000, 6);
    let summary = upload(&emulator, "lost.bin", &bytes, ConflictBehavior::Replace)
        .await
        .unwrap();
    // The retry replaced the file the lost answer was about: the same bytes twice.
    assert_eq!(summary.completion.status, 200);
    assert_eq!(
        stored_sha256s(&emulator, "lost.bin"),
        [sha256(&bytes), sha256(&bytes)]
    );
    assert_eq!(requests(&emulator, "get-item"), 0);
}

#[tokio::test]
async fn a_lost_answer_under_fail_reads_the_item_back_and_finds_its_own_file() {
    let emulator = emulator("simple-upload#1=lose-answer").await;
    let bytes = data(50_000, 7);
    let summary = upload(&emulator, "mine.bin", &bytes, ConflictBehavior::Fail)
        .await
        .unwrap();
    // The retry met the name taken (409) by its own file; the item read back proved it.
    assert_eq!(summary.completion.status, 200);
    assert_eq!(
        summary.completion.verification.to_string(),
        "size and quickXorHash checked"
    );
    assert_eq!(requests(&emulator, "simple-upload"), 2);
    assert_eq!(requests(&emulator, "get-item"), 1);
    assert_eq!(emulator.stats().refusals["409"], 1);
    assert_eq!(stored_sha256s(&emulator, "mine.bin"), [sha256(&bytes)]);
}

#[tokio::test]
async fn under_fail_someone_elses_file_is_a_conflict() {
    let emulator = emulator("").await;
    upload(
        &emulator,
        "taken.bin",
        &data(10, 8),
        ConflictBehavior::Replace,
    )
    .await
    .unwrap();
    let failure = upload(&emulator, "taken.bin", &data(10, 9), ConflictBehavior::Fail)
        .await
        .unwrap_err();
    let FailureCause::Upload(UploadError::Rejected {
        status: 409, code, ..
    }) = &failure.cause
    else {
        panic!("{failure}");
    };
    assert_eq!(code.as_deref(), Some("nameAlreadyExists"));
    assert!(failure.to_string().contains("name is taken"), "{failure}");
    assert_eq!(
        stored_sha256s(&emulator, "taken.bin"),
        [sha256(&data(10, 8))]
    );
}

#[tokio::test]
async fn a_lying_service_is_never_believed() {
    for (lie, what) in [("wrong-size", "4001 bytes"), ("wrong-hash", "quickXorHash")] {
        let emulator = emulator(&format!("simple-upload#1={lie}")).await;
        let bytes = data(4_000, 10);
        let completed = Arc::new(AtomicBool::new(false));
        let seen = completed.clone();
        let job = simple_job(&emulator, "lie.bin", bytes.clone()).on_event(move |event| {
            if matches!(event, Event::Completed(_)) {
                seen.store(true, Ordering::Relaxed);
            }
        });
        let failure = uploader().upload_simple(job).await.unwrap_err();
        let FailureCause::Upload(UploadError::StoredFileDiffers { mismatch, .. }) = &failure.cause
        else {
            panic!("{lie}: {failure}");
        };
        match what {
            "4001 bytes" => assert!(matches!(mismatch, Mismatch::Size { source: 4_000, .. })),
            _ => assert!(matches!(mismatch, Mismatch::Hash { .. })),
        }
        assert!(failure.to_string().contains("NOT complete"), "{failure}");
        assert!(failure.to_string().contains(what), "{failure}");
        assert_eq!(failure.stats.confirmed, 0);
        assert!(!completed.load(Ordering::Relaxed));
    }
}

#[tokio::test]
async fn jobs_that_cannot_go_in_one_request_do_not_start() {
    let emulator = emulator("").await;
    let too_big = simple_job(&emulator, "big.bin", vec![0; 4_000_001]);
    let failure = uploader().upload_simple(too_big).await.unwrap_err();
    assert!(
        matches!(
            failure.cause,
            FailureCause::NotStarted(StartError::Invalid(_))
        ),
        "{failure}"
    );
    assert!(failure.to_string().contains("upload session"), "{failure}");
    let no_token = simple_job(&emulator, "a.bin", vec![1]);
    let failure = Uploader::new()
        .unwrap()
        .upload_simple(no_token)
        .await
        .unwrap_err();
    assert!(matches!(
        failure.cause,
        FailureCause::NotStarted(StartError::NoToken)
    ));
    assert!(emulator.files().is_empty());
}

#[tokio::test]
async fn a_folder_url_and_a_relative_path_reach_the_right_item() {
    let emulator = emulator("").await;
    let folder = format!("{}/me/drive/root:/Backups", emulator.graph_url());
    let url = content_url(&folder, "a/b c#1.txt").unwrap();
    let bytes = data(321, 11);
    let job = SimpleJob::new(BytesSource::new(bytes.clone()), url).configure(quick);
    uploader().upload_simple(job).await.unwrap();
    let file = stored(&emulator, "me/drive/root:/Backups/a/b c#1.txt");
    assert_eq!(file.sha256, sha256(&bytes));
}

#[tokio::test]
async fn an_existing_item_takes_new_content_by_id() {
    let emulator = emulator("simple-upload#2=lose-answer").await;
    let first = upload(&emulator, "v.bin", &data(10, 12), ConflictBehavior::Fail)
        .await
        .unwrap();
    let id = first.completion.stored_item().unwrap().id.unwrap();
    let url = format!("{}/me/drive/items/{id}/content", emulator.graph_url());
    let bytes = data(2_000, 13);
    let job = SimpleJob::new(BytesSource::new(bytes.clone()), url).configure(quick);
    // Its first answer is lost; the retry replaces the content again, the same bytes.
    let summary = uploader().upload_simple(job).await.unwrap();
    assert_eq!(summary.completion.status, 200);
    assert_eq!(
        stored_sha256s(&emulator, "v.bin").last(),
        Some(&sha256(&bytes))
    );
}
