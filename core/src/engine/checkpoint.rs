//! Checkpoints: what an upload needs to continue in another process.
//!
//! A [`Checkpoint`] holds the configuration, the session URL, which bytes the server confirmed,
//! the session's expiry on the server's clock and a fingerprint of the source (its size and the
//! CRC-32 of every confirmed fragment). [`Upload::resume`](super::Upload::resume) continues from
//! one, first asking the server where it is, because the server's word beats any record.
//!
//! **The checkpoint holds the upload URL, a credential.** Resuming needs it: it is the only handle
//! on the session. Anyone holding the checkpoint can write to the session until it expires, so
//! store it like a password (a file only the user can read) and delete it when the upload ends.
//! Its `Debug` output redacts the URL; its serialised form (JSON, [`Checkpoint::to_bytes`]) does
//! not.
//!
//! The encoded form carries its own CRC-32, so a truncated or damaged file is refused with a
//! [`CheckpointError`] instead of being trusted. [`Checkpoint::verify`] re-reads the source's
//! confirmed fragments so a changed file restarts the upload instead of corrupting it.

use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::range::ByteRange;
use crate::secret::SecretUrl;
use crate::time::UnixTime;

use super::config::UploadConfig;
use super::event::Completion;

use super::checkpoint_envelope;
pub use super::checkpoint_envelope::{CHECKPOINT_VERSION, CheckpointError};

/// The CRC-32 of one fragment of the source that the server confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FragmentCrc {
    /// The fragment.
    pub range: ByteRange,
    /// CRC-32 (IEEE, as `crc32fast` computes it) of its bytes.
    pub crc32: u32,
}

/// What identifies the source: its size and the CRC-32 of each confirmed fragment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The source's size in bytes.
    pub size: u64,
    /// Confirmed fragments with their CRC-32, in ascending order. Bytes the server holds from a
    /// partly stored fragment have no entry (only whole fragments were measured).
    pub fragments: Vec<FragmentCrc>,
}

/// Which protocol a checkpoint belongs to, so a checkpoint of another machine is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Protocol {
    /// A Microsoft Graph upload session (drive item, print document, mail attachment).
    GraphUploadSession,
    /// A WOPI upload session (`CreateUploadSession`, `UpdateUploadSession`, `PutChunkedFile`).
    WopiUploadSession,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::GraphUploadSession => "Microsoft Graph upload session",
            Protocol::WopiUploadSession => "WOPI upload session",
        })
    }
}

/// How far the upload got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// No session yet: resuming creates one.
    NotStarted,
    /// Bytes are (being) uploaded into the session.
    Uploading,
    /// All bytes received, waiting for a commit.
    CommitPending,
    /// All bytes received, and the last fragment or the commit met a name conflict (`409`):
    /// resuming ends in [`State::NameConflict`](super::State::NameConflict) again rather than
    /// mistaking the file that holds the name for this upload.
    NameConflict,
    /// Done. Recorded because a `GET` on a finished session answers `404`: only this record
    /// says it finished.
    Completed(Completion),
}

/// A snapshot of an upload, from [`Upload::checkpoint`](super::Upload::checkpoint).
///
/// ```
/// use resumable_core::engine::{Checkpoint, DriveItem, Target, Upload, UploadConfig};
/// use resumable_core::time::Instant;
///
/// let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 1_000);
/// let upload = Upload::create("https://graph.example/me/drive/root:/a.bin:/createUploadSession",
///     config, Instant::ZERO).unwrap();
/// let bytes = upload.checkpoint().to_bytes();
/// let back = Checkpoint::from_bytes(&bytes).unwrap();
/// assert_eq!(back, upload.checkpoint());
/// let mut damaged = bytes.clone();
/// *damaged.last_mut().unwrap() ^= 1;
/// assert!(Checkpoint::from_bytes(&damaged).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub(crate) version: u32,
    pub(crate) protocol: Protocol,
    pub(crate) config: UploadConfig,
    pub(crate) create_url: Option<SecretUrl>,
    pub(crate) upload_url: Option<SecretUrl>,
    pub(crate) stage: Stage,
    pub(crate) confirmed: Vec<ByteRange>,
    pub(crate) expires: Option<UnixTime>,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) sessions: u32,
}

impl Checkpoint {
    /// The format version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The configuration the upload runs with.
    pub fn config(&self) -> &UploadConfig {
        &self.config
    }

    /// The file's size.
    pub fn total(&self) -> u64 {
        self.config.total
    }

    /// The session URL (a credential), if a session exists.
    pub fn upload_url(&self) -> Option<&SecretUrl> {
        self.upload_url.as_ref()
    }

    /// How far the upload got.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// Ranges the server confirmed, ascending.
    pub fn confirmed(&self) -> &[ByteRange] {
        &self.confirmed
    }

