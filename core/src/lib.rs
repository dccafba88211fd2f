//! # resumable-core
//!
//! Sans-IO state machines and codecs for resumable chunked uploads: Microsoft Graph upload
//! sessions (drive items, print documents, mail attachments), WOPI upload sessions and Graph
//! workbook sessions.
//!
//! "Sans-IO" means this crate never touches a socket, a file or a clock. The caller (a
//! *transport*, such as `resumable-reqwest`) feeds the state machines the answers it receives and
//! the current time; they answer with the next request to send, the next deadline and events.
//! That keeps every protocol rule in one place, testable down to the last byte with simulated
//! time, and usable from any HTTP client and any runtime, including `no_std` targets.
//!
//! ## Modules
//!
//! | module | holds |
//! |---|---|
//! | [`time`] | [`Instant`](time::Instant) (caller-supplied, monotonic), [`UnixTime`](time::UnixTime), RFC 3339 and HTTP-date parsing (`time/text.rs`) |
//! | [`range`] | [`ByteRange`](range::ByteRange), `nextExpectedRanges` items, [`ContentRange`](range::ContentRange) |
//! | [`range_set`] | [`RangeSet`](range_set::RangeSet): the ranges the server still lacks, fixed capacity |
//! | [`chunk`] | [`FragmentRule`](chunk::FragmentRule)s per target, [`FragmentSizing`](chunk::FragmentSizing) and the [`ChunkPlanner`](chunk::ChunkPlanner) |
//! | [`rate`] | [`TokenBucket`](rate::TokenBucket): the arithmetic of a bandwidth limit (a client's, an emulated link's) |
//! | [`retry`] | status classification, backoff with jitter, retry budgets, `Retry-After` |
//! | [`buffer`] | [`BufferTooSmall`](buffer::BufferTooSmall): encoders write into caller-owned buffers |
//! | [`digest`] | QuickXorHash, the [`SourceDigest`](digest::SourceDigest) of a source taken from the reads that send it, and (alloc) the check of a stored file against it |
//! | `http` (alloc) | the requests the machines describe and the answers they are fed |
//! | `session` (alloc) | the driver-loop contract (`StateMachine`, `Driven`, `Transfer`), the `Dialect` a protocol implements, and what every machine reports alike: checkpoint envelope errors, failures, violations, resume outcomes |
//! | `wire` (alloc) | the protocols' vocabulary: Graph answer parsing, WOPI header names |
//! | `graph` (alloc) | `Upload`: Graph upload sessions (drive items, print documents, mail attachments), its events, errors, checkpoints and start planning; `SimpleUpload`: a small drive item in one `PUT …:/content`; drive item URLs from a folder and a relative path |
//! | [`wopi`] | the WOPI frame codec (frames, SpookyHash V2 ChunkIds, the framed upload stream, `PutChunkedFile` bodies) and, with `alloc`, `WopiUpload`: WOPI upload sessions, its events, errors, checkpoints and start planning |
//! | `workbook` (alloc) | `WorkbookSession`: Graph workbook sessions: creation (also long-running), keep-alive, recreation, close |
//! | `secret` (alloc) | `Secret` and `SecretUrl`, which never print whole |
//!
//! ## The driver loop
//!
//! Every state machine here (the upload engine's `Upload` among them) is driven the same way,
//! through the `StateMachine` trait:
//!
//! 1. **feed input** with a `handle_*` method and the current time: `handle_response(now, id,
//!    response)` for an answer, `handle_transport_error(now, id, error)` when none came,
//!    `handle_timeout(now)` when the deadline from `poll_timeout` has come;
//! 2. **drain output** until each returns `None`: `poll_request(now)` (the next HTTP exchange, its
//!    body *described*: a JSON document, or a range of the source the transport reads),
//!    `poll_event()` (progress, retries, resyncs, expiry, completion, failure), and read
//!    `poll_timeout()` (when to call `handle_timeout`);
//! 3. **wait** for the first of: an answer to a request in flight, that deadline, or a command
//!    from the user (`cancel`, `commit`), then go to 1.
//!
//! The machine never holds payload bytes. For a fragment it says "bytes 5 242 880 to 15 728 639 of
//! the source"; the transport reads them (again, for a retry), reports their CRC-32 with
//! `record_fragment_crc` so checkpoints can fingerprint the source, and sends them without any
//! transform. It also feeds what it reads to a [`SourceDigest`](digest::SourceDigest), and when
//! the machine waits for the source's hashes (`awaits_source_hashes`: the service named the
//! stored file, whose size and hashes must match the source's before the upload is done), gives
//! them with `set_source_hashes`. Requests to an upload URL carry `Auth::None`: only the session creation (and an
//! explicit commit) carry `Auth::Bearer`, for which the transport attaches the caller's token.
//!
//! Here is the whole loop, with a closure standing in for HTTP (a tiny drive service that stores
//! fragments in order) and virtual time:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use resumable_core::digest::SourceHashes;
//! use resumable_core::graph::{DriveItem, Event, Target, Upload, UploadConfig};
//! use resumable_core::http::{Body, Method, Request, Response, TransportError};
//! use resumable_core::session::{Driven, StateMachine};
//! use resumable_core::time::{Instant, UnixTime, WallClock};
//! use std::time::SystemTime;
//!
//! let file: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
//!
//! // The stand-in for HTTP: session creation, then fragments in order.
//! let mut stored: Vec<u8> = Vec::new();
//! let mut http = |request: &Request, body: &[u8]| -> Result<Response, TransportError> {
//!     Ok(match request.method {
//!         Method::Post => Response::new(200).with_body(
//!             r#"{"uploadUrl":"https://up.example/s1?tempauth=t","nextExpectedRanges":["0-"]}"#,
//!         ),
//!         Method::Put if stored.len() + body.len() == 1_000_000 => {
//!             stored.extend_from_slice(body);
//!             // The item with the hash the service computed of what it stored.
//!             let hash = SourceHashes::of(&stored).quick_xor_base64();
//!             Response::new(201).with_body(format!(
//!                 r#"{{"id":"01","name":"big.bin","size":1000000,"file":{{"hashes":{{"quickXorHash":"{hash}"}}}}}}"#
//!             ))
//!         }
//!         Method::Put => {
//!             stored.extend_from_slice(body);
//!             let next = format!(r#"{{"nextExpectedRanges":["{}-"]}}"#, stored.len());
//!             Response::new(202).with_body(next)
//!         }
//!         _ => Response::new(404),
//!     })
//! };
//!
//! let create_url = "https://graph.microsoft.com/v1.0/me/drive/root:/big.bin:/createUploadSession";
//! let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), file.len() as u64);
//! let mut now = Instant::ZERO; // a real transport reads its monotonic clock here
//! let mut upload = Upload::create(create_url, config, now)?;
//! // And its wall clock, once: expiry times and Retry-After dates are wall-clock times.
//! upload.set_wall_clock(WallClock::new(now, UnixTime::from_system_time(SystemTime::now())));
//! let mut item = None;
//! while !upload.is_finished() {
//!     // The service named the file: give the source's hashes (a real transport computes them
//!     // from the reads that sent the bytes) so the machine can check the stored copy.
//!     if upload.awaits_source_hashes() {
//!         upload.set_source_hashes(now, SourceHashes::of(&file));
//!     }
//!     // Send what the machine asks for. (A real transport sends concurrently, with
//!     // `upload.time_limit(&request)` as the time limit, and feeds answers as they come.)
//!     while let Some(request) = upload.poll_request(now) {
//!         let body: &[u8] = match &request.body {
//!             Body::Source(range) => &file[range.start() as usize..range.end() as usize],
//!             Body::Json(json) => json,
//!             _ => &[],
//!         };
//!         if let Body::Source(_) = request.body {
//!             upload.record_fragment_crc(request.id, resumable_core::crc32fast::hash(body));
//!         }
//!         match http(&request, body) {
//!             Ok(response) => upload.handle_response(now, request.id, response),
//!             Err(error) => upload.handle_transport_error(now, request.id, error),
//!         }
//!     }
//!     // Report what happened.
//!     while let Some(event) = upload.poll_event() {
//!         match event {
//!             Event::Acknowledged { confirmed, total, .. } => {
//!                 // Show progress; persist `upload.checkpoint().to_bytes()` to survive a crash.
//!                 assert!(confirmed <= total);
//!             }
//!             Event::Completed(done) => {
//!                 assert_eq!(done.verification.to_string(), "size and quickXorHash checked");
//!                 item = done.item;
//!             }
//!             Event::Failed(error) => panic!("{error}"),
//!             _ => {}
//!         }
//!     }
//!     // Sleep until the next deadline (retry waits, session expiry), then say so.
//!     if let Some(deadline) = upload.poll_timeout() {
//!         now = now.max(deadline);
//!         upload.handle_timeout(now);
//!     }
//! }
//! drop(http);
//! assert_eq!(stored, file);
//! assert!(item.unwrap().contains("big.bin"));
//! # }
//! # Ok::<(), resumable_core::graph::UploadError>(())
//! ```
//!
//! ## What a transport does
//!
//! Everything else (resume planning, time limits, retries, expiry, what each answer means,
//! when a checkpoint is worth saving, when the upload is proven) is decided here. A transport
//! over any HTTP client, for an upload machine (`session::Transfer`):
//!
//! 1. **Start** with the dialect's planner (`graph::plan_start`, `wopi::plan_start`), handing
//!    in the stored checkpoint's bytes and a way to read a range's CRC-32 (or ChunkId); give the
//!    machine the wall clock once (`anchor`); `DELETE` the session the plan names `abandoned`.
//! 2. **Send** each request `poll_request(now)` gives, as described (method, URL, headers; the
//!    caller's token only on `Auth::Bearer`), its body read from the source as it goes out,
//!    unchanged, and give up on it after `time_limit(&request)`.
//! 3. **Report** a source body's CRC-32 with `body_sent` before its answer, and feed what it
//!    read to a [`SourceDigest`](digest::SourceDigest).
//! 4. **Hand in** the answer (`handle_response`) or its absence (`handle_transport_error`), with
//!    the time, then drain `poll_event` and save `checkpoint_bytes()` (atomically) after each
//!    event `saves_checkpoint` names.
//! 5. **Give the source's hashes** (`give_source_hashes`) when `awaits_source_hashes()`.
//! 6. **Wait** for the first of an answer, `poll_timeout()` (then `handle_timeout`) or the
//!    caller (`cancel_at`, a commit; `abandon` when the caller went away); stop at
//!    `is_finished()`, deleting `session_left_behind()` if the upload failed without a
//!    checkpoint.
//!
//! `resumable-reqwest` (async) and `resumable-ureq` (blocking) are two such transports; one
//! conformance suite runs the same scenarios over both.
//!
//! ## What `Completed` proves
//!
//! `Event::Completed` means the service holds the source's bytes: it comes only after every byte
//! was confirmed in the session's account (an item before the last byte, ranges claiming bytes
//! never sent, or confirmed bytes forgotten are protocol violations, and a service that insists
//! is given up on), and only once the stored file's size and every hash the service reported
//! matched the source's (`Completion::verification` says which). A file found by looking it up
//! after a lost answer must prove it is this upload's, or the upload goes on in a new session.
//! Every loop is bounded: retries (`Retry-After` waits included), time without progress, bytes
//! sent into one session, sessions, violations. See `graph::SessionPolicy` and
//! `retry::RetryPolicy`.
//!
//! What each state asks of the caller is written on `graph::State` (for instance
//! `CommitPending`: call `commit` before the session expires), and what to do on each event on
//! `graph::Event` (for instance `SessionCreated`: persist a checkpoint, it holds the new session
//! URL). Errors (`graph::UploadError`) print as one line that says what happened and what to do.
//!
//! ## Time
//!
//! The crate never calls `Instant::now()`. Every `handle_*` and `poll_*` method, and every
//! command, takes `now: Instant`, milliseconds on the caller's monotonic clock. Tests therefore
//! run an hour of retries in microseconds by moving `now` forward to the next deadline.
//!
//! Servers also write wall-clock times: session expiries and `Retry-After` dates. The machines
//! measure them from the answers' `Date` headers, and otherwise from a wall-clock anchor the
//! transport must give once, right after construction:
//! `machine.set_wall_clock(WallClock::new(now, UnixTime::from_system_time(SystemTime::now())))`.
//! A machine with neither waits the longest `Retry-After` its policy accepts rather than risk
//! retrying early.
//!
//! ## Panics and errors
//!
//! Input from the network is never trusted: malformed headers, ranges, timestamps and frames are
//! typed errors, never panics. Arithmetic on offsets is checked or saturating. A panic in this
//! crate is a bug; please report it with the input that caused it.
//!
//! ## Features
//!
//! - `std` (default): implies `alloc`; lets dependencies use `std`.
//! - `alloc`: the state machines (they keep requests, events and JSON on the heap).
//! - `serde` (default): `Serialize`/`Deserialize` for the public value types.
//! - `http`: conversions between the `http` crate's `Request<()>` and `Response<Bytes>` and
//!   the machines' [`Request`](http::Request) and [`Response`](http::Response) (see `http`);
//!   implies `std`.
//!
//! Without `alloc`, the ranges, range sets, fragment planning, retry rules, time parsing, SpookyHash,
//! ChunkIds, the frame codec and decoder and the upload-stream map work
//! on any target; the crate builds for `thumbv7em-none-eabihf`.
//!
//! ```
//! use resumable_core::chunk::{ChunkPlanner, FragmentRule};
//! use resumable_core::range::{parse_expected_range, ContentRange};
//! use resumable_core::range_set::RangeSet;
//!
//! // The server says it still needs everything from byte 26 of a 4 533 322-byte file.
//! let total = 4_533_322;
//! let gap = parse_expected_range("26-", total).unwrap();
//! let missing = RangeSet::<8>::from_expected([gap], total).unwrap();
//! let planner = ChunkPlanner::new(FragmentRule::GRAPH_DRIVE, 10 * 1024 * 1024);
//! let fragment = planner.next_fragment(&missing).unwrap();
//! let header = ContentRange::new(fragment, total).unwrap();
//! assert_eq!(header.to_string(), "bytes 26-4533321/4533322");
//! ```

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

/// The CRC-32 the machines take for each fragment sent
/// ([`Upload::record_fragment_crc`](graph::Upload::record_fragment_crc)) and keep in
/// checkpoints: re-exported, so a driver computes it with the same crate and version
/// (`resumable_core::crc32fast::hash(bytes)`) without a dependency of its own.
pub use crc32fast;

pub mod buffer;
pub mod chunk;
pub mod digest;
#[cfg(feature = "alloc")]
#[doc(hidden)]
pub mod fuzz_targets;
#[cfg(feature = "alloc")]
pub mod graph;
#[cfg(feature = "alloc")]
pub mod http;
#[cfg(feature = "http")]
pub mod http_convert;
#[cfg(feature = "alloc")]
mod json;
pub mod range;
pub mod range_set;
pub mod rate;
pub mod retry;
#[cfg(feature = "alloc")]
pub mod secret;
#[cfg(feature = "alloc")]
pub mod session;
pub mod time;
#[cfg(feature = "alloc")]
pub mod tus;
#[cfg(feature = "alloc")]
pub mod wire;
pub mod wopi;
#[cfg(feature = "alloc")]
pub mod workbook;
