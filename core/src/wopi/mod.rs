//! WOPI upload sessions (SPEC 2) as a sans-IO state machine, [`WopiUpload`]: the WOPI dialect
//! of the upload engine, driven by the same loop as the Graph [`Upload`](crate::graph::Upload).
//!
//! # Life of a WOPI upload
//!
//! 1. **The caller chunks and hashes** each stream of the file (`MainContent`, alternates) and
//!    puts the ChunkIds and lengths in a [`WopiConfig`] ([`WopiStream::main_content`] for the
//!    usual one-stream `FullFile` case: one SpookyHash of the whole file). The engine lays out
//!    the framed session stream from them: a `Chunk` frame (32-byte prefix, then the chunk's
//!    bytes) for each distinct chunk the host does not hold yet.
//! 2. **Create the session** ([`WopiState::CreatingSession`]): `POST {file}` with
//!    `X-WOPI-Override: CREATE_UPLOAD_SESSION`; the answer's `UploadSessionToken` names it.
//! 3. **Send the stream in order** ([`WopiState::Uploading`]): `POST {file}` with
//!    `X-WOPI-Override: UPDATE_UPLOAD_SESSION`, the token, `X-WOPI-ContentRangeOffset` (the
//!    host's offset) and `X-WOPI-ContentRangeLength`; the body is that byte range of the stream
//!    as [`Body::Segments`](crate::http::Body::Segments): frame-prefix bytes inline, chunk bytes
//!    as ranges of the source the transport reads. Range sizes come from a
//!    [`ChunkPlanner`](crate::chunk::ChunkPlanner) under
//!    [`FragmentRule::WOPI_UPLOAD_SESSION`](crate::chunk::FragmentRule::WOPI_UPLOAD_SESSION)
//!    ([`WopiConfig::range_size`], fixed or adaptive). One update at a time: each answer's
//!    `X-WOPI-UploadSessionCurrentOffset` is where the next starts. The host's word beats local
//!    counting: a host that stored part of a range answers with a shorter offset, and the next
//!    range starts there.
//! 4. **Commit** ([`WopiState::Committing`]): `POST {file}/contents` with
//!    `X-WOPI-Override: PUT_CHUNKED_FILE`, `X-WOPI-SequenceNumber` and `X-WOPI-Lock` or
//!    `X-WOPI-CoauthLockId` if configured; the body is `MessageJSON` (every stream's signature,
//!    the `FullFile` scheme and `UploadSessionTokenToCommit`), then the `Chunk` frames the host
//!    has neither in the session nor from before (none, normally: a chunk the session holds is
//!    never re-sent), then `EndFrame`. A `200` ends the upload with the host's new
//!    `X-WOPI-SequenceNumber` and `X-WOPI-ItemVersion` ([`WopiCompletion`]).
//!
//! # Choices where the protocol leaves room
//!
//! **Learning the host's offset after an unclear outcome.** WOPI has no status request. After
//! a timeout, a lost connection or a `5xx` without an offset, the engine sends a *probe*: an
//! ordinary update of [`WopiConfig::probe_len`] bytes (1 by default) at the last offset the host
//! confirmed. A host that stored nothing takes it and answers its new offset; a host that
//! stored the lost range, or part of it, refuses it with `400` and its
//! `X-WOPI-UploadSessionCurrentOffset`, and the stream goes on from there. Either way one small
//! request settles it, no range is ever sent past the host's offset, and at most the probe's
//! bytes go twice (refused, never stored twice). A probe refused with a `400` that gives no
//! offset leaves the position unknowable: the engine starts the stream again in a new session
//! ([`WopiSessionLoss::PositionUnknown`]). A probe refused at its own offset is asked again
//! after a backoff: the host may still be taking in the update whose answer was lost, and
//! hosts refuse an update while another of the same session runs. A `400` with another offset
//! outside a probe is followed the same way as on a probe; a `400` with the same offset, or
//! none, is fatal (the request was malformed).
//!
//! **Sliding expiry.** A session lives [`WopiConfig::session_lifetime`] (30 minutes) after its
//! last successful update, counted from when that update was *sent* so the engine's deadline is
//! never later than the host's ([`WopiUpload::expires_at`]). When the caller pauses
//! ([`WopiUpload::pause`]), or a `412` waits for the caller, the session is idle. WOPI has no
//! refresh operation, so with [`WopiConfig::keep_alive`] on the engine keeps it alive the only
//! way every host must accept: a minimal update ([`WopiConfig::probe_len`] bytes of the stream)
//! sent [`WopiConfig::expiry_margin`] before the expiry ([`WopiEvent::KeptAlive`]); it moves
//! the upload on by that much. If the host has the whole stream already, the keep-alive is an
//! empty update, which some hosts may refuse: then, or with keep-alive off, the engine warns
//! ([`WopiEvent::ExpiryWarning`]) at the same moment instead. A session that lapses, or answers
//! `410 Gone`, is replaced by a new one and the stream starts again from its first byte, within
//! [`WopiConfig::max_sessions`].
//!
//! **The commit's answers.** `409` (lock mismatch) is fatal and carries the host's
//! `X-WOPI-Lock` and `X-WOPI-ConflictingMechanism` ([`WopiError::LockMismatch`]). `412`
//! (sequence-number mismatch) reports the host's number ([`WopiEvent::SequenceConflict`]) and
//! follows [`WopiConfig::on_sequence_conflict`]: fail, ask the caller, or commit again with the
//! host's number. A commit whose answer was lost is sent again; if it had in fact succeeded the
//! host consumed the session (`410`: the stream goes again in a new session) or moved its
//! sequence number (`412`), and the event says the host's version may be this upload's own. `413`
//! is fatal. `501` to `CreateUploadSession` falls back to one `PutChunkedFile` with every chunk
//! inline ([`WopiEvent::FallingBack`]). The host's `X-WOPI-FailureReason` is carried into every
//! error and retry event, cut short, for logs.
//!
//! **Secrets.** The file URL carries the `access_token`: it is a
//! [`SecretUrl`](crate::secret::SecretUrl). The session token and the locks are
//! [`Secret`](crate::secret::Secret)s and go in [`Header::sensitive`](crate::http::Header)
//! headers; the `MessageJSON` holding the token is an inline segment, which prints as its size.
//! Events, errors and checkpoints' `Debug` never show them.
//!
//! # The driver loop
//!
//! The whole loop with a closure standing in for HTTP: a tiny WOPI host that decodes the
//! session stream with the project's frame decoder and stores the file on commit.
//!
//! ```
//! use std::collections::HashMap;
//!
//! use bytes::Bytes;
//! use resumable_core::chunk::FragmentSizing;
//! use resumable_core::wopi::{WopiConfig, WopiEvent, WopiStream, WopiUpload};
//! use resumable_core::http::{Body, Request, Response, Segment};
//! use resumable_core::session::StateMachine;
//! use resumable_core::time::Instant;
//! use resumable_core::wopi::{
//!     BodyKind, BufferedDecoder, ChunkId, DecoderConfig, FrameKind, decode_put_chunked_file,
//! };
//!
//! let file: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
//!
//! // The transport hashes the file first: FullFile makes it one chunk.
//! let main = WopiStream::main_content(ChunkId::of(&file), file.len() as u64);
//! let mut config = WopiConfig::new(vec![main]);
//! config.range_size = FragmentSizing::Fixed(64 * 1024);
//! config.sequence_number = 1;
//!
//! // The stand-in host: one session whose stream it decodes as it arrives.
//! let mut stream = BufferedDecoder::new(DecoderConfig::new(BodyKind::UploadSessionStream));
//! let mut offset = 0u64;
//! let mut chunks: HashMap<ChunkId, Bytes> = HashMap::new();
//! let mut stored: Option<Vec<u8>> = None;
//! let mut host = |request: &Request, body: Bytes| -> Response {
//!     let at_offset = |offset: u64| {
//!         Response::new(200).with_header("X-WOPI-UploadSessionCurrentOffset", offset.to_string())
//!     };
//!     match request.header("X-WOPI-Override") {
//!         Some("CREATE_UPLOAD_SESSION") => {
//!             Response::new(200).with_body(r#"{"UploadSessionToken":"session-1"}"#)
//!         }
//!         Some("UPDATE_UPLOAD_SESSION") => {
//!             let start: u64 = request.header("X-WOPI-ContentRangeOffset").unwrap().parse().unwrap();
//!             if start != offset {
//!                 let mut refusal = at_offset(offset);
//!                 refusal.status = 400;
//!                 return refusal;
//!             }
//!             offset += body.len() as u64;
//!             stream.push(body);
//!             while let Some(frame) = stream.next_frame().unwrap() {
//!                 if let FrameKind::Chunk(id) = frame.kind {
//!                     chunks.insert(id, frame.payload);
//!                 }
//!             }
//!             at_offset(offset)
//!         }
//!         Some("PUT_CHUNKED_FILE") => {
//!             let commit = decode_put_chunked_file(&body, DecoderConfig::new(BodyKind::PutChunkedFile))
//!                 .unwrap();
//!             chunks.extend(commit.chunks);
//!             let main = commit.message.main_content().unwrap();
//!             let file = main.chunk_signatures.iter().flat_map(|c| chunks[&c.chunk_id].to_vec());
//!             stored = Some(file.collect());
//!             Response::new(200)
//!                 .with_header("X-WOPI-SequenceNumber", "2")
//!                 .with_header("X-WOPI-ItemVersion", "v2")
//!         }
//!         _ => Response::new(501),
//!     }
//! };
//!
//! let url = "https://host.example/wopi/files/42?access_token=secret";
//! let mut upload = WopiUpload::create(url, config, Instant::ZERO)?;
//! let mut now = Instant::ZERO; // a real transport reads its monotonic clock here
//! let mut version = None;
//! while !upload.is_finished() {
//!     // Send what the machine asks for, streaming the body: prefixes inline, chunk bytes read
//!     // from the file. (A real transport sends with `upload.time_limit(&request)` as the
//!     // time limit and reports a timeout with `handle_transport_error`.)
//!     while let Some(request) = upload.poll_request(now) {
//!         let mut body = Vec::new();
//!         if let Body::Segments(segments) = &request.body {
//!             for segment in segments {
//!                 match segment {
//!                     Segment::Inline(bytes) => body.extend_from_slice(bytes),
//!                     Segment::Source(range) => {
//!                         body.extend_from_slice(&file[range.start() as usize..range.end() as usize])
//!                     }
//!                 }
//!             }
//!         }
//!         let answer = host(&request, Bytes::from(body));
//!         upload.handle_response(now, request.id, answer);
//!     }
//!     // Report what happened.
//!     while let Some(event) = upload.poll_event() {
//!         match event {
//!             WopiEvent::Acknowledged { confirmed, total, .. } => {
//!                 // Show progress; persist `upload.checkpoint().to_bytes()` to survive a crash.
//!                 assert!(confirmed <= total);
//!             }
//!             WopiEvent::Completed(done) => version = done.item_version,
//!             WopiEvent::Failed(error) => panic!("{error}"),
//!             _ => {}
//!         }
//!     }
//!     // Sleep until the next deadline (retry waits, keep-alives, expiry), then say so.
//!     if let Some(deadline) = upload.poll_timeout() {
//!         now = now.max(deadline);
//!         upload.handle_timeout(now);
//!     }
//! }
//! drop(host);
//! assert_eq!(stored.as_deref(), Some(&file[..]));
//! assert_eq!(version.as_deref(), Some("v2"));
//! # Ok::<(), resumable_core::wopi::WopiError>(())
//! ```

