//! WOPI uploads end to end: the transport drives the WOPI engine over real HTTP to the
//! emulator's strict WOPI host, and the host's own records say what it received.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use resumable_core::chunk::FragmentSizing;
use resumable_core::secret::Secret;
use resumable_core::session::Resumption;
use resumable_core::wopi::{
    SequenceConflictPolicy, WopiConfig, WopiError, WopiEvent, WopiSessionLoss,
};
use resumable_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, FaultProfile, StatsSnapshot, StorageMode, TimeScale,
};
use resumable_reqwest::source::BytesSource;
use resumable_reqwest::{
    CheckpointStore, FailureCause, FileCheckpointStore, StartError, Uploader, WopiJob,
};

use common::clock::FrozenClock;
use common::{data, sha256};

const TOKEN: &str = "wopi-access-token-42";

fn host(configure: impl FnOnce(&mut EmulatorConfig)) -> EmulatorConfig {
    let mut config = EmulatorConfig::default()
        .with_storage(StorageMode::Discard)
        .with_wopi_access_token(TOKEN);
    configure(&mut config);
    config
}

async fn start(config: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(config).await.expect("emulator starts")
}

fn file_url(emulator: &EmulatorHandle, id: &str) -> String {
    format!("{}?access_token={TOKEN}", emulator.wopi_file_url(id))
}

/// Short waits and small ranges, so a test sees many updates and retries quickly.
fn quick(config: &mut WopiConfig, range: u64) {
    config.range_size = FragmentSizing::Fixed(range);
    config.retry.initial_backoff = Duration::from_millis(20);
    config.retry.max_backoff = Duration::from_millis(200);
    config.seed = 11;
}

fn job(emulator: &EmulatorHandle, id: &str, bytes: &[u8], range: u64) -> WopiJob {
    WopiJob::new(BytesSource::new(bytes.to_vec()), file_url(emulator, id))
        .configure(|config| quick(config, range))
}

/// What the host stored as `wopi/files/{id}`: its SHA-256.
fn stored_sha256(emulator: &EmulatorHandle, id: &str) -> Option<String> {
    let path = format!("wopi/files/{id}");
    emulator
        .files()
        .into_iter()
        .find(|file| file.path == path)
        .map(|file| file.sha256)
}

/// The host saw every range in order and no byte it had told the client it had.
fn assert_in_order(stats: &StatsSnapshot) {
    assert_eq!(stats.wopi_updates_out_of_order, 0, "{stats:?}");
    assert_eq!(stats.wopi_confirmed_bytes_resent, 0, "{stats:?}");
}

#[tokio::test]
async fn a_file_is_stored_byte_identical_in_order() {
    let emulator = start(host(|_| {})).await;
    let bytes = data(1_234_567, 3);
    let summary = Uploader::new()
        .unwrap()
        .upload_wopi(job(&emulator, "plain", &bytes, 200_000))
        .await
        .unwrap();
    assert_eq!(stored_sha256(&emulator, "plain"), Some(sha256(&bytes)));
    assert_eq!(summary.completion.sequence_number, Some(2));
    assert_eq!(summary.completion.item_version.as_deref(), Some("v1"));
    assert_eq!(
        (summary.stats.confirmed, summary.stats.total),
        (1_234_567, 1_234_567)
    );
    assert_eq!(summary.resumption, Resumption::Fresh);
    let stats = emulator.stats();
    // 1 234 599 stream bytes in 200 000-byte ranges: 7 updates, one session, one commit.
    assert_eq!(stats.requests["wopi-update"], 7);
    assert_eq!(stats.requests["wopi-commit"], 1);
    assert_eq!(stats.bytes_received_twice, 0);
    assert_in_order(&stats);
}

