//! How an upload begins: a new session, a session made elsewhere, or a checkpoint.
//!
//! A checkpoint is used only when it belongs to this upload and the source still matches it:
//!
//! - a checkpoint of another destination (another creation URL or target kind) or of another
//!   protocol (a WOPI upload), or a file that is not a checkpoint at all, is refused: the caller named the wrong file, and overwriting it
//!   could destroy something;
//! - a damaged checkpoint (its CRC fails) is set aside: the upload starts over;
//! - a source whose size or confirmed bytes changed (its fingerprint fails
//!   [`Checkpoint::verify`]) starts over in a new session, and the old session is deleted: its
//!   bytes belong to another version of the file and must never be completed;
//! - otherwise the upload resumes, and the server's answer, not the checkpoint, says where.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use resumable_core::graph::{
    Checkpoint, Stage, Target, Upload, UploadConfig, UploadError, Verified,
};
use resumable_core::secret::SecretUrl;
use resumable_core::session::{CheckpointError, VerifyError};
use resumable_core::time::Instant;
use resumable_core::wopi::WopiError;

use crate::checkpoint_store::CheckpointStore;
use crate::source::{Source, crc32_of};

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
    /// use resumable_reqwest::start::Destination;
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
    /// use resumable_core::secret::SecretUrl;
    /// use resumable_reqwest::start::Destination;
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
}

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
            Resumption::Resumed { confirmed, .. } => {
                write!(
                    f,
                    "resuming from the checkpoint ({confirmed} bytes confirmed then)"
                )
            }
            Resumption::AlreadyCompleted => {
                f.write_str("the checkpoint says this upload completed already")
            }
            Resumption::Restarted { reason } => write!(f, "starting over: {reason}"),
        }
    }
}

/// Why an upload could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The upload cannot be made as configured (empty file, fragment size, file too large).
    Invalid(UploadError),
    /// Creating a session needs a bearer token and no token provider was configured.
    NoToken,
    /// The checkpoint file could not be read.
    CheckpointUnreadable(io::Error),
    /// The checkpoint file belongs to another upload, or is not a checkpoint.
    CheckpointMismatch {
        /// The file.
        path: PathBuf,
        /// How it differs.
        reason: String,
    },
    /// The source could not be read while checking it against the checkpoint.
    SourceUnreadable(io::Error),
    /// The source changed since the checkpoint, and the session was created elsewhere: there is
    /// no way to make a new one.
    SourceChanged {
        /// How it changed.
        reason: String,
    },
    /// The writer thread for checkpoints could not start.
    CheckpointWriter(io::Error),
    /// The WOPI upload cannot be made as configured (a lock and a coauthoring lock together,
    /// sequence number 0, a range size WOPI refuses).
    Wopi(WopiError),
    /// The source changed since the WOPI checkpoint was written: the session holds frames of
    /// the old content, so the upload in it cannot go on.
    SourceChangedSinceCheckpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// How the source changed.
        reason: String,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Invalid(error) => write!(f, "{error}"),
            StartError::NoToken => f.write_str(
                "creating an upload session needs an access token and none was given; supply one",
            ),
            StartError::CheckpointUnreadable(error) => write!(f, "{error}"),
            StartError::CheckpointMismatch { path, reason } => write!(
                f,
                "{} {reason}; delete it or choose another checkpoint path",
                path.display()
            ),
            StartError::SourceUnreadable(error) => write!(f, "could not read the source: {error}"),
            StartError::SourceChanged { reason } => write!(
                f,
                "{reason}, but the session was created elsewhere and no new one can be made here; create a new session and upload again"
            ),
            StartError::CheckpointWriter(error) => {
                write!(f, "could not start the checkpoint writer: {error}")
            }
            StartError::Wopi(error) => write!(f, "{error}"),
            StartError::SourceChangedSinceCheckpoint { path, reason } => write!(
                f,
                "{reason} since the checkpoint {} was written, so its upload cannot go on; delete the checkpoint to upload the file as it is now, or put the old content back to resume",
                path.display()
            ),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Invalid(error) => Some(error),
            StartError::Wopi(error) => Some(error),
            StartError::CheckpointUnreadable(error)
            | StartError::SourceUnreadable(error)
            | StartError::CheckpointWriter(error) => Some(error),
            _ => None,
        }
    }
}

/// The machine to run and how it came about.
pub(crate) struct Plan {
    pub(crate) upload: Upload,
    pub(crate) resumption: Resumption,
    /// A session of an older version of the source, to delete.
    pub(crate) abandoned: Option<SecretUrl>,
}

