//! Why an upload stopped, and what the caller can do about it.
//!
//! [`UploadError`]'s `Display` is the one-line reason a command-line tool prints: what happened,
//! then what to do. It never contains the upload URL.

use alloc::string::String;
use core::fmt;

use crate::chunk::FragmentSizeError;
use crate::http::RequestKind;
use crate::retry::GiveUp;

use crate::digest::stored::Mismatch;

use super::state::State;
use crate::session::Failure;
use crate::session::Violation;

/// Why a session was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionLossCause {
    /// Its `expirationDateTime` passed (or came within the margin) before the upload finished.
    Expired,
    /// The server kept answering `404` (or `410`) for it.
    NotFound,
    /// On resume, the session held bytes sent before the interruption that cannot be checked
    /// against the source as it is now (it was modified since): they may be its old content.
    Unverifiable,
}

/// Why an upload cannot be made as configured ([`UploadConfig::validate`](super::UploadConfig::validate)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file has no bytes: an upload session needs at least one. Use a simple upload instead.
    EmptyFile,
    /// The file is larger than the target accepts.
    TooLarge {
        /// The file's size.
        total: u64,
        /// The target's limit.
        max: u64,
    },
    /// The configured fragment size does not suit the target.
    FragmentSize(FragmentSizeError),
    /// The file is larger than a simple upload may carry (the cutoff configured, at most what
    /// the service accepts in one request).
    TooLargeForSimpleUpload {
        /// The file's size.
        total: u64,
        /// The cutoff.
        max: u64,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::EmptyFile => f.write_str(
                "the file is empty and upload sessions need at least one byte; use a simple upload (PUT .../content) instead",
            ),
            ConfigError::TooLarge { total, max } => write!(
                f,
                "the file has {total} bytes, more than the {max} this target accepts; upload it elsewhere (a drive item) and share a link"
            ),
            ConfigError::FragmentSize(error) => write!(f, "invalid fragment size: {error}"),
            ConfigError::TooLargeForSimpleUpload { total, max } => write!(
                f,
                "the file has {total} bytes, more than the {max} a simple upload carries; use an upload session (createUploadSession) instead"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}

impl From<ConfigError> for UploadError {
    fn from(error: ConfigError) -> Self {
        UploadError::Config(error)
    }
}

/// Why an upload failed or a command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadError {
    /// The upload cannot be made as configured.
    Config(ConfigError),
    /// The server refused a request in a way retrying cannot fix (400, 401, 403, 409, 412, 413,
    /// 507, ...).
    Rejected {
        /// What the request was for.
        during: RequestKind,
        /// The HTTP status.
        status: u16,
        /// The service's error code (`error.code`), if it gave one.
        code: Option<String>,
        /// The service's message (`error.message`), if it gave one: cut short, and with any
        /// word that could be a credential (a URL, a token) left out.
        message: Option<String>,
    },
    /// A request to the upload URL (a fragment, a status request, a commit by `POST`, a cancel)
    /// was refused with `401`. No bearer token goes there: the URL carries its own credential,
    /// which expired or was revoked, so the session cannot be used any more. Start the upload
    /// again in a new session.
    UploadUrlRefused {
        /// What the request was for.
        during: RequestKind,
        /// The HTTP status.
        status: u16,
    },
    /// Retries ran out without progress.
    GaveUp {
        /// What the last failed request was for.
        during: RequestKind,
        /// What went wrong last.
        last: Failure,
        /// Which limit was reached.
        reason: GiveUp,
    },
    /// The upload session is gone (404 after retries, or expired) and no new one may be made.
    SessionLost {
        /// Sessions this upload used.
        sessions: u32,
        /// Whether a new session would have been possible (a creation URL is known).
        can_recreate: bool,
    },
    /// The session was lost (expired, or 404 after retries) while all its bytes waited for the
    /// caller: for a commit ([`State::CommitPending`]) or a decision on a name conflict
    /// ([`State::NameConflict`]). Nothing was stored. The engine does not start over on its
    /// own, since the caller had yet to decide; start the upload again.
    UncommittedSessionLost {
        /// How it was lost.
        cause: SessionLossCause,
        /// Whether it waited on a name conflict (else on a deferred commit).
        name_conflict: bool,
    },
    /// The last bytes or the commit may have completed the upload, but its answer was lost and
    /// the session is gone, so the engine cannot confirm it (it reads the item itself where only
    /// this upload can have made it). Check for the file before uploading again: the message
    /// says where.
    CompletionUnconfirmed {
        /// What the upload may have created.
        destination: TargetKind,
        /// Its size in bytes.
        size: u64,
    },
    /// The transport could not read the source.
    SourceRead,
    /// A command was given in a state that does not take it.
    WrongState {
        /// The command.
        command: &'static str,
        /// The state the upload was in.
        state: State,
    },
    /// A resumed checkpoint has no session and no creation URL to make one.
    NothingToResume,
    /// The service named the finished file, but what it stored is not the source: its size or
    /// a hash it reported differs. The upload is **not** complete.
    StoredFileDiffers {
        /// What the upload created.
        destination: TargetKind,
        /// What differs.
        mismatch: Mismatch,
    },
    /// The service broke the protocol again and again (claimed bytes never sent, announced
    /// the file before the last byte, lost bytes it had confirmed): the engine gave up on it
    /// rather than trust it.
    ServiceMisbehaved {
        /// The last violation.
        violation: Violation,
        /// How many there were.
        times: u32,
    },
    /// The upload sent more bytes into one session than its budget allows
    /// ([`SessionPolicy::send_budget_files`](super::SessionPolicy::send_budget_files) times the
    /// file, plus a few fragments) without the session holding the file: the service keeps
    /// losing or refusing what it is sent.
    SendBudgetSpent {
        /// Bytes sent into the session.
        sent: u64,
        /// The file's size.
        total: u64,
    },
    /// The service's answers to a request could not be used, several times over (not JSON, no
    /// `uploadUrl`, an `uploadUrl` that is not an `http(s)` URL): a fault of the service or of
    /// something between it and this client, not of the connection.
    ProtocolError {
        /// What the request was for.
        during: RequestKind,
        /// What was wrong with the last answer.
        last: Failure,
        /// How many such answers came.
        times: u32,
    },
}

