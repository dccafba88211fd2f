//! The incremental frame decoder: any split of the input in, whole frames out.
//!
//! [`FrameDecoder`] reads frames from the front of a buffer the caller owns. It answers
//! [`Decoded::Partial`] (with the input length it needs) until a whole frame is there, then
//! [`Decoded::Frame`] with the payload as a borrowed slice ([`FrameDecoder::decode`], no
//! allocation) or as a zero-copy [`bytes::Bytes`] slice of the caller's buffer
//! ([`FrameDecoder::decode_bytes`], with `alloc`). The caller drops the frame's
//! [`encoded_len`](Frame::encoded_len) bytes from the front of its input and calls again.
//!
//! Nothing declared in a header is trusted. As soon as the 16-byte header is in, the decoder
//! checks the type, the extended-header size, the payload size against the configured limit and
//! the frame's place in the body, so a header claiming a 2^63-byte payload is refused at once,
//! before anything is allocated or waited for. Errors carry the byte offset of the frame at fault.
//!
//! Bodies have ordering rules ([`BodyKind`]): a `PutChunkedFile` body is `MessageJSON`, then
//! `Chunk` frames, then `EndFrame` (anything after it is ignored); an upload-session stream is
//! `Chunk` frames only. Each `Chunk` payload's SpookyHash is checked against its ChunkId unless
//! [`DecoderConfig::with_chunk_id_verification`] turns that off.
//!
//! For bodies that arrive in several pieces (an upload-session stream sent over many
//! `UpdateUploadSession` requests, ranges not aligned to frames) see
//! [`BufferedDecoder`](super::BufferedDecoder), which keeps the pieces and this decoder's state
//! between requests.

use core::fmt;
use core::ops::Range;

use super::chunk_id::ChunkId;
use super::frame::{FRAME_HEADER_LEN, FrameError, FrameHeader, FrameKind, FramePrefix, FrameType};

/// Which body the frames form, and so which ordering rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// `MessageJSON` first, then `Chunk` frames, then `EndFrame`; data after `EndFrame` ignored.
    PutChunkedFile,
    /// The upload-session binary stream: `Chunk` frames only (no `MessageJSON`, no `EndFrame`).
    UploadSessionStream,
    /// Any valid frames in any order (for inspecting captures); `EndFrame` still ends the body.
    Unordered,
}

impl fmt::Display for BodyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BodyKind::PutChunkedFile => "PutChunkedFile body",
            BodyKind::UploadSessionStream => "upload-session stream",
            BodyKind::Unordered => "frame sequence",
        })
    }
}

/// What the decoder accepts.
///
/// ```
/// use resumable_core::wopi::{BodyKind, DecoderConfig};
/// let config = DecoderConfig::new(BodyKind::UploadSessionStream)
///     .with_max_payload_len(8 << 20)
///     .with_chunk_id_verification(false);
/// assert_eq!(config.max_payload_len, 8 << 20);
/// assert!(!config.verify_chunk_ids);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderConfig {
    /// The ordering rules.
    pub body: BodyKind,
    /// Largest `Chunk`/`ChunkRange` payload accepted. With `FullFile` chunking one chunk is a
    /// whole stream, so hosts that take large files raise this.
    pub max_payload_len: u64,
    /// Largest `MessageJSON` payload accepted.
    pub max_message_len: u64,
    /// Whether each `Chunk` payload is hashed and compared with its ChunkId.
    pub verify_chunk_ids: bool,
}

impl DecoderConfig {
    /// The default payload limit: 64 MiB.
    pub const DEFAULT_MAX_PAYLOAD_LEN: u64 = 64 << 20;
    /// The default `MessageJSON` limit: 1 MiB.
    pub const DEFAULT_MAX_MESSAGE_LEN: u64 = 1 << 20;

    /// Default limits and ChunkId verification on, for `body`.
    pub const fn new(body: BodyKind) -> Self {
        DecoderConfig {
            body,
            max_payload_len: Self::DEFAULT_MAX_PAYLOAD_LEN,
            max_message_len: Self::DEFAULT_MAX_MESSAGE_LEN,
            verify_chunk_ids: true,
        }
    }

