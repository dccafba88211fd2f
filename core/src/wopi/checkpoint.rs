//! WOPI checkpoints: what an upload needs to continue in another process.
//!
//! A [`WopiCheckpoint`] is written in the same envelope as the Graph engine's
//! [`Checkpoint`](crate::graph::Checkpoint) (`resumable-checkpoint {version} {crc32}` then JSON,
//! with `"protocol": "WopiUploadSession"`), so a truncated or damaged file, a file of another
//! format version and a Graph checkpoint are all refused with a
//! [`CheckpointError`](crate::session::CheckpointError) before anything is trusted.
//!
//! **It holds the file URL (with its `access_token`) and the session token, both credentials.**
//! Resuming needs them. Store it like a password and delete it when the upload ends. Its `Debug`
//! output redacts them; its encoded form does not.
//!
//! **The fingerprint is the ChunkIds.** A Graph checkpoint records the CRC-32 of each confirmed
//! fragment; a WOPI upload already carries a 128-bit SpookyHash of every chunk, and those
//! ChunkIds are in the frame prefixes the host holds. A source whose chunk no longer hashes to
//! its ChunkId cannot be continued (the host would refuse the frame, or store a file that does not
//! match its signature), including bytes not sent yet, so [`WopiCheckpoint::verify`] re-hashes
//! every chunk. With `FullFile` chunking that is the whole file, which the transport had to hash
//! before the first upload anyway.

use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::range::ByteRange;
use crate::secret::{Secret, SecretUrl};
use crate::session::checkpoint_envelope;
use crate::session::{CHECKPOINT_VERSION, CheckpointError, Protocol, SourceChange, VerifyError};
use crate::time::{Instant, UnixTime};
use crate::wopi::ChunkId;

use super::config::WopiConfig;
use super::error::WopiError;
use super::event::{WopiCompletion, WopiEvent};
use super::file_streams::{WopiStream, source_extent};
use super::upload::{Phase, WopiUpload};

/// How far a WOPI upload got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WopiStage {
    /// No session yet (or the last one was lost): resuming creates one (or, when the chunks go
    /// inline, commits at once).
    NotStarted,
    /// Ranges are (being) sent into the session: resuming probes the host at the checkpoint's
    /// offset, and the host's answer says where it really is.
    Uploading,
    /// The host has the whole stream (or the chunks go inline): resuming commits. A commit may
    /// have gone out before the checkpoint's process died.
    Committing,
    /// A `412` waits for the caller's decision: resuming reports it again.
    SequenceConflict {
        /// The host's sequence number, if it gave one.
        host: Option<u64>,
    },
    /// Done. Resuming finishes at once with the recorded completion, sending nothing.
    Completed(WopiCompletion),
}

/// A snapshot of a [`WopiUpload`], from [`WopiUpload::checkpoint`].
///
/// ```
/// use resumable_core::wopi::{WopiCheckpoint, WopiConfig, WopiStream, WopiUpload};
/// use resumable_core::time::Instant;
/// use resumable_core::wopi::ChunkId;
///
/// let config = WopiConfig::new(vec![WopiStream::main_content(ChunkId::of(b"abc"), 3)]);
/// let upload = WopiUpload::create("https://h/wopi/files/1?access_token=s3cr3t", config, Instant::ZERO)
///     .unwrap();
/// let bytes = upload.checkpoint().to_bytes();
/// let back = WopiCheckpoint::from_bytes(&bytes).unwrap();
/// assert_eq!(back, upload.checkpoint());
/// assert!(!format!("{back:?}").contains("s3cr3t"));
/// let mut damaged = bytes.clone();
/// *damaged.last_mut().unwrap() ^= 1;
/// assert!(WopiCheckpoint::from_bytes(&damaged).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WopiCheckpoint {
    pub(crate) version: u32,
    pub(crate) protocol: Protocol,
    pub(crate) config: WopiConfig,
    pub(crate) file_url: SecretUrl,
    pub(crate) session_token: Option<Secret>,
    pub(crate) sessions: u32,
    pub(crate) stage: WopiStage,
    pub(crate) offset: u64,
    pub(crate) inline: bool,
    pub(crate) sequence_number: u64,
    pub(crate) adoptions: u32,
    pub(crate) commit_unclear: bool,
    pub(crate) expires: Option<UnixTime>,
    pub(crate) source_len: u64,
}

