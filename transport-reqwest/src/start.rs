//! How an upload begins: the core decides ([`resumable_core::graph::plan_start`]:
//! a new session, a session made elsewhere, or a checkpoint, and what a changed source means);
//! this module loads the checkpoint's bytes and reads the source's CRCs off the executor.

use std::fmt;
use std::io;
use std::sync::Arc;

use resumable_core::graph::{
    Destination, SourceNow, StartPlan, UploadConfig, UploadError, plan_start,
};
use resumable_core::session::StartError as CoreStartError;
use resumable_core::time::Instant;
use resumable_core::tus::TusError;
use resumable_core::wopi::WopiError;

use resumable_io::CheckpointStore;
use resumable_io::source::{Source, crc32_of};

/// Why an upload could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The upload cannot be made as configured (empty file, fragment size, file too large).
    Invalid(UploadError),
    /// Creating a session needs a bearer token and no token provider was configured.
    NoToken,
    /// The checkpoint could not be read.
    CheckpointUnreadable(io::Error),
    /// The checkpoint belongs to another upload, or is not a checkpoint.
    CheckpointMismatch {
        /// The store, as it describes itself
        /// ([`CheckpointStore::describe`]: "checkpoint file PATH").
        store: String,
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
    /// The tus upload cannot be made as configured.
    Tus(TusError),
    /// The source changed since the WOPI checkpoint was written: the session holds frames of
    /// the old content, so the upload in it cannot go on.
    SourceChangedSinceCheckpoint {
        /// The checkpoint's store, as it describes itself ([`CheckpointStore::describe`]).
        store: String,
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
            StartError::CheckpointMismatch { store, reason } => write!(
                f,
                "{store} {reason}; delete it or choose another checkpoint"
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
            StartError::Tus(error) => write!(f, "{error}"),
            StartError::SourceChangedSinceCheckpoint { store, reason } => write!(
                f,
                "{reason} since the {store} was written, so its upload cannot go on; delete the checkpoint to upload the file as it is now, or put the old content back to resume"
            ),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Invalid(error) => Some(error),
            StartError::Wopi(error) => Some(error),
            StartError::Tus(error) => Some(error),
            StartError::CheckpointUnreadable(error)
            | StartError::SourceUnreadable(error)
            | StartError::CheckpointWriter(error) => Some(error),
            _ => None,
        }
    }
}

/// Decides how to start: from `store`'s checkpoint if it fits, else afresh.
pub(crate) async fn plan(
    destination: &Destination,
    config: UploadConfig,
    store: Option<&Arc<dyn CheckpointStore>>,
    source: &Arc<dyn Source>,
    now: Instant,
) -> Result<StartPlan, StartError> {
    config
        .validate()
        .map_err(|error| StartError::Invalid(error.into()))?;
    let stored = match store {
        Some(store) => load_checkpoint(store).await?,
        None => None,
    };
    let destination = destination.clone();
    let source = source.clone();
    let planned = tokio::task::spawn_blocking(move || {
        let now_source = SourceNow {
            len: source.len(),
            modified: source.last_modified(),
            crc_of: |range| crc32_of(&*source, range),
        };
        plan_start(&destination, config, stored.as_deref(), now_source, now)
    })
    .await
    .map_err(|e| StartError::SourceUnreadable(io::Error::other(e)))?;
    planned.map_err(|error| match error {
        // A session made elsewhere cannot be replaced here.
        CoreStartError::SourceChanged { reason } => StartError::SourceChanged { reason },
        error => StartError::from_core(error, store),
    })
}

impl StartError {
    /// The core's reason, with the checkpoint file named.
    pub(crate) fn from_core<D: Into<StartError>>(
        error: CoreStartError<io::Error, D>,
        store: Option<&Arc<dyn CheckpointStore>>,
    ) -> Self {
        let store = || store.map_or_else(|| "the checkpoint".to_owned(), |store| store.describe());
        match error {
            CoreStartError::Invalid(error) => error.into(),
            CoreStartError::Refused { reason } => StartError::CheckpointMismatch {
                store: store(),
                reason,
            },
            CoreStartError::SourceUnreadable(error) => StartError::SourceUnreadable(error),
            CoreStartError::SourceChanged { reason } => StartError::SourceChangedSinceCheckpoint {
                store: store(),
                reason,
            },
        }
    }
}

impl From<TusError> for StartError {
    fn from(error: TusError) -> Self {
        StartError::Tus(error)
    }
}

impl From<UploadError> for StartError {
    fn from(error: UploadError) -> Self {
        StartError::Invalid(error)
    }
}

/// The bytes of `store`'s checkpoint, if there is one, read off the executor.
pub(crate) async fn load_checkpoint(
    store: &Arc<dyn CheckpointStore>,
) -> Result<Option<Vec<u8>>, StartError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.load())
        .await
        .map_err(io::Error::other)
        .and_then(|read| read)
        .map_err(StartError::CheckpointUnreadable)
}
