//! tus 1.0 and IETF draft uploads: a [`TusJob`] (a source, the server's creation URL, the
//! protocol, metadata), run by the same [`Uploader`] as Graph and WOPI jobs. When the server
//! offers checksums, each request's bytes are read once more just before it goes, for its
//! `Upload-Checksum`.

use std::sync::Arc;

use resumable_core::session::RetryAttempt;
use resumable_core::tus::{TusCompletion, TusConfig, TusEvent, TusUpload, Variant};

use crate::clock::Clock;
use crate::exchange::Exchange;
use crate::outcome::{Failure, Summary};
use crate::plan::plan_tus;
use crate::upload::{Options, Progress, Run, UploadHandle, Uploader, run};
use resumable_io::CheckpointStore;
use resumable_io::source::Source;

/// One file to upload to a tus 1.0 server or an IETF draft server.
///
/// ```
/// use resumable_core::tus::Variant;
/// use resumable_ureq::TusJob;
/// use resumable_ureq::source::BytesSource;
///
/// let job = TusJob::new(BytesSource::new(vec![1u8; 1000]), Variant::Tus1, "https://tus.example/files/")
///     .metadata("filename", "a.bin")
///     .configure(|config| config.chunk_size = 1 << 20);
/// assert_eq!(job.config().total, Some(1000));
/// ```
pub struct TusJob {
    source: Arc<dyn Source>,
    config: TusConfig,
    options: Options<TusUpload>,
}

impl std::fmt::Debug for TusJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TusJob")
            .field("source", &self.source.describe())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TusJob {
    /// Uploads `source` to the server (`variant`) whose creation URL is `endpoint`, with the
    /// engine's defaults: 8 MiB requests, checksums when the server offers them.
    pub fn new(
        source: impl Source + 'static,
        variant: Variant,
        endpoint: impl Into<String>,
    ) -> Self {
        Self::shared(Arc::new(source), variant, endpoint)
    }

    /// Like `new`, with a source shared with the caller.
    pub fn shared(source: Arc<dyn Source>, variant: Variant, endpoint: impl Into<String>) -> Self {
        let config = TusConfig::new(variant, endpoint, Some(source.len()));
        TusJob {
            source,
            config,
            options: Options::default(),
        }
    }

    /// The engine configuration.
    pub fn config(&self) -> &TusConfig {
        &self.config
    }

    /// Changes the engine configuration (request size, checksums, retries).
    pub fn configure(mut self, change: impl FnOnce(&mut TusConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// Adds an `Upload-Metadata` pair (tus).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.metadata.push((key.into(), value.into()));
        self
    }

    /// Saves a checkpoint to `store` after each confirmed request and resumes from it if it
    /// exists and fits; removed on completion. It holds the upload URL: readable by its owner
    /// only.
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

    /// Calls `callback` with every event.
    pub fn on_event(mut self, callback: impl FnMut(&TusEvent) + 'static) -> Self {
        self.options.on_event = Some(Box::new(callback));
        self
    }

    /// Calls `callback` with the progress after each event.
    pub fn on_progress(mut self, callback: impl FnMut(Progress) + 'static) -> Self {
        self.options.on_progress = Some(Box::new(callback));
        self
    }

    /// A handle to stop or cancel the upload while it runs.
    pub fn handle(&mut self) -> UploadHandle<TusUpload> {
        self.options.handle()
    }
}

impl Uploader {
    /// Runs a tus or IETF draft `job` to its end on this thread: decides whether to resume
    /// from its checkpoint, then drives the upload. Requests carry no `Authorization` header.
    pub fn upload_tus(&self, job: TusJob) -> Result<Summary<TusCompletion>, Failure> {
        let TusJob {
            source,
            config,
            options,
        } = job;
        let protocol = match config.variant {
            resumable_core::tus::Variant::Tus1 => "tus",
            _ => "ietf-resumable-upload",
        };
        let span = crate::trace::upload_span(protocol, source.len(), &config.endpoint);
        let clock = Clock::new();
        let mut exchange = Exchange::new(
            self.agent.clone(),
            None,
            source,
            resumable_core::digest::HashKinds::CHEAP,
        );
        let plan = plan_tus(
            config,
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
