//! Checkpoints over real HTTP: an upload stopped half-way resumes where the server is; a
//! changed source, a damaged checkpoint or another upload's checkpoint never corrupts a file.

mod common;

use std::sync::Arc;

use futures::StreamExt;
use resumable_core::graph::{Checkpoint, Event, MailAttachment, Target};
use resumable_core::session::Resumption;
use resumable_emulator::EmulatorHandle;
use resumable_reqwest::source::{BytesSource, FileSource, Source};
use resumable_reqwest::{
    CheckpointStore, FailureCause, FileCheckpointStore, StartError, UploadJob, UploadSummary,
};

use common::*;

const SIZE: usize = 6 * KIB320 as usize + 1234;

/// Starts `job` and stops it once `fragments` fragments are confirmed.
async fn stop_after(job: UploadJob, fragments: usize) {
    let mut task = uploader().start(job).await.unwrap();
    let mut acknowledged = 0;
    while let Some(event) = task.next().await {
        if let Event::Acknowledged { .. } = event {
            acknowledged += 1;
            if acknowledged == fragments {
                task.stop();
            }
        }
    }
    let failure = task.finish().await.unwrap_err();
    assert!(matches!(failure.cause, FailureCause::Stopped), "{failure}");
}

fn job_with(
    emulator: &EmulatorHandle,
    source: Arc<dyn Source>,
    store: &FileCheckpointStore,
) -> UploadJob {
    job(
        emulator.drive_upload_session_url("r.bin"),
        source,
        Target::DriveItem(resumable_core::graph::DriveItem::new()),
        KIB320,
    )
    .checkpoint(store.clone())
}

async fn finish(job: UploadJob) -> (Resumption, UploadSummary) {
    let task = uploader()
        .start(job)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let resumption = task.resumption().clone();
    let summary = task.finish().await.unwrap_or_else(|e| panic!("{e}"));
    (resumption, summary)
}

#[tokio::test]
async fn a_stopped_upload_resumes_where_the_server_is() {
    let emulator = emulator("").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.bin");
    let bytes = data(SIZE, 1);
    std::fs::write(&path, &bytes).unwrap();
    let store = FileCheckpointStore::new(dir.path().join("r.checkpoint"));
    let source = || -> Arc<dyn Source> { Arc::new(FileSource::open(&path).unwrap()) };
    stop_after(job_with(&emulator, source(), &store), 3).await;

    // The fourth fragment was on its way when the stop came: it was let through, not cut off.
    let saved = Checkpoint::from_bytes(&store.load().unwrap().unwrap()).unwrap();
    assert_eq!(saved.confirmed_bytes(), 4 * KIB320);
    assert_eq!(
        saved.fingerprint().fragments.len(),
        4,
        "each confirmed fragment has its CRC"
    );
    assert!(saved.upload_url().is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the checkpoint holds a credential: {mode:o}"
        );
    }

    let (resumption, summary) = finish(job_with(&emulator, source(), &store)).await;
    assert_eq!(
        resumption,
        Resumption::Resumed {
            confirmed: 4 * KIB320,
            unchecked: 0,
            sessions: 1
        }
    );
    assert_eq!(summary.stats.sessions, 1);
    assert_eq!(summary.stats.bytes_sent, SIZE as u64 - 4 * KIB320);
    assert_eq!(
        stored(&emulator, "me/drive/root:/r.bin").sha256,
        sha256(&bytes)
    );
    let stats = emulator.stats();
    assert_eq!(stats.bytes_received_twice, 0);
    assert_eq!(stats.sessions_created, 1);
    assert!(stats.refusals.is_empty(), "{:?}", stats.refusals);
    assert_eq!(
        store.load().unwrap(),
        None,
        "removed once the upload completed"
    );
}

#[tokio::test]
async fn a_changed_source_starts_over_in_a_new_session() {
    let emulator = emulator("").await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("c.checkpoint"));
    let old = data(SIZE, 2);
    stop_after(
        job_with(&emulator, Arc::new(BytesSource::new(old.clone())), &store),
        2,
    )
    .await;

    // Same size, one byte changed inside what the server already holds.
    let mut new = old.clone();
    new[1000] ^= 0xFF;
    let (resumption, summary) = finish(job_with(
        &emulator,
        Arc::new(BytesSource::new(new.clone())),
        &store,
    ))
    .await;
    let Resumption::Restarted { reason } = resumption else {
        panic!("{resumption:?}")
    };
    assert_eq!(reason, "the source changed in bytes 0-327679");
    assert_eq!(summary.stats.sessions, 1, "a new session, counted afresh");
    assert_eq!(
        stored(&emulator, "me/drive/root:/r.bin").sha256,
        sha256(&new)
    );
    let stats = emulator.stats();
    assert_eq!(stats.sessions_created, 2);
    // The old session, holding bytes of the old version, is deleted rather than left to expire.
    eventually("the old session is deleted", || {
        requests(&emulator, "cancel") >= 1
    })
    .await;
    assert_eq!(requests(&emulator, "cancel"), 1);
}