/// Under the `flaky` and `hostile` profiles, seed after seed: every upload that completes
/// stored exactly the file, the host never saw a range out of order nor a byte re-sent it had
/// confirmed, and an upload that fails says why and stored nothing (or stored exactly the file,
/// when a commit's answer was lost and the engine says so).
#[tokio::test]
async fn fault_profiles_never_corrupt_or_reorder_an_upload() {
    let runs = (0..16u64).map(|seed| async move {
        let profile = if seed % 2 == 0 {
            FaultProfile::Flaky
        } else {
            FaultProfile::Hostile
        };
        let emulator = start(host(|c| {
            *c = c
                .clone()
                .with_faults(profile, seed)
                .with_time_scale(TimeScale::new(60.0).unwrap());
        }))
        .await;
        let size = 300_000 + (seed as usize * 7919) % 400_000;
        let bytes = data(size, seed as u8);
        let job =
            job(&emulator, "f", &bytes, 65_536 + seed * 1000).configure(|c| c.max_sessions = 6);
        let outcome = Uploader::new().unwrap().upload_wopi(job).await;
        let stats = emulator.stats();
        if stats.wopi_updates_out_of_order != 0 || stats.wopi_confirmed_bytes_resent != 0 {
            return Err(format!("seed {seed} ({profile}): order broken: {stats:?}"));
        }
        match outcome {
            Ok(_) if stored_sha256(&emulator, "f") == Some(sha256(&bytes)) => Ok(true),
            Ok(_) => Err(format!("seed {seed} ({profile}): stored bytes differ")),
            Err(failure) if emulator.files().is_empty() && !failure.to_string().is_empty() => {
                Ok(false)
            }
            // A commit stored the file but its answer was lost; sent again, it meets the
            // sequence number it moved. The engine cannot tell, and says the host's version
            // may be this upload's own: it must be, byte for byte.
            Err(failure)
                if matches!(
                    failure.cause,
                    FailureCause::Wopi(WopiError::SequenceMismatch {
                        maybe_own_commit: true,
                        ..
                    })
                ) && stored_sha256(&emulator, "f") == Some(sha256(&bytes)) =>
            {
                Ok(true)
            }
            Err(failure) => Err(format!("seed {seed}: failed ({failure}) but stored a file")),
        }
    });
    let outcomes = futures::future::join_all(runs).await;
    let errors: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let completed = outcomes.iter().filter(|o| matches!(o, Ok(true))).count();
    assert!(completed >= 14, "only {completed} of 16 completed");
}

#[tokio::test]
async fn a_host_without_upload_sessions_gets_one_put_chunked_file() {
    let emulator = start(host(|c| c.wopi.upload_sessions = false)).await;
    let bytes = data(500_000, 9);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let job = job(&emulator, "old-host", &bytes, 100_000)
        .on_event(move |event| seen.lock().unwrap().push(event.clone()));
    let summary = Uploader::new().unwrap().upload_wopi(job).await.unwrap();
    assert!(summary.completion.inline);
    assert_eq!(stored_sha256(&emulator, "old-host"), Some(sha256(&bytes)));
    assert!(events.lock().unwrap().contains(&WopiEvent::FallingBack));
    let stats = emulator.stats();
    assert_eq!(stats.requests["wopi-create"], 1);
    assert_eq!(stats.requests.get("wopi-update"), None);
    assert_eq!(stats.requests["wopi-commit"], 1);
    assert_eq!(stats.refusals["501"], 1);
}

#[tokio::test]
async fn a_412_names_the_hosts_number_and_adopting_it_when_allowed_commits() {
    let emulator = start(host(|_| {})).await;
    let uploader = Uploader::new().unwrap();
    let first = data(100_000, 1);
    uploader
        .upload_wopi(job(&emulator, "doc", &first, 65_536))
        .await
        .unwrap();
    // The host is at sequence number 2 now; an upload that read version 1 is refused.
    let second = data(150_000, 2);
    let failure = uploader
        .upload_wopi(job(&emulator, "doc", &second, 65_536).sequence_number(1))
        .await
        .unwrap_err();
    match &failure.cause {
        FailureCause::Wopi(WopiError::SequenceMismatch { sent, host, .. }) => {
            assert_eq!((*sent, *host), (1, Some(2)));
        }
        other => panic!("{other:?}"),
    }
    assert!(failure.to_string().contains('2'), "{failure}");
    assert_eq!(stored_sha256(&emulator, "doc"), Some(sha256(&first)));
    // Allowed to adopt the host's number, the same upload overwrites the host's version.
    let summary = uploader
        .upload_wopi(job(&emulator, "doc", &second, 65_536).configure(|c| {
            c.on_sequence_conflict = SequenceConflictPolicy::Adopt { max: 1 };
        }))
        .await
        .unwrap();
    assert_eq!(summary.completion.sequence_number, Some(3));
    let stored: Vec<_> = emulator.files().into_iter().map(|f| f.sha256).collect();
    assert_eq!(stored.last(), Some(&sha256(&second)));
    assert_in_order(&emulator.stats());
}

