//! A tus upload's checkpoint, and how an upload begins from one.
//!
//! The checkpoint keeps the upload's URL (so a later run resumes it), the bytes confirmed, and
//! the CRC-32 of the confirmed prefix that every request's bytes fed: a later run checks the
//! source against it before trusting the server's bytes as this source's. A source whose size
//! or prefix changed starts over in a new upload and the old one is named for deletion.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::graph::SourceNow;
use crate::range::ByteRange;
use crate::secret::SecretUrl;
use crate::session::checkpoint_envelope::{self, CHECKPOINT_VERSION, CheckpointError, Protocol};
use crate::session::{Resumption, StartError};
use crate::time::Instant;

use super::config::{TusConfig, Variant};
use super::event::{TusCompletion, TusError, TusEvent};
use super::upload::{Phase, Prefix, TusUpload};

/// Where a tus upload stood: enough to resume it in another process.
///
/// It holds the upload URL, a credential on many servers: store it like a password (`Debug`
/// redacts it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TusCheckpoint {
    version: u32,
    protocol: Protocol,
    /// The protocol.
    pub variant: Variant,
    /// The creation URL.
    pub endpoint: SecretUrl,
    /// The upload's URL, if one was created.
    pub url: Option<SecretUrl>,
    /// The source's size, if known.
    pub total: Option<u64>,
    /// Bytes the server had confirmed.
    pub confirmed: u64,
    /// Of those, the first `checked_len` have a CRC-32.
    pub checked_len: u64,
    /// The CRC-32 of the source's first `checked_len` bytes.
    pub checked_crc: u32,
    /// Uploads made.
    pub uploads: u32,
    /// The source's modification time when the checkpoint was written, if it has one.
    pub modified: Option<u64>,
    /// The request size in force.
    pub chunk_size: u64,
    /// The end of the bytes sent into the upload when the checkpoint was written.
    pub sent_through: u64,
    /// Whether the server was told the length (a deferred one may not be yet).
    pub length_declared: bool,
    /// Whether every request that carried bytes carried a checksum too.
    pub all_checksummed: bool,
    /// The completion, once the upload completed.
    pub completed: Option<TusCompletion>,
}

impl TusCheckpoint {
    /// The encoded form (a header line with a CRC-32, then JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        checkpoint_envelope::encode(CHECKPOINT_VERSION, self)
    }

    /// Reads [`TusCheckpoint::to_bytes`] output, refusing damaged or foreign data.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CheckpointError> {
        checkpoint_envelope::decode(bytes, Protocol::TusUpload)
    }
}

impl TusUpload {
    /// The machine's checkpoint.
    pub fn checkpoint(&self) -> TusCheckpoint {
        TusCheckpoint {
            version: CHECKPOINT_VERSION,
            protocol: Protocol::TusUpload,
            variant: self.config.variant,
            endpoint: self.config.endpoint.clone(),
            url: self.url.clone(),
            total: self.config.total,
            confirmed: self.confirmed,
            checked_len: self.prefix.len,
            checked_crc: self.prefix.crc,
            uploads: self.uploads,
            modified: self.modified,
            chunk_size: self.chunk_size,
            sent_through: self.sent_through,
            length_declared: self.length_declared,
            all_checksummed: !self.unchecked_request,
            completed: self.completion.clone(),
        }
    }

    /// Resumes the upload `checkpoint` records: the server is asked where it is first (after
    /// discovery, for tus). Bytes it holds beyond `trusted_through` (when given) cannot be
    /// checked against the source and make the upload start over.
    fn resume(
        config: TusConfig,
        checkpoint: &TusCheckpoint,
        trusted_through: Option<u64>,
        now: Instant,
    ) -> Result<Self, TusError> {
        let mut upload = TusUpload::create(config, now)?;
        upload.url = checkpoint.url.clone();
        upload.uploads = checkpoint.uploads;
        upload.confirmed = checkpoint.confirmed;
        upload.prefix = Prefix {
            len: checkpoint.checked_len,
            crc: checkpoint.checked_crc,
        };
        // The earlier run may have sent two requests more after it took the checkpoint: the
        // one it was about to send, and (a transport that saves in the background sends on
        // while the newest save is still landing) the one after it.
        let bound = checkpoint.sent_through.max(
            checkpoint
                .confirmed
                .saturating_add(checkpoint.chunk_size.saturating_mul(2)),
        );
        upload.sent_through = match checkpoint.total {
            Some(total) => bound.min(total),
            None => bound,
        };
        upload.awaiting_first_word = true;
        upload.trusted_through = trusted_through;
        upload.length_declared = checkpoint.length_declared;
        upload.unchecked_request = !checkpoint.all_checksummed;
        upload.chunk_size = checkpoint
            .chunk_size
            .clamp(1, upload.config.chunk_size.max(1));
        if upload.url.is_some() && upload.phase == Phase::Create {
            upload.phase = Phase::Check;
        }
        Ok(upload)
    }
}

/// The machine to run and how it came about.
#[derive(Debug)]
#[non_exhaustive]
pub struct TusStartPlan {
    /// The upload, ready to drive.
    pub upload: TusUpload,
    /// How it began.
    pub resumption: Resumption,
    /// An upload of an older version of the source: delete it (`DELETE` with
    /// `Tus-Resumable`), so its bytes are never completed.
    pub abandoned: Option<SecretUrl>,
}

