//! What to upload and how: one [`Job`] type for both protocols, whose options common to both
//! (the engine configuration, the checkpoint, the event callback, keeping a completed
//! checkpoint) are written once, and whose protocol's own options come with its [`Protocol`]:
//! [`UploadJob`] (`Job<Graph>`) for Graph upload sessions and
//! [`WopiJob`] (`Job<Wopi>`) for WOPI hosts.
//!
//! Retries, backoff and session policies are part of the engine configuration
//! ([`Job::configure`]); connect and idle limits, clients and tokens belong to the
//! [`Uploader`](crate::Uploader) that runs the jobs.

use std::fmt;
use std::sync::Arc;

use resumable_core::graph::{Destination, Event, Target, UploadConfig};
use resumable_core::secret::{Secret, SecretUrl};
use resumable_core::session::RetryAttempt;
use resumable_core::tus::{TusConfig, TusEvent, Variant};
use resumable_core::wopi::{ChunkId, CommitSettings, WopiConfig, WopiEvent, WopiStream};

use crate::task::{EventCallback, RetryHook};
use crate::wopi_start::HashProgress;
#[cfg(doc)]
use crate::{UploadJob, WopiJob};
use resumable_io::CheckpointStore;
#[cfg(doc)]
use resumable_io::FileCheckpointStore;
use resumable_io::source::Source;

/// One file to upload: where its bytes come from, the engine configuration, a checkpoint, an
/// event callback, and what the protocol `P` needs ([`Graph`]: a destination and a target;
/// [`Wopi`]: a file URL, a sequence number, a lock).
///
/// A Graph job:
///
/// ```
/// use resumable_core::chunk::FragmentSizing;
/// use resumable_core::graph::{Destination, DriveItem, Target};
/// use resumable_reqwest::source::BytesSource;
/// use resumable_reqwest::{FileCheckpointStore, UploadJob};
///
/// let job = UploadJob::new(
///     BytesSource::new(vec![7u8; 1_000_000]),
///     Destination::new_session("https://graph.microsoft.com/v1.0/me/drive/root:/a.bin:/createUploadSession"),
///     Target::DriveItem(DriveItem::new()),
/// )
/// .configure(|config| config.fragment_size = FragmentSizing::Fixed(327_680 * 2))
/// .checkpoint(FileCheckpointStore::new("/tmp/a.bin.checkpoint"))
/// .on_event(|event| eprintln!("{event:?}"));
/// assert_eq!(job.config().total, 1_000_000);
/// ```
///
/// A WOPI job, with the same common options:
///
/// ```
/// use resumable_core::chunk::FragmentSizing;
/// use resumable_core::secret::Secret;
/// use resumable_reqwest::source::BytesSource;
/// use resumable_reqwest::{FileCheckpointStore, WopiJob};
///
/// let job = WopiJob::new(
///     BytesSource::new(vec![7u8; 1_000_000]),
///     "https://host.example/wopi/files/42?access_token=eyJ0eXAi...",
/// )
/// .sequence_number(3)
/// .lock(Secret::new("lock-from-LOCK"))
/// .configure(|config| config.range_size = FragmentSizing::Fixed(4 << 20))
/// .checkpoint(FileCheckpointStore::new("/tmp/42.checkpoint"));
/// assert!(!format!("{job:?}").contains("eyJ0eXAi"));
/// ```
pub struct Job<P: Protocol> {
    pub(crate) source: Arc<dyn Source>,
    pub(crate) config: P::Config,
    pub(crate) checkpoint: Option<Arc<dyn CheckpointStore>>,
    pub(crate) callback: Option<EventCallback<P::Event>>,
    pub(crate) keep_completed_checkpoint: bool,
    pub(crate) should_retry: Option<RetryHook>,
    pub(crate) protocol: P,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Graph {}
    impl Sealed for super::Wopi {}
    impl Sealed for super::Tus {}
}

/// The protocol of a [`Job`]: [`Graph`], [`Wopi`] or [`Tus`]. Sealed: the [`Uploader`](crate::Uploader)
/// has a way to start each.
pub trait Protocol: sealed::Sealed + fmt::Debug + Send + 'static {
    /// The engine configuration.
    type Config: fmt::Debug + Send + 'static;
    /// What the upload reports.
    type Event: 'static;
}

/// What a Graph upload needs beyond the common options: where the bytes go and when to commit.
#[derive(Debug)]
pub struct Graph {
    pub(crate) destination: Destination,
    pub(crate) commit_when_received: bool,
}

impl Protocol for Graph {
    type Config = UploadConfig;
    type Event = Event;
}

/// What a WOPI upload needs beyond the common options: the file URL, the commit's sequence
/// number and lock, and a view of the hashing that comes first.
pub struct Wopi {
    pub(crate) file_url: SecretUrl,
    pub(crate) settings: CommitSettings,
    pub(crate) hash_progress: Option<HashProgress>,
}