impl WopiCheckpoint {
    /// The format version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The protocol ([`Protocol::WopiUploadSession`]).
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The file URL the upload goes to (with its `access_token`: a credential that prints
    /// redacted).
    pub fn file_url(&self) -> &SecretUrl {
        &self.file_url
    }

    /// The configuration the upload runs with.
    pub fn config(&self) -> &WopiConfig {
        &self.config
    }

    /// How far the upload got.
    pub fn stage(&self) -> &WopiStage {
        &self.stage
    }

    /// Stream bytes the host had confirmed in the session.
    pub fn confirmed(&self) -> u64 {
        self.offset
    }

    /// Sessions made so far.
    pub fn sessions(&self) -> u32 {
        self.sessions
    }

    /// The sequence number the next commit carries.
    pub fn sequence_number(&self) -> u64 {
        self.sequence_number
    }

    /// When the session expires, on the wall clock, if the machine knew the time (from the
    /// host's `Date` headers or [`WopiUpload::set_wall_clock`]).
    pub fn expires(&self) -> Option<UnixTime> {
        self.expires
    }

    /// The source's length when the upload started: the end of the furthest stream.
    pub fn source_len(&self) -> u64 {
        self.source_len
    }

    /// Checks the source against the checkpoint: its length must be the recorded one and every
    /// chunk must still hash to its ChunkId. `chunk_id_of` reads a range of the source and
    /// returns its [`ChunkId`] (or the transport's read error, passed through).
    ///
    /// On [`VerifyError::Changed`], do not resume: hash the source again and call
    /// [`WopiCheckpoint::restart`].
    ///
    /// ```
    /// use resumable_core::session::VerifyError;
    /// use resumable_core::wopi::{WopiConfig, WopiStream, WopiUpload};
    /// use resumable_core::range::ByteRange;
    /// use resumable_core::time::Instant;
    /// use resumable_core::wopi::ChunkId;
    ///
    /// let source = b"hello world".to_vec();
    /// let config = WopiConfig::new(vec![WopiStream::main_content(ChunkId::of(&source), 11)]);
    /// let checkpoint = WopiUpload::create("https://h/wopi/files/1", config, Instant::ZERO)
    ///     .unwrap()
    ///     .checkpoint();
    /// fn hasher(bytes: &[u8]) -> impl FnMut(ByteRange) -> Result<ChunkId, ()> + '_ {
    ///     move |r| Ok(ChunkId::of(&bytes[r.start() as usize..r.end() as usize]))
    /// }
    /// assert_eq!(checkpoint.verify(11, hasher(&source)), Ok(()));
    /// let changed = b"hello World".to_vec();
    /// assert!(matches!(checkpoint.verify(11, hasher(&changed)), Err(VerifyError::Changed(_))));
    /// ```
    pub fn verify<E>(
        &self,
        source_len: u64,
        mut chunk_id_of: impl FnMut(ByteRange) -> Result<ChunkId, E>,
    ) -> Result<(), VerifyError<E>> {
        if source_len != self.source_len {
            return Err(VerifyError::Changed(SourceChange::Size {
                was: self.source_len,
                now: source_len,
            }));
        }
        let mut checked: Vec<ByteRange> = Vec::new();
        for chunk in self.config.streams.iter().flat_map(|s| s.source_chunks()) {
            let Some(range) = ByteRange::with_len(chunk.source_offset, chunk.len) else {
                continue;
            };
            if checked.contains(&range) {
                continue;
            }
            let id = chunk_id_of(range).map_err(VerifyError::Read)?;
            if id != chunk.id {
                return Err(VerifyError::Changed(SourceChange::Fragment { range }));
            }
            checked.push(range);
        }
        Ok(())
    }

    /// The same upload started afresh for the source's new `streams` (hashed again): no
    /// session, nothing confirmed, the same file URL, sequence number and settings. The old
    /// session is left to expire.
    pub fn restart(mut self, streams: Vec<WopiStream>) -> WopiCheckpoint {
        self.source_len = source_extent(&streams);
        self.config.streams = streams;
        self.session_token = None;
        self.sessions = 0;
        self.stage = WopiStage::NotStarted;
        self.offset = 0;
        self.inline = false;
        self.adoptions = 0;
        self.commit_unclear = false;
        self.expires = None;
        self
    }

    /// The same checkpoint with another file URL: the way to resume with a fresh
    /// `access_token` after the old one expired.
    pub fn with_file_url(mut self, file_url: impl Into<alloc::string::String>) -> Self {
        self.file_url = SecretUrl::new(file_url);
        self
    }

    /// The same checkpoint committing with `sequence_number`: the way to resume an upload that
    /// stopped on a `412` with the host's number (see
    /// [`WopiError::SequenceMismatch`](super::WopiError::SequenceMismatch)). A checkpoint that
    /// waited for that decision commits with it.
    ///
    /// ```
    /// use resumable_core::wopi::{WopiConfig, WopiStream, WopiUpload};
    /// use resumable_core::time::Instant;
    /// use resumable_core::wopi::ChunkId;
    /// let config = WopiConfig::new(vec![WopiStream::main_content(ChunkId::of(b"abc"), 3)]);
    /// let upload = WopiUpload::create("https://h/wopi/files/1", config, Instant::ZERO).unwrap();
    /// let checkpoint = upload.checkpoint().with_sequence_number(8);
    /// assert_eq!(checkpoint.sequence_number(), 8);
    /// ```
    pub fn with_sequence_number(mut self, sequence_number: u64) -> Self {
        self.sequence_number = sequence_number;
        self.config.sequence_number = sequence_number;
        if let WopiStage::SequenceConflict { .. } = self.stage {
            self.stage = WopiStage::Committing;
        }
        self
    }

    /// The same checkpoint committing with these locks (`X-WOPI-Lock`, `X-WOPI-CoauthLockId`;
    /// never both): the way to resume after a `409` once the caller holds the host's lock.
    pub fn with_locks(mut self, lock: Option<Secret>, coauth_lock_id: Option<Secret>) -> Self {
        self.config.lock = lock;
        self.config.coauth_lock_id = coauth_lock_id;
        self
    }

    /// The encoded form (see the module documentation). Contains the credentials.
    pub fn to_bytes(&self) -> Vec<u8> {
        checkpoint_envelope::encode(self.version, self)
    }

    /// Decodes [`WopiCheckpoint::to_bytes`] output, refusing damaged or foreign data.
    pub fn from_bytes(bytes: &[u8]) -> Result<WopiCheckpoint, CheckpointError> {
        checkpoint_envelope::decode(bytes, Protocol::WopiUploadSession)
    }
}

impl fmt::Debug for WopiCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WopiCheckpoint")
            .field("version", &self.version)
            .field("file_url", &self.file_url)
            .field("session_token", &self.session_token)
            .field("sessions", &self.sessions)
            .field("stage", &self.stage)
            .field("offset", &self.offset)
            .field("inline", &self.inline)
            .field("sequence_number", &self.sequence_number)
            .field("expires", &self.expires)
            .field("streams", &self.config.streams.len())
            .field("source_len", &self.source_len)
            .finish()
    }
}

