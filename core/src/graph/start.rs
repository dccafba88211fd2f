//! How a Graph upload begins: a new session, a session made elsewhere, or a checkpoint.
//!
//! A checkpoint is used only when it belongs to this upload and the source still matches it:
//!
//! - a checkpoint of another destination (another creation URL or target kind) or of another
//!   protocol (a WOPI upload), or bytes that are not a checkpoint at all, are refused: the
//!   caller named the wrong file, and overwriting it could destroy something;
//! - a damaged checkpoint (its CRC fails) is set aside: the upload starts over;
//! - a source whose size or confirmed bytes changed (its fingerprint fails
//!   [`Checkpoint::verify`]) starts over in a new session, and the old session is named for
//!   deletion ([`StartPlan::abandoned`]): its bytes belong to another version of the file and
//!   must never be completed;
//! - otherwise the upload resumes, and the server's answer, not the checkpoint, says where.
//!   Bytes the session holds beyond the checkpoint (requests in flight at the interruption) are
//!   accepted as this source's only if its modification time is unchanged.

use alloc::format;
use alloc::string::String;
use core::fmt;

use crate::range::ByteRange;
use crate::secret::SecretUrl;
use crate::session::{CheckpointError, Resumption, SourceChange, StartError, VerifyError};
use crate::time::Instant;

use super::checkpoint::{Checkpoint, Stage};
use super::config::{Target, UploadConfig};
use super::error::UploadError;
use super::upload::Upload;

/// Where the bytes go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Create an upload session: `POST` to this `createUploadSession` URL with the caller's
    /// bearer token.
    NewSession {
        /// The `createUploadSession` URL.
        create_url: SecretUrl,
    },
    /// Upload into a session created elsewhere (another process, a server that hands out upload
    /// URLs). With a creation URL, a lost session is replaced by a new one.
    ExistingSession {
        /// The session's `uploadUrl`.
        upload_url: SecretUrl,
        /// The `createUploadSession` URL, if sessions may be created.
        create_url: Option<SecretUrl>,
    },
}

impl Destination {
    /// A new session from `create_url`.
    ///
    /// ```
    /// use resumable_core::graph::Destination;
    /// let to = Destination::new_session("https://graph.microsoft.com/v1.0/me/drive/root:/a.bin:/createUploadSession");
    /// assert!(to.create_url().is_some());
    /// ```
    pub fn new_session(create_url: impl Into<String>) -> Self {
        Destination::NewSession {
            create_url: SecretUrl::new(create_url),
        }
    }

    /// A session created elsewhere.
    ///
    /// ```
    /// use resumable_core::graph::Destination;
    /// use resumable_core::secret::SecretUrl;
    /// let to = Destination::existing_session(SecretUrl::new("https://up.example/s?tempauth=t"));
    /// assert!(to.create_url().is_none());
    /// assert!(to.with_create_url("https://g/x:/createUploadSession").create_url().is_some());
    /// ```
    pub fn existing_session(upload_url: SecretUrl) -> Self {
        Destination::ExistingSession {
            upload_url,
            create_url: None,
        }
    }

    /// Adds the creation URL to a session created elsewhere, so a lost session can be replaced.
    /// A new-session destination already has one and is returned as it is.
    pub fn with_create_url(self, create_url: impl Into<String>) -> Self {
        match self {
            Destination::ExistingSession { upload_url, .. } => Destination::ExistingSession {
                upload_url,
                create_url: Some(SecretUrl::new(create_url)),
            },
            other => other,
        }
    }

    /// The creation URL, if sessions may be created (such requests need a bearer token).
    pub fn create_url(&self) -> Option<&SecretUrl> {
        match self {
            Destination::NewSession { create_url } => Some(create_url),
            Destination::ExistingSession { create_url, .. } => create_url.as_ref(),
        }
    }

    /// The upload this destination asks for, without a checkpoint.
    pub fn upload(&self, config: UploadConfig, now: Instant) -> Result<Upload, UploadError> {
        match self {
            Destination::NewSession { create_url } => {
                Upload::create(create_url.expose(), config, now)
            }
            Destination::ExistingSession {
                upload_url,
                create_url,
            } => Upload::continue_session(upload_url.clone(), config, now).map(|upload| {
                match create_url {
                    Some(create_url) => upload.with_create_url(create_url.expose()),
                    None => upload,
                }
            }),
        }
    }
}

/// The machine to run and how it came about.
#[derive(Debug)]
#[non_exhaustive]
pub struct StartPlan {
    /// The upload, ready to drive.
    pub upload: Upload,
    /// How it began.
    pub resumption: Resumption,
    /// A session of an older version of the source: delete it (`DELETE` on the URL, no
    /// token), so its bytes are never completed.
    pub abandoned: Option<SecretUrl>,
}

/// The source as it is now: its size, its modification time (if known, in any unit the
/// transport keeps the same: nanoseconds since the Unix epoch for files; it is only compared
/// with the checkpoint's) and a way to read the CRC-32 of a range of it.
pub struct SourceNow<F> {
    /// Its size in bytes.
    pub len: u64,
    /// Its modification time, if the source has one (only compared for equality).
    pub modified: Option<u64>,
    /// The CRC-32 of a range of it (read when the checkpoint's fingerprint is checked).
    pub crc_of: F,
}

impl<F> fmt::Debug for SourceNow<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceNow")
            .field("len", &self.len)
            .field("modified", &self.modified)
            .finish_non_exhaustive()
    }
}