#[cfg(feature = "alloc")]
mod answers;
#[cfg(feature = "alloc")]
mod checkpoint;
mod codec;
#[cfg(feature = "alloc")]
mod config;
#[cfg(feature = "alloc")]
mod dialect;
#[cfg(feature = "alloc")]
mod error;
#[cfg(feature = "alloc")]
mod event;
#[cfg(feature = "alloc")]
mod file_streams;
#[cfg(feature = "alloc")]
mod requests;
#[cfg(feature = "alloc")]
mod session;
#[cfg(feature = "alloc")]
mod start;
#[cfg(feature = "alloc")]
mod state;
#[cfg(feature = "alloc")]
mod upload;
#[cfg(feature = "alloc")]
mod verdict;

#[cfg(feature = "alloc")]
pub use checkpoint::{WopiCheckpoint, WopiStage};
pub use codec::*;
#[cfg(feature = "alloc")]
pub use config::{SequenceConflictPolicy, WopiConfig};
#[cfg(feature = "alloc")]
pub use error::{ConfigError, WopiError};
#[cfg(feature = "alloc")]
pub use event::{WopiCompletion, WopiEvent, WopiSessionLoss};
#[cfg(feature = "alloc")]
pub use file_streams::WopiStream;
#[cfg(feature = "alloc")]
pub use start::{CommitSettings, WopiStartPlan, check_start, plan_start, stored_checkpoint};
#[cfg(feature = "alloc")]
pub use state::WopiState;
#[cfg(feature = "alloc")]
pub use upload::WopiUpload;

#[cfg(all(test, feature = "alloc"))]
mod tests;
