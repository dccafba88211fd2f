//! The states of an [`Upload`](super::Upload), each with what the caller should do in it.

use core::fmt;

/// Where an upload stands. Read it with [`Upload::state`](super::Upload::state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Creating the upload session (`POST createUploadSession`, with the caller's bearer
    /// token). Keep driving the loop.
    CreatingSession,
    /// Sending fragments. Keep driving the loop; persist a checkpoint after
    /// [`Event::Acknowledged`](super::Event::Acknowledged) if resuming after a
    /// crash matters.
    Uploading,
    /// After an ambiguous failure, a `416`, a `404` or on resume: asking the server which bytes
    /// it has (`GET uploadUrl`) before sending more. Keep driving the loop.
    Resynchronising,
    /// Waiting before a retry (backoff or `Retry-After`). Sleep until
    /// [`poll_timeout`](crate::session::StateMachine::poll_timeout), then call `handle_timeout`.
    WaitingToRetry,
    /// All bytes received, not committed (a deferred commit). Call
    /// [`Upload::commit`](super::Upload::commit), or
    /// [`Upload::commit_with_source_url`](super::Upload::commit_with_source_url), or
    /// [`Upload::cancel`](super::Upload::cancel) before the session expires. If it expires
    /// first, the upload fails with
    /// [`UploadError::UncommittedSessionLost`](super::UploadError::UncommittedSessionLost).
    CommitPending,
    /// The last fragment hit a name conflict (`409`); the bytes are stored in the session. Call
    /// [`Upload::commit_with_source_url`](super::Upload::commit_with_source_url) with another name
    /// or conflict behaviour, or [`Upload::cancel`](super::Upload::cancel), before the session
    /// expires (else the upload fails with
    /// [`UploadError::UncommittedSessionLost`](super::UploadError::UncommittedSessionLost)).
    NameConflict,
    /// Committing. Keep driving the loop.
    Committing,
    /// The last answer was lost and the session is gone: checking whether the item exists with
    /// the expected size. Keep driving the loop.
    CheckingCompletion,
    /// The service says the file exists; its size is checked, and its hashes wait for the
    /// source's: give them with [`Upload::set_source_hashes`](super::Upload::set_source_hashes)
    /// (a transport reads what it has not hashed yet, then gives them).
    Verifying,
    /// Deleting the session (`DELETE uploadUrl`), after a cancel or before giving up on a
    /// session that misbehaved. Keep driving the loop.
    Cancelling,
    /// Done: the file exists. Nothing more to do.
    Completed,
    /// Stopped with an error; [`Event::Failed`](super::Event::Failed) says why and what to do.
    Failed,
    /// Cancelled: the session was deleted (or will expire on its own).
    Cancelled,
}

impl State {
    /// Whether the upload has ended (completed, failed or cancelled).
    pub const fn is_final(self) -> bool {
        matches!(self, State::Completed | State::Failed | State::Cancelled)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::CreatingSession => "creating the session",
            State::Uploading => "uploading",
            State::Resynchronising => "resynchronising",
            State::WaitingToRetry => "waiting to retry",
            State::CommitPending => "waiting for a commit",
            State::NameConflict => "stopped on a name conflict",
            State::Committing => "committing",
            State::CheckingCompletion => "checking completion",
            State::Verifying => "checking the stored file",
            State::Cancelling => "cancelling",
            State::Completed => "completed",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        })
    }
}
