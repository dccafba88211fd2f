//! The streams of a WOPI file, as the caller chunked them, and the upload-session stream they
//! make.
//!
//! A file has a `MainContent` stream and may have alternate streams. The caller (the transport)
//! cuts each into chunks and hashes each chunk with SpookyHash ([`ChunkId::of`], or the
//! streaming hasher as it reads the file); the engine never reads the source. With the
//! `FullFile` scheme a stream is one chunk (none if it is empty), so the caller hashes the whole
//! stream before the upload starts: a `Chunk` frame's prefix carries its ChunkId, and the frame
//! is the first thing the session stream holds.
//!
//! The session stream is every distinct chunk the host does not hold yet, each as a `Chunk`
//! frame, in stream order: a chunk that appears twice (an alternate stream equal to the main
//! one) goes once, and a chunk the host already holds (from the version it served) not at all.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::range::ByteRange;
use crate::wopi::{
    ChunkId, ChunkSignature, ChunkingScheme, FramedChunk, MAIN_CONTENT, StreamChunk,
    StreamSignature, UploadStream,
};

use super::error::ConfigError;

/// One stream of the file (`MainContent` or an alternate stream): its name, how it was chunked,
/// its chunks in order and where its first byte is in the transport's source.
///
/// The chunks lie one after another in the source from `source_offset`. With several streams
/// the source is, typically, their concatenation; any layout works as long as the transport can
/// read the ranges the engine names.
///
/// ```
/// use resumable_core::wopi::WopiStream;
/// use resumable_core::wopi::{ChunkId, ChunkingScheme};
///
/// let file = b"hello world";
/// let main = WopiStream::main_content(ChunkId::of(file), file.len() as u64);
/// assert_eq!(main.stream_id, "MainContent");
/// assert_eq!(main.chunking_scheme, ChunkingScheme::FullFile);
/// assert_eq!((main.len(), main.chunks.len()), (11, 1));
///
/// // An alternate stream stored after the main one in the same source.
/// let alternate = WopiStream::full_file("Thumbnail", ChunkId::of(b"png"), 3).at_source_offset(11);
/// assert_eq!(alternate.source_range(), Some(resumable_core::range::ByteRange::new(11, 14).unwrap()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WopiStream {
    /// The stream's name, such as `MainContent`.
    pub stream_id: String,
    /// How the caller cut it into chunks.
    pub chunking_scheme: ChunkingScheme,
    /// Where the stream's first byte is in the transport's source.
    pub source_offset: u64,
    /// Its chunks, in order, each with its ChunkId and length.
    pub chunks: Vec<ChunkSignature>,
}

impl WopiStream {
    /// A `FullFile` stream of `len` bytes whose ChunkId is `id`, at the start of the source: one
    /// chunk, or none if `len` is 0.
    pub fn full_file(stream_id: impl Into<String>, id: ChunkId, len: u64) -> Self {
        let signature = StreamSignature::full_file(stream_id, id, len);
        WopiStream {
            stream_id: signature.stream_id,
            chunking_scheme: ChunkingScheme::FullFile,
            source_offset: 0,
            chunks: signature.chunk_signatures,
        }
    }

    /// The `MainContent` stream of a file of `len` bytes whose ChunkId (SpookyHash of the whole
    /// file) is `id`, chunked `FullFile`.
    pub fn main_content(id: ChunkId, len: u64) -> Self {
        WopiStream::full_file(MAIN_CONTENT, id, len)
    }

    /// A stream chunked some other way (`Zip`, cut by the caller), its chunks in order.
    pub fn chunked(
        stream_id: impl Into<String>,
        chunking_scheme: ChunkingScheme,
        chunks: Vec<ChunkSignature>,
    ) -> Self {
        WopiStream {
            stream_id: stream_id.into(),
            chunking_scheme,
            source_offset: 0,
            chunks,
        }
    }

    /// Places the stream's first byte at `offset` in the source.
    pub fn at_source_offset(mut self, offset: u64) -> Self {
        self.source_offset = offset;
        self
    }

    /// The stream's length: the sum of its chunks' lengths (saturating).
    pub fn len(&self) -> u64 {
        self.chunks
            .iter()
            .fold(0u64, |sum, chunk| sum.saturating_add(chunk.length))
    }

    /// Whether the stream has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where the stream's bytes are in the source; `None` if it is empty or its end overflows.
    pub fn source_range(&self) -> Option<ByteRange> {
        ByteRange::with_len(self.source_offset, self.len())
    }

    /// The stream's signature, as `PutChunkedFile`'s `MessageJSON` lists it.
    pub fn signature(&self) -> StreamSignature {
        StreamSignature {
            stream_id: self.stream_id.clone(),
            chunking_scheme: self.chunking_scheme,
            chunk_signatures: self.chunks.clone(),
        }
    }

    /// The stream's chunks with their places in the source. Call only on a validated stream
    /// (offsets do not overflow).
    pub(crate) fn source_chunks(&self) -> impl Iterator<Item = StreamChunk> + '_ {
        let mut offset = self.source_offset;
        self.chunks.iter().map(move |chunk| {
            let placed = StreamChunk {
                id: chunk.chunk_id,
                source_offset: offset,
                len: chunk.length,
            };
            offset = offset.saturating_add(chunk.length);
            placed
        })
    }

    /// Checks the stream on its own: chunking and offsets.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let name = || self.stream_id.clone();
        if self.stream_id.is_empty() {
            return Err(ConfigError::UnnamedStream);
        }
        if self.chunking_scheme == ChunkingScheme::FullFile && self.chunks.len() > 1 {
            return Err(ConfigError::FullFileWithSeveralChunks(name()));
        }
        if self.chunks.iter().any(|chunk| chunk.length == 0) {
            return Err(ConfigError::EmptyChunk(name()));
        }
        let len = self
            .chunks
            .iter()
            .try_fold(0u64, |sum, chunk| sum.checked_add(chunk.length));
        match len.and_then(|len| self.source_offset.checked_add(len)) {
            Some(_) => Ok(()),
            None => Err(ConfigError::SourceOverflow(name())),
        }
    }
}

