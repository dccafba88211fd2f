//! Why a WOPI upload stopped, and what the caller can do about it.
//!
//! [`WopiError`]'s `Display` is one line: what happened, the host's `X-WOPI-FailureReason` when
//! it gave one (cut short, for logs), then what to do. It never contains the `access_token`, the
//! session token or a lock.

use alloc::string::String;
use core::fmt;

use crate::chunk::FragmentSizeError;
use crate::http::RequestKind;
use crate::retry::GiveUp;
use crate::secret::Secret;
use crate::session::Failure;

use super::codec::ChunkId;
use super::state::WopiState;

/// Why a WOPI upload failed or a command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WopiError {
    /// The configuration cannot be used.
    Config(ConfigError),
    /// The host refused a request in a way retrying cannot fix (400, 401, 403, 404, 413, 501,
    /// ...).
    Rejected {
        /// What the request was for.
        during: RequestKind,
        /// The HTTP status.
        status: u16,
        /// The host's `X-WOPI-FailureReason`.
        host_reason: Option<String>,
    },
    /// The commit met a lock mismatch (`409`): the file is locked by someone else, or with
    /// another mechanism.
    LockMismatch {
        /// The host's current lock (`X-WOPI-Lock`), if it gave one. A credential-like value: it
        /// prints redacted; read it with [`Secret::expose`].
        lock: Option<Secret>,
        /// `X-WOPI-ConflictingMechanism`: `WOPI-Lock`, `WOPI-CoauthExclusiveLock` or `Other`.
        mechanism: Option<String>,
        /// The host's `X-WOPI-FailureReason`.
        host_reason: Option<String>,
    },
    /// The commit met a sequence-number mismatch (`412`) and the policy did not allow (or no
    /// longer allowed) committing with the host's number.
    SequenceMismatch {
        /// The number sent.
        sent: u64,
        /// The host's number, if it gave one.
        host: Option<u64>,
        /// Whether an earlier commit of this upload got no clear answer: the host's version may
        /// be this upload's own, already stored.
        maybe_own_commit: bool,
        /// The host's `X-WOPI-FailureReason`.
        host_reason: Option<String>,
    },
    /// Retries ran out without progress.
    GaveUp {
        /// What the last failed request was for.
        during: RequestKind,
        /// What went wrong last.
        last: Failure,
        /// Which limit was reached.
        reason: GiveUp,
        /// The host's `X-WOPI-FailureReason` on the last failure.
        host_reason: Option<String>,
    },
    /// The session was lost (410, expiry, an unknowable position) and the policy allows no new
    /// one.
    SessionLost {
        /// Sessions this upload used.
        sessions: u32,
        /// The host's `X-WOPI-FailureReason` on the answer that lost the last session.
        host_reason: Option<String>,
    },
    /// A commit got no clear answer, then the session was gone and no new one may be made: the
    /// file may or may not have been stored.
    CommitUnconfirmed {
        /// Sessions this upload used.
        sessions: u32,
        /// The host's `X-WOPI-FailureReason` on the answer that lost the last session.
        host_reason: Option<String>,
    },
    /// The host reported an offset past the end of the stream.
    HostOffsetOutOfRange {
        /// The offset the host reported.
        offset: u64,
        /// The stream's length.
        stream_len: u64,
        /// The host's `X-WOPI-FailureReason` on that answer.
        host_reason: Option<String>,
    },
    /// The host broke the protocol again and again (offsets past the bytes sent, confirmed
    /// bytes forgotten), or kept losing what it was sent past the send budget: the engine gave
    /// up on it rather than trust it.
    HostMisbehaved {
        /// The last violation.
        violation: crate::session::Violation,
        /// How many there were.
        times: u32,
    },
    /// The host committed, but `CheckFileInfo` describes another file than the source: its
    /// `Size` or `SHA256` differs. The upload is **not** complete.
    StoredFileDiffers(crate::digest::stored::Mismatch),
    /// More than twice the session stream (plus a few ranges) went into one session without
    /// the host keeping it: it keeps losing or refusing what it is sent.
    SendBudgetSpent {
        /// Stream bytes sent into the session.
        sent: u64,
        /// The session stream's length.
        stream_len: u64,
    },
    /// The transport could not read the source.
    SourceRead,
    /// A command was given in a state that does not take it.
    WrongState {
        /// The command.
        command: &'static str,
        /// The state the upload was in.
        state: WopiState,
    },
}

