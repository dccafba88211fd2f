//! Fixtures shared by the benchmarks: inputs and framed streams, built outside the timed part.
//! The benchmarks themselves are in `benches/`; `BENCHMARKS.md` at the repository root records
//! their figures.

use resumable_core::range::ByteRange;
use resumable_core::wopi::{ChunkId, FramePrefix, StreamChunk, UploadStream};

/// `len` bytes of SplitMix64 output from `seed`: incompressible and reproducible.
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An upload-session stream of about `payload_total` payload bytes in `frame_payload`-byte
/// `Chunk` frames with correct ChunkIds.
pub fn framed_stream(payload_total: usize, frame_payload: usize) -> Vec<u8> {
    let payload = pseudo_random_bytes(payload_total, 3);
    let frames = payload_total.div_ceil(frame_payload);
    let mut out = Vec::with_capacity(payload_total + frames * 32);
    for chunk in payload.chunks(frame_payload) {
        out.extend_from_slice(&FramePrefix::chunk(ChunkId::of(chunk), chunk.len() as u64).encode());
        out.extend_from_slice(chunk);
    }
    out
}

/// The segment map of `chunks` chunks of `chunk_len` bytes each, laid out back to back in the
/// source (ChunkIds are placeholders: lookups never read them).
pub fn stream_map(
    chunks: u64,
    chunk_len: u64,
) -> UploadStream<Vec<resumable_core::wopi::FramedChunk>> {
    UploadStream::from_chunks((0..chunks).map(|i| StreamChunk {
        id: ChunkId::from_hash((i, !i)),
        source_offset: i * chunk_len,
        len: chunk_len,
    }))
    .expect("bench streams fit in u64")
}

/// `count` ranges of `len` bytes at pseudo-random offsets inside `stream`.
pub fn random_ranges<S: AsRef<[resumable_core::wopi::FramedChunk]>>(
    stream: &UploadStream<S>,
    count: usize,
    len: u64,
) -> Vec<ByteRange> {
    let offsets = pseudo_random_bytes(count * 8, 4);
    let span = stream.len().saturating_sub(len).max(1);
    offsets
        .chunks_exact(8)
        .filter_map(|o| {
            let start = u64::from_le_bytes(o.try_into().ok()?) % span;
            ByteRange::with_len(start, len.min(stream.len() - start))
        })
        .collect()
}