/// Decides how a Graph upload starts: from the checkpoint `stored` (its bytes, if one was
/// kept) when it belongs to this upload and the source still matches it, else afresh.
///
/// ```
/// use resumable_core::graph::{Destination, DriveItem, Target, UploadConfig, SourceNow, plan_start};
/// use resumable_core::session::Resumption;
/// use resumable_core::time::Instant;
///
/// let to = Destination::new_session("https://graph.example/root:/a.bin:/createUploadSession");
/// let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 1_000);
/// let source = SourceNow { len: 1_000, modified: None, crc_of: |_| Ok::<u32, ()>(0) };
/// let plan = plan_start(&to, config, None, source, Instant::ZERO).unwrap();
/// assert_eq!(plan.resumption, Resumption::Fresh);
/// ```
pub fn plan_start<E, F>(
    destination: &Destination,
    config: UploadConfig,
    stored: Option<&[u8]>,
    mut source: SourceNow<F>,
    now: Instant,
) -> Result<StartPlan, StartError<E, UploadError>>
where
    F: FnMut(ByteRange) -> Result<u32, E>,
{
    config
        .validate()
        .map_err(|error| StartError::Invalid(error.into()))?;
    let modified = source.modified;
    let fresh = |resumption| {
        let mut upload = destination
            .upload(config.clone(), now)
            .map_err(StartError::Invalid)?;
        upload.set_source_modified(modified);
        Ok(StartPlan {
            upload,
            resumption,
            abandoned: None,
        })
    };
    let Some(bytes) = stored else {
        return fresh(Resumption::Fresh);
    };
    let checkpoint = match Checkpoint::from_bytes(bytes) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            return match error.refusal("Graph upload session") {
                Some(reason) => Err(StartError::Refused { reason }),
                None => fresh(Resumption::Restarted {
                    reason: unusable(error),
                }),
            };
        }
    };
    if let Some(reason) = mismatch(&checkpoint, destination, &config.target) {
        return Err(StartError::Refused { reason });
    }
    match checkpoint.verify(source.len, &mut source.crc_of) {
        Ok(verified) => {
            let resumption = match checkpoint.stage() {
                Stage::Completed(_) => Resumption::AlreadyCompleted,
                _ => Resumption::Resumed {
                    confirmed: checkpoint.confirmed_bytes(),
                    unchecked: verified.unchecked_bytes(),
                    sessions: checkpoint.sessions(),
                },
            };
            // Untouched since the checkpoint (same modification time): bytes the session holds
            // from requests in flight at the interruption are this source's.
            let unchanged = checkpoint
                .fingerprint()
                .modified
                .is_some_and(|was| modified == Some(was));
            match Upload::resume(checkpoint, now) {
                Ok(mut upload) => {
                    if unchanged {
                        upload.accept_held_bytes();
                    }
                    upload.set_source_modified(modified);
                    Ok(StartPlan {
                        upload,
                        resumption,
                        abandoned: None,
                    })
                }
                // A checkpoint taken before any session, of a session made elsewhere: nothing
                // in it to continue.
                Err(UploadError::NothingToResume) => fresh(Resumption::Fresh),
                Err(error) => Err(StartError::Invalid(error)),
            }
        }
        Err(VerifyError::Read(error)) => Err(StartError::SourceUnreadable(error)),
        Err(VerifyError::Changed(change)) => {
            let reason = changed_reason(change);
            let abandoned = match checkpoint.stage() {
                Stage::Completed(_) => None,
                _ => checkpoint.upload_url().cloned(),
            };
            let create_url = destination
                .create_url()
                .or(checkpoint.create_url())
                .cloned();
            let Some(create_url) = create_url else {
                return Err(StartError::SourceChanged { reason });
            };
            let mut upload = Upload::create(create_url.expose(), config.clone(), now)
                .map_err(StartError::Invalid)?;
            upload.set_source_modified(modified);
            Ok(StartPlan {
                upload,
                resumption: Resumption::Restarted { reason },
                abandoned,
            })
        }
    }
}

/// Why a checkpoint that decoded as one cannot be used.
fn unusable(error: CheckpointError) -> String {
    match error {
        CheckpointError::UnsupportedVersion { found } => format!(
            "the checkpoint was written in format version {found}, which this build does not read"
        ),
        CheckpointError::Damaged { .. } => {
            "the checkpoint is damaged (its CRC does not match)".into()
        }
        _ => "the checkpoint is malformed".into(),
    }
}

/// How the checkpoint differs from the upload asked for, if it does.
fn mismatch(checkpoint: &Checkpoint, destination: &Destination, target: &Target) -> Option<String> {
    let kind = |target: &Target| match target {
        Target::DriveItem(_) => "drive item",
        Target::PrintDocument(_) => "print document",
        Target::MailAttachment(_) => "mail attachment",
    };
    let (was, now) = (kind(&checkpoint.config().target), kind(target));
    if was != now {
        return Some(format!(
            "is the checkpoint of a {was} upload, not of a {now} upload"
        ));
    }
    match (checkpoint.create_url(), destination.create_url()) {
        (Some(a), Some(b)) if a.expose() != b.expose() => Some(format!(
            "is the checkpoint of an upload to another destination ({a})"
        )),
        _ => None,
    }
}

/// "the source changed size (...)", without what follows (the caller says that).
fn changed_reason(change: SourceChange) -> String {
    match change {
        SourceChange::Size { was, now } => {
            format!("the source changed size ({was} bytes, now {now})")
        }
        SourceChange::Fragment { range } => format!("the source changed in bytes {range}"),
    }
}