impl fmt::Debug for Wopi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wopi")
            .field("file_url", &self.file_url)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Protocol for Wopi {
    type Config = WopiConfig;
    type Event = WopiEvent;
}

/// What a tus or IETF draft upload needs beyond the common options: nothing (the endpoint,
/// the protocol and the metadata are in its [`TusConfig`]).
#[derive(Debug)]
pub struct Tus {
    pub(crate) deferred_length: bool,
}

impl Protocol for Tus {
    type Config = TusConfig;
    type Event = TusEvent;
}

impl<P: Protocol> Job<P> {
    fn with(source: Arc<dyn Source>, config: P::Config, protocol: P) -> Self {
        Job {
            source,
            config,
            checkpoint: None,
            callback: None,
            keep_completed_checkpoint: false,
            should_retry: None,
            protocol,
        }
    }

    /// The engine configuration. (Graph: its `total` is the source's size. WOPI: its stream is
    /// filled in, name kept, ChunkId and length from the source, when the job starts.)
    pub fn config(&self) -> &P::Config {
        &self.config
    }

    /// Changes the engine configuration: fragment or range sizes, retry and session policies
    /// (the session lifetime: lower it for a host on a scaled clock), the seed, and the
    /// protocol's own rules (WOPI: the policy on a `412`). A checkpoint that is resumed
    /// brings its own configuration.
    pub fn configure(mut self, change: impl FnOnce(&mut P::Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// Saves a checkpoint to `store` after each confirmed fragment (and each new session), and
    /// resumes from it if it exists and fits. It is removed when the upload completes or is
    /// cancelled, and kept when it fails or stops. It holds the session's URL (WOPI: the file
    /// URL with its `access_token`, and the session token): it is created readable by its
    /// owner only.
    ///
    /// A [`FileCheckpointStore`] keeps it in a file; any [`CheckpointStore`] of your own (a row
    /// of your database) works the same way. An `Arc` of a store is a store, for a caller that
    /// keeps a handle on it.
    pub fn checkpoint(mut self, store: impl CheckpointStore) -> Self {
        self.checkpoint = Some(Arc::new(store));
        self
    }

    /// Calls `callback` with every event, on the upload's task (keep it short).
    pub fn on_event(mut self, callback: impl FnMut(&P::Event) + Send + 'static) -> Self {
        self.callback = Some(Box::new(callback));
        self
    }

    /// Asks `should_retry` after each retry the engine schedules (as tus-js-client's
    /// `onShouldRetry` does): it sees the [`RetryAttempt`] (retries since the last progress,
    /// what failed, the wait), after the engine's own limits (retry budget, `Retry-After`
    /// ceiling, stall limit) allowed it. Returning `false` ends the upload as failed, its
    /// cause saying the retry hook declined
    /// ([`GiveUp::Declined`](resumable_core::retry::GiveUp::Declined)); it is not a cancel:
    /// the session and the checkpoint are kept, so running the job again resumes. (Without a
    /// checkpoint nothing could resume the session, so it is deleted, as on any failure.)
    /// Called on the upload's task: keep it short.
    ///
    /// ```
    /// use resumable_core::session::Failure;
    /// use resumable_reqwest::source::BytesSource;
    /// use resumable_reqwest::TusJob;
    /// use resumable_core::tus::Variant;
    ///
    /// // Retry throttling and server errors, but give up on anything else at once.
    /// let job = TusJob::new(BytesSource::new(vec![1u8; 10]), Variant::Tus1, "https://tus.example/files/")
    ///     .should_retry(|attempt| matches!(attempt.reason, Failure::Status(429 | 500..=599)));
    /// # drop(job);
    /// ```
    pub fn should_retry(
        mut self,
        should_retry: impl FnMut(&RetryAttempt) -> bool + Send + 'static,
    ) -> Self {
        self.should_retry = Some(Box::new(should_retry));
        self
    }

    /// Keeps the checkpoint after completion (it then records the completion, so running the
    /// same job again sends nothing).
    pub fn keep_completed_checkpoint(mut self) -> Self {
        self.keep_completed_checkpoint = true;
        self
    }
}

impl<P: Protocol> fmt::Debug for Job<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("source", &self.source.describe())
            .field("protocol", &self.protocol)
            .field("config", &self.config)
            .field(
                "checkpoint",
                &self.checkpoint.as_ref().map(|store| store.describe()),
            )
            .field("keep_completed_checkpoint", &self.keep_completed_checkpoint)
            .field("should_retry", &self.should_retry.is_some())
            .finish_non_exhaustive()
    }
}

impl Job<Graph> {
    /// Uploads `source` to `destination` as `target`, with the engine's default configuration
    /// for that target.
    pub fn new(source: impl Source, destination: Destination, target: Target) -> Self {
        Self::shared(Arc::new(source), destination, target)
    }

