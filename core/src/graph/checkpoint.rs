//! Checkpoints: what an upload needs to continue in another process.
//!
//! A [`Checkpoint`] holds the configuration, the session URL, which bytes the server confirmed,
//! the session's expiry on the server's clock and a fingerprint of the source (its size and the
//! CRC-32 of every confirmed fragment). [`Upload::resume`](super::Upload::resume) continues from
//! one, first asking the server where it is, because the server's word beats any record.
//!
//! **When to persist.** After every [`Event::SessionCreated`](super::Event::SessionCreated),
//! [`Event::Acknowledged`](super::Event::Acknowledged),
//! [`Event::CommitPending`](super::Event::CommitPending) and
//! [`Event::NameConflict`](super::Event::NameConflict), and after draining `poll_request` (as the
//! driver loop does). A checkpoint records whether the requests that may follow it could finish
//! the upload ([`Checkpoint::may_have_finished`]): the fragments in flight, and one more round
//! after them, or a commit. That judgement holds only if no acknowledgement passes between two
//! snapshots; a process that crashes after such a request then resumes without uploading
//! everything again into a session that already completed.
//!
//! **The checkpoint holds the upload URL, a credential.** Resuming needs it: it is the only handle
//! on the session. Anyone holding the checkpoint can write to the session until it expires, so
//! store it like a password (a file only the user can read) and delete it when the upload ends.
//! Its `Debug` output redacts the URL; its serialised form (JSON, [`Checkpoint::to_bytes`]) does
//! not. A finished upload's item is kept without its pre-authenticated download links
//! ([`Completion::without_links`](super::Completion::without_links)): resuming does not need
//! them.
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

use super::config::{ExplicitCommit, UploadConfig};
use super::event::Completion;

