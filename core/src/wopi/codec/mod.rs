//! WOPI frames, SpookyHash V2 ChunkIds and the framed upload stream (SPEC 2).
//!
//! | item | what it is | needs |
//! |---|---|---|
//! | [`spooky`] | SpookyHash V2 128-bit, streaming and one-shot | — |
//! | [`ChunkId`] | a chunk's hash, base64 in JSON | — |
//! | [`FramePrefix`], [`FrameHeader`], [`ChunkRange`] | the frame codec; the encoder writes prefixes into the caller's buffer | — |
//! | [`FrameDecoder`] | incremental decoder with limits and ordering rules | — (`Bytes` payloads with `alloc`) |
//! | [`UploadStream`] | byte ranges of the upload-session stream as prefix bytes and source ranges | — (`Segment`s with `alloc`) |
//! | [`BufferedDecoder`] | frames from a body arriving in pieces (a host's upload session) | `alloc` |
//! | [`PutChunkedFileMessage`], [`put_chunked_file_body`], [`decode_put_chunked_file`] | the `PutChunkedFile` body | `alloc` |
//!
//! Who uses what:
//!
//! - **A client** (the WOPI upload engine) chunks the file, lays the chunks out with
//!   [`UploadStream`], sends ranges of it with [`UploadStream::segments`] in `UpdateUploadSession`
//!   requests, and commits with [`put_chunked_file_body`].
//! - **A host** (the emulator) feeds each `UpdateUploadSession` body to one [`BufferedDecoder`]
//!   per session and stores the chunks it yields; it takes `PutChunkedFile` bodies apart with
//!   [`decode_put_chunked_file`].
//!
//! The encoder never copies payloads, the decoder hands out payloads without copying them, and
//! the segment map never holds file bytes: frames cost header bytes only.

#[cfg(feature = "alloc")]
mod buffered_decoder;
mod chunk_id;
mod decoder;
mod frame;
#[cfg(feature = "alloc")]
mod message;
#[cfg(feature = "alloc")]
mod put_chunked_file;
pub mod spooky;
mod upload_stream;

#[cfg(feature = "alloc")]
pub use buffered_decoder::BufferedDecoder;
pub use chunk_id::{CHUNK_ID_BASE64_LEN, CHUNK_ID_LEN, ChunkId, ChunkIdError};
pub use decoder::{
    BodyKind, DecodeError, DecodeErrorKind, Decoded, DecoderConfig, Frame, FrameDecoder,
    PrefixDecoded,
};
pub use frame::{
    CHUNK_PREFIX_LEN, ChunkRange, EncodedPrefix, FRAME_HEADER_LEN, FrameError, FrameHeader,
    FrameKind, FramePrefix, FrameType, MAX_PREFIX_LEN,
};
#[cfg(feature = "alloc")]
pub use message::{
    ChunkSignature, ChunkingScheme, ContentProperty, MAIN_CONTENT, PutChunkedFileMessage,
    Retention, StreamSignature,
};
#[cfg(feature = "alloc")]
pub use put_chunked_file::{
    DecodedPutChunkedFile, PutChunkedFileError, decode_put_chunked_file, put_chunked_file_body,
};
pub use upload_stream::{
    FramedChunk, StreamChunk, StreamError, StreamPiece, StreamPieces, UploadStream,
};