    /// Like `new`, with a source shared with the caller.
    pub fn shared(source: Arc<dyn Source>, destination: Destination, target: Target) -> Self {
        let config = UploadConfig::new(target, source.len());
        let protocol = Graph {
            destination,
            commit_when_received: false,
        };
        Job::with(source, config, protocol)
    }

    /// Commits a deferred upload as soon as all bytes are received, instead of waiting for
    /// [`UploadTask::commit`](crate::UploadTask::commit).
    pub fn commit_when_received(mut self) -> Self {
        self.protocol.commit_when_received = true;
        self
    }
}

impl Job<Wopi> {
    /// Uploads `source` as the `MainContent` of the file at `file_url`
    /// (`https://host/wopi/files/ID?access_token=…`; the commit goes to `…/contents`), with
    /// the engine's defaults: sequence number 1, no lock, 8 MiB ranges, fail on a `412`.
    pub fn new(source: impl Source, file_url: impl Into<String>) -> Self {
        Self::shared(Arc::new(source), file_url)
    }

    /// Like `new`, with a source shared with the caller.
    pub fn shared(source: Arc<dyn Source>, file_url: impl Into<String>) -> Self {
        // The ChunkId is filled in when the job starts, once the source is hashed.
        let main = WopiStream::main_content(ChunkId::of(&[]), 0);
        let protocol = Wopi {
            file_url: SecretUrl::new(file_url),
            settings: CommitSettings::default(),
            hash_progress: None,
        };
        Job::with(source, WopiConfig::new(vec![main]), protocol)
    }

    /// The commit's `X-WOPI-SequenceNumber`: the number of the version the caller read (above
    /// 0). Given on a resumed job, it replaces the checkpoint's: how an upload stopped by a
    /// `412` goes on with the host's number.
    pub fn sequence_number(mut self, sequence_number: u64) -> Self {
        self.config.sequence_number = sequence_number;
        self.protocol.settings.sequence_number = Some(sequence_number);
        self
    }

    /// Commits with `X-WOPI-Lock: lock` (the lock the caller holds from `LOCK`). Never
    /// together with [`coauth_lock_id`](Self::coauth_lock_id): the job refuses to start.
    pub fn lock(mut self, lock: Secret) -> Self {
        self.config.lock = Some(lock);
        self.protocol.settings.locks =
            Some((self.config.lock.clone(), self.config.coauth_lock_id.clone()));
        self
    }

    /// Commits with `X-WOPI-CoauthLockId: id`. Never together with [`lock`](Self::lock).
    pub fn coauth_lock_id(mut self, id: Secret) -> Self {
        self.config.coauth_lock_id = Some(id);
        self.protocol.settings.locks =
            Some((self.config.lock.clone(), self.config.coauth_lock_id.clone()));
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

    /// Calls `progress(hashed, total)` while the source is hashed before the upload (a full
    /// read of the file: worth showing for large ones), on a blocking thread, once per block.
    pub fn on_hash_progress(mut self, progress: impl FnMut(u64, u64) + Send + 'static) -> Self {
        self.protocol.hash_progress = Some(Box::new(progress));
        self
    }
}

impl Job<Tus> {
    /// Uploads `source` to the tus 1.0 server or IETF draft server (`variant`) whose creation
    /// URL is `endpoint`, with the engine's defaults: 8 MiB requests, checksums when the server
    /// offers them.
    ///
    /// ```
    /// use resumable_core::tus::Variant;
    /// use resumable_reqwest::TusJob;
    /// use resumable_reqwest::source::BytesSource;
    ///
    /// let job = TusJob::new(BytesSource::new(vec![1u8; 1000]), Variant::Tus1, "https://tus.example/files/")
    ///     .metadata("filename", "report.pdf")
    ///     .configure(|config| config.chunk_size = 1 << 20);
    /// assert_eq!(job.config().total, Some(1000));
    /// assert_eq!(job.config().metadata, [("filename".to_owned(), "report.pdf".to_owned())]);
    /// ```
    pub fn new(source: impl Source, variant: Variant, endpoint: impl Into<String>) -> Self {
        Self::shared(Arc::new(source), variant, endpoint)
    }

    /// Like `new`, with a source shared with the caller.
    pub fn shared(source: Arc<dyn Source>, variant: Variant, endpoint: impl Into<String>) -> Self {
        let config = TusConfig::new(variant, endpoint, Some(source.len()));
        Job::with(
            source,
            config,
            Tus {
                deferred_length: false,
            },
        )
    }

    /// Adds an `Upload-Metadata` pair (tus; the value is sent as base64 of its UTF-8).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.metadata.push((key.into(), value.into()));
        self
    }

    /// The source's length is not known when the upload starts (it is still being written):
    /// the upload is created with `Upload-Defer-Length` and the length is given once the
    /// caller reports the end with [`SourceFeed::source_ended`](crate::SourceFeed::source_ended).
    pub fn deferred_length(mut self) -> Self {
        self.protocol.deferred_length = true;
        self.config.total = None;
        self
    }
}
