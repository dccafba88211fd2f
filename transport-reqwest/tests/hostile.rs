//! Uploads through the library API against a hostile emulator: a server that lies about
//! fragments, about the file it stored and about its sessions. What is checked is what the
//! library reports: a summary only when the emulator's own record holds the source's bytes and
//! a hash was checked, and otherwise the failure that names what the service did.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use resumable_core::chunk::FragmentSizing;
use resumable_core::digest::stored::{HashKind, Mismatch};
use resumable_core::graph::{
    ConflictBehavior, Event, ExplicitCommit, PrintDocument, Target, TargetKind, UploadError,
};
use resumable_core::http::RequestKind;
use resumable_core::retry::GiveUp;
use resumable_core::session::{Failure, Violation};
use resumable_core::wopi::{WopiConfig, WopiError};
use resumable_emulator::{Emulator, EmulatorConfig, EmulatorHandle, StorageMode};
use resumable_reqwest::source::{BytesSource, Source};
use resumable_reqwest::{FailureCause, UploadFailure, UploadJob, UploadSummary, WopiJob};

use common::clock::{FrozenClock, arrivals_settled};
use common::*;

/// `n` whole fragments and a short last one.
fn fragments(n: u64) -> usize {
    (n * KIB320) as usize + 4321
}

/// Four fragments: faults land in the middle and on the last one.
const SIZE: usize = 3 * KIB320 as usize + 4321;

/// Runs `job`, collecting every event it reports.
async fn run(job: UploadJob) -> (Result<UploadSummary, UploadFailure>, Vec<Event>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let job = job.on_event(move |event| log.lock().unwrap().push(event.clone()));
    let outcome = uploader().upload(job).await;
    let events = seen.lock().unwrap().clone();
    (outcome, events)
}

/// The upload completed, the emulator holds the source's bytes at `path`, and the service's
/// size and QuickXorHash were checked against the source's own hashes.
fn assert_stored(
    outcome: Result<UploadSummary, UploadFailure>,
    emulator: &EmulatorHandle,
    path: &str,
    bytes: &[u8],
) -> UploadSummary {
    let summary = outcome.unwrap_or_else(|failure| panic!("failed: {failure}"));
    assert_eq!(stored(emulator, path).sha256, sha256(bytes));
    let verification = &summary.completion.verification;
    assert!(verification.size, "{verification}");
    assert!(
        verification.hashes.contains(&HashKind::QuickXor),
        "{verification}"
    );
    let hashes = summary.source_hashes.expect("the source was read whole");
    assert_eq!(
        hashes.quick_xor,
        resumable_core::digest::SourceHashes::of(bytes).quick_xor,
        "the source's hashes come from its bytes"
    );
    assert_eq!(summary.stats.confirmed, bytes.len() as u64);
    summary
}

/// The upload failed for a reason the engine gave.
fn upload_error(outcome: Result<UploadSummary, UploadFailure>) -> UploadError {
    match outcome {
        Ok(summary) => panic!("completed: {:?}", summary.completion),
        Err(UploadFailure {
            cause: FailureCause::Upload(error),
            ..
        }) => error,
        Err(failure) => panic!("failed otherwise: {failure:?}"),
    }
}

fn violations(events: &[Event]) -> Vec<Violation> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::ProtocolViolation(violation) => Some(*violation),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn one_premature_item_is_doubted_and_the_upload_completes() {
    let emulator = common::emulator("fragment#1=premature-item").await;
    let bytes = data(SIZE, 1);
    let (outcome, events) = run(drive_job(&emulator, "early.bin", bytes.clone(), KIB320)).await;
    let summary = assert_stored(outcome, &emulator, "me/drive/root:/early.bin", &bytes);
    assert!(matches!(
        violations(&events)[..],
        [Violation::PrematureEnd { confirmed: 0, .. }]
    ));
    assert!(summary.stats.resyncs >= 1);
}

#[tokio::test]
async fn premature_items_on_every_fragment_are_given_up_on() {
    let emulator = common::emulator("fragment#*=premature-item").await;
    let (outcome, events) = run(drive_job(
        &emulator,
        "liar.bin",
        data(fragments(5), 2),
        KIB320,
    ))
    .await;
    match upload_error(outcome) {
        UploadError::ServiceMisbehaved {
            violation: Violation::PrematureEnd { .. },
            times: 4,
        } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(violations(&events).len(), 4);
    assert_eq!(requests(&emulator, "cancel"), 1, "the session was deleted");
    assert!(emulator.files().is_empty());
}

#[tokio::test]
async fn claims_of_bytes_never_sent_are_doubted_then_given_up_on() {
    let emulator = common::emulator("fragment#1=skip-ahead").await;
    let bytes = data(SIZE, 3);
    let (outcome, events) = run(drive_job(&emulator, "skip.bin", bytes.clone(), KIB320)).await;
    assert_stored(outcome, &emulator, "me/drive/root:/skip.bin", &bytes);
    assert!(matches!(
        violations(&events)[..],
        [Violation::ClaimedUnsent { .. }]
    ));
    assert!(
        emulator.stats().refusals.is_empty(),
        "nothing sent from the lie"
    );

    let emulator = common::emulator("fragment#*=skip-ahead").await;
    let job = drive_job(&emulator, "skip.bin", data(fragments(5), 4), KIB320);
    match upload_error(run(job).await.0) {
        UploadError::ServiceMisbehaved {
            violation: Violation::ClaimedUnsent { .. },
            times: 4,
        } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&emulator, "cancel"), 1);
}

