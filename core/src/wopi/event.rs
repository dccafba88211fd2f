//! What a [`WopiUpload`](super::WopiUpload) reports through
//! [`poll_event`](crate::session::StateMachine::poll_event), each with what the caller should do.

use alloc::string::String;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::session::Failure;
use crate::session::failure::{loss_line, retry_line};
use crate::time::{Duration, Instant};

use super::error::WopiError;

/// The file the host stored, as its `200` to `PutChunkedFile` described it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WopiCompletion {
    /// The host's new `X-WOPI-SequenceNumber`, if it gave a number: pass it as the sequence
    /// number of the next upload of this file.
    pub sequence_number: Option<u64>,
    /// `X-WOPI-ItemVersion`, the host's name for the stored version, if given.
    pub item_version: Option<String>,
    /// Upload sessions used (0 when the chunks went inline in one `PutChunkedFile`).
    pub sessions: u32,
    /// Whether the chunks went inline in the commit rather than through a session (the host
    /// answered `501` to `CreateUploadSession`, or there was nothing to upload).
    pub inline: bool,
    /// What `CheckFileInfo` let the engine check of the stored file (its `Size`, its
    /// `SHA256`); empty when the host offers no `CheckFileInfo`.
    #[serde(default)]
    pub verification: crate::digest::stored::Verification,
}

/// Why a WOPI upload session was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WopiSessionLoss {
    /// The host answered `410 Gone` (or `404`): the token is invalid or expired, or a commit
    /// whose answer was lost consumed the session.
    Gone,
    /// The session's sliding expiry passed with nothing sent (the caller paused with keep-alive
    /// off, or retries waited too long).
    Expired,
    /// After an unclear outcome the host refused the probe with a `400` that gave no offset, so
    /// where its stream ends cannot be learnt: the stream starts again in a new session.
    PositionUnknown,
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WopiEvent {
    /// A session exists (`number` 1 is the first; more means it was replaced and the stream
    /// starts again). Persist a checkpoint now if the upload must survive a crash: it holds the
    /// new session token.
    SessionCreated {
        /// Sessions this upload has had, this one included.
        number: u32,
    },
    /// The host took an update. Offsets are in the framed stream (chunk bytes plus 32 bytes of
    /// frame prefix per chunk). Update progress; persist a checkpoint if wanted.
    Acknowledged {
        /// Where the update started.
        offset: u64,
        /// Its length.
        len: u64,
        /// Stream bytes the host has now (its `X-WOPI-UploadSessionCurrentOffset`).
        confirmed: u64,
        /// The stream's length.
        total: u64,
    },
    /// The host's offset differs from what the engine believed (a lost answer whose bytes were
    /// stored, a partial store, a resume): the upload continues from the host's offset. Nothing
    /// to do.
    Resynchronised {
        /// Where the engine believed the host was.
        believed: u64,
        /// Where the host says it is.
        offset: u64,
    },
    /// A request failed and will be tried again at `at`. Nothing to do; show it if useful.
    RetryScheduled {
        /// What failed.
        reason: Failure,
        /// When the retry goes out (on the caller's clock).
        at: Instant,
        /// How long from the failure.
        delay: Duration,
        /// The host's `X-WOPI-FailureReason`, if it gave one (for logs).
        host_reason: Option<String>,
    },
    /// An idle session was kept alive by a minimal update; it now expires at `expires_at`.
    KeptAlive {
        /// The new expiry, on the caller's clock.
        expires_at: Instant,
    },
    /// The session is idle and will expire at `expires_at` (keep-alive is off, or the host
    /// refused a keep-alive). Call [`WopiUpload::unpause`](super::WopiUpload::unpause) (or
    /// decide on the pending `412`) before then; afterwards the stream starts again in a new
    /// session.
    ExpiryWarning {
        /// When the session expires, on the caller's clock.
        expires_at: Instant,
    },
    /// The session was lost. If `starting_over`, a new session follows (once unpaused, if
    /// paused) and the stream starts from byte 0: reset progress. Otherwise
    /// [`WopiEvent::Failed`] follows.
    SessionLost {
        /// Why.
        cause: WopiSessionLoss,
        /// Whether a new session will be created.
        starting_over: bool,
    },
    /// The host does not support upload sessions (`501`): the file goes in one
    /// `PutChunkedFile` with every chunk inline. Nothing to do; it cannot resume part-way.
    FallingBack,
    /// The commit met a `412`: the host's file is at another version than the sequence number
    /// sent says.
    SequenceConflict {
        /// The sequence number sent.
        sent: u64,
        /// The host's number, if it gave one.
        host: Option<u64>,
        /// Whether the engine commits again with the host's number (policy
        /// [`Adopt`](super::SequenceConflictPolicy::Adopt)). If not, and the policy is
        /// [`Ask`](super::SequenceConflictPolicy::Ask), the machine waits for the caller.
        retrying: bool,
        /// Whether an earlier commit of this upload got no clear answer: the host's version
        /// may be this upload's own, stored by that commit.
        maybe_own_commit: bool,
    },
    /// The host's answer broke the protocol: an offset past every byte sent into the session,
    /// or below what it had confirmed. The engine probes where the host is and goes on; after
    /// a few such answers it gives up on the host. Nothing to do; show it.
    ProtocolViolation(crate::session::Violation),
    /// The host stored the file. The machine is finished.
    Completed(WopiCompletion),
    /// The upload stopped. Show the error (its `Display` says what to do); the machine is
    /// finished. Keep the last checkpoint if the error says to resume.
    Failed(WopiError),
    /// The upload was cancelled. The machine is finished.
    Cancelled,
}

