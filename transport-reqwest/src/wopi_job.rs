//! WOPI uploads: a [`WopiJob`] (a source, the host's file URL, the commit's sequence number and
//! lock, options) run by the same [`Uploader`] as Graph jobs, as a [`WopiTask`].
//!
//! The transport hashes the source (SpookyHash V2, the `FullFile` ChunkId: the whole file, one
//! chunk), lays nothing out itself (the engine frames the stream), streams each range's chunk
//! bytes from the source as it sends them, and saves a checkpoint after every range the host
//! confirms, atomically, to the job's [`CheckpointStore`].

use std::sync::Arc;

use resumable_core::secret::{Secret, SecretUrl};
use resumable_core::wopi::ChunkId;
use resumable_core::wopi::{WopiCompletion, WopiConfig, WopiEvent, WopiStream, WopiUpload};

use crate::checkpoint_store::CheckpointStore;
use crate::checkpoint_writer::CheckpointWriter;
use crate::clock::Clock;
use crate::exchange::Exchange;
use crate::outcome::{UploadFailure, UploadSummary};
use crate::source::Source;
use crate::start::StartError;
use crate::task::{EventCallback, TaskParts, UploadTask, spawn};
use crate::uploader::Uploader;
use crate::wopi_start::{HashProgress, plan_wopi};
use resumable_core::wopi::CommitSettings;

/// A running WOPI upload: a [`Stream`](futures::Stream) of [`WopiEvent`]s, commands, and the
/// outcome with the host's new sequence number and item version.
pub type WopiTask = UploadTask<WopiUpload>;

/// What a completed WOPI upload returns.
pub type WopiSummary = UploadSummary<WopiCompletion>;

/// One file to upload to a WOPI host: where its bytes come from, the file URL, and how.
///
/// ```
/// use resumable_core::chunk::FragmentSizing;
/// use resumable_core::secret::Secret;
/// use resumable_reqwest::{CheckpointStore, WopiJob};
/// use resumable_reqwest::source::BytesSource;
///
/// let job = WopiJob::new(
///     BytesSource::new(vec![7u8; 1_000_000]),
///     "https://host.example/wopi/files/42?access_token=eyJ0eXAi...",
/// )
/// .sequence_number(3)
/// .lock(Secret::new("lock-from-LOCK"))
/// .configure(|config| config.range_size = FragmentSizing::Fixed(4 << 20))
/// .checkpoint(CheckpointStore::new("/tmp/42.checkpoint"));
/// assert!(!format!("{job:?}").contains("eyJ0eXAi"));
/// ```
pub struct WopiJob {
    source: Arc<dyn Source>,
    file_url: SecretUrl,
    config: WopiConfig,
    settings: CommitSettings,
    checkpoint: Option<CheckpointStore>,
    callback: Option<EventCallback<WopiEvent>>,
    hash_progress: Option<HashProgress>,
    keep_completed_checkpoint: bool,
}

impl std::fmt::Debug for WopiJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WopiJob")
            .field("source", &self.source.describe())
            .field("file_url", &self.file_url)
            .field("config", &self.config)
            .field("checkpoint", &self.checkpoint)
            .finish_non_exhaustive()
    }
}

impl WopiJob {
    /// Uploads `source` as the `MainContent` of the file at `file_url`
    /// (`https://host/wopi/files/ID?access_token=…`; the commit goes to `…/contents`), with
    /// the engine's defaults: sequence number 1, no lock, 8 MiB ranges, fail on a `412`.
    pub fn new(source: impl Source, file_url: impl Into<String>) -> Self {
        WopiJob::shared(Arc::new(source), file_url)
    }

    /// Like [`WopiJob::new`], with a source shared with the caller.
    pub fn shared(source: Arc<dyn Source>, file_url: impl Into<String>) -> Self {
        // The ChunkId is filled in when the job starts, once the source is hashed.
        let main = WopiStream::main_content(ChunkId::of(&[]), 0);
        WopiJob {
            source,
            file_url: SecretUrl::new(file_url),
            config: WopiConfig::new(vec![main]),
            settings: CommitSettings::default(),
            checkpoint: None,
            callback: None,
            hash_progress: None,
            keep_completed_checkpoint: false,
        }
    }

    /// The engine configuration. Its stream is filled in (name kept, ChunkId and length from
    /// the source) when the job starts.
    pub fn config(&self) -> &WopiConfig {
        &self.config
    }