impl From<ConfigError> for WopiError {
    fn from(error: ConfigError) -> Self {
        WopiError::Config(error)
    }
}

/// Names a request kind the way a sentence about it needs.
fn describe(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::CreateSession => "creating the upload session",
        RequestKind::Fragment => "uploading a range",
        RequestKind::Refresh => "keeping the session alive",
        RequestKind::Commit => "committing the file",
        _ => "talking to the host",
    }
}

/// What a caller can do about a refused request, by status.
fn advice(status: u16) -> &'static str {
    match status {
        400 => "the host found the request malformed: this is a bug, please report it",
        401 => "the access token is missing or expired: get a new one and resume",
        403 => "the access token may not write this file: check its permissions",
        404 => "the host does not know the file: check the file id",
        409 => "the file is locked: unlock it or give the matching lock",
        413 => "the file is too large for the host",
        501 => "the host does not support this operation",
        _ => "the host refused the request",
    }
}

fn write_reason(f: &mut fmt::Formatter<'_>, reason: &Option<String>) -> fmt::Result {
    match reason {
        Some(reason) => write!(f, " (host: {reason})"),
        None => Ok(()),
    }
}

impl fmt::Display for WopiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WopiError::Config(error) => write!(f, "invalid WOPI upload configuration: {error}"),
            WopiError::Rejected {
                during,
                status,
                host_reason,
            } => {
                write!(
                    f,
                    "the host refused {} with HTTP {status}",
                    describe(*during)
                )?;
                write_reason(f, host_reason)?;
                write!(f, ": {}", advice(*status))
            }
            WopiError::LockMismatch {
                mechanism,
                host_reason,
                ..
            } => {
                f.write_str("the file is locked")?;
                if let Some(mechanism) = mechanism {
                    write!(f, " (mechanism {mechanism})")?;
                }
                write_reason(f, host_reason)?;
                f.write_str(": unlock it, or upload with the lock that holds it")
            }
            WopiError::SequenceMismatch {
                sent,
                host,
                maybe_own_commit,
                host_reason,
            } => {
                write!(
                    f,
                    "the file changed on the host (sequence number {sent} sent"
                )?;
                if let Some(host) = host {
                    write!(f, ", the host is at {host}")?;
                }
                f.write_str(")")?;
                write_reason(f, host_reason)?;
                if *maybe_own_commit {
                    f.write_str(
                        "; an earlier commit of this upload lost its answer, so the host's version may be this file already",
                    )?;
                }
                f.write_str(
                    ": merge with the host's version, or upload again with its sequence number to overwrite it",
                )
            }
            WopiError::GaveUp {
                during,
                last,
                reason,
                host_reason,
            } => {
                write!(f, "{reason} while {} (last: {last}", describe(*during))?;
                write_reason(f, host_reason)?;
                f.write_str("); check the connection and run the upload again (with a checkpoint it resumes where it stopped)")
            }
            WopiError::SessionLost {
                sessions,
                host_reason,
            } => {
                write!(f, "the upload session was lost after {sessions} session(s)")?;
                write_reason(f, host_reason)?;
                f.write_str(" and no new one may be made; start the upload again")
            }
            WopiError::CommitUnconfirmed { host_reason, .. } => {
                f.write_str("the commit may have stored the file but its answer was lost and the session is gone")?;
                write_reason(f, host_reason)?;
                f.write_str("; check the file's version on the host before uploading again")
            }
            WopiError::HostOffsetOutOfRange {
                offset,
                stream_len,
                host_reason,
            } => {
                write!(
                    f,
                    "the host reported offset {offset}, past the end of the {stream_len}-byte stream"
                )?;
                write_reason(f, host_reason)?;
                f.write_str("; the host is misbehaving")
            }
            WopiError::HostMisbehaved { violation, times } => write!(
                f,
                "gave up on the host after {times} answers that broke the protocol (last: {violation}); nothing it says about this upload can be trusted: check the host and upload again"
            ),
            WopiError::StoredFileDiffers(mismatch) => write!(
                f,
                "the host committed the file, but CheckFileInfo says it is not this source: {mismatch}; the upload is NOT complete: upload again (and check the host)"
            ),
            WopiError::SendBudgetSpent { sent, stream_len } => write!(
                f,
                "sent {sent} bytes into one session for a {stream_len}-byte stream without the host keeping them; it keeps losing or refusing what it is sent: check the host and upload again"
            ),
            WopiError::SourceRead => f.write_str(
                "the source could not be read; check the file and run the upload again (with a checkpoint it resumes where it stopped)",
            ),
            WopiError::WrongState { command, state } => {
                write!(f, "cannot {command} while the upload is {state}")
            }
        }
    }
}

