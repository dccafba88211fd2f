//! The blocking transport's retry hook against the emulator: declining ends the upload as a
//! failure that keeps the checkpoint, and the job resumes from it.

use std::cell::RefCell;
use std::rc::Rc;

use resumable_conformance::{Env, KIB320, data, quick_graph, sha256};
use resumable_core::graph::{Destination, DriveItem, Target, UploadError};
use resumable_core::retry::GiveUp;
use resumable_core::secret::Secret;
use resumable_core::session::{Failure, RetryAttempt};
use resumable_ureq::source::BytesSource;
use resumable_ureq::{CheckpointStore, FailureCause, FileCheckpointStore, UploadJob, Uploader};

#[test]
fn a_declined_retry_keeps_the_checkpoint_and_the_job_resumes() {
    let env = Env::with_script("fragment#2=status:502");
    let bytes = data(3 * KIB320 as usize + 99, 8);
    let store = FileCheckpointStore::new(env.path("hook.checkpoint"));
    let uploader = Uploader::builder()
        .token(Secret::new("conformance-token"))
        .build();
    let job = || {
        UploadJob::new(
            BytesSource::new(bytes.clone()),
            Destination::new_session(env.emulator().drive_upload_session_url("hook.bin")),
            Target::DriveItem(DriveItem::new()),
        )
        .configure(|config| quick_graph(config, KIB320))
        .checkpoint(store.clone())
    };
    let asked: Rc<RefCell<Vec<RetryAttempt>>> = Rc::default();
    let seen = asked.clone();
    let failure = uploader
        .upload(job().should_retry(move |attempt| {
            seen.borrow_mut().push(*attempt);
            false
        }))
        .unwrap_err();
    assert_eq!(asked.borrow().len(), 1);
    assert_eq!(asked.borrow()[0].reason, Failure::Status(502));
    assert!(
        matches!(
            &failure.cause,
            FailureCause::Upload(UploadError::GaveUp {
                reason: GiveUp::Declined { attempt: 1 },
                ..
            })
        ),
        "{failure}"
    );
    assert!(store.load().unwrap().is_some(), "the checkpoint is kept");

    let summary = uploader.upload(job()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.stats.bytes_sent, bytes.len() as u64 - KIB320);
    let stored = env.stored("me/drive/root:/hook.bin").expect("stored");
    assert_eq!(stored.sha256, sha256(&bytes));
    assert_eq!(env.stats().sessions_created, 1);
}