/// Decides how to start: from `store`'s checkpoint if it fits, else afresh.
pub(crate) async fn plan(
    destination: &Destination,
    config: UploadConfig,
    store: Option<&CheckpointStore>,
    source: &Arc<dyn Source>,
    now: Instant,
) -> Result<Plan, StartError> {
    config.validate().map_err(StartError::Invalid)?;
    let fresh = |resumption| -> Result<Plan, StartError> {
        let mut upload = fresh_upload(destination, config.clone(), now)?;
        upload.set_source_modified(source.last_modified());
        Ok(Plan {
            upload,
            resumption,
            abandoned: None,
        })
    };
    let Some(store) = store else {
        return fresh(Resumption::Fresh);
    };
    let Some(bytes) = load_checkpoint(store).await? else {
        return fresh(Resumption::Fresh);
    };
    let checkpoint = match Checkpoint::from_bytes(&bytes) {
        Ok(checkpoint) => checkpoint,
        Err(CheckpointError::NotACheckpoint) => {
            return Err(StartError::CheckpointMismatch {
                path: store.path().to_path_buf(),
                reason: "is not a checkpoint file (refusing to overwrite it)".into(),
            });
        }
        Err(CheckpointError::WrongProtocol { found, .. }) => {
            // A WOPI checkpoint holds a session of its own: overwriting it would lose that.
            return Err(StartError::CheckpointMismatch {
                path: store.path().to_path_buf(),
                reason: format!(
                    "is the checkpoint of a {found}, not of a Graph upload session (refusing to overwrite it)"
                ),
            });
        }
        Err(error) => {
            return fresh(Resumption::Restarted {
                reason: unusable(error),
            });
        }
    };
    if let Some(reason) = mismatch(&checkpoint, destination, &config.target) {
        return Err(StartError::CheckpointMismatch {
            path: store.path().to_path_buf(),
            reason,
        });
    }
    match verify(&checkpoint, source).await? {
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
                .is_some_and(|was| source.last_modified() == Some(was));
            match Upload::resume(checkpoint, now) {
                Ok(mut upload) => {
                    if unchanged {
                        upload.accept_held_bytes();
                    }
                    upload.set_source_modified(source.last_modified());
                    Ok(Plan {
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
        Err(reason) => {
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
            upload.set_source_modified(source.last_modified());
            Ok(Plan {
                upload,
                resumption: Resumption::Restarted { reason },
                abandoned,
            })
        }
    }
}

/// The bytes of `store`'s checkpoint, if there is one, read off the executor.
pub(crate) async fn load_checkpoint(
    store: &CheckpointStore,
) -> Result<Option<Vec<u8>>, StartError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.load())
        .await
        .map_err(io::Error::other)
        .and_then(|read| read)
        .map_err(StartError::CheckpointUnreadable)
}

/// The upload `destination` asks for, without a checkpoint.
fn fresh_upload(
    destination: &Destination,
    config: UploadConfig,
    now: Instant,
) -> Result<Upload, StartError> {
    let upload = match destination {
        Destination::NewSession { create_url } => Upload::create(create_url.expose(), config, now),
        Destination::ExistingSession {
            upload_url,
            create_url,
        } => {
            Upload::continue_session(upload_url.clone(), config, now).map(|upload| match create_url
            {
                Some(create_url) => upload.with_create_url(create_url.expose()),
                None => upload,
            })
        }
    };
    upload.map_err(StartError::Invalid)
}

/// Why a checkpoint that decoded as one cannot be used.
fn unusable(error: CheckpointError) -> String {
    match error {
        CheckpointError::UnsupportedVersion { found } => {
            format!(
                "the checkpoint was written in format version {found}, which this build does not read"
            )
        }
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
        _ => "other",
    };
    let (was, now) = (kind(&checkpoint.config().target), kind(target));
    if was != now {
        return Some(format!(
            "is the checkpoint of a {was} upload, not of a {now} upload"
        ));
    }
    match (checkpoint.create_url(), destination.create_url()) {
        (Some(a), Some(b)) if a.expose() != b.expose() => Some(format!(
            "is the checkpoint of an upload to another destination ({})",
            a
        )),
        _ => None,
    }
}

/// Checks the source against the checkpoint's fingerprint, reading it off the executor.
/// The outer error is a read failure; the inner one says how the source changed.
async fn verify(
    checkpoint: &Checkpoint,
    source: &Arc<dyn Source>,
) -> Result<Result<Verified, String>, StartError> {
    let checkpoint = checkpoint.clone();
    let source = source.clone();
    let verdict = tokio::task::spawn_blocking(move || {
        checkpoint.verify(source.len(), |range| crc32_of(&*source, range))
    })
    .await
    .map_err(|e| StartError::SourceUnreadable(io::Error::other(e)))?;
    match verdict {
        Ok(verified) => Ok(Ok(verified)),
        Err(VerifyError::Read(error)) => Err(StartError::SourceUnreadable(error)),
        Err(changed @ VerifyError::Changed(_)) => Ok(Err(changed_reason(&changed))),
    }
}

/// "the source changed size (...)", without the engine's "the upload starts over" (the caller
/// says what follows).
fn changed_reason(changed: &VerifyError<io::Error>) -> String {
    let text = changed.to_string();
    text.strip_suffix("; the upload starts over")
        .unwrap_or(&text)
        .to_owned()
}