/// Decides how a tus upload starts: from the checkpoint `stored` when it belongs to this
/// upload (same protocol, same endpoint) and the source still matches it, else afresh.
///
/// ```
/// use resumable_core::graph::SourceNow;
/// use resumable_core::session::Resumption;
/// use resumable_core::time::Instant;
/// use resumable_core::tus::{TusConfig, Variant, plan_start};
///
/// let config = TusConfig::new(Variant::Tus1, "http://127.0.0.1:1080/files/", Some(1_000));
/// let source = SourceNow { len: 1_000, modified: None, crc_of: |_| Ok::<u32, ()>(0) };
/// let plan = plan_start(config, None, source, Instant::ZERO).unwrap();
/// assert_eq!(plan.resumption, Resumption::Fresh);
/// ```
pub fn plan_start<E, F>(
    config: TusConfig,
    stored: Option<&[u8]>,
    mut source: SourceNow<F>,
    now: Instant,
) -> Result<TusStartPlan, StartError<E, TusError>>
where
    F: FnMut(ByteRange) -> Result<u32, E>,
{
    config
        .validate()
        .map_err(|error| StartError::Invalid(TusError::Config(error)))?;
    let modified = source.modified;
    let fresh = |resumption, abandoned| {
        let mut upload = TusUpload::create(config.clone(), now).map_err(StartError::Invalid)?;
        upload.modified = modified;
        Ok(TusStartPlan {
            upload,
            resumption,
            abandoned,
        })
    };
    let Some(bytes) = stored else {
        return fresh(Resumption::Fresh, None);
    };
    let checkpoint = match TusCheckpoint::from_bytes(bytes) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            return match error.refusal("tus upload") {
                Some(reason) => Err(StartError::Refused { reason }),
                None => fresh(
                    Resumption::Restarted {
                        reason: alloc::format!("{error}"),
                    },
                    None,
                ),
            };
        }
    };
    if checkpoint.endpoint != config.endpoint || checkpoint.variant != config.variant {
        return Err(StartError::Refused {
            reason: alloc::format!(
                "belongs to an upload to another endpoint or protocol ({})",
                checkpoint.variant
            ),
        });
    }
    let changed: Option<String> =
        if checkpoint.total.is_some() && checkpoint.total != Some(source.len) {
            Some(alloc::format!(
                "the source changed size ({} bytes, now {})",
                checkpoint.total.unwrap_or(0),
                source.len
            ))
        } else if checkpoint.checked_len > 0 {
            let prefix = ByteRange::new(0, checkpoint.checked_len);
            let crc = prefix
                .map(|range| (source.crc_of)(range))
                .transpose()
                .map_err(StartError::SourceUnreadable)?
                .unwrap_or(0);
            (crc != checkpoint.checked_crc).then(|| {
                alloc::format!(
                    "the source changed in bytes 0-{}",
                    checkpoint.checked_len - 1
                )
            })
        } else {
            None
        };
    if let Some(reason) = changed {
        let abandoned = if checkpoint.completed.is_none() {
            checkpoint.url.clone()
        } else {
            None
        };
        return fresh(Resumption::Restarted { reason }, abandoned);
    }
    let unchanged = modified.is_some() && modified == checkpoint.modified;
    let vouched = checkpoint
        .total
        .is_some_and(|total| checkpoint.checked_len == total);
    if checkpoint.completed.is_some() && !(vouched || unchanged) {
        // Part of the uploaded file was never CRC-checked and the source was modified since:
        // it may differ there, so it is uploaded again (the completed upload is left alone).
        return fresh(
            Resumption::Restarted {
                reason: "the source was modified since it was uploaded".into(),
            },
            None,
        );
    }
    if let Some(done) = &checkpoint.completed {
        let mut upload =
            TusUpload::resume(config, &checkpoint, None, now).map_err(StartError::Invalid)?;
        upload.modified = modified;
        upload.completion = Some(done.clone());
        // The completion is the machine's first and last event, as after a live one: a
        // transport that runs the machine learns the outcome from it.
        upload.end_with(TusEvent::Completed(done.clone()));
        return Ok(TusStartPlan {
            upload,
            resumption: Resumption::AlreadyCompleted,
            abandoned: None,
        });
    }
    // Bytes beyond the CRC-checked prefix are this source's only if it was not modified since.
    let trusted = if unchanged {
        None
    } else {
        Some(checkpoint.checked_len)
    };
    let mut checkpoint = checkpoint;
    if unchanged && let Some(gap) = ByteRange::new(checkpoint.checked_len, checkpoint.confirmed) {
        // Bytes confirmed without a CRC (partial stores, an earlier resume): read them now, so
        // the next checkpoint vouches for every confirmed byte.
        let crc = (source.crc_of)(gap).map_err(StartError::SourceUnreadable)?;
        let mut prefix = Prefix {
            len: checkpoint.checked_len,
            crc: checkpoint.checked_crc,
        };
        prefix.extend(crc, gap.len());
        checkpoint.checked_len = prefix.len;
        checkpoint.checked_crc = prefix.crc;
    }
    let mut upload =
        TusUpload::resume(config, &checkpoint, trusted, now).map_err(StartError::Invalid)?;
    upload.modified = modified;
    Ok(TusStartPlan {
        upload,
        resumption: Resumption::Resumed {
            confirmed: checkpoint.confirmed,
            unchecked: checkpoint.confirmed.saturating_sub(checkpoint.checked_len),
            sessions: checkpoint.uploads,
        },
        abandoned: None,
    })
}