#[tokio::test]
async fn a_source_of_another_size_starts_over() {
    let emulator = emulator("").await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("s.checkpoint"));
    let old = data(SIZE, 3);
    stop_after(
        job_with(&emulator, Arc::new(BytesSource::new(old.clone())), &store),
        1,
    )
    .await;
    let longer = [old.as_slice(), b"appended"].concat();
    let (resumption, _) = finish(job_with(
        &emulator,
        Arc::new(BytesSource::new(longer.clone())),
        &store,
    ))
    .await;
    assert_eq!(
        resumption,
        Resumption::Restarted {
            reason: format!("the source changed size ({} bytes, now {})", SIZE, SIZE + 8)
        }
    );
    assert_eq!(
        stored(&emulator, "me/drive/root:/r.bin").sha256,
        sha256(&longer)
    );
}

#[tokio::test]
async fn a_damaged_checkpoint_starts_over() {
    let emulator = emulator("").await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("d.checkpoint"));
    let bytes = data(SIZE, 4);
    stop_after(
        job_with(&emulator, Arc::new(BytesSource::new(bytes.clone())), &store),
        2,
    )
    .await;
    let mut saved = store.load().unwrap().unwrap();
    let last = saved.len() - 3;
    saved[last] ^= 0x20;
    store.save(&saved).unwrap();
    let (resumption, _) = finish(job_with(
        &emulator,
        Arc::new(BytesSource::new(bytes.clone())),
        &store,
    ))
    .await;
    assert_eq!(
        resumption,
        Resumption::Restarted {
            reason: "the checkpoint is damaged (its CRC does not match)".into()
        }
    );
    assert_eq!(
        stored(&emulator, "me/drive/root:/r.bin").sha256,
        sha256(&bytes)
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_checkpoint_is_neither_used_nor_overwritten() {
    let emulator = emulator("").await;
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("notes.txt");
    std::fs::write(&precious, "my notes").unwrap();
    let store = FileCheckpointStore::new(&precious);
    let error = uploader()
        .start(job_with(
            &emulator,
            Arc::new(BytesSource::new(data(10, 1))),
            &store,
        ))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, StartError::CheckpointMismatch { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("is not a checkpoint file"),
        "{error}"
    );
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "my notes");
    assert_eq!(emulator.stats().requests_total, 0);
}

#[tokio::test]
async fn another_uploads_checkpoint_is_refused() {
    let emulator = emulator("").await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("o.checkpoint"));
    let bytes = data(SIZE, 5);
    stop_after(
        job_with(&emulator, Arc::new(BytesSource::new(bytes.clone())), &store),
        1,
    )
    .await;
    let elsewhere = job(
        emulator.drive_upload_session_url("other.bin"),
        Arc::new(BytesSource::new(bytes.clone())),
        Target::DriveItem(resumable_core::graph::DriveItem::new()),
        KIB320,
    )
    .checkpoint(store.clone());
    let error = uploader().start(elsewhere).await.err().unwrap();
    assert!(error.to_string().contains("another destination"), "{error}");
    let mail = job(
        emulator.mail_upload_session_url("m"),
        Arc::new(BytesSource::new(bytes)),
        Target::MailAttachment(MailAttachment::new("r.bin")),
        KIB320,
    )
    .checkpoint(store.clone());
    let error = uploader().start(mail).await.err().unwrap();
    assert!(
        error
            .to_string()
            .contains("of a drive item upload, not of a mail attachment upload"),
        "{error}"
    );
    assert!(
        store.load().unwrap().is_some(),
        "the checkpoint is left alone"
    );
}

#[tokio::test]
async fn a_kept_completed_checkpoint_sends_nothing_the_second_time() {
    let emulator = emulator("").await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("k.checkpoint"));
    let bytes = data(SIZE, 6);
    let source = Arc::new(BytesSource::new(bytes.clone()));
    finish(job_with(&emulator, source.clone(), &store).keep_completed_checkpoint()).await;
    let before = emulator.stats().requests_total;
    let (resumption, summary) =
        finish(job_with(&emulator, source, &store).keep_completed_checkpoint()).await;
    assert_eq!(resumption, Resumption::AlreadyCompleted);
    assert!(summary.completion.item.is_some());
    assert_eq!(emulator.stats().requests_total, before);
}

/// A checkpoint store standing in for an embedder's database: a table of rows keyed by upload.
#[derive(Debug, Default)]
struct Table {
    rows: std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>,
    saves: std::sync::atomic::AtomicUsize,
}

/// One row of the [`Table`]: the store a job is given.
#[derive(Debug, Clone)]
struct Row {
    table: Arc<Table>,
    key: String,
}

impl CheckpointStore for Row {
    fn load(&self) -> std::io::Result<Option<Vec<u8>>> {
        Ok(self.table.rows.lock().unwrap().get(&self.key).cloned())
    }

    fn save(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.table
            .saves
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut rows = self.table.rows.lock().unwrap();
        rows.insert(self.key.clone(), bytes.to_vec());
        Ok(())
    }

    fn remove(&self) -> std::io::Result<()> {
        self.table.rows.lock().unwrap().remove(&self.key);
        Ok(())
    }