    /// Changes the engine configuration: range sizes, retries, the session lifetime (lower it
    /// for a host on a scaled clock), the policy on a `412`, the seed.
    pub fn configure(mut self, change: impl FnOnce(&mut WopiConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// The commit's `X-WOPI-SequenceNumber`: the number of the version the caller read (above
    /// 0). Given on a resumed job, it replaces the checkpoint's: how an upload stopped by a
    /// `412` goes on with the host's number.
    pub fn sequence_number(mut self, sequence_number: u64) -> Self {
        self.config.sequence_number = sequence_number;
        self.settings.sequence_number = Some(sequence_number);
        self
    }

    /// Commits with `X-WOPI-Lock: lock` (the lock the caller holds from `LOCK`). Never
    /// together with [`WopiJob::coauth_lock_id`]: the job refuses to start.
    pub fn lock(mut self, lock: Secret) -> Self {
        self.config.lock = Some(lock);
        self.settings.locks = Some((self.config.lock.clone(), self.config.coauth_lock_id.clone()));
        self
    }

    /// Commits with `X-WOPI-CoauthLockId: id`. Never together with [`WopiJob::lock`].
    pub fn coauth_lock_id(mut self, id: Secret) -> Self {
        self.config.coauth_lock_id = Some(id);
        self.settings.locks = Some((self.config.lock.clone(), self.config.coauth_lock_id.clone()));
        self
    }

    /// Names the stream the file is uploaded as (default `MainContent`, which every
    /// `PutChunkedFile` must carry).
    pub fn stream_id(mut self, stream_id: impl Into<String>) -> Self {
        let id = stream_id.into();
        for stream in &mut self.config.streams {
            stream.stream_id = id.clone();
        }
        self
    }

    /// Saves a checkpoint to `store` after each confirmed range (and each new session), and
    /// resumes from it if it exists and fits. It is removed when the upload completes or is
    /// cancelled, and kept when it fails or stops. It holds the file URL with its
    /// `access_token` and the session token: it is created readable by its owner only.
    pub fn checkpoint(mut self, store: CheckpointStore) -> Self {
        self.checkpoint = Some(store);
        self
    }

    /// Calls `callback` with every event, on the upload's task (keep it short).
    pub fn on_event(mut self, callback: impl FnMut(&WopiEvent) + Send + 'static) -> Self {
        self.callback = Some(Box::new(callback));
        self
    }

    /// Calls `progress(hashed, total)` while the source is hashed before the upload (a full
    /// read of the file: worth showing for large ones), on a blocking thread, once per block.
    pub fn on_hash_progress(mut self, progress: impl FnMut(u64, u64) + Send + 'static) -> Self {
        self.hash_progress = Some(Box::new(progress));
        self
    }

    /// Keeps the checkpoint after completion (it then records the completion, so running the
    /// same job again sends nothing).
    pub fn keep_completed_checkpoint(mut self) -> Self {
        self.keep_completed_checkpoint = true;
        self
    }
}

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
    /// use resumable_reqwest::{CheckpointStore, Uploader, WopiJob};
    ///
    /// let uploader = Uploader::new()?;
    /// let job = WopiJob::new(
    ///     FileSource::open("big.docx")?,
    ///     "https://host.example/wopi/files/42?access_token=eyJ0eXAi...",
    /// )
    /// .sequence_number(3)
    /// .checkpoint(CheckpointStore::new("big.docx.checkpoint"));
    /// let mut task = uploader.start_wopi(job).await?;
    /// while let Some(event) = task.next().await {
    ///     if let WopiEvent::RangeAcknowledged { confirmed, total, .. } = event {
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
            file_url,
            config,
            settings,
            checkpoint,
            callback,
            hash_progress,
            keep_completed_checkpoint,
        } = job;
        let clock = Clock::new();
        // Built first: the pass that reads the source for its ChunkId goes through the
        // exchange's digesting source, so it yields the source's hashes too, with no read of
        // their own.
        let exchange = Arc::new(
            Exchange::new(
                self.clients.clone(),
                self.tokens.clone(),
                source,
                self.timeouts,
            )
            .with_hash_kinds(WopiUpload::SOURCE_HASH_KINDS),
        );
        let plan = plan_wopi(
            &file_url,
            config,
            &settings,
            checkpoint.as_ref(),
            exchange.source(),
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
                exchange,
                clock,
                writer,
                callback,
                hook: None,
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
