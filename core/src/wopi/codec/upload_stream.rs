//! The framed upload-session stream, described instead of built.
//!
//! The upload-session binary stream is the chunks of a file, each as a `Chunk` frame (a 32-byte
//! prefix, then the chunk's bytes), one after another. `UpdateUploadSession` sends it in byte
//! ranges that need not align with frames. [`UploadStream`] maps any range of that stream to a
//! short list of pieces: prefix bytes (small, inline) and ranges of the caller's source. A
//! transport sends those pieces in order and never holds more than a request's worth of bytes;
//! the whole stream never exists in memory.
//!
//! Lookups are a binary search over the frames' stream offsets (O(log n)) and then a walk over
//! the frames the range touches.
//!
//! With `alloc` the pieces come as the shared [`Segment`](crate::http::Segment) type, ready for a
//! [`Body::Segments`](crate::http::Body::Segments). Without it, [`UploadStream::pieces`] yields
//! [`StreamPiece`]s whose prefix bytes live in a small inline buffer, and the frame table lives
//! in any storage the caller provides (an array on the stack, a static).

use core::fmt;

use super::chunk_id::ChunkId;
use super::frame::{CHUNK_PREFIX_LEN, EncodedPrefix, FramePrefix};
use crate::range::ByteRange;

/// One chunk of the stream: its id, its length and where its bytes are in the source.
///
/// With several streams (`MainContent` and alternates) in one upload session, the transport's
/// source is their concatenation (or any address space the transport can read ranges from);
/// `source_offset` is an offset in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamChunk {
    /// The chunk's ChunkId.
    pub id: ChunkId,
    /// Where the chunk's first byte is in the source.
    pub source_offset: u64,
    /// The chunk's length.
    pub len: u64,
}

impl StreamChunk {
    /// The `Chunk` frame prefix for this chunk.
    pub const fn prefix(&self) -> FramePrefix {
        FramePrefix::chunk(self.id, self.len)
    }
}

/// A chunk and the stream offset its frame starts at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FramedChunk {
    /// The chunk.
    pub chunk: StreamChunk,
    /// Where its frame (prefix first) starts in the stream.
    pub stream_offset: u64,
}

impl FramedChunk {
    /// A chunk not yet laid out (its offset is set by [`UploadStream::new`]).
    pub const fn new(chunk: StreamChunk) -> Self {
        FramedChunk {
            chunk,
            stream_offset: 0,
        }
    }

    /// One past the frame's last byte in the stream.
    const fn stream_end(&self) -> u64 {
        self.stream_offset + CHUNK_PREFIX_LEN as u64 + self.chunk.len
    }
}

/// A piece of a stream range: prefix bytes or a source range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamPiece {
    /// Frame-prefix bytes (all or part of one prefix), to send as they are.
    Prefix(EncodedPrefix),
    /// These bytes of the source.
    Source(ByteRange),
}

impl StreamPiece {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            StreamPiece::Prefix(bytes) => bytes.len() as u64,
            StreamPiece::Source(range) => range.len(),
        }
    }

    /// Whether the piece is empty (never, for pieces [`UploadStream::pieces`] yields).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a stream could not be laid out or a range looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamError {
    /// The stream would be longer than `u64::MAX` bytes.
    TooLong,
    /// A chunk's source range ends past `u64::MAX`.
    SourceOverflow {
        /// The chunk's index.
        index: usize,
    },
    /// The range asked for ends past the end of the stream.
    OutOfRange {
        /// The range asked for.
        range: ByteRange,
        /// The stream length.
        stream_len: u64,
    },
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::TooLong => f.write_str("the framed stream would exceed 2^64 bytes"),
            StreamError::SourceOverflow { index } => {
                write!(f, "chunk {index}'s source range overflows")
            }
            StreamError::OutOfRange { range, stream_len } => {
                write!(
                    f,
                    "range {range:?} is past the stream's end ({stream_len} bytes)"
                )
            }
        }
    }
}

impl core::error::Error for StreamError {}