    /// Bytes the server confirmed.
    pub fn confirmed_bytes(&self) -> u64 {
        self.confirmed.iter().map(ByteRange::len).sum()
    }

    /// When the session expires, on the server's clock, if known.
    pub fn expires(&self) -> Option<UnixTime> {
        self.expires
    }

    /// The source fingerprint.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// Checks the source against the fingerprint: its length must be the recorded size and each
    /// confirmed fragment must have the recorded CRC-32. `crc_of` reads a range of the source and
    /// returns its CRC-32 (or the transport's read error, passed through).
    ///
    /// On [`VerifyError::Changed`], do not resume: call [`Checkpoint::restart`] and upload anew.
    ///
    /// ```
    /// use resumable_core::engine::{Checkpoint, VerifyError};
    /// # use resumable_core::engine::{DriveItem, Target, Upload, UploadConfig};
    /// # use resumable_core::time::Instant;
    /// # let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 3);
    /// # let checkpoint = Upload::create("https://g/x:/createUploadSession", config, Instant::ZERO)
    /// #     .unwrap().checkpoint();
    /// let source = b"abc";
    /// let crc_of = |r: resumable_core::range::ByteRange| -> Result<u32, ()> {
    ///     Ok(crc32fast::hash(&source[r.start() as usize..r.end() as usize]))
    /// };
    /// assert_eq!(checkpoint.verify(3, crc_of), Ok(()));
    /// assert!(matches!(checkpoint.verify(4, crc_of), Err(VerifyError::Changed(_))));
    /// ```
    pub fn verify<E>(
        &self,
        source_len: u64,
        mut crc_of: impl FnMut(ByteRange) -> Result<u32, E>,
    ) -> Result<(), VerifyError<E>> {
        if source_len != self.fingerprint.size {
            return Err(VerifyError::Changed(SourceChange::Size {
                was: self.fingerprint.size,
                now: source_len,
            }));
        }
        for fragment in &self.fingerprint.fragments {
            let crc = crc_of(fragment.range).map_err(VerifyError::Read)?;
            if crc != fragment.crc32 {
                return Err(VerifyError::Changed(SourceChange::Fragment {
                    range: fragment.range,
                }));
            }
        }
        Ok(())
    }

    /// The same upload started afresh for a source of `total` bytes: no session, nothing
    /// confirmed. The old session is left to expire. Resuming it creates a new session, which
    /// needs the creation URL ([`UploadError::NothingToResume`](super::UploadError::NothingToResume)
    /// otherwise).
    pub fn restart(mut self, total: u64) -> Checkpoint {
        self.config.total = total;
        self.upload_url = None;
        self.stage = Stage::NotStarted;
        self.confirmed.clear();
        self.expires = None;
        self.fingerprint = Fingerprint {
            size: total,
            fragments: Vec::new(),
        };
        self
    }

    /// The encoded form (see the module documentation): a header line
    /// `resumable-checkpoint {version} {crc32 of the rest, hex}` then the checkpoint as JSON.
    /// Contains the upload URL.
    pub fn to_bytes(&self) -> Vec<u8> {
        checkpoint_envelope::encode(self.version, self)
    }

    /// Decodes [`Checkpoint::to_bytes`] output, refusing damaged or foreign data (a checkpoint
    /// of another protocol is [`CheckpointError::WrongProtocol`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
        checkpoint_envelope::decode(bytes, Protocol::GraphUploadSession)
    }
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpoint")
            .field("version", &self.version)
            .field("protocol", &self.protocol)
            .field("total", &self.config.total)
            .field("upload_url", &self.upload_url)
            .field("stage", &self.stage)
            .field("confirmed", &self.confirmed)
            .field("expires", &self.expires)
            .field("fingerprinted_fragments", &self.fingerprint.fragments.len())
            .finish()
    }
}

/// How the source differs from its fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceChange {
    /// Its length changed.
    Size {
        /// The recorded size.
        was: u64,
        /// The size now.
        now: u64,
    },
    /// The bytes of a fingerprinted range changed: a confirmed Graph fragment, or a WOPI chunk
    /// whose ChunkId no longer matches.
    Fragment {
        /// The fragment.
        range: ByteRange,
    },
}

/// Why [`Checkpoint::verify`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError<E> {
    /// The source changed since the checkpoint: restart the upload.
    Changed(SourceChange),
    /// The source could not be read.
    Read(E),
}

impl<E: fmt::Display> fmt::Display for VerifyError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Changed(SourceChange::Size { was, now }) => write!(
                f,
                "the source changed size ({was} bytes, now {now}); the upload starts over"
            ),
            VerifyError::Changed(SourceChange::Fragment { range }) => write!(
                f,
                "the source changed in bytes {range}; the upload starts over"
            ),
            VerifyError::Read(error) => write!(f, "could not read the source: {error}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for VerifyError<E> {}