    /// Sets [`max_payload_len`](Self::max_payload_len).
    pub const fn with_max_payload_len(mut self, max: u64) -> Self {
        self.max_payload_len = max;
        self
    }

    /// Sets [`max_message_len`](Self::max_message_len).
    pub const fn with_max_message_len(mut self, max: u64) -> Self {
        self.max_message_len = max;
        self
    }

    /// Turns ChunkId verification on or off (off skips hashing every payload byte).
    pub const fn with_chunk_id_verification(mut self, verify: bool) -> Self {
        self.verify_chunk_ids = verify;
        self
    }
}

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame<P> {
    /// Byte offset of the frame's first header byte in the whole body or stream.
    pub offset: u64,
    /// Type and extended header.
    pub kind: FrameKind,
    /// The payload: `&[u8]` or `Bytes`, pointing into the caller's input.
    pub payload: P,
}

impl<P: AsRef<[u8]>> Frame<P> {
    /// The frame's prefix (header and extended header).
    pub fn prefix(&self) -> FramePrefix {
        FramePrefix {
            kind: self.kind,
            payload_len: self.payload.as_ref().len() as u64,
        }
    }

    /// Bytes of input the frame took: prefix plus payload. Drop this many from the front of the
    /// input before decoding the next frame.
    pub fn encoded_len(&self) -> usize {
        self.prefix().len() + self.payload.as_ref().len()
    }
}

/// What one decoding step found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded<P> {
    /// A whole frame at the front of the input.
    Frame(Frame<P>),
    /// The input holds no whole frame yet; decoding can go on once it is `needed` bytes long.
    Partial {
        /// Input length needed for the next step (not always the whole frame: first the header,
        /// then the prefix, then the frame).
        needed: usize,
    },
    /// The body has ended (`EndFrame` was decoded); input after it is ignored.
    Done,
}

/// What [`FrameDecoder::decode_prefix`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixDecoded {
    /// A frame prefix, checked; its payload follows in the input.
    Prefix {
        /// Byte offset of the frame in the whole body or stream.
        offset: u64,
        /// The prefix.
        prefix: FramePrefix,
    },
    /// Decoding can go on once the input is `needed` bytes long.
    Partial {
        /// Input length needed.
        needed: usize,
    },
    /// The body has ended.
    Done,
}

/// Why a body was refused, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset, in the whole body or stream, of the frame at fault (or where input ended).
    pub offset: u64,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