/// An emulator whose drive items report every hash a personal OneDrive reports.
async fn personal_drive(script: &str) -> EmulatorHandle {
    let mut config = EmulatorConfig::default()
        .with_storage(StorageMode::Discard)
        .with_script(script.parse().unwrap());
    config.set("drive-hashes", "personal").unwrap();
    Emulator::start(config).await.unwrap()
}

#[tokio::test]
async fn every_cheap_hash_a_personal_drive_reports_is_checked() {
    let emulator = personal_drive("").await;
    let bytes = data(SIZE, 5);
    let (outcome, _) = run(drive_job(&emulator, "all.bin", bytes.clone(), KIB320)).await;
    let summary = assert_stored(outcome, &emulator, "me/drive/root:/all.bin", &bytes);
    // QuickXorHash and CRC-32 come with the reads; SHA-1 would cost a pass of its own for no
    // more proof, and the summary says it was not computed.
    let checked = &summary.completion.verification;
    assert_eq!(checked.hashes, [HashKind::QuickXor, HashKind::Crc32]);
    assert_eq!(checked.unchecked, [HashKind::Sha1]);
}

#[tokio::test]
async fn a_wrong_hash_or_size_is_a_stored_file_that_differs() {
    let emulator = personal_drive("fragment#4=wrong-hash").await;
    let bytes = data(SIZE, 6);
    let (outcome, _) = run(drive_job(&emulator, "hash.bin", bytes.clone(), KIB320)).await;
    match upload_error(outcome) {
        UploadError::StoredFileDiffers {
            destination: TargetKind::DriveItem,
            mismatch:
                Mismatch::Hash {
                    kind: HashKind::QuickXor,
                    source,
                    stored,
                },
        } => {
            let zeros = resumable_core::digest::SourceHashes::of(&vec![0; SIZE]);
            assert_eq!(
                source,
                resumable_core::digest::SourceHashes::of(&bytes)
                    .quick_xor_base64()
                    .as_str()
            );
            assert_eq!(stored, zeros.quick_xor_base64().as_str());
        }
        other => panic!("{other:?}"),
    }

    let emulator = common::emulator("fragment#4=wrong-size").await;
    let job = drive_job(&emulator, "size.bin", bytes.clone(), KIB320);
    match upload_error(run(job).await.0) {
        UploadError::StoredFileDiffers {
            mismatch: Mismatch::Size { source, stored },
            ..
        } => assert_eq!((source, stored), (SIZE as u64, SIZE as u64 + 1)),
        other => panic!("{other:?}"),
    }
    // The bytes are stored: only the service's word on them was wrong.
    assert_eq!(
        stored(&emulator, "me/drive/root:/size.bin").sha256,
        sha256(&bytes)
    );
}

#[tokio::test]
async fn an_old_item_at_the_path_is_not_taken_for_this_upload() {
    // The last fragment's answer is lost, the session is gone, and the path holds someone
    // else's older file of the same size. The engine looks it up, refuses it, uploads again in
    // a new session, and the service refuses the taken name; the caller replaces it.
    let emulator = common::emulator("fragment#4=old-item").await;
    let bytes = data(SIZE, 7);
    let job = drive_job(&emulator, "old.bin", bytes.clone(), KIB320);
    let mut task = uploader().start(job).await.unwrap();
    let mut events = Vec::new();
    while let Some(event) = task.next().await {
        if let Event::NameConflict = event {
            let item_url = format!("{}/me/drive/root:/old.bin:", emulator.graph_url());
            task.commit_with_source_url(ExplicitCommit::new(
                item_url,
                "old.bin",
                ConflictBehavior::Replace,
            ));
        }
        events.push(event);
    }
    let summary = assert_stored(
        task.finish().await,
        &emulator,
        "me/drive/root:/old.bin",
        &bytes,
    );
    let refused = events.iter().position(|e| {
        matches!(
            e,
            Event::NotThisUpload(Mismatch::Hash {
                kind: HashKind::QuickXor,
                ..
            })
        )
    });
    let second = events
        .iter()
        .position(|e| matches!(e, Event::SessionCreated { number: 2, .. }));
    assert!(
        matches!((refused, second), (Some(r), Some(s)) if r < s),
        "{events:?}"
    );
    assert_eq!(summary.stats.sessions, 2);
    // The lookup after the lost answer, and the one after the 409 (the name could have been
    // held by this very file): both found the older file.
    assert_eq!(requests(&emulator, "get-item"), 2);
}

