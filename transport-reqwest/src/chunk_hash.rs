//! ChunkIds of a source: SpookyHash V2 (both seeds 0) over a range, read a block at a time.
//!
//! A WOPI upload with the `FullFile` scheme needs the hash of the whole file before its first
//! byte goes out (the ChunkId is in the first frame's prefix), so this is a full read of the
//! file: streamed in [`BLOCK_SIZE`](resumable_io::source::BLOCK_SIZE) blocks, never the whole file in memory, and
//! reporting how far it got so a caller can show it.

use std::io;

use resumable_core::range::ByteRange;
use resumable_core::wopi::ChunkId;
use resumable_core::wopi::spooky::SpookyHasher;

use resumable_io::source::{Source, for_each_block};

/// The ChunkId of `range` of `source`. `progress` is called after each block with the bytes
/// hashed so far (from the start of `range`).
pub(crate) fn chunk_id_of(
    source: &dyn Source,
    range: ByteRange,
    progress: &mut dyn FnMut(u64),
) -> io::Result<ChunkId> {
    let mut hasher = SpookyHasher::new(0, 0);
    let mut done = 0;
    for_each_block(source, range, &mut |block| {
        hasher.update(block);
        done += block.len() as u64;
        progress(done);
    })?;
    Ok(ChunkId::of_hasher(&hasher))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use resumable_io::source::BytesSource;
    use resumable_io::source::{BLOCK_SIZE, FileSource};

    #[test]
    fn bytes_hash_like_their_chunk_id_and_progress_reaches_the_end() {
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let source = BytesSource::new(bytes.clone());
        let mut reports = Vec::new();
        let whole = ByteRange::new(0, 3_000_000).unwrap();
        let id = chunk_id_of(&source, whole, &mut |done| reports.push(done)).unwrap();
        assert_eq!(id, ChunkId::of(&bytes));
        assert_eq!(reports.last(), Some(&3_000_000));
    }

    #[test]
    fn a_file_hashes_like_its_bytes_in_one_piece() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..(BLOCK_SIZE * 2 + 777))
            .map(|i| (i * 31 % 253) as u8)
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let source = FileSource::open(&path).unwrap();
        let mut calls = 0;
        let whole = ByteRange::new(0, bytes.len() as u64).unwrap();
        let id = chunk_id_of(&source, whole, &mut |_| calls += 1).unwrap();
        assert_eq!(id, ChunkId::of(&bytes));
        assert_eq!(calls, 3, "one report per block");
    }

    #[test]
    fn a_file_that_shrank_is_an_error_not_a_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![1u8; 1000]).unwrap();
        let source = FileSource::open(&path).unwrap();
        std::fs::write(&path, vec![1u8; 10]).unwrap();
        let whole = ByteRange::new(0, 1000).unwrap();
        assert!(chunk_id_of(&source, whole, &mut |_| {}).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_range_hashes_like_its_slice(
            bytes in proptest::collection::vec(any::<u8>(), 1..4000),
            start in 0usize..4000,
            len in 1usize..4000,
        ) {
            let start = start % bytes.len();
            let end = (start + len).min(bytes.len());
            prop_assume!(end > start);
            let source = resumable_io::source::BytesSource::new(bytes.clone());
            let range = ByteRange::new(start as u64, end as u64).unwrap();
            let id = chunk_id_of(&source, range, &mut |_| {}).unwrap();
            prop_assert_eq!(id, ChunkId::of(&bytes[start..end]));
        }
    }
}
