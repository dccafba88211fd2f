//! WOPI frames: types, the 16-byte header, the typed extended headers, and the encoder.
//!
//! A frame is a 16-byte header (big-endian `u32` type, `u32` extended-header size, `u64` payload
//! size), then the extended header, then the payload (SPEC 2.1). This module calls the header plus
//! the extended header the frame's *prefix*: it is all the encoder writes. Payloads stay where
//! the caller has them: a frame on the wire is `prefix bytes ++ caller's payload`.
//!
//! The codec contract: [`FramePrefix::write_to`] writes exactly [`FramePrefix::len`] bytes or, if
//! the buffer is shorter, reports the size it needs and leaves the buffer untouched;
//! [`FramePrefix::parse`] never panics on any input and never trusts a declared size.

use core::fmt;
use core::ops::Deref;

use super::chunk_id::{CHUNK_ID_LEN, ChunkId};
use crate::buffer::BufferTooSmall;

/// Length of the fixed frame header.
pub const FRAME_HEADER_LEN: usize = 16;
/// Length of the longest prefix (a `ChunkRange` frame: 16 + 36).
pub const MAX_PREFIX_LEN: usize = FRAME_HEADER_LEN + CHUNK_RANGE_LEN;
/// Length of a `Chunk` frame's prefix (16 + the ChunkId).
pub const CHUNK_PREFIX_LEN: usize = FRAME_HEADER_LEN + CHUNK_ID_LEN;
/// Length of a `ChunkRange` extended header.
const CHUNK_RANGE_LEN: usize = 36;

/// The frame types. Type 0 is undefined and never valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameType {
    /// Ends a `PutChunkedFile` body; no extended header, no payload.
    EndFrame = 1,
    /// UTF-8 JSON of the request or response message; no extended header.
    MessageJson = 2,
    /// A whole chunk; the extended header is its ChunkId.
    Chunk = 3,
    /// Part of a chunk; the extended header says which part.
    ChunkRange = 4,
}

impl FrameType {
    /// The type with this wire value, if it is one.
    ///
    /// ```
    /// use resumable_core::wopi::FrameType;
    /// assert_eq!(FrameType::from_u32(3), Some(FrameType::Chunk));
    /// assert_eq!(FrameType::from_u32(0), None);
    /// ```
    pub const fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(FrameType::EndFrame),
            2 => Some(FrameType::MessageJson),
            3 => Some(FrameType::Chunk),
            4 => Some(FrameType::ChunkRange),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn to_u32(self) -> u32 {
        self as u32
    }

    /// The extended-header size this type requires.
    pub const fn extended_len(self) -> usize {
        match self {
            FrameType::EndFrame | FrameType::MessageJson => 0,
            FrameType::Chunk => CHUNK_ID_LEN,
            FrameType::ChunkRange => CHUNK_RANGE_LEN,
        }
    }

    /// The name the protocol uses.
    pub const fn name(self) -> &'static str {
        match self {
            FrameType::EndFrame => "EndFrame",
            FrameType::MessageJson => "MessageJSON",
            FrameType::Chunk => "Chunk",
            FrameType::ChunkRange => "ChunkRange",
        }
    }
}

impl fmt::Display for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fixed 16-byte frame header, validated: a defined type, the extended-header size that type
/// requires, and the declared payload size (not trusted for anything but arithmetic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// The frame type.
    pub frame_type: FrameType,
    /// The declared payload size.
    pub payload_len: u64,
}

impl FrameHeader {
    /// The 16 wire bytes.
    ///
    /// ```
    /// use resumable_core::wopi::{FrameHeader, FrameType};
    /// let header = FrameHeader { frame_type: FrameType::Chunk, payload_len: 5 };
    /// assert_eq!(header.encode(), [0, 0, 0, 3, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 5]);
    /// assert_eq!(FrameHeader::parse(&header.encode()), Ok(header));
    /// ```
    pub const fn encode(&self) -> [u8; FRAME_HEADER_LEN] {
        let t = self.frame_type.to_u32().to_be_bytes();
        let e = (self.frame_type.extended_len() as u32).to_be_bytes();
        let p = self.payload_len.to_be_bytes();
        [
            t[0], t[1], t[2], t[3], e[0], e[1], e[2], e[3], p[0], p[1], p[2], p[3], p[4], p[5],
            p[6], p[7],
        ]
    }

