//! How a WOPI upload begins: afresh with the source's `FullFile` ChunkId, or from a checkpoint.
//!
//! A checkpoint is used only when it belongs to this upload and the source still matches it:
//!
//! - bytes that are not a checkpoint, a checkpoint of a Graph upload, or one of another WOPI
//!   file (another host or file path; the `access_token` may differ, tokens expire) are refused
//!   ([`stored_checkpoint`]): the caller named the wrong file, and overwriting it could destroy
//!   something;
//! - a damaged checkpoint (its CRC fails) is set aside: the upload starts over;
//! - a source whose size or ChunkId changed is refused with [`StartError::SourceChanged`]: the
//!   host holds frames of the old content in the session, and which version the caller wants
//!   on the host is the caller's decision (delete the checkpoint to upload the file as it is
//!   now);
//! - otherwise the upload resumes, with the job's file URL (a fresh `access_token`), and with
//!   the job's sequence number and locks if it sets them (after a `412` or a `409`, that is how
//!   the caller answers); the host's offset, not the checkpoint, says where the stream goes on.
//!
//! A transport checks the settings first ([`check_start`], before reading the file), reads
//! the stored checkpoint ([`stored_checkpoint`]), hashes the whole source (the `FullFile`
//! ChunkId goes in the first frame) and then plans ([`plan_start`]).

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec;

use crate::range::ByteRange;
use crate::secret::{Secret, SecretUrl};
use crate::session::{Resumption, SourceChange, StartError, VerifyError};
use crate::time::Instant;

use super::checkpoint::{WopiCheckpoint, WopiStage};
use super::codec::{ChunkId, MAIN_CONTENT};
use super::config::WopiConfig;
use super::error::WopiError;
use super::file_streams::WopiStream;
use super::upload::WopiUpload;

/// What the caller sets for the commit when resuming, each only if it sets it: the answer to a
/// `412` (the host's sequence number) or a `409` (its lock).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CommitSettings {
    /// The host's sequence number for the version read.
    pub sequence_number: Option<u64>,
    /// The lock and the coauthoring lock id.
    pub locks: Option<(Option<Secret>, Option<Secret>)>,
}

/// The machine to run and how it came about.
#[derive(Debug)]
#[non_exhaustive]
pub struct WopiStartPlan {
    /// The upload, ready to drive.
    pub upload: WopiUpload,
    /// How it began.
    pub resumption: Resumption,
}

/// Checks `config` for a source of `len` bytes before anything is read: a bad setting must not
/// cost a full read of the file.
pub fn check_start(config: &WopiConfig, len: u64) -> Result<(), WopiError> {
    let mut trial = config.clone();
    trial.streams = vec![WopiStream::full_file(
        stream_id(config),
        ChunkId::of(&[]),
        len,
    )];
    trial.validate().map_err(WopiError::from)
}

/// The checkpoint in `stored`, if it belongs to an upload of `file_url`. A damaged checkpoint,
/// or one of another format version, is `None` (nothing in it can be trusted: start over);
/// bytes that are not a checkpoint, or a checkpoint of another upload, are refused.
pub fn stored_checkpoint<E>(
    stored: &[u8],
    file_url: &SecretUrl,
) -> Result<Option<WopiCheckpoint>, StartError<E, WopiError>> {
    let checkpoint = match WopiCheckpoint::from_bytes(stored) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            return match error.refusal("WOPI upload session") {
                Some(reason) => Err(StartError::Refused { reason }),
                None => Ok(None),
            };
        }
    };
    if file_of(checkpoint.file_url()) != file_of(file_url) {
        return Err(StartError::Refused {
            reason: format!(
                "is the checkpoint of an upload to another WOPI file ({})",
                checkpoint.file_url()
            ),
        });
    }
    Ok(Some(checkpoint))
}

/// Decides how the upload of a `len`-byte source whose `FullFile` ChunkId is `whole` starts:
/// from `checkpoint` (see [`stored_checkpoint`]) if the source still matches it, else afresh.
/// `chunk_id_of` reads the ChunkId of a range of the source, for checkpoints that recorded
/// other ranges.
pub fn plan_start<E>(
    file_url: &SecretUrl,
    mut config: WopiConfig,
    settings: &CommitSettings,
    checkpoint: Option<WopiCheckpoint>,
    (len, whole): (u64, ChunkId),
    mut chunk_id_of: impl FnMut(ByteRange) -> Result<ChunkId, E>,
    now: Instant,
) -> Result<WopiStartPlan, StartError<E, WopiError>> {
    let Some(checkpoint) = checkpoint else {
        config.streams = vec![WopiStream::full_file(stream_id(&config), whole, len)];
        let upload =
            WopiUpload::create(file_url.expose(), config, now).map_err(StartError::Invalid)?;
        return Ok(WopiStartPlan {
            upload,
            resumption: Resumption::Fresh,
        });
    };
    let all = ByteRange::with_len(0, len);
    let verdict = checkpoint.verify(len, |range| {
        if Some(range) == all {
            Ok(whole)
        } else {
            chunk_id_of(range)
        }
    });
    match verdict {
        Ok(()) => {}
        Err(VerifyError::Read(error)) => return Err(StartError::SourceUnreadable(error)),
        Err(VerifyError::Changed(change)) => {
            return Err(StartError::SourceChanged {
                reason: match change {
                    SourceChange::Size { was, now } => {
                        format!("the file was {was} bytes and is now {now}")
                    }
                    _ => "the file's content changed (its SpookyHash differs)".into(),
                },
            });
        }
    }
    let resumption = match checkpoint.stage() {
        WopiStage::Completed(_) => Resumption::AlreadyCompleted,
        _ => Resumption::Resumed {
            confirmed: checkpoint.confirmed(),
            unchecked: 0,
            sessions: checkpoint.sessions(),
        },
    };
    let mut checkpoint = checkpoint.with_file_url(file_url.expose());
    if let Some(number) = settings.sequence_number {
        checkpoint = checkpoint.with_sequence_number(number);
    }
    if let Some((lock, coauth)) = settings.locks.clone() {
        checkpoint = checkpoint.with_locks(lock, coauth);
    }
    let upload = WopiUpload::resume(checkpoint, now).map_err(StartError::Invalid)?;
    Ok(WopiStartPlan { upload, resumption })
}

/// The stream the source is uploaded as: the configured one, or `MainContent`.
fn stream_id(config: &WopiConfig) -> String {
    config
        .streams
        .first()
        .map_or_else(|| MAIN_CONTENT.to_owned(), |s| s.stream_id.clone())
}

/// The URL without its query and fragment: the file, whatever the `access_token`.
fn file_of(url: &SecretUrl) -> &str {
    let url = url.expose();
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_the_url_without_its_token() {
        let a = SecretUrl::new("https://h/wopi/files/7?access_token=one");
        let b = SecretUrl::new("https://h/wopi/files/7/?access_token=two#x");
        let c = SecretUrl::new("https://h/wopi/files/8?access_token=one");
        assert_eq!(file_of(&a), file_of(&b));
        assert_ne!(file_of(&a), file_of(&c));
    }
}
