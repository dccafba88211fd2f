//! How a WOPI upload begins: the source is hashed (its ChunkId goes in the first frame), then
//! the upload starts afresh or continues from a checkpoint.
//!
//! A checkpoint is used only when it belongs to this upload and the source still matches it:
//!
//! - a file that is not a checkpoint, a checkpoint of a Graph upload, or one of another WOPI
//!   file (another host or file path; the `access_token` may differ, tokens expire) is refused:
//!   the caller named the wrong file, and overwriting it could destroy something;
//! - a damaged checkpoint (its CRC fails) is set aside: the upload starts over;
//! - a source whose size or ChunkId changed is refused with
//!   [`StartError::SourceChangedSinceCheckpoint`]: the host holds frames of the old content in
//!   the session, and which version the caller wants on the host is the caller's decision
//!   (delete the checkpoint to upload the file as it is now);
//! - otherwise the upload resumes, with the job's file URL (a fresh `access_token`), and with
//!   the job's sequence number and locks if it sets them (after a `412` or a `409`, that is how
//!   the caller answers); the host's offset, not the checkpoint, says where the stream goes on.

use std::io;
use std::sync::Arc;

use resumable_core::range::ByteRange;
use resumable_core::secret::{Secret, SecretUrl};
use resumable_core::session::{CheckpointError, SourceChange, VerifyError};
use resumable_core::time::Instant;
use resumable_core::wopi::ChunkId;
use resumable_core::wopi::{
    WopiCheckpoint, WopiConfig, WopiError, WopiStage, WopiStream, WopiUpload,
};

use crate::checkpoint_store::CheckpointStore;
use crate::chunk_hash::chunk_id_of;
use crate::source::Source;
use crate::start::{Resumption, StartError, load_checkpoint};

/// Called while the source is hashed, with the bytes hashed so far and the source's size.
pub(crate) type HashProgress = Box<dyn FnMut(u64, u64) + Send>;

/// What the job sets for the commit, each only if the caller set it.
#[derive(Clone, Debug, Default)]
pub(crate) struct CommitSettings {
    pub(crate) sequence_number: Option<u64>,
    pub(crate) locks: Option<(Option<Secret>, Option<Secret>)>,
}

/// The machine to run and how it came about.
pub(crate) struct WopiPlan {
    pub(crate) upload: WopiUpload,
    pub(crate) resumption: Resumption,
}

/// Decides how to start: from `store`'s checkpoint if it fits, else afresh. Hashes the source
/// on a blocking thread either way.
pub(crate) async fn plan_wopi(
    file_url: &SecretUrl,
    config: WopiConfig,
    settings: &CommitSettings,
    store: Option<&CheckpointStore>,
    source: &Arc<dyn Source>,
    hash_progress: Option<HashProgress>,
    now: Instant,
) -> Result<WopiPlan, StartError> {
    let len = source.len();
    let stream_id = config.streams.first().map_or_else(
        || resumable_core::wopi::MAIN_CONTENT.to_owned(),
        |s| s.stream_id.clone(),
    );
    // Settings are checked before the file is read: a bad flag must not cost a full read.
    let mut trial = config.clone();
    trial.streams = vec![WopiStream::full_file(
        stream_id.clone(),
        ChunkId::of(&[]),
        len,
    )];
    trial.validate().map_err(|e| StartError::Wopi(e.into()))?;
    let checkpoint = match store {
        Some(store) => load(store, file_url).await?,
        None => None,
    };
    let id = hash(source, hash_progress).await?;
    let Some(checkpoint) = checkpoint else {
        return fresh(file_url, config, stream_id, id, len, now);
    };
    let whole = ByteRange::with_len(0, len);
    let verdict = checkpoint.verify(len, |range| {
        if Some(range) == whole {
            Ok(id)
        } else {
            chunk_id_of(&**source, range, &mut |_| {})
        }
    });
    match verdict {
        Ok(()) => {}
        Err(VerifyError::Read(error)) => return Err(StartError::SourceUnreadable(error)),
        Err(VerifyError::Changed(change)) => {
            return Err(StartError::SourceChangedSinceCheckpoint {
                path: store.map(|s| s.path().to_path_buf()).unwrap_or_default(),
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
    let upload = WopiUpload::resume(checkpoint, now).map_err(StartError::Wopi)?;
    Ok(WopiPlan { upload, resumption })
}

fn fresh(
    file_url: &SecretUrl,
    mut config: WopiConfig,
    stream_id: String,
    id: ChunkId,
    len: u64,
    now: Instant,
) -> Result<WopiPlan, StartError> {
    config.streams = vec![WopiStream::full_file(stream_id, id, len)];
    let upload = WopiUpload::new(file_url.expose(), config, now).map_err(StartError::Wopi)?;
    Ok(WopiPlan {
        upload,
        resumption: Resumption::Fresh,
    })
}

/// The whole source's ChunkId, off the executor.
async fn hash(
    source: &Arc<dyn Source>,
    progress: Option<HashProgress>,
) -> Result<ChunkId, StartError> {
    let len = source.len();
    let Some(whole) = ByteRange::with_len(0, len) else {
        return Ok(ChunkId::of(&[]));
    };
    let source = source.clone();
    tokio::task::spawn_blocking(move || {
        let mut progress = progress;
        chunk_id_of(&*source, whole, &mut |done| {
            if let Some(report) = progress.as_mut() {
                report(done, len);
            }
        })
    })
    .await
    .map_err(io::Error::other)
    .and_then(|hashed| hashed)
    .map_err(StartError::SourceUnreadable)
}

/// The checkpoint in `store`, if there is one that belongs to this upload.
async fn load(
    store: &CheckpointStore,
    file_url: &SecretUrl,
) -> Result<Option<WopiCheckpoint>, StartError> {
    let Some(bytes) = load_checkpoint(store).await? else {
        return Ok(None);
    };
    let mismatch = |reason: String| StartError::CheckpointMismatch {
        path: store.path().to_path_buf(),
        reason,
    };
    let checkpoint = match WopiCheckpoint::from_bytes(&bytes) {
        Ok(checkpoint) => checkpoint,
        Err(CheckpointError::NotACheckpoint) => {
            return Err(mismatch(
                "is not a checkpoint file (refusing to overwrite it)".into(),
            ));
        }
        Err(CheckpointError::WrongProtocol { found, .. }) => {
            return Err(mismatch(format!(
                "is the checkpoint of a {found}, not of a WOPI upload session (refusing to overwrite it)"
            )));
        }
        // Damaged, or of another format version: nothing in it can be trusted; start over.
        Err(_) => return Ok(None),
    };
    if file_of(checkpoint.file_url()) != file_of(file_url) {
        return Err(mismatch(format!(
            "is the checkpoint of an upload to another WOPI file ({})",
            checkpoint.file_url()
        )));
    }
    Ok(Some(checkpoint))
}

/// The URL without its query and fragment: the file, whatever the `access_token`.
fn file_of(url: &SecretUrl) -> &str {
    let url = url.expose();
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].trim_end_matches('/')
}

/// [`WopiError`] is what the engine refuses a configuration with.
impl From<WopiError> for StartError {
    fn from(error: WopiError) -> Self {
        StartError::Wopi(error)
    }
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
