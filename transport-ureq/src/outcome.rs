//! How an upload ended, and what happened on the way.

use std::fmt;
use std::io;
use std::time::Duration;

use resumable_core::digest::SourceHashes;
use resumable_core::graph::{Completion, UploadError};
use resumable_core::session::Resumption;
use resumable_core::tus::TusError;
use resumable_core::wopi::WopiError;

/// What happened during an upload, counted from the machine's events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// The file's size.
    pub total: u64,
    /// Bytes of the file the server confirmed at the end.
    pub confirmed: u64,
    /// Source bytes handed to connections, retries and lost sessions included.
    pub bytes_sent: u64,
    /// Retries scheduled.
    pub retries: u32,
    /// Times the machine asked the server where it was and went on from its answer.
    pub resyncs: u32,
    /// Sessions made or used, the first included.
    pub sessions: u32,
    /// Sessions lost (expired or gone) on the way.
    pub sessions_lost: u32,
    /// From the start of the upload to its end.
    pub elapsed: Duration,
}

/// A completed upload. `C` is what the service said of the stored file: a Graph
/// [`Completion`], or a WOPI host's
/// [`WopiCompletion`](resumable_core::wopi::WopiCompletion).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary<C = Completion> {
    /// The service's description of the file, and what was checked of it.
    pub completion: C,
    /// What happened on the way.
    pub stats: Stats,
    /// How the upload began.
    pub resumption: Resumption,
    /// Checkpoints could not be written (the upload went on without them), if so why.
    pub checkpoint_warning: Option<String>,
    /// The source's hashes, computed from the reads that sent it, when every byte was read in
    /// this run.
    pub source_hashes: Option<SourceHashes>,
}

impl<C> Summary<C> {
    /// The same summary with its completion turned into something else (for code that
    /// reports Graph and WOPI uploads alike).
    ///
    /// ```
    /// # fn example(summary: resumable_ureq::Summary) {
    /// let checked: resumable_ureq::Summary<String> =
    ///     summary.map_completion(|completion| completion.verification.to_string());
    /// # }
    /// ```
    pub fn map_completion<D>(self, change: impl FnOnce(C) -> D) -> Summary<D> {
        Summary {
            completion: change(self.completion),
            stats: self.stats,
            resumption: self.resumption,
            checkpoint_warning: self.checkpoint_warning,
            source_hashes: self.source_hashes,
        }
    }
}

/// Why an upload did not complete.
#[derive(Debug)]
#[non_exhaustive]
pub enum FailureCause {
    /// The upload could not start.
    NotStarted(StartError),
    /// The Graph machine gave up; its error says what to do.
    Upload(UploadError),
    /// The WOPI machine gave up; its error says what to do.
    Wopi(WopiError),
    /// The tus / IETF draft machine gave up; its error says what to do.
    Tus(TusError),
    /// The upload was cancelled (a Graph session was deleted; a WOPI session expires).
    Cancelled,
    /// The upload was stopped on request; the session and the checkpoint are kept.
    Stopped,
    /// The machine waits for a decision (a deferred commit, a name conflict, a WOPI `412`
    /// under the `Ask` policy) and no [`UploadHandle`](crate::UploadHandle) is left to give it.
    AwaitsDecision,
}

impl From<UploadError> for FailureCause {
    fn from(error: UploadError) -> Self {
        FailureCause::Upload(error)
    }
}

impl From<WopiError> for FailureCause {
    fn from(error: WopiError) -> Self {
        FailureCause::Wopi(error)
    }
}

impl From<TusError> for FailureCause {
    fn from(error: TusError) -> Self {
        FailureCause::Tus(error)
    }
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureCause::NotStarted(error) => write!(f, "{error}"),
            FailureCause::Upload(error) => write!(f, "{error}"),
            FailureCause::Wopi(error) => write!(f, "{error}"),
            FailureCause::Tus(error) => write!(f, "{error}"),
            FailureCause::Cancelled => f.write_str("the upload was cancelled"),
            FailureCause::Stopped => f.write_str(
                "the upload was stopped; its session and checkpoint are kept: run it again with the same checkpoint to resume",
            ),
            FailureCause::AwaitsDecision => f.write_str(
                "the upload waits for a decision (a deferred commit, a name conflict, a WOPI sequence conflict) and nothing can give it: keep an UploadHandle to decide, or configure the job to decide by itself",
            ),
        }
    }
}

/// An upload that did not complete: why, and what happened before.
#[derive(Debug)]
#[non_exhaustive]
pub struct Failure {
    /// Why.
    pub cause: FailureCause,
    /// How the upload began; `None` if it did not start.
    pub resumption: Option<Resumption>,
    /// What happened on the way.
    pub stats: Stats,
    /// Checkpoints could not be written, if so why.
    pub checkpoint_warning: Option<String>,
}

impl Failure {
    pub(crate) fn not_started(error: StartError) -> Self {
        Failure {
            cause: FailureCause::NotStarted(error),
            resumption: None,
            stats: Stats::default(),
            checkpoint_warning: None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.cause)
    }
}

impl std::error::Error for Failure {}

/// Why an upload could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The Graph upload cannot be made as configured (an empty file, a fragment size).
    Invalid(UploadError),
    /// The WOPI upload cannot be made as configured (a lock and a coauthoring lock together,
    /// sequence number 0, a range size WOPI refuses).
    Wopi(WopiError),
    /// The tus upload cannot be made as configured.
    Tus(TusError),
    /// Creating a session needs a bearer token and the uploader has none.
    NoToken,
    /// The checkpoint could not be read.
    CheckpointUnreadable(io::Error),
    /// The checkpoint belongs to another upload, or is not a checkpoint: it is neither
    /// used nor overwritten.
    CheckpointRefused {
        /// The store, as it describes itself
        /// ([`CheckpointStore::describe`](crate::CheckpointStore::describe): "checkpoint file
        /// PATH").
        store: String,
        /// How it differs, completing "the checkpoint ...".
        reason: String,
    },
    /// The source could not be read to check it against the checkpoint or to hash it.
    SourceUnreadable(io::Error),
    /// The source changed since the checkpoint and the upload cannot start over: a Graph
    /// session made elsewhere (no way to make a new one), or a WOPI session that holds frames
    /// of the old content.
    SourceChanged {
        /// The checkpoint's store, as it describes itself.
        store: String,
        /// How the source changed.
        reason: String,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Invalid(error) => write!(f, "{error}"),
            StartError::Wopi(error) => write!(f, "{error}"),
            StartError::Tus(error) => write!(f, "{error}"),
            StartError::NoToken => f.write_str(
                "creating an upload session needs an access token and none was given; give the uploader one with Uploader::builder().token(...)",
            ),
            StartError::CheckpointUnreadable(error) => write!(f, "{error}"),
            StartError::CheckpointRefused { store, reason } => write!(
                f,
                "{store} {reason}; delete it or choose another checkpoint"
            ),
            StartError::SourceUnreadable(error) => {
                write!(f, "could not read the source: {error}; check the file and run again")
            }
            StartError::SourceChanged { store, reason } => write!(
                f,
                "{reason} since the {store} was written, and the upload cannot start over here; delete the checkpoint to upload the file as it is now"
            ),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Invalid(error) => Some(error),
            StartError::Wopi(error) => Some(error),
            StartError::Tus(error) => Some(error),
            StartError::CheckpointUnreadable(error) | StartError::SourceUnreadable(error) => {
                Some(error)
            }
            StartError::NoToken
            | StartError::CheckpointRefused { .. }
            | StartError::SourceChanged { .. } => None,
        }
    }
}