/// What an upload creates, so a message can say where to look for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TargetKind {
    /// A file in a drive folder.
    DriveItem,
    /// A document of a print job.
    PrintDocument,
    /// An attachment of a mail message.
    MailAttachment,
}

/// Names a request kind the way a sentence about it needs.
pub(crate) fn describe(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::CreateSession => "creating the upload session",
        RequestKind::Fragment => "uploading a fragment",
        RequestKind::Status => "asking the server for the upload status",
        RequestKind::Commit => "committing the upload",
        RequestKind::Cancel => "cancelling the upload",
        RequestKind::FetchResource => "checking whether the upload completed",
        RequestKind::SimpleUpload => "uploading the file in one request",
        _ => "talking to the server",
    }
}

/// What a caller can do about a refused request, by status.
fn advice(status: u16) -> &'static str {
    match status {
        400 => {
            "the service found the request invalid (a file name it does not take, a size over its limits): check both; if they are fine, this is a bug, please report it"
        }
        401 => "the access token is missing or expired: get a new token and resume",
        403 => "the account may not write there: check its permissions",
        404 => "the folder, printer job or message does not exist: check the URL",
        409 => {
            "the service reports a conflict: for a drive item the name is taken (choose another name or conflict behaviour); for a print job or message, check that it still takes documents or attachments"
        }
        412 => "the item changed since its eTag was read: read it again and retry",
        413 => "the file or fragment is too large for the service",
        501 => "the service does not support this: use another upload method",
        507 => "the drive is full: free space or raise the quota, then start again",
        _ => "the service refused the request: see its error code",
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadError::Config(error) => write!(f, "{error}"),
            UploadError::Rejected {
                during,
                status,
                code,
                message,
            } => {
                write!(f, "the server refused {} with HTTP {status}", describe(*during))?;
                match (code, message) {
                    (Some(code), Some(message)) => write!(f, " ({code}: \"{message}\")")?,
                    (Some(code), None) => write!(f, " ({code})")?,
                    (None, Some(message)) => write!(f, " (\"{message}\")")?,
                    (None, None) => {}
                }
                write!(f, ": {}", advice(*status))
            }
            UploadError::UploadUrlRefused { during, status } => write!(
                f,
                "the upload URL's own credential was refused (HTTP {status}) while {}: it expired or was revoked, and no bearer token goes there, so a new token cannot help; start the upload again in a new session",
                describe(*during)
            ),
            // A simple upload has no session to resume: it is sent again whole.
            UploadError::GaveUp {
                during: during @ RequestKind::SimpleUpload,
                last,
                reason,
            } => write!(
                f,
                "{reason} while {} (last: {last}); check the connection and run the upload again (a file this small is sent again in one request)",
                describe(*during)
            ),
            UploadError::GaveUp {
                during,
                last,
                reason,
            } => write!(
                f,
                "{reason} while {} (last: {last}); check the connection and run the upload again (with a checkpoint it resumes where it stopped)",
                describe(*during)
            ),
            UploadError::SessionLost {
                sessions,
                can_recreate: true,
            } => write!(
                f,
                "the upload session was lost after {sessions} session(s) and the policy allows no new one; start the upload again"
            ),
            UploadError::SessionLost {
                can_recreate: false,
                ..
            } => f.write_str(
                "the upload session is gone (expired or deleted) and was created elsewhere; create a new session and upload again",
            ),
            UploadError::UncommittedSessionLost {
                cause,
                name_conflict,
            } => {
                let how = match cause {
                    SessionLossCause::Expired => "expired",
                    SessionLossCause::NotFound => "was lost (404)",
                    SessionLossCause::Unverifiable => "held bytes that could not be checked",
                };
                let (waited, next) = match name_conflict {
                    false => (
                        "its bytes waited for a commit",
                        "commit before the session expires",
                    ),
                    true => (
                        "waiting for a decision on the name conflict",
                        "choose another name or conflict behaviour",
                    ),
                };
                write!(
                    f,
                    "the upload session {how} while {waited}, so nothing was stored; start the upload again and {next}"
                )
            }
            UploadError::CompletionUnconfirmed { destination, size } => {
                let place = match destination {
                    TargetKind::DriveItem => {
                        "the destination folder holds the file (under rename it may have a new name)"
                    }
                    TargetKind::PrintDocument => "the print job lists the document",
                    TargetKind::MailAttachment => "the message has the attachment",
                };
                write!(
                    f,
                    "the upload may have completed but its answer was lost and the session is gone; check whether {place} with {size} bytes before uploading again"
                )
            }
            UploadError::SourceRead => {
                f.write_str("the source could not be read; check the file and run the upload again (with a checkpoint it resumes where it stopped)")
            }
            UploadError::WrongState { command, state } => {
                write!(f, "cannot {command} while the upload is {state}")
            }
            UploadError::NothingToResume => f.write_str(
                "the checkpoint has no session and no creation URL; start a new upload",
            ),
            UploadError::StoredFileDiffers {
                destination,
                mismatch,
            } => {
                let what = match destination {
                    TargetKind::DriveItem => "file",
                    TargetKind::PrintDocument => "document",
                    TargetKind::MailAttachment => "attachment",
                };
                write!(
                    f,
                    "the service reported the {what} as stored, but it is not this source: {mismatch}; the upload is NOT complete: delete or replace the stored {what} and upload again"
                )
            }
            UploadError::ServiceMisbehaved { violation, times } => write!(
                f,
                "gave up on the service after {times} answers that broke the protocol (last: {violation}); nothing it says about this upload can be trusted: check the service (or whatever stands between it and this client) and upload again"
            ),
            UploadError::SendBudgetSpent { sent, total } => write!(
                f,
                "sent {sent} bytes into one session for a {total}-byte file without the service keeping them; it keeps losing or refusing what it is sent: check the service and upload again"
            ),
            UploadError::ProtocolError {
                during,
                last,
                times,
            } => write!(
                f,
                "the service's answers while {} could not be used {times} times (last: {last}); this is a fault of the service or of something between it and this client (a proxy, a captive portal), not of the connection: check the URL and the service",
                describe(*during)
            ),
        }
    }
}

impl core::error::Error for UploadError {}