impl core::error::Error for WopiError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            WopiError::Config(error) => Some(error),
            WopiError::GaveUp { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// Why a [`WopiConfig`](super::WopiConfig) cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Both `X-WOPI-Lock` and `X-WOPI-CoauthLockId` were given; a host refuses the pair.
    LockAndCoauthLock,
    /// `X-WOPI-SequenceNumber` must be above 0.
    ZeroSequenceNumber,
    /// No stream is called `MainContent`.
    NoMainContent,
    /// Two streams have this name.
    DuplicateStream(String),
    /// A stream has no name.
    UnnamedStream,
    /// This `FullFile` stream lists more than one chunk.
    FullFileWithSeveralChunks(String),
    /// This stream lists a chunk of no bytes.
    EmptyChunk(String),
    /// This stream's place in the source overflows 64 bits.
    SourceOverflow(String),
    /// One ChunkId is given with two lengths.
    ConflictingChunk(ChunkId),
    /// The framed stream would be longer than a WOPI offset can say (2^63 − 1 bytes).
    StreamTooLong,
    /// The range size does not suit WOPI ranges.
    RangeSize(FragmentSizeError),
    /// The probe length is 0.
    ZeroProbe,
    /// `max_sessions` is 0.
    NoSessions,
    /// The session lifetime is 0.
    ZeroLifetime,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::LockAndCoauthLock => {
                f.write_str("give either a WOPI lock or a coauthoring lock id, not both")
            }
            ConfigError::ZeroSequenceNumber => f.write_str("the sequence number must be above 0"),
            ConfigError::NoMainContent => f.write_str("no stream is called MainContent"),
            ConfigError::DuplicateStream(name) => write!(f, "two streams are called {name}"),
            ConfigError::UnnamedStream => f.write_str("a stream has no name"),
            ConfigError::FullFileWithSeveralChunks(name) => {
                write!(f, "stream {name} is FullFile but lists several chunks")
            }
            ConfigError::EmptyChunk(name) => {
                write!(f, "stream {name} lists a chunk of no bytes")
            }
            ConfigError::SourceOverflow(name) => {
                write!(f, "stream {name} ends past 2^64 bytes of the source")
            }
            ConfigError::ConflictingChunk(id) => {
                write!(f, "chunk {id} is listed with two different lengths")
            }
            ConfigError::StreamTooLong => {
                f.write_str("the framed stream would exceed 2^63 - 1 bytes")
            }
            ConfigError::RangeSize(error) => write!(f, "invalid range size: {error}"),
            ConfigError::ZeroProbe => f.write_str("the probe length must be at least 1 byte"),
            ConfigError::NoSessions => f.write_str("max_sessions must be at least 1"),
            ConfigError::ZeroLifetime => f.write_str("the session lifetime must be above 0"),
        }
    }
}

impl core::error::Error for ConfigError {}
