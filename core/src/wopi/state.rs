//! The states of a [`WopiUpload`](super::WopiUpload), each with what the caller should do in it.

use core::fmt;

/// Where a WOPI upload stands. Read it with [`WopiUpload::state`](super::WopiUpload::state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WopiState {
    /// Creating the upload session (`CREATE_UPLOAD_SESSION`). Keep driving the loop.
    CreatingSession,
    /// Sending ranges of the framed stream (`UPDATE_UPLOAD_SESSION`). Keep driving the loop;
    /// persist a checkpoint after [`WopiEvent::Acknowledged`](super::WopiEvent::Acknowledged)
    /// if resuming after a crash matters.
    Uploading,
    /// An update's outcome is unknown (timeout, lost connection, 5xx, or a resume): the next
    /// update is a small probe at the last offset the host confirmed, and the host's answer says
    /// where it is. Keep driving the loop.
    Resynchronising,
    /// Waiting before a retry (backoff or `Retry-After`). Sleep until
    /// [`poll_timeout`](crate::session::StateMachine::poll_timeout), then call `handle_timeout`.
    WaitingToRetry,
    /// Paused by the caller: nothing is sent but keep-alives. Call
    /// [`WopiUpload::unpause`](super::WopiUpload::unpause) to go on; keep calling
    /// `handle_timeout` at `poll_timeout` so the session is kept alive or the warning comes.
    Paused,
    /// Committing (`PUT_CHUNKED_FILE`). Keep driving the loop.
    Committing,
    /// The commit succeeded: reading `CheckFileInfo` to check the stored file's size and
    /// `SHA256` against the source (waiting for
    /// [`WopiUpload::set_source_hashes`](super::WopiUpload::set_source_hashes) if needed). Keep
    /// driving the loop.
    CheckingFile,
    /// The commit met a `412` and the policy is to ask: call
    /// [`WopiUpload::commit_with_sequence_number`](super::WopiUpload::commit_with_sequence_number)
    /// (with the host's number to overwrite its version) or
    /// [`WopiUpload::cancel`](super::WopiUpload::cancel).
    SequenceConflict,
    /// Done: the host stored the file. Nothing more to do.
    Completed,
    /// Stopped with an error; [`WopiEvent::Failed`](super::WopiEvent::Failed) says why.
    Failed,
    /// Cancelled by the caller; the session expires on its own (WOPI has no way to delete one).
    Cancelled,
}

impl WopiState {
    /// Whether the upload has ended (completed, failed or cancelled).
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            WopiState::Completed | WopiState::Failed | WopiState::Cancelled
        )
    }
}

impl fmt::Display for WopiState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WopiState::CreatingSession => "creating the session",
            WopiState::Uploading => "uploading",
            WopiState::Resynchronising => "resynchronising",
            WopiState::WaitingToRetry => "waiting to retry",
            WopiState::Paused => "paused",
            WopiState::Committing => "committing",
            WopiState::CheckingFile => "checking the stored file",
            WopiState::SequenceConflict => "waiting for a decision on a sequence-number conflict",
            WopiState::Completed => "completed",
            WopiState::Failed => "failed",
            WopiState::Cancelled => "cancelled",
        })
    }
}