use crate::session::checkpoint_envelope;
use crate::session::{CheckpointError, Protocol, SourceChange, VerifyError};

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
    /// The source's modification time (nanoseconds since the Unix epoch) when the upload
    /// began, if the transport knows it. A resume whose source still has it may take bytes the
    /// session holds beyond the CRCs, from requests in flight at the interruption, as the
    /// source's ([`Upload::accept_held_bytes`](super::Upload::accept_held_bytes)).
    #[serde(default)]
    pub modified: Option<u64>,
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
/// use resumable_core::graph::{Checkpoint, DriveItem, Target, Upload, UploadConfig};
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
    /// A request that could finish the upload may have gone out before or right after this
    /// snapshot, so on resume a `404` from the session may mean "done", not "lost".
    #[serde(default)]
    pub(crate) may_have_finished: bool,
    /// The explicit commit last sent, so a resume can look for its item.
    #[serde(default)]
    pub(crate) commit: Option<ExplicitCommit>,
    /// When the session was created, on the server's clock: an item found by lookup that is
    /// older was not made by this upload.
    #[serde(default)]
    pub(crate) session_created: Option<UnixTime>,
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

    /// The `createUploadSession` URL, if the upload may create sessions (a transport compares it
    /// with the destination it was asked for before resuming).
    pub fn create_url(&self) -> Option<&SecretUrl> {
        self.create_url.as_ref()
    }

    /// How many sessions the upload had made or used when the checkpoint was taken.
    pub fn sessions(&self) -> u32 {
        self.sessions
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

    /// Whether a request that could finish the upload (the last fragments, a commit) may have
    /// been sent before or right after this snapshot. Then, on resume, a session that answers
    /// `404` may have finished the upload rather than been lost: the engine checks the item
    /// where it can, and otherwise reports
    /// [`UploadError::CompletionUnconfirmed`](super::UploadError::CompletionUnconfirmed) instead of
    /// uploading everything again.
    pub fn may_have_finished(&self) -> bool {
        self.may_have_finished
    }

    /// Checks the source against the fingerprint: its length must be the recorded size and each
    /// confirmed fragment must have the recorded CRC-32. `crc_of` reads a range of the source and
    /// returns its CRC-32 (or the transport's read error, passed through).
    ///
    /// On [`VerifyError::Changed`], do not resume: call [`Checkpoint::restart`] and upload anew.
    /// On success it says how many confirmed bytes a CRC covered ([`Verified`]): bytes of
    /// fragments whose CRC the transport never reported
    /// ([`Upload::record_fragment_crc`](super::Upload::record_fragment_crc)), or of fragments
    /// the server stored only in part, were checked by the size alone.
    ///
    /// ```
    /// use resumable_core::graph::Checkpoint;
    /// use resumable_core::session::VerifyError;
    /// # use resumable_core::graph::{DriveItem, Target, Upload, UploadConfig};
    /// # use resumable_core::time::Instant;
    /// # let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 3);
    /// # let checkpoint = Upload::create("https://g/x:/createUploadSession", config, Instant::ZERO)
    /// #     .unwrap().checkpoint();
    /// let source = b"abc";
    /// let crc_of = |r: resumable_core::range::ByteRange| -> Result<u32, ()> {
    ///     Ok(resumable_core::crc32fast::hash(&source[r.start() as usize..r.end() as usize]))
    /// };
    /// let verified = checkpoint.verify(3, crc_of).unwrap();
    /// assert!(verified.is_complete()); // nothing confirmed yet, so nothing left unchecked
    /// assert!(matches!(checkpoint.verify(4, crc_of), Err(VerifyError::Changed(_))));
    /// ```
    pub fn verify<E>(
        &self,
        source_len: u64,
        mut crc_of: impl FnMut(ByteRange) -> Result<u32, E>,
    ) -> Result<Verified, VerifyError<E>> {
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
        Ok(Verified {
            checked_bytes: self
                .fingerprint
                .fragments
                .iter()
                .map(|f| f.range.len())
                .sum(),
            confirmed_bytes: self.confirmed_bytes(),
        })
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
            modified: None,
        };
        self.may_have_finished = false;
        self.commit = None;
        self.session_created = None;
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
        let checkpoint: Checkpoint =
            checkpoint_envelope::decode(bytes, Protocol::GraphUploadSession)?;
        if !checkpoint.is_consistent() {
            return Err(CheckpointError::Malformed);
        }
        Ok(checkpoint)
    }

    /// Whether the parts agree: the fingerprint is of a file of the configured size, and the
    /// confirmed and fingerprinted ranges lie inside it, ascending and apart. A file that passes
    /// its CRC but not this was written by something else, or edited.
    fn is_consistent(&self) -> bool {
        let total = self.config.total;
        self.fingerprint.size == total
            && ascending_inside(self.confirmed.iter().copied(), total)
            && ascending_inside(self.fingerprint.fragments.iter().map(|f| f.range), total)
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
            .field("may_have_finished", &self.may_have_finished)
            .finish()
    }
}

/// Whether `ranges` come in ascending order, apart, and end by `total`.
fn ascending_inside(ranges: impl Iterator<Item = ByteRange>, total: u64) -> bool {
    let mut end = 0;
    for range in ranges {
        if range.start() < end || range.end() > total {
            return false;
        }
        end = range.end();
    }
    true
}

/// What [`Checkpoint::verify`] could check: confirmed bytes covered by a matching CRC-32, of all
/// the confirmed bytes. The rest was checked only through the source's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Confirmed bytes whose CRC-32 matched.
    pub checked_bytes: u64,
    /// Bytes the server confirmed.
    pub confirmed_bytes: u64,
}

impl Verified {
    /// Whether every confirmed byte was checked by a CRC-32.
    pub fn is_complete(&self) -> bool {
        self.checked_bytes >= self.confirmed_bytes
    }

    /// Confirmed bytes no CRC-32 covered.
    pub fn unchecked_bytes(&self) -> u64 {
        self.confirmed_bytes.saturating_sub(self.checked_bytes)
    }
}
