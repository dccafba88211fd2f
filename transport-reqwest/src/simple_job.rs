//! Small drive items in one request: a [`SimpleJob`] (a source, the item's `…:/content` URL,
//! the conflict behaviour) run by the same [`Uploader`] and the same driver loop as the
//! session uploads, as a [`SimpleTask`].
//!
//! The file goes as one `PUT` with the bearer token, its bytes read from the source as they
//! are sent (feeding the source's hashes, which prove the item the service answers). No
//! session, so no checkpoint: a simple upload that stops is sent again whole, which for files
//! under the cutoff costs less than the session's round trips would have.

use std::fmt;
use std::sync::Arc;

use resumable_core::graph::{ConflictBehavior, Event, SimpleConfig, SimpleUpload};
use resumable_core::secret::SecretUrl;
use resumable_core::session::{Resumption, RetryAttempt};

use crate::clock::Clock;
use crate::exchange::Exchange;
use crate::outcome::{UploadFailure, UploadSummary};
use crate::start::StartError;
use crate::task::{EventCallback, RetryHook, TaskParts, UploadTask, spawn};
use crate::trace;
use crate::uploader::Uploader;
use resumable_io::source::Source;

/// A running simple upload. Its events are the Graph [`Event`]s (`RetryScheduled`,
/// `Acknowledged` once the item is proven, `Completed`, `Failed`, `Cancelled`).
pub type SimpleTask = UploadTask<SimpleUpload>;

/// One small file to upload with a Graph simple upload (`PUT …:/content`, the whole file in one
/// request): a source, the content URL, the conflict behaviour, the retry policy.
///
/// The content URL is the API's own URL (`{drive}/root:/{path}:/content` or
/// `{drive}/items/{parent}:/{name}:/content`); [`content_url`](resumable_core::graph::content_url)
/// builds one from a folder URL and a relative path, and
/// [`content_url_for_session`](resumable_core::graph::content_url_for_session) from a
/// `createUploadSession` URL. It is not a credential: the bearer token goes with it.
///
/// ```
/// use resumable_core::graph::{ConflictBehavior, content_url};
/// use resumable_reqwest::SimpleJob;
/// use resumable_reqwest::source::BytesSource;
///
/// let url = content_url("https://graph.microsoft.com/v1.0/me/drive/root:/Backups", "a/b c.txt").unwrap();
/// let job = SimpleJob::new(BytesSource::new(b"hello".to_vec()), url)
///     .on_conflict(ConflictBehavior::Fail)
///     .configure(|config| config.retry.max_attempts = 3);
/// assert_eq!((job.config().total, job.config().conflict), (5, ConflictBehavior::Fail));
/// assert!(job.config().fits());
/// ```
pub struct SimpleJob {
    source: Arc<dyn Source>,
    content_url: String,
    config: SimpleConfig,
    callback: Option<EventCallback<Event>>,
    should_retry: Option<RetryHook>,
}

impl SimpleJob {
    /// Uploads `source` to `content_url` under `replace` (retries then repeat the same request
    /// harmlessly), with the default cutoff (4 MB) and retries, the jitter seeded from the URL
    /// (files refused together retry apart).
    pub fn new(source: impl Source, content_url: impl Into<String>) -> Self {
        Self::shared(Arc::new(source), content_url)
    }

    /// Like `new`, with a source shared with the caller.
    pub fn shared(source: Arc<dyn Source>, content_url: impl Into<String>) -> Self {
        let content_url = content_url.into();
        let mut config = SimpleConfig::new(source.len());
        config.seed = seed_of(&content_url);
        SimpleJob {
            source,
            content_url,
            config,
            callback: None,
            should_retry: None,
        }
    }

    /// What a taken name does: `fail` (a `409`, unless the item there proves to be this
    /// upload's own after a lost answer), `replace` or `rename` (a retry after a lost answer
    /// may then leave a second copy).
    pub fn on_conflict(mut self, conflict: ConflictBehavior) -> Self {
        self.config.conflict = conflict;
        self
    }