#[tokio::test]
async fn a_session_that_keeps_forgetting_is_given_up_on() {
    // Every third fragment forgets the session: it loses bytes it had confirmed.
    let emulator = common::emulator("fragment#3/3=regress").await;
    let job = drive_job(&emulator, "forget.bin", data(SIZE, 8), KIB320);
    match upload_error(run(job).await.0) {
        UploadError::ServiceMisbehaved {
            violation: Violation::Regressed { .. },
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&emulator, "cancel"), 1);

    // Every fragment forgets: no answer shows progress, and the retry budget runs out.
    let emulator = common::emulator("fragment#*=regress").await;
    let job = drive_job(&emulator, "forget.bin", data(SIZE, 9), KIB320)
        .configure(|config| config.retry.max_attempts = 3);
    match upload_error(run(job).await.0) {
        UploadError::GaveUp {
            during: RequestKind::Fragment,
            last: Failure::NoProgress(202),
            reason: GiveUp::BudgetExhausted { attempts: 3 },
        } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&emulator, "fragment"), 4);
    assert!(emulator.files().is_empty());
}

#[tokio::test]

async fn one_late_regress_is_recovered_by_sending_again() {
    let emulator = common::emulator("fragment#5=regress").await;
    let bytes = data(fragments(6), 10);
    let (outcome, events) = run(drive_job(&emulator, "late.bin", bytes.clone(), KIB320)).await;
    let regressions = violations(&events);
    assert_stored(outcome, &emulator, "me/drive/root:/late.bin", &bytes);
    // One lie, one violation.
    assert_eq!(regressions.len(), 1, "{regressions:?}");
}

