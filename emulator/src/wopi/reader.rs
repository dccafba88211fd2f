//! Frames read as the body streams past, and the chunks they carry.
//!
//! Chunk payloads are never held whole: the core decoder reads each frame *prefix*
//! ([`FrameDecoder::decode_prefix`]), then the payload streams into the [`ChunkStore`] while a
//! [`SpookyHasher`] checks it against its ChunkId. A `FullFile` chunk of a large file therefore
//! costs no more memory than a small one, and a frame split across requests is no different from
//! one inside a request. Only `MessageJSON` payloads (limited by the decoder) are gathered.

use std::collections::HashMap;
use std::io;

use bytes::Bytes;
use resumable_core::wopi::spooky::SpookyHasher;
use resumable_core::wopi::{
    ChunkId, DecodeError, DecodeErrorKind, DecoderConfig, FRAME_HEADER_LEN, FrameDecoder,
    FrameKind, PrefixDecoded,
};

use crate::storage::{Checkpoint, SequentialSink, Storage};

/// Where a chunk lies in its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoredChunk {
    pub(crate) id: ChunkId,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// Chunk payloads, appended in arrival order to one part file (or only hashed).
pub(crate) struct ChunkStore {
    pub(crate) sink: SequentialSink,
    chunks: Vec<StoredChunk>,
    index: HashMap<ChunkId, usize>,
}

/// Where a store stood before a request.
pub(crate) struct StoreCheckpoint {
    sink: Checkpoint,
    chunks: usize,
}

impl ChunkStore {
    pub(crate) fn new(storage: &Storage) -> Self {
        ChunkStore {
            sink: storage.sequential(),
            chunks: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The chunks in arrival order.
    pub(crate) fn chunks(&self) -> &[StoredChunk] {
        &self.chunks
    }

    pub(crate) fn find(&self, id: ChunkId) -> Option<StoredChunk> {
        self.index.get(&id).map(|&i| self.chunks[i])
    }

    pub(crate) fn checkpoint(&self) -> StoreCheckpoint {
        StoreCheckpoint {
            sink: self.sink.checkpoint(),
            chunks: self.chunks.len(),
        }
    }

    pub(crate) async fn rollback(&mut self, checkpoint: StoreCheckpoint) -> io::Result<()> {
        for chunk in self.chunks.drain(checkpoint.chunks..) {
            if self
                .index
                .get(&chunk.id)
                .is_some_and(|&i| i >= checkpoint.chunks)
            {
                self.index.remove(&chunk.id);
            }
        }
        self.sink.rollback(checkpoint.sink).await
    }

    fn add(&mut self, chunk: StoredChunk) {
        self.index.entry(chunk.id).or_insert(self.chunks.len());
        self.chunks.push(chunk);
    }
}

#[derive(Clone)]
enum Payload {
    Chunk {
        id: ChunkId,
        offset: u64,
        len: u64,
        remaining: u64,
        frame_offset: u64,
        hasher: Box<SpookyHasher>,
    },
    Message {
        remaining: u64,
        buf: Vec<u8>,
    },
}

/// Why a body's frames were refused.
#[derive(Debug)]
pub(crate) enum ReadError {
    Frame(DecodeError),
    Storage(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Frame(e) => write!(f, "malformed frames: {e}"),
            ReadError::Storage(e) => write!(f, "the emulator could not store the chunk: {e}"),
        }
    }
}

/// The frames of one body (a `PutChunkedFile` body, or an upload session's whole stream).
#[derive(Clone)]
pub(crate) struct FrameReader {
    decoder: FrameDecoder,
    /// Prefix bytes gathered so far.
    header: Vec<u8>,
    /// Prefix bytes the decoder needs before it can go on.
    needed: usize,
    payload: Option<Payload>,
    message: Option<Vec<u8>>,
}

impl FrameReader {
    pub(crate) fn new(config: DecoderConfig) -> Self {
        FrameReader {
            decoder: FrameDecoder::new(config),
            header: Vec::new(),
            needed: FRAME_HEADER_LEN,
            payload: None,
            message: None,
        }
    }