    /// Reads and validates a header.
    ///
    /// ```
    /// use resumable_core::wopi::{FrameError, FrameHeader};
    /// let undefined = [0u8; 16];
    /// assert_eq!(FrameHeader::parse(&undefined), Err(FrameError::UndefinedType));
    /// let mut bad_ext = [0, 0, 0, 3, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0];
    /// assert!(matches!(FrameHeader::parse(&bad_ext), Err(FrameError::ExtendedLength { .. })));
    /// ```
    pub fn parse(bytes: &[u8; FRAME_HEADER_LEN]) -> Result<Self, FrameError> {
        let [
            t0,
            t1,
            t2,
            t3,
            e0,
            e1,
            e2,
            e3,
            p0,
            p1,
            p2,
            p3,
            p4,
            p5,
            p6,
            p7,
        ] = *bytes;
        let ty = u32::from_be_bytes([t0, t1, t2, t3]);
        let ext = u32::from_be_bytes([e0, e1, e2, e3]);
        let payload_len = u64::from_be_bytes([p0, p1, p2, p3, p4, p5, p6, p7]);
        let frame_type = match ty {
            0 => return Err(FrameError::UndefinedType),
            t => FrameType::from_u32(t).ok_or(FrameError::UnknownType(t))?,
        };
        if ext as usize != frame_type.extended_len() || ext > CHUNK_RANGE_LEN as u32 {
            return Err(FrameError::ExtendedLength {
                frame_type,
                declared: ext,
            });
        }
        if frame_type == FrameType::EndFrame && payload_len != 0 {
            return Err(FrameError::EndFramePayload(payload_len));
        }
        Ok(FrameHeader {
            frame_type,
            payload_len,
        })
    }
}

/// The extended header of a `ChunkRange` frame: which part of which chunk the payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkRange {
    /// The chunk.
    pub id: ChunkId,
    /// Where in the chunk the payload starts.
    pub offset: u64,
    /// How many bytes of the chunk the payload holds (equal to the payload size).
    pub len: u64,
    /// Whether the payload reaches the end of the chunk (the `EndOfChunk` flag, wire value 1).
    pub end_of_chunk: bool,
}

impl ChunkRange {
    /// The wire value of the `EndOfChunk` flag.
    pub const END_OF_CHUNK: u32 = 1;

    /// The 36 wire bytes: ChunkId, offset, length, flags (integers big-endian).
    pub fn encode(&self) -> [u8; CHUNK_RANGE_LEN] {
        let mut out = [0u8; CHUNK_RANGE_LEN];
        out[..16].copy_from_slice(self.id.as_bytes());
        out[16..24].copy_from_slice(&self.offset.to_be_bytes());
        out[24..32].copy_from_slice(&self.len.to_be_bytes());
        let flags = if self.end_of_chunk {
            Self::END_OF_CHUNK
        } else {
            0
        };
        out[32..].copy_from_slice(&flags.to_be_bytes());
        out
    }

    /// Reads the 36 wire bytes; refuses unknown flags and ranges whose end overflows.
    ///
    /// ```
    /// use resumable_core::wopi::{ChunkId, ChunkRange};
    /// let range = ChunkRange { id: ChunkId::of(b"abc"), offset: 1, len: 2, end_of_chunk: true };
    /// assert_eq!(ChunkRange::parse(&range.encode()), Ok(range));
    /// ```
    pub fn parse(bytes: &[u8; CHUNK_RANGE_LEN]) -> Result<Self, FrameError> {
        // Fixed offsets into a fixed-size array: the compiler checks these at build time.
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[..16]);
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&bytes[16..24]);
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[24..32]);
        let mut flags = [0u8; 4];
        flags.copy_from_slice(&bytes[32..36]);
        let offset = u64::from_be_bytes(offset);
        let len = u64::from_be_bytes(len);
        let end_of_chunk = match u32::from_be_bytes(flags) {
            0 => false,
            Self::END_OF_CHUNK => true,
            other => return Err(FrameError::ChunkRangeFlags(other)),
        };
        if offset.checked_add(len).is_none() {
            return Err(FrameError::ChunkRangeOverflow);
        }
        Ok(ChunkRange {
            id: ChunkId::from_bytes(id),
            offset,
            len,
            end_of_chunk,
        })
    }
}

