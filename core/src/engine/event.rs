//! What an [`Upload`](super::Upload) reports through
//! [`poll_event`](crate::machine::StateMachine::poll_event), each with what the caller should do.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use crate::range::ByteRange;
use crate::time::{Duration, Instant, UnixTime};

use super::error::{Failure, UploadError};

/// The finished upload, as the service described it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The status of the final answer (`200` or `201`; `200` too when the engine confirmed the
    /// item itself after a lost answer).
    pub status: u16,
    /// The item JSON (drive item, print document), if the answer had a body.
    pub item: Option<String>,
    /// The `Location` header (mail attachments), if the answer had one.
    pub location: Option<String>,
}

/// Why a session was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionLossCause {
    /// Its `expirationDateTime` passed (or came within the margin) before the upload finished.
    Expired,
    /// The server kept answering `404` (or `410`) for it.
    NotFound,
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A session exists (`number` 1 is the first; more means it was recreated). Persist a
    /// checkpoint now if the upload must survive a crash: it holds the new session URL.
    SessionCreated {
        /// How many sessions this upload has had, this one included.
        number: u32,
        /// When it expires, if the server said.
        expires: Option<UnixTime>,
    },
    /// The server confirmed bytes. Update progress; persist a checkpoint if wanted.
    FragmentAcknowledged {
        /// The fragment the answer was for.
        range: ByteRange,
        /// Bytes the server has now.
        confirmed: u64,
        /// The file's size.
        total: u64,
    },
    /// A request failed and will be tried again at `at`. Nothing to do; show it if useful.
    RetryScheduled {
        /// What failed.
        reason: Failure,
        /// When the retry goes out (on the caller's clock).
        at: Instant,
        /// How long from the failure.
        delay: Duration,
    },
    /// The server said where it is; the upload continues from `offset` (its first missing byte).
    /// Nothing to do: the next fragment is read from the source at that offset.
    Resynchronised {
        /// The first byte the server lacks (the total if it lacks none).
        offset: u64,
        /// Bytes the server has.
        confirmed: u64,
    },
    /// The session was lost. If `starting_over`, a new session follows and the upload starts
    /// from byte 0 (reset progress); otherwise [`Event::Failed`] follows.
    SessionLost {
        /// Why.
        cause: SessionLossCause,
        /// Whether a new session is being created.
        starting_over: bool,
    },
    /// All bytes are stored and the session waits for a commit (deferred commit). Call
    /// [`Upload::commit`](super::Upload::commit) (or the explicit commit) before it expires.
    CommitPending {
        /// When the session expires, if known.
        expires: Option<UnixTime>,
    },
    /// The last fragment met a name conflict (`409`). Call
    /// [`Upload::commit_with_source_url`](super::Upload::commit_with_source_url) to store it under
    /// another name or with `replace`, or [`Upload::cancel`](super::Upload::cancel).
    NameConflict,
    /// The file exists. The machine is finished.
    Completed(Completion),
    /// The upload stopped. Show the error (its `Display` says what to do); the machine is finished.
    /// Keep the last checkpoint if the error says to resume.
    Failed(UploadError),
    /// The upload was cancelled. The machine is finished.
    Cancelled,
}
