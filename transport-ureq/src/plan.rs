//! How an upload begins. The decision is the core's ([`graph::plan_start`],
//! [`wopi::plan_start`]): which checkpoint may be used, and whether the upload is fresh,
//! resumed or restarted. The transport loads the checkpoint's bytes, reads the source ranges
//! the planner asks about (through the exchange, so those reads feed the source's digest too),
//! hashes the source for a WOPI ChunkId, and names the checkpoint file in the errors.

use resumable_core::graph::{self, Destination, SourceNow, Upload, UploadConfig};
use resumable_core::range::ByteRange;
use resumable_core::secret::SecretUrl;
use resumable_core::session::{Resumption, StartError as CoreStartError};
use resumable_core::time::Instant;
use resumable_core::tus::{self, TusConfig, TusUpload};
use resumable_core::wopi::spooky::SpookyHasher;
use resumable_core::wopi::{self, ChunkId, CommitSettings, WopiConfig, WopiUpload};

use crate::exchange::Exchange;
use crate::outcome::StartError;
use resumable_io::CheckpointStore;

/// The machine to run and how it came about.
pub(crate) struct Plan<M> {
    pub(crate) machine: M,
    pub(crate) resumption: Resumption,
    /// A session of an older version of the source, to delete.
    pub(crate) abandoned: Option<SecretUrl>,
}

/// Plans a Graph upload: from `store`'s checkpoint if the core says it fits, else afresh.
pub(crate) fn plan_graph(
    destination: &Destination,
    config: UploadConfig,
    store: Option<&dyn CheckpointStore>,
    exchange: &mut Exchange,
    now: Instant,
) -> Result<Plan<Upload>, StartError> {
    let stored = load(store)?;
    let source = source_now(exchange);
    let plan = graph::plan_start(destination, config, stored.as_deref(), source, now)
        .map_err(|error| named(error, store, StartError::Invalid))?;
    Ok(Plan {
        machine: plan.upload,
        resumption: plan.resumption,
        abandoned: plan.abandoned,
    })
}

/// Plans a WOPI upload: checks the settings before the source is read, hashes the source for
/// its ChunkId (the same reads give the hashes the host's copy is checked against), then
/// resumes from `store`'s checkpoint if the core says it fits, else starts afresh.
pub(crate) fn plan_wopi(
    file_url: &SecretUrl,
    config: WopiConfig,
    settings: &CommitSettings,
    store: Option<&dyn CheckpointStore>,
    exchange: &mut Exchange,
    now: Instant,
) -> Result<Plan<WopiUpload>, StartError> {
    let len = exchange.source().len();
    wopi::check_start(&config, len).map_err(StartError::Wopi)?;
    let checkpoint = match load(store)? {
        Some(bytes) => wopi::stored_checkpoint(&bytes, file_url)
            .map_err(|error| named(error, store, StartError::Wopi))?,
        None => None,
    };
    let whole = match ByteRange::with_len(0, len) {
        Some(range) => chunk_id(exchange, range).map_err(StartError::SourceUnreadable)?,
        None => ChunkId::of(&[]),
    };
    let plan = wopi::plan_start(
        file_url,
        config,
        settings,
        checkpoint,
        (len, whole),
        |range| chunk_id(exchange, range),
        now,
    )
    .map_err(|error| named(error, store, StartError::Wopi))?;
    Ok(Plan {
        machine: plan.upload,
        resumption: plan.resumption,
        abandoned: None,
    })
}

/// The checkpoint's bytes, if there is a store and a checkpoint in it.
/// How a tus upload starts: the core decides from the checkpoint, the source's CRC-32s read
/// here.
pub(crate) fn plan_tus(
    config: TusConfig,
    store: Option<&dyn CheckpointStore>,
    exchange: &mut Exchange,
    now: Instant,
) -> Result<Plan<TusUpload>, StartError> {
    let stored = load(store)?;
    let source = source_now(exchange);
    let plan = tus::plan_start(config, stored.as_deref(), source, now)
        .map_err(|error| named(error, store, StartError::Tus))?;
    Ok(Plan {
        machine: plan.upload,
        resumption: plan.resumption,
        abandoned: plan.abandoned,
    })
}

/// The source as it is now, its CRC-32s read through `exchange`, for the core's planners.
fn source_now(
    exchange: &mut Exchange,
) -> SourceNow<impl FnMut(ByteRange) -> std::io::Result<u32> + '_> {
    SourceNow {
        len: exchange.source().len(),
        modified: exchange.source().last_modified(),
        crc_of: |range: ByteRange| {
            let mut crc = crc32fast::Hasher::new();
            exchange.read(range, &mut |block| crc.update(block))?;
            Ok(crc.finalize())
        },
    }
}

fn load(store: Option<&dyn CheckpointStore>) -> Result<Option<Vec<u8>>, StartError> {
    match store {
        Some(store) => store.load().map_err(StartError::CheckpointUnreadable),
        None => Ok(None),
    }
}

/// The ChunkId (SpookyHash V2, both seeds 0) of `range` of the source.
fn chunk_id(exchange: &mut Exchange, range: ByteRange) -> std::io::Result<ChunkId> {
    let mut hasher = SpookyHasher::new(0, 0);
    exchange.read(range, &mut |block| hasher.update(block))?;
    Ok(ChunkId::of_hasher(&hasher))
}

/// The core's reason, with the checkpoint's store named.
fn named<D>(
    error: CoreStartError<std::io::Error, D>,
    store: Option<&dyn CheckpointStore>,
    invalid: impl FnOnce(D) -> StartError,
) -> StartError {
    let store = || store.map_or_else(|| "the checkpoint".to_owned(), |s| s.describe());
    match error {
        CoreStartError::Invalid(error) => invalid(error),
        CoreStartError::Refused { reason } => StartError::CheckpointRefused {
            store: store(),
            reason,
        },
        CoreStartError::SourceUnreadable(error) => StartError::SourceUnreadable(error),
        CoreStartError::SourceChanged { reason } => StartError::SourceChanged {
            store: store(),
            reason,
        },
    }
}