#[tokio::test]
async fn a_409_carries_the_hosts_lock_and_is_not_retried() {
    let emulator = start(host(|_| {})).await;
    let locked = reqwest::Client::new()
        .post(file_url(&emulator, "locked"))
        .header("X-WOPI-Override", "LOCK")
        .header("X-WOPI-Lock", "lock-held-by-someone")
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), 200);
    let bytes = data(80_000, 4);
    let failure = Uploader::new()
        .unwrap()
        .upload_wopi(job(&emulator, "locked", &bytes, 65_536).lock(Secret::new("my-lock")))
        .await
        .unwrap_err();
    match &failure.cause {
        FailureCause::Wopi(WopiError::LockMismatch {
            lock, mechanism, ..
        }) => {
            assert_eq!(
                lock.as_ref().map(Secret::expose),
                Some("lock-held-by-someone")
            );
            assert_eq!(mechanism.as_deref(), Some("WOPI-Lock"));
        }
        other => panic!("{other:?}"),
    }
    // The lock is a secret: the message does not print it.
    assert!(!failure.to_string().contains("lock-held-by-someone"));
    assert!(!format!("{failure:?}").contains("my-lock"));
    assert_eq!(emulator.stats().requests["wopi-commit"], 1);
    assert!(emulator.files().is_empty());
}

#[tokio::test]
async fn a_lock_and_a_coauth_lock_together_are_refused_before_any_request() {
    let emulator = start(host(|_| {})).await;
    let job = job(&emulator, "x", &data(10, 1), 65_536)
        .lock(Secret::new("a"))
        .coauth_lock_id(Secret::new("b"));
    let error = Uploader::new().unwrap().start_wopi(job).await.unwrap_err();
    assert!(matches!(error, StartError::Wopi(_)), "{error:?}");
    assert!(error.to_string().contains("not both"), "{error}");
    assert_eq!(emulator.stats().requests_total, 0);
}

/// A session the host lets lapse on its scaled clock (30 minutes in one second) answers `410`;
/// the upload goes on in a new session from the stream's first byte.
///
/// The host's clock is tokio's, frozen for the test: time passes only during the pause, once
/// the update on its way has been answered, so the lapse falls exactly there.
#[tokio::test(start_paused = true)]
async fn a_session_expired_on_the_hosts_scaled_clock_is_replaced() {
    let clock = FrozenClock::hold();
    let emulator = start(host(|c| {
        *c = c.clone().with_time_scale(TimeScale::new(1800.0).unwrap());
    }))
    .await;
    let bytes = data(600_000, 6);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    // The engine believes the session lives 30 minutes and does not keep it alive: the host's
    // 410 is what tells it.
    let job = job(&emulator, "slow", &bytes, 100_000)
        .configure(|c| c.keep_alive = false)
        .on_event(move |event| seen.lock().unwrap().push(event.clone()));
    let mut task = Uploader::new().unwrap().start_wopi(job).await.unwrap();
    let mut paused = false;
    while let Some(event) = task.next().await {
        if let WopiEvent::Acknowledged { confirmed, .. } = event
            && confirmed >= 200_000
            && !paused
        {
            task.pause();
            paused = true;
            // The update sent before this event came is answered (each answered update is
            // acknowledged); then the host's 30 minutes pass.
            clock
                .until("the update on its way is answered", || {
                    let acknowledged = events
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|e| matches!(e, WopiEvent::Acknowledged { .. }))
                        .count() as u64;
                    acknowledged
                        == emulator
                            .stats()
                            .requests
                            .get("wopi-update")
                            .copied()
                            .unwrap_or(0)
                })
                .await;
            tokio::time::advance(Duration::from_millis(1_500)).await;
            task.unpause();
        }
    }
    let summary = task.finish().await.unwrap();
    assert_eq!(summary.completion.sessions, 2);
    assert_eq!(summary.stats.sessions_lost, 1);
    assert!(events.lock().unwrap().contains(&WopiEvent::SessionLost {
        cause: WopiSessionLoss::Gone,
        starting_over: true
    }));
    assert_eq!(stored_sha256(&emulator, "slow"), Some(sha256(&bytes)));
    let stats = emulator.stats();
    assert_eq!(stats.sessions_created, 2);
    assert_in_order(&stats);
}

#[tokio::test]
async fn a_stopped_upload_resumes_from_its_checkpoint_where_the_host_is() {
    let emulator = start(host(|_| {})).await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("w.checkpoint"));
    let bytes = data(900_000, 8);
    let uploader = Uploader::new().unwrap();
    let mut task = uploader
        .start_wopi(job(&emulator, "r", &bytes, 100_000).checkpoint(store.clone()))
        .await
        .unwrap();
    while let Some(event) = task.next().await {
        if matches!(event, WopiEvent::Acknowledged { confirmed, .. } if confirmed >= 300_000) {
            task.stop();
        }
    }
    let stopped = task.finish().await.unwrap_err();
    assert!(
        matches!(stopped.cause, FailureCause::Stopped),
        "{stopped:?}"
    );
    let saved = store.load().unwrap().expect("checkpoint kept");
    assert!(saved.starts_with(b"resumable-checkpoint"));
    let received_before = emulator.stats().bytes_received;
    let summary = uploader
        .upload_wopi(job(&emulator, "r", &bytes, 100_000).checkpoint(store.clone()))
        .await
        .unwrap();
    assert!(
        matches!(summary.resumption, Resumption::Resumed { sessions: 1, .. }),
        "{:?}",
        summary.resumption
    );
    assert_eq!(summary.completion.sessions, 1);
    assert_eq!(stored_sha256(&emulator, "r"), Some(sha256(&bytes)));
    let stats = emulator.stats();
    assert_eq!(stats.sessions_created, 1);
    // The second run sent only the rest of the stream: nothing the host had came twice.
    assert!(stats.bytes_received > received_before);
    assert_eq!(stats.bytes_received_twice, 0);
    assert_in_order(&stats);
    assert_eq!(store.load().unwrap(), None, "removed on completion");
}