    /// Reads `data`, storing chunk payloads in `store`.
    pub(crate) async fn feed(
        &mut self,
        mut data: Bytes,
        store: &mut ChunkStore,
    ) -> Result<(), ReadError> {
        while !data.is_empty() {
            match &mut self.payload {
                Some(Payload::Chunk {
                    id,
                    offset,
                    len,
                    remaining,
                    frame_offset,
                    hasher,
                }) => {
                    let take = (*remaining).min(data.len() as u64) as usize;
                    let part = data.split_to(take);
                    hasher.update(&part);
                    store.sink.write(&part).await.map_err(ReadError::Storage)?;
                    *remaining -= take as u64;
                    if *remaining == 0 {
                        let actual = ChunkId::of_hasher(hasher);
                        if actual != *id {
                            return Err(ReadError::Frame(DecodeError {
                                offset: *frame_offset,
                                kind: DecodeErrorKind::ChunkIdMismatch {
                                    declared: *id,
                                    actual,
                                },
                            }));
                        }
                        store.add(StoredChunk {
                            id: *id,
                            offset: *offset,
                            len: *len,
                        });
                        self.payload = None;
                    }
                }
                Some(Payload::Message { remaining, buf }) => {
                    let take = (*remaining).min(data.len() as u64) as usize;
                    buf.extend_from_slice(&data.split_to(take));
                    *remaining -= take as u64;
                    if *remaining == 0 {
                        self.message = Some(std::mem::take(buf));
                        self.payload = None;
                    }
                }
                None => {
                    if self.decoder.is_done() {
                        // Data after EndFrame is ignored.
                        return Ok(());
                    }
                    let take = (self.needed - self.header.len()).min(data.len());
                    self.header.extend_from_slice(&data.split_to(take));
                    if self.header.len() < self.needed {
                        continue;
                    }
                    match self
                        .decoder
                        .decode_prefix(&self.header)
                        .map_err(ReadError::Frame)?
                    {
                        PrefixDecoded::Partial { needed } => self.needed = needed,
                        PrefixDecoded::Done => return Ok(()),
                        PrefixDecoded::Prefix { offset, prefix } => {
                            self.header.clear();
                            self.needed = FRAME_HEADER_LEN;
                            self.start_payload(offset, prefix.kind, prefix.payload_len, store)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn start_payload(
        &mut self,
        frame_offset: u64,
        kind: FrameKind,
        len: u64,
        store: &mut ChunkStore,
    ) -> Result<(), ReadError> {
        match kind {
            FrameKind::Chunk(id) if len == 0 => {
                if ChunkId::of(b"") != id {
                    return Err(ReadError::Frame(DecodeError {
                        offset: frame_offset,
                        kind: DecodeErrorKind::ChunkIdMismatch {
                            declared: id,
                            actual: ChunkId::of(b""),
                        },
                    }));
                }
                let offset = store.sink.len();
                store.add(StoredChunk { id, offset, len });
            }
            FrameKind::Chunk(id) => {
                self.payload = Some(Payload::Chunk {
                    id,
                    offset: store.sink.len(),
                    len,
                    remaining: len,
                    frame_offset,
                    hasher: Box::default(),
                });
            }
            FrameKind::MessageJson if len == 0 => self.message = Some(Vec::new()),
            FrameKind::MessageJson => {
                self.payload = Some(Payload::Message {
                    remaining: len,
                    buf: Vec::with_capacity(len.min(1 << 20) as usize),
                });
            }
            // EndFrame: the decoder now reports Done. ChunkRange: the decoder refuses it in
            // both body kinds the emulator reads.
            FrameKind::EndFrame | FrameKind::ChunkRange(_) => {}
        }
        Ok(())
    }

    /// Whether the body may end here: between frames for a session stream, after `EndFrame`
    /// for a `PutChunkedFile` body.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        let inside = match &self.payload {
            Some(Payload::Chunk {
                len,
                remaining,
                frame_offset,
                ..
            }) => Some((*frame_offset, len - remaining)),
            Some(Payload::Message { buf, .. }) => Some((self.decoder.offset(), buf.len() as u64)),
            None => None,
        };
        if let Some((offset, available)) = inside {
            return Err(DecodeError {
                offset,
                kind: DecodeErrorKind::Truncated { available },
            });
        }
        self.decoder.finish(self.header.len() as u64)
    }

    /// The `MessageJSON` payload, once read.
    pub(crate) fn message(&self) -> Option<&[u8]> {
        self.message.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_core::wopi::{BodyKind, StreamChunk, UploadStream};

    async fn read_all(bytes: &[u8], cut: usize) -> Result<(FrameReader, ChunkStore), ReadError> {
        let storage = Storage::new(&crate::config::StorageMode::Discard).unwrap();
        let mut store = ChunkStore::new(&storage);
        let mut reader = FrameReader::new(DecoderConfig::new(BodyKind::UploadSessionStream));
        for piece in bytes.chunks(cut.max(1)) {
            reader
                .feed(Bytes::copy_from_slice(piece), &mut store)
                .await?;
        }
        Ok((reader, store))
    }

    #[tokio::test]
    async fn any_cut_of_a_stream_gives_the_same_chunks() {
        let source: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let stream = UploadStream::from_chunks([
            StreamChunk {
                id: ChunkId::of(&source[..300]),
                source_offset: 0,
                len: 300,
            },
            StreamChunk {
                id: ChunkId::of(&source[300..]),
                source_offset: 300,
                len: 700,
            },
        ])
        .unwrap();
        let bytes = stream.materialise(&source).unwrap();
        for cut in [1, 7, 16, 31, 32, 33, 100, bytes.len()] {
            let (reader, store) = read_all(&bytes, cut).await.unwrap();
            reader.finish().unwrap();
            let ids: Vec<_> = store
                .chunks()
                .iter()
                .map(|c| (c.id, c.offset, c.len))
                .collect();
            assert_eq!(
                ids,
                [
                    (ChunkId::of(&source[..300]), 0, 300),
                    (ChunkId::of(&source[300..]), 300, 700)
                ],
                "cut {cut}"
            );
        }
        // Ending inside a frame is not a valid stream end.
        let (reader, _) = read_all(&bytes[..bytes.len() - 1], 64).await.unwrap();
        assert!(matches!(
            reader.finish().unwrap_err().kind,
            DecodeErrorKind::Truncated { .. }
        ));
    }

    #[tokio::test]
    async fn a_wrong_chunk_id_is_refused() {
        let stream = UploadStream::from_chunks([StreamChunk {
            id: ChunkId::of(b"other"),
            source_offset: 0,
            len: 5,
        }])
        .unwrap();
        let bytes = stream.materialise(b"hello").unwrap();
        let Err(ReadError::Frame(error)) = read_all(&bytes, 10).await else {
            panic!("mismatch must be refused");
        };
        assert!(matches!(
            error.kind,
            DecodeErrorKind::ChunkIdMismatch { .. }
        ));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use resumable_core::wopi::{BodyKind, StreamChunk, UploadStream};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Model: the chunks the stream was built from. Any split of the stream into pieces must
        /// yield exactly those chunks, with their bytes stored back to back.
        #[test]
        fn any_split_yields_the_chunks_in_order(
            lens in proptest::collection::vec(0usize..600, 1..6),
            cuts in proptest::collection::vec(1usize..200, 1..40),
            seed in any::<u8>(),
        ) {
            let total: usize = lens.iter().sum();
            let source: Vec<u8> = (0..total).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
            let mut chunks = Vec::new();
            let mut at = 0;
            for len in &lens {
                chunks.push(StreamChunk { id: ChunkId::of(&source[at..at + len]), source_offset: at as u64, len: *len as u64 });
                at += len;
            }
            let bytes = UploadStream::from_chunks(chunks.clone()).unwrap().materialise(&source).unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (found, hash) = runtime.block_on(async {
                let storage = Storage::new(&crate::config::StorageMode::Discard).unwrap();
                let mut store = ChunkStore::new(&storage);
                let mut reader = FrameReader::new(DecoderConfig::new(BodyKind::UploadSessionStream));
                let mut rest = &bytes[..];
                for cut in cuts.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let n = (*cut).min(rest.len());
                    reader.feed(Bytes::copy_from_slice(&rest[..n]), &mut store).await.unwrap();
                    rest = &rest[n..];
                }
                reader.finish().unwrap();
                let found: Vec<_> = store.chunks().iter().map(|c| (c.id, c.offset, c.len)).collect();
                let (finished, _) = store.sink.finish().await.unwrap();
                (found, finished.hashes)
            });
            let mut offset = 0;
            let expected: Vec<_> = chunks.iter().map(|c| {
                let item = (c.id, offset, c.len);
                offset += c.len;
                item
            }).collect();
            prop_assert_eq!(found, expected);
            prop_assert_eq!(hash, resumable_core::digest::SourceHashes::of(&source));
        }
    }
}
