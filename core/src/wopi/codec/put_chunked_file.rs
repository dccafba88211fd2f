//! `PutChunkedFile` bodies: built as segments by a client, decoded whole by a host.
//!
//! A body is `MessageJSON`, then a `Chunk` frame for each chunk the host does not have yet, then
//! `EndFrame` (SPEC 2.3). [`put_chunked_file_body`] describes one as [`Segment`]s, so chunk bytes
//! are read from the source by the transport and never held; [`decode_put_chunked_file`] takes
//! one apart on the host side, checking every rule the decoder knows plus the message's own.

use alloc::vec::Vec;
use core::fmt;

use bytes::{Bytes, BytesMut};

use super::chunk_id::ChunkId;
use super::decoder::{BodyKind, DecodeError, Decoded, DecoderConfig, FrameDecoder};
use super::frame::{FrameKind, FramePrefix};
use super::message::PutChunkedFileMessage;
use super::upload_stream::StreamChunk;
use crate::http::Segment;
use crate::range::ByteRange;

/// Why a `PutChunkedFile` body could not be built or was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum PutChunkedFileError {
    /// The message has no `MainContent` signature.
    MissingMainContent,
    /// A `Chunk` frame (to send, or received) whose ChunkId no signature lists.
    UnlistedChunk(ChunkId),
    /// A chunk's source range overflows.
    SourceOverflow(ChunkId),
    /// The frames are malformed.
    Frame(DecodeError),
    /// The `MessageJSON` payload is not the expected JSON.
    Json(serde_json::Error),
}

impl fmt::Display for PutChunkedFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutChunkedFileError::MissingMainContent => {
                f.write_str("the message has no MainContent signature")
            }
            PutChunkedFileError::UnlistedChunk(id) => {
                write!(f, "chunk {id} is in no stream's signature")
            }
            PutChunkedFileError::SourceOverflow(id) => {
                write!(f, "chunk {id}'s source range overflows")
            }
            PutChunkedFileError::Frame(e) => write!(f, "malformed frames {e}"),
            PutChunkedFileError::Json(e) => write!(f, "malformed MessageJSON: {e}"),
        }
    }
}

impl core::error::Error for PutChunkedFileError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            PutChunkedFileError::Frame(e) => Some(e),
            PutChunkedFileError::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DecodeError> for PutChunkedFileError {
    fn from(e: DecodeError) -> Self {
        PutChunkedFileError::Frame(e)
    }
}

/// Describes a `PutChunkedFile` body: `message`, a `Chunk` frame for each of `inline_chunks`
/// (the chunks the host lacks, bytes read from the source), `EndFrame`.
///
/// Frame prefixes and the JSON are inline; chunk bytes are [`Segment::Source`] ranges. Adjacent
/// inline bytes are joined, so the list alternates inline and source pieces.
///
/// ```
/// use resumable_core::http::{Body, Segment};
/// use resumable_core::range::ByteRange;
/// use resumable_core::secret::Secret;
/// use resumable_core::wopi::{put_chunked_file_body, ChunkId, PutChunkedFileMessage, StreamChunk, StreamSignature};
///
/// // FullFile: the whole 11-byte file is one chunk; the upload session already holds it, so
/// // the body carries no chunk bytes, only the message and EndFrame.
/// let id = ChunkId::of(b"hello world");
/// let message = PutChunkedFileMessage::new(vec![StreamSignature::full_file("MainContent", id, 11)])
///     .with_session_token(Secret::new("token"));
/// let segments = put_chunked_file_body(&message, &[]).unwrap();
/// assert_eq!(segments.len(), 1);
///
/// // Without a session, the chunk goes inline: read from source bytes 0..11.
/// let message = PutChunkedFileMessage::new(vec![StreamSignature::full_file("MainContent", id, 11)]);
/// let chunk = StreamChunk { id, source_offset: 0, len: 11 };
/// let segments = put_chunked_file_body(&message, &[chunk]).unwrap();
/// assert_eq!(segments[1], Segment::Source(ByteRange::new(0, 11).unwrap()));
/// assert!(matches!(&segments[2], Segment::Inline(end) if end.len() == 16));
/// let body = Body::Segments(segments);
/// ```
pub fn put_chunked_file_body(
    message: &PutChunkedFileMessage,
    inline_chunks: &[StreamChunk],
) -> Result<Vec<Segment>, PutChunkedFileError> {
    if message.main_content().is_none() {
        return Err(PutChunkedFileError::MissingMainContent);
    }
    let json = serde_json::to_vec(message).map_err(PutChunkedFileError::Json)?;
    let mut segments = Vec::with_capacity(2 * inline_chunks.len() + 2);
    let mut inline = BytesMut::with_capacity(json.len() + 64);
    inline.extend_from_slice(&FramePrefix::message_json(json.len() as u64).encode());
    inline.extend_from_slice(&json);
    for chunk in inline_chunks {
        if !is_listed(message, chunk.id) {
            return Err(PutChunkedFileError::UnlistedChunk(chunk.id));
        }
        inline.extend_from_slice(&chunk.prefix().encode());
        if chunk.len > 0 {
            let range = ByteRange::with_len(chunk.source_offset, chunk.len)
                .ok_or(PutChunkedFileError::SourceOverflow(chunk.id))?;
            segments.push(Segment::Inline(inline.split().freeze()));
            segments.push(Segment::Source(range));
        }
    }
    inline.extend_from_slice(&FramePrefix::end_frame().encode());
    segments.push(Segment::Inline(inline.freeze()));
    Ok(segments)
}

