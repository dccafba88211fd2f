//! WOPI uploads: a [`WopiJob`] (a source, the host's file URL, the commit's sequence number and
//! lock, options), run by the same [`Uploader`] as Graph jobs.
//!
//! The source is read once before the upload for its ChunkId (SpookyHash V2 of the whole file,
//! the `FullFile` scheme), through the same reads that give the SHA-256 the host's
//! `CheckFileInfo` is checked against; then the machine's ranges go out in order, each one's
//! chunk bytes read from the source as it is sent.

use std::sync::Arc;

use resumable_core::chunk::FragmentSizing;
use resumable_core::secret::{Secret, SecretUrl};
use resumable_core::session::RetryAttempt;
use resumable_core::wopi::{
    ChunkId, CommitSettings, WopiCompletion, WopiConfig, WopiEvent, WopiStream, WopiUpload,
};

use crate::clock::Clock;
use crate::exchange::Exchange;
use crate::outcome::{Failure, Summary};
use crate::plan::plan_wopi;
use crate::upload::{Options, Progress, Run, UploadHandle, Uploader, run};
use resumable_io::CheckpointStore;
use resumable_io::source::Source;

/// One file to upload to a WOPI host: where its bytes come from, the file URL, and how.
///
/// ```
/// use resumable_core::secret::Secret;
/// use resumable_ureq::{FileCheckpointStore, WopiJob};
/// use resumable_ureq::source::BytesSource;
///
/// let job = WopiJob::new(
///     BytesSource::new(vec![7u8; 1_000_000]),
///     "https://host.example/wopi/files/42?access_token=eyJ0eXAi...",
/// )
/// .sequence_number(3)
/// .lock(Secret::new("lock-from-LOCK"))
/// .range_size(4 << 20)
/// .checkpoint(FileCheckpointStore::new("/tmp/42.checkpoint"));
/// assert!(!format!("{job:?}").contains("eyJ0eXAi"));
/// ```
pub struct WopiJob {
    source: Arc<dyn Source>,
    file_url: SecretUrl,
    config: WopiConfig,
    /// What the job set for the commit: on a resumed job, it replaces the checkpoint's.
    settings: CommitSettings,
    options: Options<WopiUpload>,
}

impl std::fmt::Debug for WopiJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WopiJob")
            .field("source", &self.source.describe())
            .field("file_url", &self.file_url)
            .field("config", &self.config)
            .field(
                "checkpoint",
                &self
                    .options
                    .checkpoint
                    .as_ref()
                    .map(|store| store.describe()),
            )
            .finish_non_exhaustive()
    }
}

impl WopiJob {
    /// Uploads `source` as the `MainContent` of the file at `file_url`
    /// (`https://host/wopi/files/ID?access_token=…`), with the machine's defaults: sequence
    /// number 1, no lock, 8 MiB ranges, fail on a `412`.
    pub fn new(source: impl Source + 'static, file_url: impl Into<String>) -> Self {
        WopiJob::shared(Arc::new(source), file_url)
    }

    /// Like [`WopiJob::new`], with a source shared with the caller.
    pub fn shared(source: Arc<dyn Source>, file_url: impl Into<String>) -> Self {
        // The ChunkId and length are filled in when the job starts, once the source is hashed.
        let main = WopiStream::main_content(ChunkId::of(&[]), 0);
        WopiJob {
            source,
            file_url: SecretUrl::new(file_url),
            config: WopiConfig::new(vec![main]),
            settings: CommitSettings::default(),
            options: Options::default(),
        }
    }

    /// The machine's configuration; its stream is filled in from the source at the start.
    pub fn config(&self) -> &WopiConfig {
        &self.config
    }

