//! The caller's retry policy over real HTTP: a hook that declines ends the upload as a failure
//! that keeps the session and the checkpoint, so the job resumes later; a hook that allows sees
//! every retry, counted since the last progress.

mod common;

use std::sync::{Arc, Mutex};

use resumable_core::graph::UploadError;
use resumable_core::http::RequestKind;
use resumable_core::retry::GiveUp;
use resumable_core::session::{Failure, Resumption, RetryAttempt};
use resumable_reqwest::{CheckpointStore, FailureCause, FileCheckpointStore};

use common::*;

const SIZE: usize = 4 * KIB320 as usize + 777;

#[tokio::test]
async fn a_declined_retry_fails_and_the_job_resumes_later() {
    let emulator = emulator("fragment#2=status:503").await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("declined.checkpoint"));
    let bytes = data(SIZE, 5);
    let asked: Arc<Mutex<Vec<RetryAttempt>>> = Arc::default();
    let seen = asked.clone();
    let job = drive_job(&emulator, "declined.bin", bytes.clone(), KIB320)
        .checkpoint(store.clone())
        .should_retry(move |attempt| {
            seen.lock().unwrap().push(*attempt);
            false
        });
    let failure = uploader().upload(job).await.unwrap_err();

    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(
        (asked[0].attempt, asked[0].reason),
        (1, Failure::Status(503))
    );
    assert!(
        matches!(
            &failure.cause,
            FailureCause::Upload(UploadError::GaveUp {
                during: RequestKind::Fragment,
                last: Failure::Status(503),
                reason: GiveUp::Declined { attempt: 1 },
            })
        ),
        "{failure}"
    );
    assert!(
        failure
            .to_string()
            .contains("the retry hook declined retry 1"),
        "{failure}"
    );
    assert_eq!(failure.stats.retries, 0, "a declined retry is not made");
    assert_eq!(failure.stats.confirmed, KIB320);
    assert!(store.load().unwrap().is_some(), "the checkpoint is kept");
    assert_eq!(
        requests(&emulator, "cancel"),
        0,
        "not a cancel: the session is kept"
    );

    // The same job again, without the hook: it resumes in the same session.
    let job = drive_job(&emulator, "declined.bin", bytes.clone(), KIB320).checkpoint(store.clone());
    let task = uploader().start(job).await.unwrap();
    assert!(
        matches!(task.resumption(), Resumption::Resumed { confirmed, .. } if *confirmed == KIB320),
        "{:?}",
        task.resumption()
    );
    let summary = task.finish().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.stats.bytes_sent, SIZE as u64 - KIB320);
    assert_eq!(
        stored(&emulator, "me/drive/root:/declined.bin").sha256,
        sha256(&bytes)
    );
    assert_eq!(emulator.stats().sessions_created, 1);
}

#[tokio::test]
async fn an_allowing_hook_sees_each_retry_since_the_last_progress() {
    let emulator =
        emulator("fragment#2=status:503, fragment#3=status:502, fragment#5=status:500").await;
    let bytes = data(SIZE, 6);
    let asked: Arc<Mutex<Vec<RetryAttempt>>> = Arc::default();
    let seen = asked.clone();
    let job =
        drive_job(&emulator, "allowed.bin", bytes.clone(), KIB320).should_retry(move |attempt| {
            seen.lock().unwrap().push(*attempt);
            true
        });
    let summary = uploader()
        .upload(job)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let asked: Vec<(u32, Failure)> = asked
        .lock()
        .unwrap()
        .iter()
        .map(|attempt| (attempt.attempt, attempt.reason))
        .collect();
    assert_eq!(
        asked,
        [
            (1, Failure::Status(503)),
            (2, Failure::Status(502)),
            (1, Failure::Status(500)),
        ]
    );
    assert_eq!(summary.stats.retries, 3);
    assert_eq!(
        stored(&emulator, "me/drive/root:/allowed.bin").sha256,
        sha256(&bytes)
    );
}
