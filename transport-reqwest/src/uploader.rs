//! The entry point: an [`Uploader`] (HTTP clients, tokens, time limits) runs
//! [`UploadJob`]s (a source, a destination, a target, options), one at a time or many at once.

use std::sync::Arc;

use futures::StreamExt;
use resumable_core::graph::{Destination, Event, Upload};
use resumable_core::secret::Secret;

use crate::UploadJob;
use crate::checkpoint_writer::CheckpointWriter;
use crate::clock::Clock;
use crate::exchange::{Exchange, HttpClients};
use crate::job::Graph;
use crate::outcome::{UploadFailure, UploadSummary};
use crate::rate_limit::RateLimit;
use crate::start::{StartError, plan};
use crate::task::{EventHook, TaskParts, UploadTask, spawn};
use crate::timeouts::TimeoutPolicy;
use crate::token::{StaticToken, TokenProvider};
use crate::trace;

/// Runs uploads: the HTTP clients, the token provider and the transport's time limits.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use resumable_core::graph::{Destination, DriveItem, Target};
/// use resumable_core::secret::Secret;
/// use resumable_reqwest::source::FileSource;
/// use resumable_reqwest::{UploadJob, Uploader};
///
/// let uploader = Uploader::builder().token(Secret::new("eyJ0eXAi...")).build()?;
/// let job = UploadJob::new(
///     FileSource::open("big.bin")?,
///     Destination::new_session("https://graph.microsoft.com/v1.0/me/drive/root:/big.bin:/createUploadSession"),
///     Target::DriveItem(DriveItem::new()),
/// );
/// let summary = uploader.upload(job).await?;
/// println!("{} bytes in {:?}", summary.stats.confirmed, summary.stats.elapsed);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Uploader {
    pub(crate) clients: HttpClients,
    pub(crate) tokens: Option<Arc<dyn TokenProvider>>,
    pub(crate) timeouts: TimeoutPolicy,
    pub(crate) rate_limit: Option<RateLimit>,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("has_tokens", &self.tokens.is_some())
            .field("timeouts", &self.timeouts)
            .field(
                "rate_limit",
                &self.rate_limit.as_ref().map(RateLimit::bytes_per_second),
            )
            .finish_non_exhaustive()
    }
}

/// Builds an [`Uploader`].
#[derive(Default)]
pub struct UploaderBuilder {
    api_client: Option<reqwest::Client>,
    tokens: Option<Arc<dyn TokenProvider>>,
    timeouts: TimeoutPolicy,
    rate_limit: Option<RateLimit>,
}

impl UploaderBuilder {
    /// Sends API requests (session creation, explicit commits) through `client`. Requests to
    /// upload URLs never use it: they go through a client without default headers.
    pub fn api_client(mut self, client: reqwest::Client) -> Self {
        self.api_client = Some(client);
        self
    }

    /// Gets bearer tokens from `provider` (asked again with `refresh` after a 401).
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.tokens = Some(Arc::new(provider));
        self
    }

    /// Uses one fixed bearer token.
    pub fn token(self, token: Secret) -> Self {
        self.token_provider(StaticToken::new(token))
    }

    /// The connect and idle limits.
    pub fn timeouts(mut self, timeouts: TimeoutPolicy) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Limits the upload bandwidth of this uploader as a whole, like `rclone --bwlimit`: every
    /// upload it runs (and every clone of it runs) draws from one budget of `limit` body bytes
    /// per second, so concurrent uploads share the limit. Pass a [`RateLimit`] to share one
    /// budget between uploaders too, or a number of bytes per second.
    ///
    /// ```
    /// use resumable_reqwest::Uploader;
    /// let uploader = Uploader::builder().rate_limit(2u64 << 20).build().unwrap(); // 2 MiB/s
    /// # drop(uploader);
    /// ```
    pub fn rate_limit(mut self, limit: impl Into<RateLimit>) -> Self {
        self.rate_limit = Some(limit.into());
        self
    }

    /// Builds the uploader (and its HTTP clients).
    pub fn build(self) -> Result<Uploader, reqwest::Error> {
        let clients = match self.api_client {
            Some(api) => HttpClients::with_api_client(api, &self.timeouts)?,
            None => HttpClients::new(&self.timeouts)?,
        };
        Ok(Uploader {
            clients,
            tokens: self.tokens,
            timeouts: self.timeouts,
            rate_limit: self.rate_limit,
        })
    }
}