impl WopiUpload {
    /// A snapshot to continue from later with [`WopiUpload::resume`]. Holds the file URL and
    /// the session token (credentials): see [`WopiCheckpoint`].
    pub fn checkpoint(&self) -> WopiCheckpoint {
        let stage = match &self.phase {
            // The commit was answered: the file is stored, whatever CheckFileInfo says next.
            Phase::Completed(completion)
            | Phase::CheckingFile(completion)
            | Phase::VerifyingFile { completion, .. } => WopiStage::Completed(completion.clone()),
            Phase::SequenceConflict { host } => WopiStage::SequenceConflict { host: *host },
            _ if self.inline => WopiStage::Committing,
            _ if self.token.is_none() => WopiStage::NotStarted,
            _ if self.offset >= self.stream.len() => WopiStage::Committing,
            _ => WopiStage::Uploading,
        };
        let expires = self
            .core
            .expiry
            .expires_at()
            .and_then(|at| self.core.clock.unix_at(at));
        WopiCheckpoint {
            version: CHECKPOINT_VERSION,
            protocol: Protocol::WopiUploadSession,
            config: self.config.clone(),
            file_url: self.file_url.clone(),
            session_token: self.token.clone(),
            sessions: self.sessions,
            stage,
            offset: self.offset,
            inline: self.inline,
            sequence_number: self.sequence_number,
            adoptions: self.adoptions,
            commit_unclear: self.commit_unclear,
            expires,
            source_len: source_extent(&self.config.streams),
        }
    }