/// A frame's type together with its extended header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// `EndFrame`.
    EndFrame,
    /// `MessageJSON`.
    MessageJson,
    /// `Chunk` with its ChunkId.
    Chunk(ChunkId),
    /// `ChunkRange` with its range.
    ChunkRange(ChunkRange),
}

impl FrameKind {
    /// The frame type.
    pub const fn frame_type(&self) -> FrameType {
        match self {
            FrameKind::EndFrame => FrameType::EndFrame,
            FrameKind::MessageJson => FrameType::MessageJson,
            FrameKind::Chunk(_) => FrameType::Chunk,
            FrameKind::ChunkRange(_) => FrameType::ChunkRange,
        }
    }

    /// The ChunkId, for `Chunk` and `ChunkRange` frames.
    pub const fn chunk_id(&self) -> Option<ChunkId> {
        match self {
            FrameKind::Chunk(id) => Some(*id),
            FrameKind::ChunkRange(range) => Some(range.id),
            FrameKind::EndFrame | FrameKind::MessageJson => None,
        }
    }
}

/// Everything in front of a frame's payload: the header and the extended header.
///
/// ```
/// use resumable_core::wopi::{ChunkId, FramePrefix};
/// let chunk = b"SomeRandomText";
/// let prefix = FramePrefix::chunk(ChunkId::of(chunk), chunk.len() as u64);
/// let mut buf = [0u8; 64];
/// let n = prefix.write_to(&mut buf).unwrap();
/// assert_eq!(n, 32);
/// assert_eq!(&buf[..4], &[0, 0, 0, 3]);
/// // The frame on the wire is these 32 bytes followed by the caller's 14 payload bytes.
/// assert_eq!(FramePrefix::parse(&buf[..n]).unwrap(), Some(prefix));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FramePrefix {
    /// The type and extended header.
    pub kind: FrameKind,
    /// The payload size.
    pub payload_len: u64,
}

impl FramePrefix {
    /// The prefix of the `EndFrame`.
    pub const fn end_frame() -> Self {
        FramePrefix {
            kind: FrameKind::EndFrame,
            payload_len: 0,
        }
    }

    /// The prefix of a `MessageJSON` frame carrying `json_len` bytes.
    pub const fn message_json(json_len: u64) -> Self {
        FramePrefix {
            kind: FrameKind::MessageJson,
            payload_len: json_len,
        }
    }

    /// The prefix of a `Chunk` frame for a chunk of `len` bytes named `id`.
    pub const fn chunk(id: ChunkId, len: u64) -> Self {
        FramePrefix {
            kind: FrameKind::Chunk(id),
            payload_len: len,
        }
    }

    /// The prefix of a `ChunkRange` frame (its payload size is the range's length).
    pub const fn chunk_range(range: ChunkRange) -> Self {
        FramePrefix {
            kind: FrameKind::ChunkRange(range),
            payload_len: range.len,
        }
    }

    /// The fixed header.
    pub const fn header(&self) -> FrameHeader {
        FrameHeader {
            frame_type: self.kind.frame_type(),
            payload_len: self.payload_len,
        }
    }

    /// Bytes the prefix takes on the wire: 16, 32 or 52.
    pub const fn len(&self) -> usize {
        FRAME_HEADER_LEN + self.kind.frame_type().extended_len()
    }

    /// Always `false`: a prefix is at least 16 bytes.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Bytes the whole frame takes (prefix and payload), or `None` if that overflows `u64`.
    pub const fn frame_len(&self) -> Option<u64> {
        self.payload_len.checked_add(self.len() as u64)
    }