impl Uploader {
    /// An uploader with its own clients, default limits and no token (enough for sessions
    /// created elsewhere).
    pub fn new() -> Result<Uploader, reqwest::Error> {
        UploaderBuilder::default().build()
    }

    /// Configures an uploader.
    pub fn builder() -> UploaderBuilder {
        UploaderBuilder::default()
    }

    /// Starts `job` on a tokio task: decides whether to resume from its checkpoint, then
    /// drives the upload. Must be called within a tokio runtime.
    pub async fn start(&self, job: UploadJob) -> Result<UploadTask, StartError> {
        let UploadJob {
            source,
            mut config,
            checkpoint,
            callback,
            keep_completed_checkpoint,
            should_retry,
            protocol:
                Graph {
                    destination,
                    commit_when_received,
                },
        } = job;
        config.total = source.len();
        let destination_url = match &destination {
            Destination::NewSession { create_url } => create_url,
            Destination::ExistingSession { upload_url, .. } => upload_url,
        };
        let span = trace::upload_span("graph", config.total, destination_url);
        if destination.create_url().is_some() && self.tokens.is_none() {
            return Err(StartError::NoToken);
        }
        let clock = Clock::new();
        // Built first, so the reads that check a checkpoint also feed the source's hashes.
        let exchange = Arc::new(
            Exchange::new(
                self.clients.clone(),
                self.tokens.clone(),
                source,
                self.timeouts,
            )
            .with_rate_limit(self.rate_limit.clone()),
        );
        let plan = plan(
            &destination,
            config,
            checkpoint.as_ref(),
            exchange.source(),
            clock.now(),
        )
        .await?;
        let writer = checkpoint
            .map(CheckpointWriter::start)
            .transpose()
            .map_err(StartError::CheckpointWriter)?;
        let hook: Option<EventHook<Upload>> = commit_when_received.then(|| {
            Box::new(|upload: &mut Upload, event: &Event, now| {
                if let Event::CommitPending { .. } = event {
                    let _ = upload.commit(now);
                }
            }) as EventHook<Upload>
        });
        Ok(spawn(
            plan.upload,
            TaskParts {
                span,
                exchange,
                clock,
                writer,
                callback,
                hook,
                should_retry,
                keep_completed_checkpoint,
                resumption: plan.resumption,
                abandoned: plan.abandoned,
            },
        ))
    }

    /// Runs `job` to its end.
    pub async fn upload(&self, job: UploadJob) -> Result<UploadSummary, UploadFailure> {
        match self.start(job).await {
            Ok(task) => task.finish().await,
            Err(error) => Err(UploadFailure::not_started(error)),
        }
    }

    /// Runs `jobs`, at most `concurrency` at once (at least one), each in its own session.
    /// The outcomes come back in the order of the jobs.
    pub async fn upload_many(
        &self,
        jobs: impl IntoIterator<Item = UploadJob>,
        concurrency: usize,
    ) -> Vec<Result<UploadSummary, UploadFailure>> {
        let mut outcomes: Vec<(usize, Result<UploadSummary, UploadFailure>)> =
            futures::stream::iter(jobs.into_iter().enumerate())
                .map(|(index, job)| async move { (index, self.upload(job).await) })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
        outcomes.sort_by_key(|(index, _)| *index);
        outcomes.into_iter().map(|(_, outcome)| outcome).collect()
    }
}