#[tokio::test]
async fn a_server_that_keeps_one_byte_of_each_fragment_spends_the_send_budget() {
    let emulator = common::emulator("fragment#*=partial-store:1").await;
    let job = drive_job(&emulator, "leaky.bin", data(SIZE, 17), KIB320);
    match upload_error(run(job).await.0) {
        UploadError::SendBudgetSpent { sent, total } => {
            assert_eq!(total, SIZE as u64);
            assert!(sent <= 2 * total + 4 * KIB320, "{sent}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&emulator, "cancel"), 1);
}

/// The Retry-After waits pass on a frozen virtual clock, moved only between exchanges: they
/// take no wall time, and their length is measured exactly.
#[tokio::test(start_paused = true)]
async fn an_endless_503_ends_with_the_retry_budget() {
    let clock = FrozenClock::hold();
    for (script, during) in [
        (
            "create-drive#*=throttle:503:seconds:1",
            RequestKind::CreateSession,
        ),
        ("fragment#*=throttle:503:seconds:1", RequestKind::Fragment),
    ] {
        let emulator = common::emulator(script).await;
        let job = drive_job(&emulator, "busy.bin", data(SIZE, 11), KIB320)
            .configure(|config| config.retry.max_attempts = 2);
        let started = tokio::time::Instant::now();
        let step = Duration::from_millis(10);
        match upload_error(
            clock
                .run(step, arrivals_settled(&emulator), run(job))
                .await
                .0,
        ) {
            UploadError::GaveUp {
                during: d,
                last: Failure::Status(503),
                reason: GiveUp::BudgetExhausted { attempts: 2 },
            } if d == during => {}
            other => panic!("{script}: {other:?}"),
        }
        // Each Retry-After wait spent one retry: two waits of a second, honoured.
        let elapsed = started.elapsed();
        assert!(
            (Duration::from_secs(2)..Duration::from_secs(15)).contains(&elapsed),
            "{script}: {elapsed:?}"
        );
        let stats = emulator.stats();
        assert_eq!(stats.faults["throttle-503-seconds"], 3, "{script}");
        assert!(stats.requests_total <= 8, "{script}: {stats:?}");
        // Without a checkpoint nothing can resume the session it gave up on: it is deleted.
        let sessions = u64::from(during == RequestKind::Fragment);
        assert_eq!(requests(&emulator, "cancel"), sessions, "{script}");
    }
}

#[tokio::test]
async fn unusable_create_answers_are_retried_three_times_then_a_protocol_error() {
    let emulator = common::emulator("create-drive#1=malformed-create").await;
    let bytes = data(SIZE, 12);
    let (outcome, _) = run(drive_job(&emulator, "made.bin", bytes.clone(), KIB320)).await;
    assert_stored(outcome, &emulator, "me/drive/root:/made.bin", &bytes);
    assert_eq!(requests(&emulator, "create-drive"), 2);

    for (fault, no_url) in [
        ("malformed-create", false),
        ("malformed-create:no-url", true),
    ] {
        let emulator = common::emulator(&format!("create-drive#*={fault}")).await;
        let job = drive_job(&emulator, "made.bin", data(SIZE, 13), KIB320);
        match upload_error(run(job).await.0) {
            UploadError::ProtocolError {
                during: RequestKind::CreateSession,
                last,
                times: 3,
            } => assert_eq!(matches!(last, Failure::NoUploadUrl), no_url, "{last:?}"),
            other => panic!("{fault}: {other:?}"),
        }
        assert_eq!(requests(&emulator, "create-drive"), 3, "{fault}");
    }
}

#[tokio::test]
async fn an_accept_without_the_item_and_a_past_expiry_still_complete() {
    for script in ["fragment#4=empty-accept", "create-drive#1=expired-session"] {
        let emulator = common::emulator(script).await;
        let bytes = data(SIZE, 14);
        let (outcome, _) = run(drive_job(&emulator, "fine.bin", bytes.clone(), KIB320)).await;
        assert_stored(outcome, &emulator, "me/drive/root:/fine.bin", &bytes);
        assert_eq!(emulator.stats().sessions_created, 1, "{script}");
    }
}

fn wopi_job(emulator: &EmulatorHandle, id: &str, bytes: &[u8]) -> WopiJob {
    let url = format!("{}?access_token=t", emulator.wopi_file_url(id));
    WopiJob::new(BytesSource::new(bytes.to_vec()), url).configure(|config: &mut WopiConfig| {
        config.range_size = FragmentSizing::Fixed(KIB320);
        config.retry.initial_backoff = Duration::from_millis(20);
        config.retry.max_backoff = Duration::from_millis(200);
    })
}

#[tokio::test]
async fn a_wopi_offset_past_the_bytes_sent_is_doubted_then_given_up_on() {
    let emulator = common::emulator("wopi-update#1=wopi-offset-jump").await;
    let bytes = data(SIZE, 15);
    let summary = uploader()
        .upload_wopi(wopi_job(&emulator, "doc", &bytes))
        .await
        .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(stored(&emulator, "wopi/files/doc").sha256, sha256(&bytes));
    let verification = &summary.completion.verification;
    assert!(verification.size, "{verification}");
    assert_eq!(verification.hashes, [HashKind::Sha256], "{verification}");

    let emulator = common::emulator("wopi-update#*=wopi-offset-jump:1000").await;
    let failure = uploader()
        .upload_wopi(wopi_job(&emulator, "doc", &data(fragments(8), 16)))
        .await
        .unwrap_err();
    match failure.cause {
        FailureCause::Wopi(WopiError::HostMisbehaved {
            violation: Violation::ClaimedUnsent { .. },
            times: 4,
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(emulator.files().is_empty());
}

/// Bytes in memory, whose reads past the first fragment take a while: those fragments are
/// still being sent when the first one is answered.
struct SlowAfter {
    bytes: BytesSource,
    fast: u64,
}

impl Source for SlowAfter {
    fn len(&self) -> u64 {
        self.bytes.len()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if offset >= self.fast {
            // A slow source is the scenario itself, not a wait for something: it stays a real
            // sleep. (Holding these reads until the first answer came instead does not work:
            // no fragment is answered while they are held.)
            std::thread::sleep(Duration::from_millis(300));
        }
        self.bytes.read_exact_at(offset, buf)
    }

    fn describe(&self) -> String {
        "slow after the first fragment".into()
    }
}

#[tokio::test]

async fn a_print_document_named_before_the_other_fragments_land_is_not_completed() {
    // Four fragments go at once; the first to be received is answered with the whole document
    // (a lie), while the other three are still being sent. The upload must not end on it.
    let emulator = common::emulator("fragment#*=premature-item").await;
    let bytes = data(3 * 200_000 + 5000, 18);
    let url = emulator.print_upload_session_url("p", "j", "d");
    let target = Target::PrintDocument(PrintDocument::new("d.pdf", "application/pdf"));
    let source = Arc::new(SlowAfter {
        bytes: BytesSource::new(bytes.clone()),
        fast: 200_000,
    });
    let (outcome, events) = run(job(url, source, target, 200_000)).await;
    if let Ok(summary) = outcome {
        let files = emulator.files();
        assert!(
            files.iter().any(|file| file.sha256 == sha256(&bytes)),
            "completed after {:?} ({} bytes confirmed, {} sent, source hashes known: {}), but \
             the emulator stored {files:?}; events {events:?}",
            summary.stats.elapsed,
            summary.stats.confirmed,
            summary.stats.bytes_sent,
            summary.source_hashes.is_some()
        );
    }
}