/// The largest offset a WOPI header carries (`X-WOPI-ContentRangeOffset` is signed 64-bit).
const MAX_STREAM_LEN: u64 = i64::MAX as u64;

/// Lays out the upload-session stream of `streams`: each distinct chunk not in `host_chunks`,
/// once, in stream order. Refuses two chunks with one ChunkId and different lengths (a caller
/// bug, or a hash collision no host could tell apart).
pub(crate) fn session_stream(
    streams: &[WopiStream],
    host_chunks: &[ChunkId],
) -> Result<UploadStream<Vec<FramedChunk>>, ConfigError> {
    let mut lengths: BTreeMap<ChunkId, u64> = BTreeMap::new();
    let mut chunks = Vec::new();
    for chunk in streams.iter().flat_map(WopiStream::source_chunks) {
        match lengths.get(&chunk.id) {
            Some(&len) if len != chunk.len => {
                return Err(ConfigError::ConflictingChunk(chunk.id));
            }
            Some(_) => continue,
            None => {
                lengths.insert(chunk.id, chunk.len);
            }
        }
        if !host_chunks.contains(&chunk.id) {
            chunks.push(chunk);
        }
    }
    let stream = UploadStream::from_chunks(chunks).map_err(|_| ConfigError::StreamTooLong)?;
    if stream.len() > MAX_STREAM_LEN {
        return Err(ConfigError::StreamTooLong);
    }
    Ok(stream)
}

/// One past the last source byte any stream names: the source's expected length.
pub(crate) fn source_extent(streams: &[WopiStream]) -> u64 {
    streams
        .iter()
        .filter_map(WopiStream::source_range)
        .map(|range| range.end())
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wopi::CHUNK_PREFIX_LEN;

    fn chunk(bytes: &[u8]) -> ChunkSignature {
        ChunkSignature {
            chunk_id: ChunkId::of(bytes),
            length: bytes.len() as u64,
        }
    }

    #[test]
    fn repeated_and_held_chunks_are_left_out_of_the_session_stream() {
        let main = WopiStream::chunked(
            MAIN_CONTENT,
            ChunkingScheme::Zip,
            alloc::vec![chunk(b"aaaa"), chunk(b"bb"), chunk(b"aaaa")],
        );
        let alternate = WopiStream::full_file("Alt", ChunkId::of(b"ccc"), 3).at_source_offset(10);
        let stream = session_stream(&[main, alternate], &[ChunkId::of(b"bb")]).unwrap();
        let frames: Vec<StreamChunk> = stream.frames().iter().map(|f| f.chunk).collect();
        assert_eq!(
            frames,
            [
                StreamChunk {
                    id: ChunkId::of(b"aaaa"),
                    source_offset: 0,
                    len: 4
                },
                StreamChunk {
                    id: ChunkId::of(b"ccc"),
                    source_offset: 10,
                    len: 3
                },
            ]
        );
        assert_eq!(stream.len(), 2 * CHUNK_PREFIX_LEN as u64 + 7);
    }

    #[test]
    fn one_chunk_id_with_two_lengths_is_refused() {
        let id = ChunkId::of(b"x");
        let main = WopiStream::chunked(
            MAIN_CONTENT,
            ChunkingScheme::Zip,
            alloc::vec![
                ChunkSignature {
                    chunk_id: id,
                    length: 1
                },
                ChunkSignature {
                    chunk_id: id,
                    length: 2
                },
            ],
        );
        assert_eq!(
            session_stream(&[main], &[]).unwrap_err(),
            ConfigError::ConflictingChunk(id)
        );
    }

    #[test]
    fn stream_checks_name_what_is_wrong() {
        let two = WopiStream::chunked(
            MAIN_CONTENT,
            ChunkingScheme::FullFile,
            alloc::vec![chunk(b"a"), chunk(b"b")],
        );
        assert_eq!(
            two.validate(),
            Err(ConfigError::FullFileWithSeveralChunks(MAIN_CONTENT.into()))
        );
        let empty_chunk = WopiStream::chunked(
            MAIN_CONTENT,
            ChunkingScheme::Zip,
            alloc::vec![ChunkSignature {
                chunk_id: ChunkId::of(b""),
                length: 0
            }],
        );
        assert_eq!(
            empty_chunk.validate(),
            Err(ConfigError::EmptyChunk(MAIN_CONTENT.into()))
        );
        let far = WopiStream::main_content(ChunkId::of(b"a"), 10).at_source_offset(u64::MAX - 5);
        assert_eq!(
            far.validate(),
            Err(ConfigError::SourceOverflow(MAIN_CONTENT.into()))
        );
        assert_eq!(
            WopiStream::full_file("", ChunkId::of(b"a"), 1).validate(),
            Err(ConfigError::UnnamedStream)
        );
    }

    #[test]
    fn extent_is_the_end_of_the_furthest_stream() {
        let main = WopiStream::main_content(ChunkId::of(b"a"), 100);
        let alt = WopiStream::full_file("Alt", ChunkId::of(b"b"), 20).at_source_offset(100);
        assert_eq!(source_extent(&[main.clone(), alt]), 120);
        assert_eq!(source_extent(&[main]), 100);
        assert_eq!(
            source_extent(&[WopiStream::main_content(ChunkId::of(b""), 0)]),
            0
        );
    }
}
