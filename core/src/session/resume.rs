//! How an upload begins: afresh, from a checkpoint, or over again. The dialects' planners
//! ([`graph::plan_start`](crate::graph::plan_start), [`wopi::plan_start`](crate::wopi::plan_start))
//! decide it from the stored checkpoint and the source as it is now; a transport only loads
//! the checkpoint's bytes and reads the source ranges the planner names.

use alloc::string::String;
use core::fmt;

/// How an upload began.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resumption {
    /// Without a checkpoint (or none existed yet).
    Fresh,
    /// From a checkpoint; the server is asked where it is first.
    Resumed {
        /// Bytes the checkpoint recorded as confirmed.
        confirmed: u64,
        /// Of those, bytes no CRC-32 covered (checked by the source's size only): parts of
        /// fragments the server stored in part.
        unchecked: u64,
        /// Sessions the upload had used.
        sessions: u32,
    },
    /// The checkpoint says the upload completed; nothing is sent.
    AlreadyCompleted,
    /// A checkpoint existed but could not be used; the upload starts over.
    Restarted {
        /// Why, as a sentence fragment ("the source changed size ...").
        reason: String,
    },
}

impl fmt::Display for Resumption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resumption::Fresh => f.write_str("new upload"),
            Resumption::Resumed { confirmed, .. } => write!(
                f,
                "resuming from the checkpoint ({confirmed} bytes confirmed then)"
            ),
            Resumption::AlreadyCompleted => {
                f.write_str("the checkpoint says this upload completed already")
            }
            Resumption::Restarted { reason } => write!(f, "starting over: {reason}"),
        }
    }
}

/// Why an upload cannot start from what was stored. `E` is the error of a source read, `D`
/// the dialect's error for a configuration it refuses.
#[derive(Debug)]
pub enum StartError<E, D> {
    /// The upload cannot be made as configured.
    Invalid(D),
    /// The stored checkpoint belongs to another upload, or is not a checkpoint: it must not be
    /// overwritten. The reason completes "the checkpoint file ...".
    Refused {
        /// How it differs ("is the checkpoint of a WOPI upload session, not ...").
        reason: String,
    },
    /// The source could not be read while checking it against the checkpoint.
    SourceUnreadable(E),
    /// The source changed since the checkpoint and the upload cannot start over: a Graph
    /// session made elsewhere (no way to make a new one), or a WOPI session that holds frames
    /// of the old content.
    SourceChanged {
        /// How it changed ("the file was 10 bytes and is now 12").
        reason: String,
    },
}

impl<E: fmt::Display, D: fmt::Display> fmt::Display for StartError<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Invalid(error) => write!(f, "{error}"),
            StartError::Refused { reason } => write!(
                f,
                "the checkpoint {reason}; delete it or choose another checkpoint path"
            ),
            StartError::SourceUnreadable(error) => write!(f, "could not read the source: {error}"),
            StartError::SourceChanged { reason } => write!(
                f,
                "{reason} since the checkpoint was written, and the upload cannot start over here; delete the checkpoint to upload the file as it is now"
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display, D: fmt::Debug + fmt::Display> core::error::Error
    for StartError<E, D>
{
}