#[tokio::test]
async fn a_source_changed_since_the_checkpoint_is_refused_with_what_to_do() {
    let emulator = start(host(|_| {})).await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("c.checkpoint"));
    let bytes = data(400_000, 5);
    let uploader = Uploader::new().unwrap();
    let mut task = uploader
        .start_wopi(job(&emulator, "c", &bytes, 100_000).checkpoint(store.clone()))
        .await
        .unwrap();
    while let Some(event) = task.next().await {
        if matches!(event, WopiEvent::Acknowledged { .. }) {
            task.stop();
        }
    }
    assert!(task.finish().await.is_err());
    let mut changed = bytes.clone();
    changed[123_456] ^= 1;
    let error = uploader
        .start_wopi(job(&emulator, "c", &changed, 100_000).checkpoint(store.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StartError::SourceChangedSinceCheckpoint { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("content changed"), "{text}");
    assert!(text.contains("delete the checkpoint"), "{text}");
    // A checkpoint of another file is refused too, and left as it is.
    let other = uploader
        .start_wopi(job(&emulator, "other", &bytes, 100_000).checkpoint(store.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(other, StartError::CheckpointMismatch { .. }),
        "{other:?}"
    );
    assert!(!other.to_string().contains(TOKEN), "{other}");
    assert!(store.load().unwrap().is_some());
}

#[tokio::test]
async fn tokens_never_show_in_debug_or_errors() {
    let emulator = start(host(|c| {
        c.wopi.access_token = Some(Secret::new("the-right-one"))
    }))
    .await;
    let job = job(&emulator, "t", &data(1000, 1), 65_536);
    assert!(!format!("{job:?}").contains(TOKEN));
    // The host refuses this token (401): the failure says so without printing it.
    let failure = Uploader::new().unwrap().upload_wopi(job).await.unwrap_err();
    let shown = format!("{failure} {failure:?}");
    assert!(shown.contains("401"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[tokio::test]
async fn hashing_reports_its_progress() {
    let emulator = start(host(|_| {})).await;
    let bytes = data(3_500_000, 2);
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    let job = job(&emulator, "h", &bytes, 1 << 20)
        .on_hash_progress(move |done, total| seen.lock().unwrap().push((done, total)));
    Uploader::new().unwrap().upload_wopi(job).await.unwrap();
    let reports = reports.lock().unwrap();
    assert_eq!(reports.last(), Some(&(3_500_000, 3_500_000)));
    assert!(reports.len() >= 2, "{reports:?}");
}

/// A Graph job never overwrites a WOPI checkpoint, nor a WOPI job a Graph one: each holds a
/// session of its own.
#[tokio::test]
async fn a_checkpoint_of_the_other_protocol_is_refused_and_kept() {
    let emulator = start(host(|_| {})).await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("x.checkpoint"));
    let bytes = data(300_000, 7);
    let uploader = Uploader::builder().token(Secret::new("t")).build().unwrap();
    let mut task = uploader
        .start_wopi(job(&emulator, "x", &bytes, 100_000).checkpoint(store.clone()))
        .await
        .unwrap();
    while let Some(event) = task.next().await {
        if matches!(event, WopiEvent::Acknowledged { .. }) {
            task.stop();
        }
    }
    assert!(task.finish().await.is_err());
    let saved = store.load().unwrap().unwrap();
    let graph = resumable_reqwest::UploadJob::new(
        BytesSource::new(bytes.clone()),
        resumable_core::graph::Destination::new_session(emulator.drive_upload_session_url("x")),
        resumable_core::graph::Target::DriveItem(resumable_core::graph::DriveItem::new()),
    )
    .checkpoint(store.clone());
    let error = uploader.start(graph).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("is the checkpoint of a WOPI upload session, not of a Graph upload session"),
        "{error}"
    );
    assert_eq!(store.load().unwrap().unwrap(), saved, "left as it was");
    assert_eq!(emulator.stats().requests.get("create-drive"), None);
}