/// What is wrong with a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The frame prefix itself is invalid.
    Frame(FrameError),
    /// A payload larger than the configured limit (or than this machine can address).
    PayloadTooLarge {
        /// The frame's type.
        frame_type: FrameType,
        /// The declared payload size.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A `PutChunkedFile` body that does not begin with `MessageJSON`.
    MissingMessageJson,
    /// A `MessageJSON` frame after the first frame of a `PutChunkedFile` body.
    MessageJsonNotFirst,
    /// A frame type this body may not carry.
    FrameNotAllowed {
        /// The frame's type.
        frame_type: FrameType,
        /// The body it appeared in.
        body: BodyKind,
    },
    /// A `Chunk` payload whose SpookyHash differs from its ChunkId.
    ChunkIdMismatch {
        /// The ChunkId in the frame.
        declared: ChunkId,
        /// The ChunkId of the payload.
        actual: ChunkId,
    },
    /// The input ended inside a frame.
    Truncated {
        /// Bytes of that frame present.
        available: u64,
    },
    /// A `PutChunkedFile` body that ended without `EndFrame`.
    MissingEndFrame,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte offset {}: {}", self.offset, self.kind)
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::Frame(e) => write!(f, "{e}"),
            DecodeErrorKind::PayloadTooLarge {
                frame_type,
                len,
                max,
            } => write!(
                f,
                "{frame_type} frame declares a {len}-byte payload; the limit is {max}"
            ),
            DecodeErrorKind::MissingMessageJson => {
                f.write_str("a PutChunkedFile body must begin with a MessageJSON frame")
            }
            DecodeErrorKind::MessageJsonNotFirst => {
                f.write_str("MessageJSON is allowed only as the first frame")
            }
            DecodeErrorKind::FrameNotAllowed { frame_type, body } => {
                write!(f, "a {body} may not contain a {frame_type} frame")
            }
            DecodeErrorKind::ChunkIdMismatch { declared, actual } => write!(
                f,
                "Chunk payload hashes to {actual}, but the frame names it {declared}"
            ),
            DecodeErrorKind::Truncated { available } => {
                write!(
                    f,
                    "input ends inside a frame ({available} bytes of it present)"
                )
            }
            DecodeErrorKind::MissingEndFrame => {
                f.write_str("the PutChunkedFile body ends without an EndFrame")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// The incremental decoder. Keeps the ordering state and the byte offset between calls; holds
/// no input.
///
/// ```
/// use resumable_core::wopi::{BodyKind, ChunkId, Decoded, DecoderConfig, FrameDecoder, FrameKind, FramePrefix};
/// // A one-chunk upload-session stream: a 32-byte prefix and the payload.
/// let chunk = b"SomeRandomText";
/// let mut stream = [0u8; 46];
/// let n = FramePrefix::chunk(ChunkId::of(chunk), 14).write_to(&mut stream).unwrap();
/// stream[n..].copy_from_slice(chunk);
///
/// let mut decoder = FrameDecoder::new(DecoderConfig::new(BodyKind::UploadSessionStream));
/// assert_eq!(decoder.decode(&stream[..20]).unwrap(), Decoded::Partial { needed: 32 });
/// assert_eq!(decoder.decode(&stream[..40]).unwrap(), Decoded::Partial { needed: 46 });
/// let Decoded::Frame(frame) = decoder.decode(&stream).unwrap() else { panic!() };
/// assert_eq!(frame.kind, FrameKind::Chunk(ChunkId::of(chunk)));
/// assert_eq!(frame.payload, chunk);
/// assert_eq!(frame.encoded_len(), 46);
/// assert_eq!(decoder.offset(), 46);
/// ```
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    config: DecoderConfig,
    /// Bytes of the body consumed by decoded frames.
    offset: u64,
    /// Frames decoded.
    frames: u64,
    /// `EndFrame` seen.
    done: bool,
    /// The first error; every later call returns it again.
    failed: Option<DecodeError>,
}

enum PrefixStep {
    Ready(FramePrefix),
    Partial(usize),
    Done,
}

enum Located {
    Frame(Frame<Range<usize>>),
    Partial(usize),
    Done,
}

impl FrameDecoder {
    /// A decoder at the start of a body.
    pub const fn new(config: DecoderConfig) -> Self {
        FrameDecoder {
            config,
            offset: 0,
            frames: 0,
            done: false,
            failed: None,
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Bytes of the body consumed by the frames decoded so far.
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Frames decoded so far.
    pub const fn frames(&self) -> u64 {
        self.frames
    }

    /// Whether `EndFrame` has been decoded.
    pub const fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes the frame at the front of `input`, its payload borrowed from `input`.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<&'a [u8]>, DecodeError> {
        Ok(match self.locate(input)? {
            Located::Frame(frame) => Decoded::Frame(Frame {
                offset: frame.offset,
                kind: frame.kind,
                payload: &input[frame.payload],
            }),
            Located::Partial(needed) => Decoded::Partial { needed },
            Located::Done => Decoded::Done,
        })
    }

    /// Decodes the frame at the front of `input`, its payload a zero-copy slice of `input`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use resumable_core::wopi::{BodyKind, ChunkId, Decoded, DecoderConfig, FrameDecoder, FramePrefix};
    /// let mut body = FramePrefix::chunk(ChunkId::of(b"abc"), 3).encode().to_vec();
    /// body.extend_from_slice(b"abc");
    /// let body = Bytes::from(body);
    /// let mut decoder = FrameDecoder::new(DecoderConfig::new(BodyKind::UploadSessionStream));
    /// let Decoded::Frame(frame) = decoder.decode_bytes(&body).unwrap() else { panic!() };
    /// assert_eq!(frame.payload, Bytes::from_static(b"abc"));
    /// assert_eq!(frame.payload.as_ptr(), body[32..].as_ptr()); // not copied
    /// ```
    #[cfg(feature = "alloc")]
    pub fn decode_bytes(
        &mut self,
        input: &bytes::Bytes,
    ) -> Result<Decoded<bytes::Bytes>, DecodeError> {
        Ok(match self.locate(input)? {
            Located::Frame(frame) => Decoded::Frame(Frame {
                offset: frame.offset,
                kind: frame.kind,
                payload: input.slice(frame.payload),
            }),
            Located::Partial(needed) => Decoded::Partial { needed },
            Located::Done => Decoded::Done,
        })
    }

    /// Decodes only the prefix at the front of `input`, for callers that stream payloads too
    /// large to hold (a `FullFile` chunk of a large file). The decoder counts the frame as
    /// consumed: the caller must take the next `prefix.payload_len` bytes after the prefix as its
    /// payload before decoding again. ChunkIds are not verified here (the payload is not seen);
    /// hash the payload with [`SpookyHasher`](super::spooky::SpookyHasher) as it streams past.
    ///
    /// ```
    /// use resumable_core::wopi::{BodyKind, ChunkId, DecoderConfig, FrameDecoder, FramePrefix, PrefixDecoded};
    /// let prefix = FramePrefix::chunk(ChunkId::of(b"abc"), 3);
    /// let mut decoder = FrameDecoder::new(DecoderConfig::new(BodyKind::UploadSessionStream));
    /// assert_eq!(decoder.decode_prefix(&prefix.encode()).unwrap(),
    ///            PrefixDecoded::Prefix { offset: 0, prefix });
    /// assert_eq!(decoder.offset(), 35);
    /// ```
    pub fn decode_prefix(&mut self, input: &[u8]) -> Result<PrefixDecoded, DecodeError> {
        Ok(match self.read_prefix(input)? {
            PrefixStep::Ready(prefix) => {
                let offset = self.offset;
                let frame_len = prefix.frame_len().unwrap_or(u64::MAX);
                self.commit(prefix.kind.frame_type(), frame_len);
                PrefixDecoded::Prefix { offset, prefix }
            }
            PrefixStep::Partial(needed) => PrefixDecoded::Partial { needed },
            PrefixStep::Done => PrefixDecoded::Done,
        })
    }

    /// Says whether the body may end here, with `unconsumed` bytes of input left undecoded.
    ///
    /// An upload-session stream may end between any two frames; a `PutChunkedFile` body must
    /// have reached its `EndFrame` (after which leftovers are ignored).
    ///
    /// ```
    /// use resumable_core::wopi::{BodyKind, DecodeErrorKind, DecoderConfig, FrameDecoder};
    /// let decoder = FrameDecoder::new(DecoderConfig::new(BodyKind::PutChunkedFile));
    /// assert_eq!(decoder.finish(0).unwrap_err().kind, DecodeErrorKind::MissingMessageJson);
    /// let stream = FrameDecoder::new(DecoderConfig::new(BodyKind::UploadSessionStream));
    /// assert!(stream.finish(0).is_ok());
    /// assert_eq!(stream.finish(5).unwrap_err().kind, DecodeErrorKind::Truncated { available: 5 });
    /// ```
    pub fn finish(&self, unconsumed: u64) -> Result<(), DecodeError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if self.done {
            return Ok(());
        }
        let error = |kind| DecodeError {
            offset: self.offset,
            kind,
        };
        if unconsumed > 0 {
            return Err(error(DecodeErrorKind::Truncated {
                available: unconsumed,
            }));
        }
        match self.config.body {
            BodyKind::PutChunkedFile if self.frames == 0 => {
                Err(error(DecodeErrorKind::MissingMessageJson))
            }
            BodyKind::PutChunkedFile => Err(error(DecodeErrorKind::MissingEndFrame)),
            BodyKind::UploadSessionStream | BodyKind::Unordered => Ok(()),
        }
    }

    fn locate(&mut self, input: &[u8]) -> Result<Located, DecodeError> {
        let prefix = match self.read_prefix(input)? {
            PrefixStep::Ready(prefix) => prefix,
            PrefixStep::Partial(needed) => return Ok(Located::Partial(needed)),
            PrefixStep::Done => return Ok(Located::Done),
        };
        let start = prefix.len();
        let end = usize::try_from(prefix.payload_len)
            .ok()
            .and_then(|len| len.checked_add(start));
        let Some(end) = end else {
            return Err(self.fail(DecodeErrorKind::PayloadTooLarge {
                frame_type: prefix.kind.frame_type(),
                len: prefix.payload_len,
                max: (usize::MAX - start) as u64,
            }));
        };
        let Some(payload) = input.get(start..end) else {
            return Ok(Located::Partial(end));
        };
        if let FrameKind::Chunk(declared) = prefix.kind
            && self.config.verify_chunk_ids
        {
            let actual = ChunkId::of(payload);
            if actual != declared {
                return Err(self.fail(DecodeErrorKind::ChunkIdMismatch { declared, actual }));
            }
        }
        let offset = self.offset;
        self.commit(prefix.kind.frame_type(), end as u64);
        Ok(Located::Frame(Frame {
            offset,
            kind: prefix.kind,
            payload: start..end,
        }))
    }

    /// Reads and checks the prefix at the front of `input` without consuming it.
    fn read_prefix(&mut self, input: &[u8]) -> Result<PrefixStep, DecodeError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if self.done {
            return Ok(PrefixStep::Done);
        }
        let Some((header, rest)) = input.split_first_chunk::<FRAME_HEADER_LEN>() else {
            return Ok(PrefixStep::Partial(FRAME_HEADER_LEN));
        };
        // Everything the fixed header decides is checked before waiting for more input.
        let header =
            FrameHeader::parse(header).map_err(|e| self.fail(DecodeErrorKind::Frame(e)))?;
        self.check_order(header.frame_type)?;
        self.check_limit(&header)?;
        match FramePrefix::parse_extended(header, rest) {
            Ok(Some(prefix)) => Ok(PrefixStep::Ready(prefix)),
            Ok(None) => Ok(PrefixStep::Partial(
                FRAME_HEADER_LEN + header.frame_type.extended_len(),
            )),
            Err(e) => Err(self.fail(DecodeErrorKind::Frame(e))),
        }
    }

    fn check_order(&mut self, frame_type: FrameType) -> Result<(), DecodeError> {
        let first = self.frames == 0;
        let refusal = match (self.config.body, frame_type) {
            (BodyKind::Unordered, _) => None,
            (BodyKind::PutChunkedFile, FrameType::MessageJson) if first => None,
            (BodyKind::PutChunkedFile, _) if first => Some(DecodeErrorKind::MissingMessageJson),
            (BodyKind::PutChunkedFile, FrameType::MessageJson) => {
                Some(DecodeErrorKind::MessageJsonNotFirst)
            }
            (BodyKind::PutChunkedFile, FrameType::Chunk | FrameType::EndFrame) => None,
            (BodyKind::UploadSessionStream, FrameType::Chunk) => None,
            (body, frame_type) => Some(DecodeErrorKind::FrameNotAllowed { frame_type, body }),
        };
        match refusal {
            Some(kind) => Err(self.fail(kind)),
            None => Ok(()),
        }
    }

    fn check_limit(&mut self, header: &FrameHeader) -> Result<(), DecodeError> {
        let max = match header.frame_type {
            FrameType::MessageJson => self.config.max_message_len,
            _ => self.config.max_payload_len,
        };
        if header.payload_len > max {
            return Err(self.fail(DecodeErrorKind::PayloadTooLarge {
                frame_type: header.frame_type,
                len: header.payload_len,
                max,
            }));
        }
        Ok(())
    }

    fn commit(&mut self, frame_type: FrameType, frame_len: u64) {
        self.offset = self.offset.saturating_add(frame_len);
        self.frames += 1;
        if frame_type == FrameType::EndFrame {
            self.done = true;
        }
    }

    fn fail(&mut self, kind: DecodeErrorKind) -> DecodeError {
        let err = DecodeError {
            offset: self.offset,
            kind,
        };
        self.failed = Some(err);
        err
    }
}

#[cfg(test)]
mod tests;