/// The map from byte ranges of the upload-session stream to prefix bytes and source ranges.
///
/// `S` holds the frame table: `Vec<FramedChunk>` (see [`UploadStream::from_chunks`]) or, without
/// `alloc`, an array or slice the caller owns.
///
/// ```
/// use resumable_core::range::ByteRange;
/// use resumable_core::wopi::{ChunkId, FramedChunk, StreamChunk, StreamPiece, UploadStream};
/// // No allocation: the frame table is an array.
/// let table = [
///     FramedChunk::new(StreamChunk { id: ChunkId::of(b"hello"), source_offset: 0, len: 5 }),
///     FramedChunk::new(StreamChunk { id: ChunkId::of(b" world"), source_offset: 5, len: 6 }),
/// ];
/// let stream = UploadStream::new(table).unwrap();
/// assert_eq!(stream.len(), 32 + 5 + 32 + 6);
/// // Bytes 30..40: the last 2 prefix bytes of frame 0, its 5 payload bytes, 3 bytes of frame 1's prefix.
/// let pieces: Vec<StreamPiece> = stream.pieces(ByteRange::new(30, 40).unwrap()).unwrap().collect();
/// assert_eq!(pieces.len(), 3);
/// assert!(matches!(&pieces[0], StreamPiece::Prefix(p) if p.len() == 2));
/// assert_eq!(pieces[1], StreamPiece::Source(ByteRange::new(0, 5).unwrap()));
/// assert!(matches!(&pieces[2], StreamPiece::Prefix(p) if p.len() == 3));
/// ```
#[derive(Clone, Debug)]
pub struct UploadStream<S> {
    frames: S,
    len: u64,
}

impl<S: AsRef<[FramedChunk]>> UploadStream<S> {
    /// Lays out the chunks in `frames` in their order (setting each `stream_offset`).
    pub fn new(mut frames: S) -> Result<Self, StreamError>
    where
        S: AsMut<[FramedChunk]>,
    {
        let mut offset = 0u64;
        for (index, frame) in frames.as_mut().iter_mut().enumerate() {
            if frame
                .chunk
                .source_offset
                .checked_add(frame.chunk.len)
                .is_none()
            {
                return Err(StreamError::SourceOverflow { index });
            }
            frame.stream_offset = offset;
            offset = offset
                .checked_add(CHUNK_PREFIX_LEN as u64)
                .and_then(|o| o.checked_add(frame.chunk.len))
                .ok_or(StreamError::TooLong)?;
        }
        Ok(UploadStream {
            frames,
            len: offset,
        })
    }

    /// The stream's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the stream is empty (no chunks).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The frames, in stream order.
    pub fn frames(&self) -> &[FramedChunk] {
        self.frames.as_ref()
    }

    /// The index of the frame holding stream byte `offset`, if the stream has that byte.
    pub fn frame_at(&self, offset: u64) -> Option<usize> {
        let frames = self.frames.as_ref();
        let index = frames.partition_point(|f| f.stream_end() <= offset);
        (index < frames.len()).then_some(index)
    }

    /// The pieces that make up `range` of the stream, in order.
    pub fn pieces(&self, range: ByteRange) -> Result<StreamPieces<'_>, StreamError> {
        if range.end() > self.len {
            return Err(StreamError::OutOfRange {
                range,
                stream_len: self.len,
            });
        }
        let index = self.frame_at(range.start()).unwrap_or(0);
        Ok(StreamPieces {
            frames: self.frames.as_ref(),
            index,
            position: range.start(),
            end: range.end(),
        })
    }
}

#[cfg(feature = "alloc")]
impl UploadStream<alloc::vec::Vec<FramedChunk>> {
    /// Lays out `chunks` in order, in a table on the heap.
    ///
    /// ```
    /// use resumable_core::wopi::{ChunkId, StreamChunk, UploadStream};
    /// let stream = UploadStream::from_chunks([StreamChunk { id: ChunkId::of(b"abc"), source_offset: 0, len: 3 }]).unwrap();
    /// assert_eq!(stream.len(), 35);
    /// ```
    pub fn from_chunks(chunks: impl IntoIterator<Item = StreamChunk>) -> Result<Self, StreamError> {
        UploadStream::new(chunks.into_iter().map(FramedChunk::new).collect())
    }
}

