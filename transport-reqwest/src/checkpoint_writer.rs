//! Saving checkpoints off the async executor: a thread that owns the [`CheckpointStore`].
//!
//! A save is a write, an `fsync` and a rename: milliseconds on a good disk, far more on a busy
//! one. The upload loop must not stall on it, so it hands the encoded checkpoint to a writer
//! thread and goes on. When saves come faster than the disk takes them, the writer skips to the
//! newest (an older checkpoint is only a less useful one). Every request is answered in order,
//! so a flush after the last save returns once that save is on disk. Each save has a number,
//! and [`CheckpointWriter::landed`] waits until it (or a newer one) is on disk: the upload loop
//! waits for the save before the newest before it sends more, so what is on disk never lags
//! the confirmed bytes by more than one fragment however slow the disk, and for the newest
//! before a request that may finish the upload.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread;

use tokio::sync::{oneshot, watch};

use resumable_io::CheckpointStore;
#[cfg(test)]
use resumable_io::FileCheckpointStore;

/// What the writer thread is asked to do.
enum Job {
    /// Save these bytes; the save's number.
    Save(Vec<u8>, u64),
    Remove,
    Flush(oneshot::Sender<Option<String>>),
}

/// A handle on the writer thread. Dropping it lets the thread finish what it was given and end.
pub(crate) struct CheckpointWriter {
    jobs: std_mpsc::Sender<Job>,
    /// The number the next save gets (from 1).
    next: AtomicU64,
    /// The number of the newest save on disk (tried, whether it succeeded or not), 0 before any.
    landed: watch::Receiver<u64>,
}

impl CheckpointWriter {
    /// Starts a writer thread for `store`.
    pub(crate) fn start(store: Arc<dyn CheckpointStore>) -> io::Result<Self> {
        let (jobs, queue) = std_mpsc::channel();
        let (landed_tx, landed) = watch::channel(0);
        thread::Builder::new()
            .name("checkpoint-writer".into())
            .spawn(move || write_loop(&*store, &queue, &landed_tx))?;
        Ok(CheckpointWriter {
            jobs,
            next: AtomicU64::new(1),
            landed,
        })
    }

    /// Queues a save of `bytes`; returns its number for [`landed`](Self::landed).
    pub(crate) fn save(&self, bytes: Vec<u8>) -> u64 {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let _ = self.jobs.send(Job::Save(bytes, number));
        number
    }

    /// Resolves once save `number` (or a newer one that replaced it) is done, whether it
    /// succeeded or not (failures come from [`flush`](Self::flush)), or the writer stopped.
    pub(crate) fn landed(&self, number: u64) -> impl Future<Output = ()> + Send + 'static {
        let mut landed = self.landed.clone();
        async move {
            let _ = landed.wait_for(|&done| done >= number).await;
        }
    }

    /// Queues the removal of the checkpoint.
    pub(crate) fn remove(&self) {
        let _ = self.jobs.send(Job::Remove);
    }

    /// Waits until everything queued is done. Returns the first failure since the writer
    /// started, as a message, if any.
    pub(crate) async fn flush(&self) -> Option<String> {
        let (done, wait) = oneshot::channel();
        if self.jobs.send(Job::Flush(done)).is_err() {
            return Some("the checkpoint writer stopped".into());
        }
        wait.await
            .unwrap_or_else(|_| Some("the checkpoint writer stopped".into()))
    }
}

fn write_loop(
    store: &dyn CheckpointStore,
    queue: &std_mpsc::Receiver<Job>,
    landed: &watch::Sender<u64>,
) {
    let mut first_error: Option<String> = None;
    let mut next = queue.recv().ok();
    while let Some(job) = next.take() {
        let result = match job {
            Job::Save(mut bytes, mut number) => {
                // Skip to the newest of the saves queued back to back.
                loop {
                    match queue.try_recv() {
                        Ok(Job::Save(newer, newer_number)) => {
                            bytes = newer;
                            number = newer_number;
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let result = store.save(&bytes);
                landed.send_replace(number);
                result
            }
            Job::Remove => store.remove(),
            Job::Flush(done) => {
                let _ = done.send(first_error.clone());
                Ok(())
            }
        };
        if let Err(e) = result {
            first_error.get_or_insert_with(|| e.to_string());
        }
        if next.is_none() {
            next = queue.recv().ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn saves_land_in_order_and_flush_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(FileCheckpointStore::new(dir.path().join("c")));
        let writer = CheckpointWriter::start(store.clone()).unwrap();
        let mut last = 0;
        for i in 0..50u8 {
            last = writer.save(vec![i; 1000]);
        }
        writer.landed(last).await;
        assert_eq!(store.load().unwrap().unwrap(), vec![49u8; 1000]);
        assert_eq!(writer.flush().await, None);
        assert_eq!(store.load().unwrap().unwrap(), vec![49u8; 1000]);
        writer.remove();
        assert_eq!(writer.flush().await, None);
        assert_eq!(store.load().unwrap(), None);
    }

    #[tokio::test]
    async fn a_failed_save_is_reported_by_the_next_flush() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpointStore::new(dir.path().join("no-such-dir").join("c"));
        let writer = CheckpointWriter::start(Arc::new(store)).unwrap();
        writer.save(b"x".to_vec());
        let error = writer.flush().await.unwrap();
        assert!(error.contains("could not write checkpoint"), "{error}");
    }
}
