//! How a WOPI upload begins: the core decides ([`plan_start`]: which checkpoint may be used,
//! what a changed source means); this module loads the checkpoint's bytes and hashes the
//! source (its `FullFile` ChunkId goes in the first frame) off the executor.

use std::io;
use std::sync::Arc;

use resumable_core::range::ByteRange;
use resumable_core::secret::SecretUrl;
use resumable_core::time::Instant;
use resumable_core::wopi::{
    ChunkId, CommitSettings, WopiConfig, WopiError, WopiStartPlan, check_start, plan_start,
    stored_checkpoint,
};

use crate::chunk_hash::chunk_id_of;
use crate::start::{StartError, load_checkpoint};
use resumable_io::CheckpointStore;
use resumable_io::source::Source;

/// Called while the source is hashed, with the bytes hashed so far and the source's size.
pub(crate) type HashProgress = Box<dyn FnMut(u64, u64) + Send>;

/// Decides how to start: from `store`'s checkpoint if it fits, else afresh. Hashes the source
/// on a blocking thread either way.
pub(crate) async fn plan_wopi(
    file_url: &SecretUrl,
    config: WopiConfig,
    settings: &CommitSettings,
    store: Option<&Arc<dyn CheckpointStore>>,
    source: &Arc<dyn Source>,
    hash_progress: Option<HashProgress>,
    now: Instant,
) -> Result<WopiStartPlan, StartError> {
    let len = source.len();
    // Settings are checked before the file is read: a bad flag must not cost a full read.
    check_start(&config, len)?;
    let checkpoint = match store {
        Some(store) => match load_checkpoint(store).await? {
            Some(bytes) => stored_checkpoint(&bytes, file_url)
                .map_err(|error| StartError::from_core(error, Some(store)))?,
            None => None,
        },
        None => None,
    };
    let whole = hash(source, hash_progress).await?;
    let source = source.clone();
    let (file_url, settings) = (file_url.clone(), settings.clone());
    tokio::task::spawn_blocking(move || {
        plan_start(
            &file_url,
            config,
            &settings,
            checkpoint,
            (len, whole),
            |range| chunk_id_of(&*source, range, &mut |_| {}),
            now,
        )
    })
    .await
    .map_err(|e| StartError::SourceUnreadable(io::Error::other(e)))?
    .map_err(|error| StartError::from_core(error, store))
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

/// [`WopiError`] is what the engine refuses a configuration with.
impl From<WopiError> for StartError {
    fn from(error: WopiError) -> Self {
        StartError::Wopi(error)
    }
}
