//! [`BufferedDecoder`]: frames out of a body that arrives in pieces cut anywhere.
//!
//! A WOPI host receives the upload-session stream over many `UpdateUploadSession` requests, each
//! an arbitrary byte range, so a frame may start in one request and end several requests later.
//! This decoder keeps the pieces (as the caller's `Bytes`, not copies) and the [`FrameDecoder`]
//! state between pushes. A frame that lies inside one piece comes out as a zero-copy slice of
//! it; only a frame that straddles pieces is copied, once, into a buffer of exactly its size,
//! and that buffer is allocated only after its header has passed every check and all its bytes
//! have arrived.

use alloc::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::decoder::{DecodeError, Decoded, DecoderConfig, Frame, FrameDecoder};

/// Decodes frames from pieces pushed over time.
///
/// ```
/// use bytes::Bytes;
/// use resumable_core::wopi::{BodyKind, BufferedDecoder, ChunkId, DecoderConfig, FrameKind, StreamChunk, UploadStream};
///
/// // The client's upload-session stream: two chunks, framed.
/// let source = b"hello, world";
/// let stream = UploadStream::from_chunks([
///     StreamChunk { id: ChunkId::of(b"hello"), source_offset: 0, len: 5 },
///     StreamChunk { id: ChunkId::of(b", world"), source_offset: 5, len: 7 },
/// ]).unwrap();
/// let bytes = stream.materialise(source).unwrap();
///
/// // The host gets it in three UpdateUploadSession bodies cut at arbitrary offsets.
/// let mut host = BufferedDecoder::new(DecoderConfig::new(BodyKind::UploadSessionStream));
/// let mut chunks = Vec::new();
/// for body in [&bytes[..10], &bytes[10..40], &bytes[40..]] {
///     host.push(Bytes::copy_from_slice(body));
///     while let Some(frame) = host.next_frame().unwrap() {
///         chunks.push((frame.kind, frame.payload));
///     }
/// }
/// host.finish().unwrap(); // ends on a frame boundary
/// assert_eq!(chunks, [
///     (FrameKind::Chunk(ChunkId::of(b"hello")), Bytes::from_static(b"hello")),
///     (FrameKind::Chunk(ChunkId::of(b", world")), Bytes::from_static(b", world")),
/// ]);
/// ```
#[derive(Clone, Debug)]
pub struct BufferedDecoder {
    decoder: FrameDecoder,
    pieces: VecDeque<Bytes>,
    /// Total bytes in `pieces`.
    buffered: usize,
}

impl BufferedDecoder {
    /// A decoder at the start of a body.
    pub fn new(config: DecoderConfig) -> Self {
        BufferedDecoder {
            decoder: FrameDecoder::new(config),
            pieces: VecDeque::new(),
            buffered: 0,
        }
    }

    /// Adds the next piece of the body.
    pub fn push(&mut self, piece: Bytes) {
        if !piece.is_empty() {
            self.buffered = self.buffered.saturating_add(piece.len());
            self.pieces.push_back(piece);
        }
    }

    /// The next whole frame, `Ok(None)` if more input is needed (or the body has ended: see
    /// [`is_done`](Self::is_done)). After an error every call returns the same error.
    pub fn next_frame(&mut self) -> Result<Option<Frame<Bytes>>, DecodeError> {
        loop {
            let front = self.pieces.front().cloned().unwrap_or_default();
            match self.decoder.decode_bytes(&front)? {
                Decoded::Frame(frame) => {
                    self.consume(frame.encoded_len());
                    return Ok(Some(frame));
                }
                Decoded::Done => return Ok(None),
                Decoded::Partial { needed } => {
                    // `needed` has passed the decoder's limits; joining waits until every byte
                    // of it is here, so nothing is allocated for input that may never come.
                    if self.pieces.len() < 2 || self.buffered < needed {
                        return Ok(None);
                    }
                    self.join_front(needed);
                }
            }
        }
    }

    /// Says whether the body may end here (see [`FrameDecoder::finish`]).
    pub fn finish(&self) -> Result<(), DecodeError> {
        self.decoder.finish(self.buffered as u64)
    }

    /// Whether the body has ended (`EndFrame`); later input is ignored.
    pub fn is_done(&self) -> bool {
        self.decoder.is_done()
    }

    /// Bytes pushed but not yet returned as frames.
    pub fn buffered_len(&self) -> usize {
        self.buffered
    }

    /// Bytes of the body consumed by the frames returned so far.
    pub fn offset(&self) -> u64 {
        self.decoder.offset()
    }

    /// The underlying decoder.
    pub fn decoder(&self) -> &FrameDecoder {
        &self.decoder
    }

    fn consume(&mut self, mut len: usize) {
        self.buffered -= len;
        while len > 0 {
            let Some(front) = self.pieces.front_mut() else {
                return;
            };
            if front.len() > len {
                *front = front.slice(len..);
                return;
            }
            len -= front.len();
            self.pieces.pop_front();
        }
    }

    /// Makes the first `len` buffered bytes one contiguous piece.
    fn join_front(&mut self, len: usize) {
        let mut joined = BytesMut::with_capacity(len);
        while joined.len() < len {
            let Some(piece) = self.pieces.pop_front() else {
                break;
            };
            let take = piece.len().min(len - joined.len());
            joined.extend_from_slice(&piece[..take]);
            if take < piece.len() {
                self.pieces.push_front(piece.slice(take..));
            }
        }
        self.pieces.push_front(joined.freeze());
    }
}

#[cfg(test)]
mod tests;