#[cfg(feature = "alloc")]
impl<S: AsRef<[FramedChunk]>> UploadStream<S> {
    /// The segments that make up `range` of the stream, for a [`Body::Segments`](crate::http::Body::Segments).
    ///
    /// ```
    /// use resumable_core::http::{Body, Segment};
    /// use resumable_core::range::ByteRange;
    /// use resumable_core::wopi::{ChunkId, StreamChunk, UploadStream};
    /// let source = b"hello world";
    /// let stream = UploadStream::from_chunks([
    ///     StreamChunk { id: ChunkId::of(b"hello"), source_offset: 0, len: 5 },
    ///     StreamChunk { id: ChunkId::of(b" world"), source_offset: 5, len: 6 },
    /// ]).unwrap();
    /// // The engine sends bytes 30..45 in one UpdateUploadSession.
    /// let range = ByteRange::new(30, 45).unwrap();
    /// let body = Body::Segments(stream.segments(range).unwrap());
    /// assert_eq!(body.len(), 15);
    /// // The transport reads Source segments from the file; together they are those stream bytes.
    /// let mut sent = Vec::new();
    /// let Body::Segments(segments) = body else { unreachable!() };
    /// for segment in segments {
    ///     match segment {
    ///         Segment::Inline(bytes) => sent.extend_from_slice(&bytes),
    ///         Segment::Source(r) => sent.extend_from_slice(&source[r.start() as usize..r.end() as usize]),
    ///     }
    /// }
    /// assert_eq!(sent, stream.materialise(source).unwrap()[30..45]);
    /// ```
    pub fn segments(
        &self,
        range: ByteRange,
    ) -> Result<alloc::vec::Vec<crate::http::Segment>, StreamError> {
        use crate::http::Segment;
        let mut out = alloc::vec::Vec::new();
        for piece in self.pieces(range)? {
            match piece {
                StreamPiece::Prefix(bytes) => {
                    // Zero-length chunks put prefixes side by side: send them as one piece.
                    if let Some(Segment::Inline(last)) = out.last_mut() {
                        let mut joined = alloc::vec::Vec::with_capacity(last.len() + bytes.len());
                        joined.extend_from_slice(last);
                        joined.extend_from_slice(&bytes);
                        *last = bytes::Bytes::from(joined);
                    } else {
                        out.push(Segment::Inline(bytes::Bytes::copy_from_slice(&bytes)));
                    }
                }
                StreamPiece::Source(range) => out.push(Segment::Source(range)),
            }
        }
        Ok(out)
    }

    /// The whole stream as bytes, given the source. For tests, tools and small files: it holds
    /// the stream in memory, which the segment map exists to avoid. `None` if a chunk's range is
    /// outside `source`.
    pub fn materialise(&self, source: &[u8]) -> Option<alloc::vec::Vec<u8>> {
        let mut out = alloc::vec::Vec::with_capacity(usize::try_from(self.len).ok()?);
        for frame in self.frames.as_ref() {
            let start = usize::try_from(frame.chunk.source_offset).ok()?;
            let end = start.checked_add(usize::try_from(frame.chunk.len).ok()?)?;
            out.extend_from_slice(&frame.chunk.prefix().encode());
            out.extend_from_slice(source.get(start..end)?);
        }
        Some(out)
    }
}

/// The pieces of one range of an [`UploadStream`], in order.
#[derive(Clone, Debug)]
pub struct StreamPieces<'a> {
    frames: &'a [FramedChunk],
    index: usize,
    position: u64,
    end: u64,
}

impl Iterator for StreamPieces<'_> {
    type Item = StreamPiece;

    fn next(&mut self) -> Option<StreamPiece> {
        while self.position < self.end {
            let frame = self.frames.get(self.index)?;
            let payload_start = frame.stream_offset + CHUNK_PREFIX_LEN as u64;
            let frame_end = frame.stream_end();
            if self.position >= frame_end {
                self.index += 1;
                continue;
            }
            let stop = self.end.min(frame_end);
            if self.position < payload_start {
                let from = (self.position - frame.stream_offset) as usize;
                let to = (stop.min(payload_start) - frame.stream_offset) as usize;
                self.position += (to - from) as u64;
                return Some(StreamPiece::Prefix(
                    frame.chunk.prefix().encode().sliced(from..to),
                ));
            }
            let source_start = frame.chunk.source_offset + (self.position - payload_start);
            let len = stop - self.position;
            self.position = stop;
            // `len` > 0 because position < stop, and the source end was checked at layout.
            return ByteRange::with_len(source_start, len).map(StreamPiece::Source);
        }
        None
    }
}

#[cfg(test)]
mod tests;