    /// Writes the prefix into the front of `buf` and returns its length, or says how many bytes
    /// it needs without touching `buf`.
    ///
    /// ```
    /// use resumable_core::wopi::FramePrefix;
    /// let mut small = [7u8; 8];
    /// assert_eq!(FramePrefix::end_frame().write_to(&mut small).unwrap_err().needed, 16);
    /// assert_eq!(small, [7u8; 8]);
    /// ```
    #[inline]
    pub fn write_to(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        // One fixed-size arm per prefix length: the copies compile to a few stores, with no
        // length checks left (this runs once per frame on the upload path).
        let header = self.header().encode();
        match &self.kind {
            FrameKind::EndFrame | FrameKind::MessageJson => {
                write_fixed::<FRAME_HEADER_LEN>(buf, |dst| *dst = header)
            }
            FrameKind::Chunk(id) => write_fixed::<CHUNK_PREFIX_LEN>(buf, |dst| {
                let (head, ext) = dst.split_at_mut(FRAME_HEADER_LEN);
                head.copy_from_slice(&header);
                ext.copy_from_slice(id.as_bytes());
            }),
            FrameKind::ChunkRange(range) => write_fixed::<MAX_PREFIX_LEN>(buf, |dst| {
                let (head, ext) = dst.split_at_mut(FRAME_HEADER_LEN);
                head.copy_from_slice(&header);
                ext.copy_from_slice(&range.encode());
            }),
        }
    }

    /// The prefix bytes in a small inline buffer.
    ///
    /// ```
    /// use resumable_core::wopi::FramePrefix;
    /// assert_eq!(&*FramePrefix::message_json(2).encode(), &[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    /// ```
    pub fn encode(&self) -> EncodedPrefix {
        let mut bytes = [0u8; MAX_PREFIX_LEN];
        // MAX_PREFIX_LEN holds every prefix, so this cannot fail.
        let len = self.write_to(&mut bytes).unwrap_or(0);
        EncodedPrefix {
            bytes,
            start: 0,
            end: len as u8,
        }
    }

    /// Reads a prefix from the front of `input`: `Ok(None)` while `input` is too short to tell
    /// (see [`FramePrefix::needed`]), an error as soon as the 16-byte header shows one (without
    /// waiting for the extended header).
    ///
    /// ```
    /// use resumable_core::wopi::{FrameError, FramePrefix};
    /// assert_eq!(FramePrefix::parse(&[0, 0, 0, 1]), Ok(None));
    /// assert_eq!(FramePrefix::parse(&[0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    ///            Err(FrameError::UnknownType(9)));
    /// ```
    pub fn parse(input: &[u8]) -> Result<Option<Self>, FrameError> {
        let Some((header, rest)) = input.split_first_chunk::<FRAME_HEADER_LEN>() else {
            return Ok(None);
        };
        FramePrefix::parse_extended(FrameHeader::parse(header)?, rest)
    }

    /// The rest of [`FramePrefix::parse`], for callers that have parsed the header already:
    /// `rest` is the input after the 16 header bytes.
    pub(crate) fn parse_extended(
        header: FrameHeader,
        rest: &[u8],
    ) -> Result<Option<Self>, FrameError> {
        let kind = match header.frame_type {
            FrameType::EndFrame => FrameKind::EndFrame,
            FrameType::MessageJson => FrameKind::MessageJson,
            FrameType::Chunk => match rest.split_first_chunk::<CHUNK_ID_LEN>() {
                Some((id, _)) => FrameKind::Chunk(ChunkId::from_bytes(*id)),
                None => return Ok(None),
            },
            FrameType::ChunkRange => match rest.split_first_chunk::<CHUNK_RANGE_LEN>() {
                Some((range, _)) => {
                    let range = ChunkRange::parse(range)?;
                    if range.len != header.payload_len {
                        return Err(FrameError::ChunkRangeLength {
                            range_len: range.len,
                            payload_len: header.payload_len,
                        });
                    }
                    FrameKind::ChunkRange(range)
                }
                None => return Ok(None),
            },
        };
        Ok(Some(FramePrefix {
            kind,
            payload_len: header.payload_len,
        }))
    }