    /// Continues from a checkpoint. In a session, the first update is a probe at the
    /// checkpoint's offset: the host's answer (its `X-WOPI-UploadSessionCurrentOffset`), not the
    /// checkpoint, decides where the stream goes on, since updates may have been stored after
    /// the checkpoint was written. A completed checkpoint finishes at once with
    /// [`WopiEvent::Completed`], sending nothing.
    ///
    /// Verify the source first ([`WopiCheckpoint::verify`]); a changed source must restart.
    ///
    /// ```
    /// use resumable_core::wopi::{WopiConfig, WopiState, WopiStream, WopiUpload};
    /// use resumable_core::time::Instant;
    /// use resumable_core::wopi::ChunkId;
    /// let config = WopiConfig::new(vec![WopiStream::main_content(ChunkId::of(b"abc"), 3)]);
    /// let upload = WopiUpload::create("https://h/wopi/files/1", config, Instant::ZERO).unwrap();
    /// let resumed = WopiUpload::resume(upload.checkpoint(), Instant::from_millis(9)).unwrap();
    /// assert_eq!(resumed.state(), WopiState::CreatingSession); // no session had been made
    /// ```
    pub fn resume(checkpoint: WopiCheckpoint, now: Instant) -> Result<WopiUpload, WopiError> {
        let WopiCheckpoint {
            config,
            file_url,
            session_token,
            sessions,
            stage,
            offset,
            inline,
            sequence_number,
            adoptions,
            commit_unclear,
            expires,
            ..
        } = checkpoint;
        let mut upload = WopiUpload::build(file_url, config, now)?;
        upload.sessions = sessions;
        upload.sequence_number = sequence_number.max(1);
        upload.adoptions = adoptions;
        upload.commit_unclear = commit_unclear;
        upload.inline |= inline;
        if let WopiStage::Completed(completion) = stage {
            upload
                .core
                .events
                .push(WopiEvent::Completed(completion.clone()));
            upload.phase = Phase::Completed(completion);
            return Ok(upload);
        }
        if !upload.inline && stage != WopiStage::NotStarted {
            upload.token = session_token;
        }
        if upload.token.is_some() {
            upload.offset = offset.min(upload.stream.len());
            // Updates (or a commit) may have gone out after this checkpoint was written.
            upload.unsure = upload.offset < upload.stream.len();
            upload.sent_end = None;
            upload.commit_unclear |= upload.offset == upload.stream.len();
            if let Some(expires) = expires {
                let clock = upload.core.clock;
                upload.core.expiry.set_absolute(now, expires, &clock);
            }
        }
        upload.phase = upload.working_phase();
        if let WopiStage::SequenceConflict { host } = stage {
            upload.core.events.push(WopiEvent::SequenceConflict {
                sent: upload.sequence_number,
                host,
                retrying: false,
                maybe_own_commit: upload.commit_unclear,
            });
            upload.phase = Phase::SequenceConflict { host };
        }
        Ok(upload)
    }
}
