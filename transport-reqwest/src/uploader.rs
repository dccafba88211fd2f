//! The entry point: an [`Uploader`] (HTTP clients, tokens, time limits) runs [`UploadJob`]s
//! (a source, a destination, a target, options), one at a time or many at once.

use std::sync::Arc;

use futures::StreamExt;
use resumable_core::graph::{Event, Target, Upload, UploadConfig};
use resumable_core::secret::Secret;

use crate::checkpoint_store::CheckpointStore;
use crate::checkpoint_writer::CheckpointWriter;
use crate::clock::Clock;
use crate::exchange::{Exchange, HttpClients};
use crate::outcome::{UploadFailure, UploadSummary};
use crate::source::Source;
use crate::start::{StartError, plan};
use crate::task::{EventCallback, EventHook, TaskParts, UploadTask, spawn};
use crate::timeouts::TimeoutPolicy;
use crate::token::{StaticToken, TokenProvider};
use resumable_core::graph::Destination;

/// One file to upload: where its bytes come from, where they go, and how.
///
/// ```
/// use resumable_core::chunk::FragmentSizing;
/// use resumable_core::graph::{DriveItem, Target};
/// use resumable_reqwest::{CheckpointStore, UploadJob};
/// use resumable_core::graph::Destination;
/// use resumable_reqwest::source::BytesSource;
///
/// let job = UploadJob::new(
///     BytesSource::new(vec![7u8; 1_000_000]),
///     Destination::new_session("https://graph.microsoft.com/v1.0/me/drive/root:/a.bin:/createUploadSession"),
///     Target::DriveItem(DriveItem::new()),
/// )
/// .configure(|config| config.fragment_size = FragmentSizing::Fixed(327_680 * 2))
/// .checkpoint(CheckpointStore::new("/tmp/a.bin.checkpoint"))
/// .on_event(|event| eprintln!("{event:?}"));
/// assert_eq!(job.config().total, 1_000_000);
/// ```
pub struct UploadJob {
    source: Arc<dyn Source>,
    destination: Destination,
    config: UploadConfig,
    checkpoint: Option<CheckpointStore>,
    callback: Option<EventCallback>,
    commit_when_received: bool,
    keep_completed_checkpoint: bool,
}

impl UploadJob {
    /// Uploads `source` to `destination` as `target`, with the engine's default configuration
    /// for that target.
    pub fn new(source: impl Source, destination: Destination, target: Target) -> Self {
        UploadJob::shared(Arc::new(source), destination, target)
    }

    /// Like [`UploadJob::new`], with a source shared with the caller.
    pub fn shared(source: Arc<dyn Source>, destination: Destination, target: Target) -> Self {
        let config = UploadConfig::new(target, source.len());
        UploadJob {
            source,
            destination,
            config,
            checkpoint: None,
            callback: None,
            commit_when_received: false,
            keep_completed_checkpoint: false,
        }
    }

    /// The engine configuration (its `total` is the source's size).
    pub fn config(&self) -> &UploadConfig {
        &self.config
    }

    /// Changes the engine configuration: fragment sizes, retry and session policies, the seed.
    /// A checkpoint that is resumed brings its own configuration.
    pub fn configure(mut self, change: impl FnOnce(&mut UploadConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// Saves a checkpoint to `store` after each confirmed fragment (and each new session), and
    /// resumes from it if it exists and fits. It is removed when the upload completes or is
    /// cancelled, and kept when it fails or stops.
    pub fn checkpoint(mut self, store: CheckpointStore) -> Self {
        self.checkpoint = Some(store);
        self
    }

    /// Calls `callback` with every event, on the upload's task (keep it short).
    pub fn on_event(mut self, callback: impl FnMut(&Event) + Send + 'static) -> Self {
        self.callback = Some(Box::new(callback));
        self
    }

    /// Commits a deferred upload as soon as all bytes are received, instead of waiting for
    /// [`UploadTask::commit`].
    pub fn commit_when_received(mut self) -> Self {
        self.commit_when_received = true;
        self
    }

    /// Keeps the checkpoint after completion (it then records the completion, so running the
    /// same job again sends nothing).
    pub fn keep_completed_checkpoint(mut self) -> Self {
        self.keep_completed_checkpoint = true;
        self
    }
}

/// Runs uploads: the HTTP clients, the token provider and the transport's time limits.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use resumable_core::graph::{DriveItem, Target};
/// use resumable_core::secret::Secret;
/// use resumable_reqwest::{UploadJob, Uploader};
/// use resumable_core::graph::Destination;
/// use resumable_reqwest::source::FileSource;
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
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("has_tokens", &self.tokens.is_some())
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Uploader`].
#[derive(Default)]
pub struct UploaderBuilder {
    api_client: Option<reqwest::Client>,
    tokens: Option<Arc<dyn TokenProvider>>,
    timeouts: TimeoutPolicy,
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
            destination,
            mut config,
            checkpoint,
            callback,
            commit_when_received,
            keep_completed_checkpoint,
        } = job;
        config.total = source.len();
        if destination.create_url().is_some() && self.tokens.is_none() {
            return Err(StartError::NoToken);
        }
        let clock = Clock::new();
        // Built first, so the reads that check a checkpoint also feed the source's hashes.
        let exchange = Arc::new(Exchange::new(
            self.clients.clone(),
            self.tokens.clone(),
            source,
            self.timeouts,
        ));
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
                exchange,
                clock,
                writer,
                callback,
                hook,
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