    /// Changes the machine's configuration: range sizes, retries, the session lifetime, the
    /// policy on a `412`, the seed.
    pub fn configure(mut self, change: impl FnOnce(&mut WopiConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// The size of each `UpdateUploadSession` range of the framed stream.
    pub fn range_size(self, bytes: u64) -> Self {
        self.configure(|config| config.range_size = FragmentSizing::Fixed(bytes))
    }

    /// The commit's `X-WOPI-SequenceNumber`: the number of the version the caller read. Given
    /// on a resumed job, it replaces the checkpoint's: how an upload stopped by a `412` goes on
    /// with the host's number.
    pub fn sequence_number(mut self, sequence_number: u64) -> Self {
        self.config.sequence_number = sequence_number;
        self.settings.sequence_number = Some(sequence_number);
        self
    }

    /// Commits with `X-WOPI-Lock: lock` (the lock the caller holds from `LOCK`); given on a
    /// resumed job, it replaces the checkpoint's.
    pub fn lock(mut self, lock: Secret) -> Self {
        self.config.lock = Some(lock);
        self.settings.locks = Some((self.config.lock.clone(), self.config.coauth_lock_id.clone()));
        self
    }

    /// Saves a checkpoint to `store` whenever the machine says it changed, and resumes from it
    /// if it exists and fits. It holds the file URL with its `access_token`: it is created
    /// readable by its owner only.
    pub fn checkpoint(mut self, store: impl CheckpointStore) -> Self {
        self.options.checkpoint = Some(Arc::new(store));
        self
    }

    /// Asks `should_retry` after each retry the engine schedules (tus-js-client's
    /// `onShouldRetry`), with the retries since the last progress, what failed and the wait.
    /// `false` ends the upload as failed with
    /// [`GiveUp::Declined`](resumable_core::retry::GiveUp::Declined) as its reason; not a
    /// cancel: the session and the checkpoint are kept to resume.
    pub fn should_retry(
        mut self,
        should_retry: impl FnMut(&RetryAttempt) -> bool + 'static,
    ) -> Self {
        self.options.should_retry = Some(Box::new(should_retry));
        self
    }

    /// Calls `callback` with every event, on the upload's thread.
    pub fn on_event(mut self, callback: impl FnMut(&WopiEvent) + 'static) -> Self {
        self.options.on_event = Some(Box::new(callback));
        self
    }

    /// Calls `callback` whenever the bytes of the file the host confirmed change.
    pub fn on_progress(mut self, callback: impl FnMut(Progress) + 'static) -> Self {
        self.options.on_progress = Some(Box::new(callback));
        self
    }

    /// Keeps the checkpoint after completion.
    pub fn keep_completed_checkpoint(mut self) -> Self {
        self.options.keep_completed_checkpoint = true;
        self
    }

    /// A handle to stop or cancel the upload, or to commit again after a `412`, while it runs.
    /// While a handle exists, an upload that waits for a decision (a `412` under the `Ask`
    /// policy) waits for it; without one it ends with
    /// [`FailureCause::AwaitsDecision`](crate::FailureCause::AwaitsDecision).
    pub fn handle(&mut self) -> UploadHandle<WopiUpload> {
        self.options.handle()
    }
}

impl Uploader {
    /// Runs a WOPI `job` to its end on this thread: hashes the source, decides whether to
    /// resume from its checkpoint, then drives the upload. WOPI requests carry their
    /// `access_token` in the URL and never an `Authorization` header.
    pub fn upload_wopi(&self, job: WopiJob) -> Result<Summary<WopiCompletion>, Failure> {
        let WopiJob {
            source,
            file_url,
            config,
            settings,
            options,
        } = job;
        let span = crate::trace::upload_span("wopi", source.len(), &file_url);
        let clock = Clock::new();
        let mut exchange = Exchange::new(
            self.agent.clone(),
            None,
            source,
            WopiUpload::SOURCE_HASH_KINDS,
        );
        let plan = plan_wopi(
            &file_url,
            config,
            &settings,
            options.checkpoint.as_deref(),
            &mut exchange,
            clock.now(),
        )
        .map_err(Failure::not_started)?;
        run(Run {
            machine: plan.machine,
            exchange,
            clock,
            resumption: plan.resumption,
            abandoned: plan.abandoned,
            options,
            span,
        })
    }
}