    fn describe(&self) -> String {
        format!("checkpoint row {:?} of the uploads table", self.key)
    }
}

#[tokio::test]
async fn a_store_of_the_embedders_own_resumes_a_stopped_upload() {
    let emulator = emulator("").await;
    let bytes = data(SIZE, 9);
    let table = Arc::new(Table::default());
    let row = Row {
        table: table.clone(),
        key: "upload-17".into(),
    };
    let source = || -> Arc<dyn Source> { Arc::new(BytesSource::new(bytes.clone())) };
    let job_in_row = || {
        job(
            emulator.drive_upload_session_url("db.bin"),
            source(),
            Target::DriveItem(resumable_core::graph::DriveItem::new()),
            KIB320,
        )
        .checkpoint(row.clone())
    };
    stop_after(job_in_row(), 2).await;

    let saved = Checkpoint::from_bytes(&row.load().unwrap().expect("a row was saved")).unwrap();
    let confirmed = saved.confirmed_bytes();
    assert!(
        confirmed >= 2 * KIB320 && confirmed < SIZE as u64,
        "{confirmed}"
    );
    assert!(table.saves.load(std::sync::atomic::Ordering::Relaxed) >= 2);

    let (resumption, summary) = finish(job_in_row()).await;
    assert!(
        matches!(resumption, Resumption::Resumed { confirmed: c, .. } if c == confirmed),
        "{resumption:?}"
    );
    assert_eq!(summary.stats.bytes_sent, SIZE as u64 - confirmed);
    assert_eq!(
        stored(&emulator, "me/drive/root:/db.bin").sha256,
        sha256(&bytes)
    );
    assert_eq!(emulator.stats().sessions_created, 1);
    assert!(
        table.rows.lock().unwrap().is_empty(),
        "removed on completion"
    );
}

#[tokio::test]
async fn a_refused_row_is_named_by_its_description() {
    let emulator = emulator("").await;
    let row = Row {
        table: Arc::default(),
        key: "upload-18".into(),
    };
    row.save(b"not a checkpoint at all").unwrap();
    let job = drive_job(&emulator, "named.bin", data(1000, 2), KIB320).checkpoint(row.clone());
    let error = uploader().start(job).await.map(|_| ()).unwrap_err();
    assert!(
        matches!(&error, StartError::CheckpointMismatch { store, .. } if store == &row.describe()),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("checkpoint row \"upload-18\" of the uploads table "),
        "{error}"
    );
}

/// A store that takes its time: each save lands 40 ms after it began, and the confirmed bytes
/// of the last one that landed are kept.
#[derive(Debug, Default)]
struct SlowDisk {
    landed: std::sync::atomic::AtomicU64,
    saves: std::sync::atomic::AtomicU64,
}

impl CheckpointStore for SlowDisk {
    fn load(&self) -> std::io::Result<Option<Vec<u8>>> {
        Ok(None)
    }

    fn save(&self, bytes: &[u8]) -> std::io::Result<()> {
        std::thread::sleep(std::time::Duration::from_millis(40));
        self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let confirmed = Checkpoint::from_bytes(bytes).unwrap().confirmed_bytes();
        self.landed
            .fetch_max(confirmed, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    fn remove(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn describe(&self) -> String {
        "a slow disk".into()
    }
}

#[tokio::test]
async fn a_slow_disk_holds_the_upload_back_instead_of_falling_behind() {
    // Fragments are confirmed far faster than the disk saves them. A Graph resume asks the
    // session what it holds, so its checkpoint may lag a little: saves go every 4 MiB of
    // confirmed bytes, and the upload waits once the newest save on its way is 12 MiB behind.
    // What a crash would find on disk lags the confirmed bytes by 16 MiB at most (and a
    // fragment more, seen from inside the event, before the wait).
    let emulator = emulator("").await;
    let disk = Arc::new(SlowDisk::default());
    let worst = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let fragments = 160;
    let job = {
        let (disk, worst) = (disk.clone(), worst.clone());
        drive_job(
            &emulator,
            "slow.bin",
            data(fragments * KIB320 as usize, 4),
            KIB320,
        )
        .checkpoint(disk.clone())
        .on_event(move |event| {
            if let Event::Acknowledged { confirmed, .. } = event {
                let landed = disk.landed.load(std::sync::atomic::Ordering::SeqCst);
                worst.fetch_max(confirmed - landed, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    let (_, summary) = finish(job).await;
    assert_eq!(summary.stats.confirmed, fragments as u64 * KIB320);
    let worst = worst.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        worst <= (16 << 20) + 2 * KIB320,
        "the disk fell {worst} bytes behind the confirmed ones"
    );
    assert!(
        worst > 3 << 20,
        "saves wait for 4 MiB of confirmed bytes: {worst}"
    );
    // Far fewer saves than fragments: one per 4 MiB at most, and the ones before finishing.
    let saves = disk.saves.load(std::sync::atomic::Ordering::SeqCst);
    assert!(saves < fragments as u64 / 8, "{saves} saves");
}
