//! How an upload begins: a new session, a session made elsewhere, or a checkpoint.

use resumable_core::graph::{Upload, UploadConfig};
use resumable_core::range::ByteRange;
use resumable_core::secret::SecretUrl;
use resumable_core::time::Instant;
use resumable_core::wopi::spooky::SpookyHasher;
use resumable_core::wopi::{ChunkId, WopiConfig, WopiStream, WopiUpload};

use crate::checkpoint::CheckpointStore;
use crate::exchange::Exchange;
use crate::outcome::{Resumption, StartError};

/// Where the bytes of a Graph upload go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Create an upload session: `POST` to this `createUploadSession` URL with the bearer
    /// token.
    NewSession {
        /// The `createUploadSession` URL.
        create_url: SecretUrl,
    },
    /// Upload into a session created elsewhere. With a creation URL, a lost session is
    /// replaced by a new one.
    ExistingSession {
        /// The session's `uploadUrl`.
        upload_url: SecretUrl,
        /// The `createUploadSession` URL, if sessions may be created.
        create_url: Option<SecretUrl>,
    },
}

impl Destination {
    /// A new session from `create_url`.
    pub fn new_session(create_url: impl Into<String>) -> Self {
        Destination::NewSession {
            create_url: SecretUrl::new(create_url),
        }
    }

    /// A session created elsewhere.
    ///
    /// ```
    /// use resumable_core::secret::SecretUrl;
    /// use resumable_ureq::Destination;
    /// let to = Destination::existing_session(SecretUrl::new("https://up.example/s?tempauth=t"));
    /// assert!(to.create_url().is_none());
    /// assert!(!format!("{to:?}").contains("tempauth"));
    /// ```
    pub fn existing_session(upload_url: SecretUrl) -> Self {
        Destination::ExistingSession {
            upload_url,
            create_url: None,
        }
    }

    /// The creation URL, if sessions may be created (such requests carry the bearer token).
    pub fn create_url(&self) -> Option<&SecretUrl> {
        match self {
            Destination::NewSession { create_url } => Some(create_url),
            Destination::ExistingSession { create_url, .. } => create_url.as_ref(),
        }
    }
}

/// The machine to run and how it came about.
pub(crate) struct Plan<M> {
    pub(crate) machine: M,
    pub(crate) resumption: Resumption,
    /// A session of an older version of the source, to delete.
    pub(crate) abandoned: Option<SecretUrl>,
}

/// Decides how a Graph upload starts.
pub(crate) fn plan_graph(
    destination: &Destination,
    config: UploadConfig,
    store: Option<&CheckpointStore>,
    exchange: &mut Exchange,
    now: Instant,
) -> Result<Plan<Upload>, StartError> {
    refuse_existing(store)?;
    let _ = exchange;
    let machine = match destination {
        Destination::NewSession { create_url } => Upload::create(create_url.expose(), config, now),
        Destination::ExistingSession {
            upload_url,
            create_url,
        } => {
            Upload::continue_session(upload_url.clone(), config, now).map(|upload| match create_url
            {
                Some(url) => upload.with_create_url(url.expose()),
                None => upload,
            })
        }
    }
    .map_err(StartError::Invalid)?;
    Ok(Plan {
        machine,
        resumption: Resumption::Fresh,
        abandoned: None,
    })
}

/// Decides how a WOPI upload starts; hashes the source for its ChunkId either way.
pub(crate) fn plan_wopi(
    file_url: &SecretUrl,
    mut config: WopiConfig,
    store: Option<&CheckpointStore>,
    exchange: &mut Exchange,
    now: Instant,
) -> Result<Plan<WopiUpload>, StartError> {
    let len = exchange.source().len();
    let stream_id = config.streams.first().map_or_else(
        || resumable_core::wopi::MAIN_CONTENT.to_owned(),
        |stream| stream.stream_id.clone(),
    );
    // Settings are checked before the source is read: a bad one must not cost a full read.
    let mut trial = config.clone();
    trial.streams = vec![WopiStream::full_file(
        stream_id.clone(),
        ChunkId::of(&[]),
        len,
    )];
    trial
        .validate()
        .map_err(|error| StartError::Wopi(error.into()))?;
    refuse_existing(store)?;
    let id = chunk_id(exchange, len)?;
    config.streams = vec![WopiStream::full_file(stream_id, id, len)];
    let machine = WopiUpload::new(file_url.expose(), config, now).map_err(StartError::Wopi)?;
    Ok(Plan {
        machine,
        resumption: Resumption::Fresh,
        abandoned: None,
    })
}

/// The whole source's ChunkId (SpookyHash V2), read through the exchange so the same reads
/// feed the source's digest.
fn chunk_id(exchange: &mut Exchange, len: u64) -> Result<ChunkId, StartError> {
    let Some(whole) = ByteRange::with_len(0, len) else {
        return Ok(ChunkId::of(&[]));
    };
    let mut hasher = SpookyHasher::new(0, 0);
    exchange
        .read(whole, &mut |block| hasher.update(block))
        .map_err(StartError::SourceUnreadable)?;
    Ok(ChunkId::of_hasher(&hasher))
}

/// Until the core plans resumption, a checkpoint that exists is left alone.
fn refuse_existing(store: Option<&CheckpointStore>) -> Result<(), StartError> {
    match store.map(CheckpointStore::load).transpose() {
        Ok(Some(Some(_))) => Err(StartError::CheckpointUnreadable(std::io::Error::other(
            "resuming from a checkpoint is not available yet",
        ))),
        Ok(_) => Ok(()),
        Err(error) => Err(StartError::CheckpointUnreadable(error)),
    }
}