    /// How many bytes of input [`FramePrefix::parse`] needs to decide, given what it has: 16
    /// until the header is there, then the header's full prefix length.
    pub fn needed(input: &[u8]) -> usize {
        match input.split_first_chunk::<FRAME_HEADER_LEN>() {
            Some((header, _)) => match FrameHeader::parse(header) {
                Ok(header) => FRAME_HEADER_LEN + header.frame_type.extended_len(),
                Err(_) => FRAME_HEADER_LEN,
            },
            None => FRAME_HEADER_LEN,
        }
    }
}

/// Hands `write` the first `N` bytes of `buf` as an array, or reports that `N` are needed.
#[inline(always)]
fn write_fixed<const N: usize>(
    buf: &mut [u8],
    write: impl FnOnce(&mut [u8; N]),
) -> Result<usize, BufferTooSmall> {
    match buf.first_chunk_mut::<N>() {
        Some(dst) => {
            write(dst);
            Ok(N)
        }
        None => Err(BufferTooSmall { needed: N }),
    }
}

/// A frame prefix, or part of one, in a small inline buffer (no allocation): dereferences to its
/// bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncodedPrefix {
    bytes: [u8; MAX_PREFIX_LEN],
    start: u8,
    end: u8,
}

impl EncodedPrefix {
    /// The bytes `range` of this one (clamped to it).
    ///
    /// ```
    /// use resumable_core::wopi::FramePrefix;
    /// let prefix = FramePrefix::end_frame().encode();
    /// assert_eq!(&*prefix.sliced(2..4), &[0, 1]);
    /// assert_eq!(&*prefix.sliced(2..4).sliced(1..9), &[1]);
    /// ```
    pub fn sliced(mut self, range: core::ops::Range<usize>) -> Self {
        let len = usize::from(self.end - self.start);
        let to = range.end.min(len);
        let from = range.start.min(to);
        // Both are at most MAX_PREFIX_LEN, which fits in a byte.
        self.end = self.start + to as u8;
        self.start += from as u8;
        self
    }
}

impl Deref for EncodedPrefix {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[usize::from(self.start)..usize::from(self.end)]
    }
}

impl AsRef<[u8]> for EncodedPrefix {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl fmt::Debug for EncodedPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncodedPrefix({} bytes)", self.len())
    }
}

/// Why a frame prefix was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Type 0, which the protocol leaves undefined.
    UndefinedType,
    /// A type value the protocol does not define.
    UnknownType(u32),
    /// The extended-header size is not the one the type requires.
    ExtendedLength {
        /// The frame's type.
        frame_type: FrameType,
        /// The size the header declared.
        declared: u32,
    },
    /// An `EndFrame` that declares a payload.
    EndFramePayload(u64),
    /// A `ChunkRange` with flags other than 0 and `EndOfChunk`.
    ChunkRangeFlags(u32),
    /// A `ChunkRange` whose offset plus length overflows.
    ChunkRangeOverflow,
    /// A `ChunkRange` whose length differs from the frame's payload size.
    ChunkRangeLength {
        /// The length in the extended header.
        range_len: u64,
        /// The payload size in the frame header.
        payload_len: u64,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::UndefinedType => f.write_str("frame type 0 is undefined"),
            FrameError::UnknownType(t) => write!(f, "unknown frame type {t}"),
            FrameError::ExtendedLength {
                frame_type,
                declared,
            } => write!(
                f,
                "{frame_type} frame declares a {declared}-byte extended header; it must be {}",
                frame_type.extended_len()
            ),
            FrameError::EndFramePayload(n) => write!(f, "EndFrame declares a {n}-byte payload"),
            FrameError::ChunkRangeFlags(flags) => write!(f, "unknown ChunkRange flags {flags:#x}"),
            FrameError::ChunkRangeOverflow => f.write_str("ChunkRange offset + length overflows"),
            FrameError::ChunkRangeLength {
                range_len,
                payload_len,
            } => write!(
                f,
                "ChunkRange length {range_len} differs from its payload size {payload_len}"
            ),
        }
    }
}

impl core::error::Error for FrameError {}

#[cfg(test)]
mod tests;