fn is_listed(message: &PutChunkedFileMessage, id: ChunkId) -> bool {
    message
        .signatures
        .iter()
        .flat_map(|s| &s.chunk_signatures)
        .any(|c| c.chunk_id == id)
}

/// A `PutChunkedFile` body taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedPutChunkedFile {
    /// The message.
    pub message: PutChunkedFileMessage,
    /// The inline chunks, in body order, each payload a zero-copy slice of the body.
    pub chunks: Vec<(ChunkId, Bytes)>,
    /// Bytes up to and including `EndFrame` (anything after it was ignored).
    pub len: u64,
}

/// Decodes a whole `PutChunkedFile` body, as a host does: frame rules (with `config`'s limits
/// and verification; its body kind is taken to be `PutChunkedFile`), a JSON message with a
/// `MainContent` signature, and every inline chunk listed in some signature.
///
/// ```
/// use bytes::Bytes;
/// use resumable_core::http::Segment;
/// use resumable_core::wopi::*;
/// let source = b"hello world";
/// let id = ChunkId::of(source);
/// let message = PutChunkedFileMessage::new(vec![StreamSignature::full_file("MainContent", id, 11)]);
/// let segments = put_chunked_file_body(&message, &[StreamChunk { id, source_offset: 0, len: 11 }]).unwrap();
/// let mut body = Vec::new();
/// for s in &segments {
///     match s {
///         Segment::Inline(b) => body.extend_from_slice(b),
///         Segment::Source(r) => body.extend_from_slice(&source[r.start() as usize..r.end() as usize]),
///     }
/// }
/// let decoded = decode_put_chunked_file(&Bytes::from(body), DecoderConfig::new(BodyKind::PutChunkedFile)).unwrap();
/// assert_eq!(decoded.message, message);
/// assert_eq!(decoded.chunks, vec![(id, Bytes::from_static(b"hello world"))]);
/// ```
pub fn decode_put_chunked_file(
    body: &Bytes,
    config: DecoderConfig,
) -> Result<DecodedPutChunkedFile, PutChunkedFileError> {
    let mut decoder = FrameDecoder::new(DecoderConfig {
        body: BodyKind::PutChunkedFile,
        ..config
    });
    let mut rest = body.clone();
    let mut message = None;
    let mut chunks = Vec::new();
    // Stops at `Partial` (the body ran out: `finish` says whether that is allowed) or `Done`.
    while let Decoded::Frame(frame) = decoder.decode_bytes(&rest)? {
        rest = rest.slice(frame.encoded_len()..);
        match frame.kind {
            // The decoder lets MessageJSON through only as the first frame.
            FrameKind::MessageJson => {
                let parsed: PutChunkedFileMessage =
                    serde_json::from_slice(&frame.payload).map_err(PutChunkedFileError::Json)?;
                if parsed.main_content().is_none() {
                    return Err(PutChunkedFileError::MissingMainContent);
                }
                message = Some(parsed);
            }
            FrameKind::Chunk(id) => chunks.push((id, frame.payload)),
            FrameKind::EndFrame | FrameKind::ChunkRange(_) => {}
        }
    }
    decoder.finish(rest.len() as u64)?;
    // `finish` succeeded, so the body began with MessageJSON.
    let message = message.ok_or(PutChunkedFileError::MissingMainContent)?;
    if let Some((id, _)) = chunks.iter().find(|(id, _)| !is_listed(&message, *id)) {
        return Err(PutChunkedFileError::UnlistedChunk(*id));
    }
    Ok(DecodedPutChunkedFile {
        message,
        chunks,
        len: decoder.offset(),
    })
}

#[cfg(test)]
mod tests;