/// One line that says what happened, for a log or a progress display.
impl fmt::Display for WopiEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WopiEvent::SessionCreated { number: 1 } => f.write_str("upload session created"),
            WopiEvent::SessionCreated { number } => {
                write!(f, "new upload session created (#{number})")
            }
            WopiEvent::Acknowledged {
                confirmed, total, ..
            } => write!(f, "the host confirmed {confirmed} of {total} stream bytes"),
            WopiEvent::RetryScheduled {
                reason,
                delay,
                host_reason,
                ..
            } => retry_line(f, reason, host_reason.as_deref(), *delay),
            WopiEvent::Resynchronised { believed, offset } => write!(
                f,
                "the host is at byte {offset} of the stream (believed {believed}); continuing from there"
            ),
            WopiEvent::SessionLost {
                cause,
                starting_over,
            } => {
                let cause = match cause {
                    WopiSessionLoss::Expired => "the upload session expired",
                    WopiSessionLoss::Gone => "the host no longer knows the upload session (410)",
                    WopiSessionLoss::PositionUnknown => {
                        "the host's position in the session could not be learnt"
                    }
                };
                loss_line(f, cause, *starting_over)
            }
            WopiEvent::FallingBack => f.write_str(
                "the host does not support upload sessions (501): sending the file in one PutChunkedFile",
            ),
            WopiEvent::SequenceConflict {
                sent,
                host,
                retrying,
                ..
            } => match (host, retrying) {
                (Some(host), true) => write!(
                    f,
                    "the host is at sequence number {host}, not {sent}; committing with {host}"
                ),
                (Some(host), false) => {
                    write!(f, "the host is at sequence number {host}, not {sent} (412)")
                }
                (None, _) => write!(
                    f,
                    "the host is at another sequence number than {sent} (412)"
                ),
            },
            WopiEvent::ExpiryWarning { .. } => {
                f.write_str("the idle upload session will expire soon")
            }
            WopiEvent::KeptAlive { .. } => f.write_str("kept the idle upload session alive"),
            WopiEvent::ProtocolViolation(violation) => {
                write!(f, "{violation}; asking the host where it is")
            }
            WopiEvent::Completed(_) => f.write_str("completed"),
            WopiEvent::Failed(error) => write!(f, "{error}"),
            WopiEvent::Cancelled => f.write_str("cancelled; the host lets the session expire"),
        }
    }
}
