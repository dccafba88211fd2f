//! How an upload ended, and what happened on the way.

use resumable_core::digest::SourceHashes;
use std::fmt;
use std::time::Duration;

use resumable_core::graph::{Completion, UploadError};
use resumable_core::tus::TusError;
use resumable_core::wopi::WopiError;

use crate::start::StartError;
use resumable_core::session::Resumption;

/// What happened during an upload, counted from the engine's events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadStats {
    /// The file's size.
    pub total: u64,
    /// Bytes the server confirmed at the end.
    pub confirmed: u64,
    /// Source bytes handed to connections, retries and lost sessions included.
    pub bytes_sent: u64,
    /// Retries scheduled (after errors, throttling or a `404` on the session).
    pub retries: u32,
    /// Times the engine asked the server where it was and continued from its answer.
    pub resyncs: u32,
    /// Sessions made or used, the first included.
    pub sessions: u32,
    /// Sessions lost (expired or gone) on the way.
    pub sessions_lost: u32,
    /// From the start of the task to its end.
    pub elapsed: Duration,
}

impl UploadStats {
    /// Confirmed bytes per second over the whole task, or `None` before any time passed.
    pub fn bytes_per_second(&self) -> Option<f64> {
        let secs = self.elapsed.as_secs_f64();
        (secs > 0.0).then(|| self.confirmed as f64 / secs)
    }
}

/// A completed upload. `C` is what the service said of the stored file: a Graph
/// [`Completion`] (item JSON, `Location`), or a WOPI host's
/// [`WopiCompletion`](resumable_core::wopi::WopiCompletion) (new sequence number, item
/// version).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadSummary<C = Completion> {
    /// The service's description of the file.
    pub completion: C,
    /// What happened on the way.
    pub stats: UploadStats,
    /// How the task began (fresh, resumed, restarted).
    pub resumption: Resumption,
    /// Checkpoints could not be written (the upload went on without them), if so why.
    pub checkpoint_warning: Option<String>,
    /// The source's hashes (QuickXorHash, CRC-32, SHA-1, SHA-256), computed from the reads
    /// that sent it, when every byte was read in this run.
    pub source_hashes: Option<SourceHashes>,
}

impl<C> UploadSummary<C> {
    /// The same summary with its completion turned into something else (for code that
    /// reports Graph and WOPI uploads alike).
    ///
    /// ```
    /// # fn example(summary: resumable_reqwest::UploadSummary) {
    /// let item: resumable_reqwest::UploadSummary<Option<String>> =
    ///     summary.map_completion(|completion| completion.item);
    /// # }
    /// ```
    pub fn map_completion<D>(self, change: impl FnOnce(C) -> D) -> UploadSummary<D> {
        UploadSummary {
            completion: change(self.completion),
            stats: self.stats,
            resumption: self.resumption,
            source_hashes: self.source_hashes,
            checkpoint_warning: self.checkpoint_warning,
        }
    }
}

/// Why an upload did not complete.
#[derive(Debug)]
#[non_exhaustive]
pub enum FailureCause {
    /// The upload could not start.
    NotStarted(StartError),
    /// The engine gave up; its error says what to do.
    Upload(UploadError),
    /// The WOPI engine gave up; its error says what to do (a `412` names the host's sequence
    /// number, a `409` the host's lock).
    Wopi(WopiError),
    /// The tus / IETF draft engine gave up; its error says what to do.
    Tus(TusError),
    /// The upload was cancelled (the session was deleted).
    Cancelled,
    /// The upload was stopped on request; the session and the checkpoint are kept to resume.
    Stopped,
    /// The task ended without an outcome (it panicked or was aborted): a bug.
    Interrupted,
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
            FailureCause::Cancelled => f.write_str("the upload was cancelled and its session deleted"),
            FailureCause::Stopped => f.write_str(
                "the upload was stopped; its session and checkpoint are kept: start it again with the same checkpoint to resume",
            ),
            FailureCause::Interrupted => {
                f.write_str("the upload task ended without an outcome; this is a bug, please report it")
            }
        }
    }
}

/// An upload that did not complete: why, and what happened before.
#[derive(Debug)]
#[non_exhaustive]
pub struct UploadFailure {
    /// Why.
    pub cause: FailureCause,
    /// What happened on the way.
    pub stats: UploadStats,
    /// Checkpoints could not be written, if so why.
    pub checkpoint_warning: Option<String>,
}

impl UploadFailure {
    pub(crate) fn not_started(error: StartError) -> Self {
        UploadFailure {
            cause: FailureCause::NotStarted(error),
            stats: UploadStats::default(),
            checkpoint_warning: None,
        }
    }
}

impl fmt::Display for UploadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.cause)
    }
}

impl std::error::Error for UploadFailure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_confirmed_bytes_over_elapsed_time() {
        let stats = UploadStats {
            confirmed: 10_000_000,
            elapsed: Duration::from_secs(4),
            ..UploadStats::default()
        };
        assert_eq!(stats.bytes_per_second(), Some(2_500_000.0));
        assert_eq!(UploadStats::default().bytes_per_second(), None);
    }

    #[test]
    fn failures_print_the_engines_reason() {
        let failure = UploadFailure {
            cause: FailureCause::Upload(UploadError::SourceRead),
            stats: UploadStats::default(),
            checkpoint_warning: None,
        };
        assert_eq!(
            failure.to_string(),
            "the source could not be read; check the file and run the upload again (with a checkpoint it resumes where it stopped)"
        );
    }
}
