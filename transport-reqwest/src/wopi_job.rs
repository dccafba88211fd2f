//! WOPI uploads: a [`WopiJob`] (a source, the host's file URL, the commit's sequence number and
//! lock, options) run by the same [`Uploader`] as Graph jobs, as a [`WopiTask`].
//!
//! [`WopiJob`]: crate::WopiJob
//! [`CheckpointStore`]: crate::CheckpointStore
//!
//! The transport hashes the source (SpookyHash V2, the `FullFile` ChunkId: the whole file, one
//! chunk), lays nothing out itself (the engine frames the stream), streams each range's chunk
//! bytes from the source as it sends them, and saves a checkpoint after every range the host
//! confirms, atomically, to the job's [`CheckpointStore`].

use std::sync::Arc;

use resumable_core::wopi::{WopiCompletion, WopiUpload};

use crate::WopiJob;
use crate::checkpoint_writer::CheckpointWriter;
use crate::clock::Clock;
use crate::exchange::Exchange;
use crate::job::Wopi;
use crate::outcome::{UploadFailure, UploadSummary};
use crate::start::StartError;
use crate::task::{TaskParts, UploadTask, spawn};
use crate::trace;
use crate::uploader::Uploader;
use crate::wopi_start::plan_wopi;

/// A running WOPI upload: a [`Stream`](futures::Stream) of [`WopiEvent`](resumable_core::wopi::WopiEvent)s, commands, and the
/// outcome with the host's new sequence number and item version.
pub type WopiTask = UploadTask<WopiUpload>;

/// What a completed WOPI upload returns.
pub type WopiSummary = UploadSummary<WopiCompletion>;

impl Uploader {
    /// Starts a WOPI `job` on a tokio task: hashes the source, decides whether to resume from
    /// its checkpoint, then drives the upload. WOPI requests carry their `access_token` in the
    /// URL and never an `Authorization` header, so no token provider is needed.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// use resumable_core::wopi::WopiEvent;
    /// use resumable_reqwest::source::FileSource;
    /// use resumable_reqwest::{FileCheckpointStore, Uploader, WopiJob};
    ///
    /// let uploader = Uploader::new()?;
    /// let job = WopiJob::new(
    ///     FileSource::open("big.docx")?,
    ///     "https://host.example/wopi/files/42?access_token=eyJ0eXAi...",
    /// )
    /// .sequence_number(3)
    /// .checkpoint(FileCheckpointStore::new("big.docx.checkpoint"));
    /// let mut task = uploader.start_wopi(job).await?;
    /// while let Some(event) = task.next().await {
    ///     if let WopiEvent::Acknowledged { confirmed, total, .. } = event {
    ///         println!("{confirmed}/{total}");
    ///     }
    /// }
    /// let summary = task.finish().await?;
    /// println!("version {:?}", summary.completion.item_version);
    /// # Ok(()) }
    /// ```
    pub async fn start_wopi(&self, job: WopiJob) -> Result<WopiTask, StartError> {
        let WopiJob {
            source,
            config,
            checkpoint,
            callback,
            keep_completed_checkpoint,
            should_retry,
            protocol:
                Wopi {
                    file_url,
                    settings,
                    hash_progress,
                },
        } = job;
        let clock = Clock::new();
        // The pass that reads the source for its ChunkId (before the first byte can go: the
        // `FullFile` ChunkId is in the first frame) reads the file alone and computes SpookyHash
        // only, the shortest wait there can be; the SHA-256 `CheckFileInfo` is checked against
        // comes from the sending reads, on their threads, while bytes are on the wire.
        let exchange = Arc::new(
            Exchange::new(
                self.clients.clone(),
                self.tokens.clone(),
                source,
                self.timeouts,
            )
            .with_hash_kinds(WopiUpload::SOURCE_HASH_KINDS)
            .with_rate_limit(self.rate_limit.clone()),
        );
        let plan = plan_wopi(
            &file_url,
            config,
            &settings,
            checkpoint.as_ref(),
            &exchange.unhashed_source(),
            hash_progress,
            clock.now(),
        )
        .await?;
        let writer = checkpoint
            .map(CheckpointWriter::start)
            .transpose()
            .map_err(StartError::CheckpointWriter)?;
        Ok(spawn(
            plan.upload,
            TaskParts {
                span: trace::upload_span("wopi", exchange.source().len(), &file_url),
                exchange,
                clock,
                writer,
                callback,
                hook: None,
                should_retry,
                keep_completed_checkpoint,
                resumption: plan.resumption,
                abandoned: None,
            },
        ))
    }

    /// Runs a WOPI `job` to its end.
    pub async fn upload_wopi(&self, job: WopiJob) -> Result<WopiSummary, UploadFailure> {
        match self.start_wopi(job).await {
            Ok(task) => task.finish().await,
            Err(error) => Err(UploadFailure::not_started(error)),
        }
    }
}