    /// Changes the engine configuration: the cutoff, the retry policy, the seed. Its `total`
    /// is the source's size when the job starts.
    pub fn configure(mut self, change: impl FnOnce(&mut SimpleConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// The engine configuration.
    pub fn config(&self) -> &SimpleConfig {
        &self.config
    }

    /// The content URL.
    pub fn content_url(&self) -> &str {
        &self.content_url
    }

    /// Calls `callback` with every event, on the upload's task (keep it short).
    pub fn on_event(mut self, callback: impl FnMut(&Event) + Send + 'static) -> Self {
        self.callback = Some(Box::new(callback));
        self
    }

    /// Asks `should_retry` before each retry the engine has decided on, as
    /// [`Job::should_retry`](crate::job::Job::should_retry) does: `false` fails the upload.
    pub fn should_retry(
        mut self,
        should_retry: impl FnMut(&RetryAttempt) -> bool + Send + 'static,
    ) -> Self {
        self.should_retry = Some(Box::new(should_retry));
        self
    }
}

/// A seed for the retry jitter, from the URL: many files uploaded at once and refused
/// together (a 503 storm) then retry at different moments rather than in lockstep, and a
/// rerun of the same file retries as before.
fn seed_of(content_url: &str) -> u64 {
    // FNV-1a.
    content_url
        .bytes()
        .fold(0xCBF2_9CE4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3)
        })
}

impl fmt::Debug for SimpleJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleJob")
            .field("source", &self.source.describe())
            .field("content_url", &self.content_url)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Uploader {
    /// Starts a simple upload on a tokio task. Needs a token provider
    /// ([`StartError::NoToken`] otherwise: the `PUT` carries the bearer token) and a source
    /// within the cutoff ([`StartError::Invalid`] otherwise). Must be called within a tokio
    /// runtime.
    pub async fn start_simple(&self, job: SimpleJob) -> Result<SimpleTask, StartError> {
        let SimpleJob {
            source,
            content_url,
            mut config,
            callback,
            should_retry,
        } = job;
        if self.tokens.is_none() {
            return Err(StartError::NoToken);
        }
        config.total = source.len();
        let clock = Clock::new();
        let span = trace::upload_span(
            "graph-simple",
            source.len(),
            &SecretUrl::new(content_url.as_str()),
        );
        let upload =
            SimpleUpload::new(content_url, config, clock.now()).map_err(StartError::Invalid)?;
        let exchange = Arc::new(
            Exchange::new(
                self.clients.clone(),
                self.tokens.clone(),
                source,
                self.timeouts,
            )
            .with_rate_limit(self.rate_limit.clone()),
        );
        Ok(spawn(
            upload,
            TaskParts {
                span,
                should_retry,
                exchange,
                clock,
                writer: None,
                callback,
                hook: None,
                keep_completed_checkpoint: false,
                resumption: Resumption::Fresh,
                abandoned: None,
            },
        ))
    }

    /// Runs a simple upload to its end: the summary names the stored item, proven to be the
    /// source (its size and hashes checked), or the failure says why and what to do.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use resumable_core::graph::content_url_for_session;
    /// use resumable_core::secret::Secret;
    /// use resumable_reqwest::source::FileSource;
    /// use resumable_reqwest::{SimpleJob, Uploader};
    ///
    /// let uploader = Uploader::builder().token(Secret::new("eyJ0eXAi...")).build()?;
    /// let create = "https://graph.microsoft.com/v1.0/me/drive/root:/notes.txt:/createUploadSession";
    /// let url = content_url_for_session(create).expect("an item by path");
    /// let summary = uploader.upload_simple(SimpleJob::new(FileSource::open("notes.txt")?, url)).await?;
    /// println!("{}", summary.completion.verification);
    /// # Ok(()) }
    /// ```
    pub async fn upload_simple(&self, job: SimpleJob) -> Result<UploadSummary, UploadFailure> {
        match self.start_simple(job).await {
            Ok(task) => task.finish().await,
            Err(error) => Err(UploadFailure::not_started(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_io::source::BytesSource;

    #[test]
    fn jobs_for_other_files_retry_on_other_schedules() {
        let job = |url: &str| SimpleJob::new(BytesSource::new(vec![1u8; 3]), url);
        let a = job("https://g/v1.0/me/drive/root:/a:/content");
        let b = job("https://g/v1.0/me/drive/root:/b:/content");
        assert_ne!(a.config().seed, b.config().seed);
        assert_eq!(
            a.config().seed,
            job("https://g/v1.0/me/drive/root:/a:/content")
                .config()
                .seed
        );
        assert!(format!("{a:?}").contains("root:/a:/content"));
    }
}
