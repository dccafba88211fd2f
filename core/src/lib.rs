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
//! | [`time`] | [`Instant`](time::Instant) (caller-supplied, monotonic), [`UnixTime`](time::UnixTime), RFC 3339 and HTTP-date parsing |
//! | [`range`] | [`ByteRange`](range::ByteRange), `nextExpectedRanges` items, [`ContentRange`](range::ContentRange) |
//! | [`range_set`] | [`RangeSet`](range_set::RangeSet): the ranges the server still lacks, fixed capacity |
//! | [`chunk`] | [`FragmentRule`](chunk::FragmentRule)s per target and the [`ChunkPlanner`](chunk::ChunkPlanner) |
//! | [`retry`] | status classification, backoff with jitter, retry budgets, `Retry-After` |
//! | [`buffer`] | [`BufferTooSmall`](buffer::BufferTooSmall): encoders write into caller-owned buffers |
//! | `http` (alloc) | the requests the machines describe and the answers they are fed |
//! | `machine` (alloc) | the `StateMachine` trait: the driver-loop contract |
//! | `secret` (alloc) | `Secret` and `SecretUrl`, which never print whole |
//! | [`wopi`] | WOPI frames, SpookyHash V2 [`ChunkId`](wopi::ChunkId)s, the framed upload stream, `PutChunkedFile` bodies |
//! | `workbook` (alloc) | the Graph workbook-session machine: creation (also long-running), keep-alive, recreation, close |
//!
//! ## Time
//!
//! The crate never calls `Instant::now()`. Every `handle_*` and `poll_*` method takes
//! `now: Instant`, milliseconds on the caller's monotonic clock. Tests therefore run an hour of
//! retries in microseconds by moving `now` forward to the next deadline.
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

pub mod buffer;
pub mod chunk;
#[cfg(feature = "alloc")]
#[doc(hidden)]
pub mod fuzz_targets;
#[cfg(feature = "alloc")]
pub mod http;
#[cfg(feature = "alloc")]
pub mod machine;
pub mod range;
pub mod range_set;
pub mod retry;
#[cfg(feature = "alloc")]
pub mod secret;
pub mod time;
pub mod wopi;
#[cfg(feature = "alloc")]
pub mod workbook;
