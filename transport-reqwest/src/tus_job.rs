//! tus 1.0 and IETF draft uploads: a [`TusJob`] (a source, the server's creation URL, the
//! protocol, metadata, options) run by the same [`Uploader`] as Graph and WOPI jobs, as a
//! [`TusTask`].
//!
//! [`TusJob`]: crate::TusJob
//!
//! The transport reads each request's bytes from the source as it sends them; when the
//! server offers checksums it reads them once more just before, for the `Upload-Checksum`
//! header (a CRC-32 at memory speed, from the page cache).

use std::io;
use std::sync::Arc;

use resumable_core::graph::SourceNow;
use resumable_core::tus::{TusCompletion, TusStartPlan, TusUpload, plan_start};

use tokio::sync::mpsc::UnboundedSender;

use crate::TusJob;
use crate::checkpoint_writer::CheckpointWriter;
use crate::clock::Clock;
use crate::driver::Command;
use crate::exchange::Exchange;
use crate::job::Tus;
use crate::outcome::{UploadFailure, UploadSummary};
use crate::start::{StartError, load_checkpoint};
use crate::task::{TaskParts, UploadTask, spawn};
use crate::trace;
use crate::uploader::Uploader;
use resumable_io::source::crc32_of;

/// A running tus or IETF draft upload.
pub type TusTask = UploadTask<TusUpload>;

/// What a completed tus upload returns.
pub type TusSummary = UploadSummary<TusCompletion>;

impl Uploader {
    /// Starts a tus or IETF draft `job` on a tokio task: decides whether to resume from its
    /// checkpoint, then drives the upload. Requests carry no `Authorization` header.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use resumable_core::tus::Variant;
    /// use resumable_reqwest::source::FileSource;
    /// use resumable_reqwest::{FileCheckpointStore, TusJob, Uploader};
    ///
    /// let uploader = Uploader::new()?;
    /// let job = TusJob::new(FileSource::open("video.mp4")?, Variant::Tus1, "https://tus.example/files/")
    ///     .metadata("filename", "video.mp4")
    ///     .checkpoint(FileCheckpointStore::new("video.mp4.checkpoint"));
    /// let summary = uploader.start_tus(job).await?.finish().await?;
    /// println!("{} bytes stored", summary.completion.length);
    /// # Ok(()) }
    /// ```
    pub async fn start_tus(&self, job: TusJob) -> Result<TusTask, StartError> {
        let TusJob {
            source,
            mut config,
            checkpoint,
            callback,
            keep_completed_checkpoint,
            should_retry,
            protocol: Tus { deferred_length },
        } = job;
        config.total = (!deferred_length).then(|| source.len());
        let protocol = match config.variant {
            resumable_core::tus::Variant::Tus1 => "tus",
            _ => "ietf-resumable-upload",
        };
        let span = trace::upload_span(protocol, source.len(), &config.endpoint);
        let clock = Clock::new();
        let exchange = Arc::new(
            Exchange::new(self.clients.clone(), None, source, self.timeouts)
                .with_rate_limit(self.rate_limit.clone()),
        );
        let stored = match checkpoint.as_ref() {
            Some(store) => load_checkpoint(store).await?,
            None => None,
        };
        let reader = exchange.source().clone();
        let now = clock.now();
        let planned = tokio::task::spawn_blocking(move || {
            let source_now = SourceNow {
                len: reader.len(),
                modified: reader.last_modified(),
                crc_of: |range| crc32_of(&*reader, range),
            };
            plan_start(config, stored.as_deref(), source_now, now)
        })
        .await
        .map_err(|e| StartError::SourceUnreadable(io::Error::other(e)))?;
        let TusStartPlan {
            upload,
            resumption,
            abandoned,
            ..
        } = planned.map_err(|error| StartError::from_core(error, checkpoint.as_ref()))?;
        let writer = checkpoint
            .map(CheckpointWriter::start)
            .transpose()
            .map_err(StartError::CheckpointWriter)?;
        Ok(spawn(
            upload,
            TaskParts {
                span,
                exchange,
                clock,
                writer,
                callback,
                hook: None,
                should_retry,
                keep_completed_checkpoint,
                resumption,
                abandoned,
            },
        ))
    }

    /// Runs a tus or IETF draft `job` to its end.
    pub async fn upload_tus(&self, job: TusJob) -> Result<TusSummary, UploadFailure> {
        match self.start_tus(job).await {
            Ok(task) => task.finish().await,
            Err(error) => Err(UploadFailure::not_started(error)),
        }
    }
}

impl UploadTask<TusUpload> {
    /// For a job with a deferred length: a handle that reports the source's growth and end to
    /// the upload, from anywhere (another task, a thread).
    pub fn source_feed(&self) -> SourceFeed {
        SourceFeed {
            commands: self.commands.clone(),
        }
    }
}

/// Reports a growing source to its upload ([`UploadTask::source_feed`]): bytes become
/// sendable as they are reported, and the length is given to the server at the end.
#[derive(Clone)]
pub struct SourceFeed {
    commands: Option<UnboundedSender<Command<TusUpload>>>,
}

impl SourceFeed {
    /// The source now holds `available` bytes.
    pub fn source_grew(&self, available: u64) {
        self.send(Command::apply(move |upload: &mut TusUpload, _| {
            upload.source_grew(available);
        }));
    }

    /// The source ended at `total` bytes.
    pub fn source_ended(&self, total: u64) {
        self.send(Command::apply(move |upload: &mut TusUpload, _| {
            upload.source_ended(total);
        }));
    }

    fn send(&self, command: Command<TusUpload>) {
        if let Some(commands) = &self.commands {
            let _ = commands.send(command);
        }
    }
}

impl std::fmt::Debug for SourceFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFeed").finish_non_exhaustive()
    }
}
