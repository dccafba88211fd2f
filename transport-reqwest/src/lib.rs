//! # resumable-reqwest
//!
//! An async transport for [`resumable_core`]: it sends the requests the core's state machines
//! describe over [`reqwest`], reads fragment bytes from a [`Source`](source::Source) just in time,
//! sleeps until the machines' deadlines on [`tokio`]'s clock, and writes checkpoints atomically.
//!
//! ## Uploading a file
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use resumable_core::graph::{Destination, DriveItem, Event, Target};
//! use resumable_core::secret::Secret;
//! use resumable_reqwest::source::FileSource;
//! use resumable_reqwest::{FileCheckpointStore, UploadJob, Uploader};
//!
//! let uploader = Uploader::builder().token(Secret::new("eyJ0eXAi...")).build()?;
//! let job = UploadJob::new(
//!     FileSource::open("big.bin")?,
//!     Destination::new_session(
//!         "https://graph.microsoft.com/v1.0/me/drive/root:/big.bin:/createUploadSession",
//!     ),
//!     Target::DriveItem(DriveItem::new()),
//! )
//! // Survive a crash: run the same job again and it resumes where the server is.
//! .checkpoint(FileCheckpointStore::new("big.bin.checkpoint"));
//! let mut task = uploader.start(job).await?;
//! println!("{}", task.resumption());
//! while let Some(event) = task.next().await {
//!     match event {
//!         Event::Acknowledged { confirmed, total, .. } => println!("{confirmed}/{total}"),
//!         Event::RetryScheduled { reason, delay, .. } => println!("retry in {delay:?}: {reason}"),
//!         _ => {}
//!     }
//! }
//! let summary = task.finish().await?;
//! println!("done: {:?}", summary.completion.item);
//! # Ok(()) }
//! ```
//!
//! ## Uploading to a WOPI host
//!
//! The same [`Uploader`] runs [`WopiJob`]s: the source is hashed first (SpookyHash V2, the
//! `FullFile` ChunkId, streamed a block at a time), then the WOPI engine's ranges go out in
//! order, each one's chunk bytes read from the source as it is sent.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use resumable_core::secret::Secret;
//! use resumable_reqwest::source::FileSource;
//! use resumable_reqwest::{FileCheckpointStore, Uploader, WopiJob};
//!
//! let job = WopiJob::new(
//!     FileSource::open("report.docx")?,
//!     "https://host.example/wopi/files/42?access_token=eyJ0eXAi...",
//! )
//! .sequence_number(7) // the host's number for the version read
//! .lock(Secret::new("lock-from-LOCK"))
//! .on_hash_progress(|hashed, total| eprintln!("hashing {hashed}/{total}"))
//! .checkpoint(FileCheckpointStore::new("report.docx.checkpoint"));
//! let summary = Uploader::new()?.upload_wopi(job).await?;
//! println!("sequence number now {:?}", summary.completion.sequence_number);
//! # Ok(()) }
//! ```
//!
//! ## Small files in one request
//!
//! A drive item under the upload cutoff (4 MB by default) can skip the session: a
//! [`SimpleJob`] sends it as one `PUT …:/content` with the bearer token, through the same
//! driver loop (retries, `Retry-After`, time limits), and ends only once the item the service
//! answers has the source's size and hashes. [`content_url`](resumable_core::graph::content_url)
//! spells the URL from a folder URL and a relative path.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use resumable_core::graph::{ConflictBehavior, content_url};
//! use resumable_core::secret::Secret;
//! use resumable_reqwest::source::FileSource;
//! use resumable_reqwest::{SimpleJob, Uploader};
//!
//! let uploader = Uploader::builder().token(Secret::new("eyJ0eXAi...")).build()?;
//! let url = content_url("https://graph.microsoft.com/v1.0/me/drive/root:/Backups", "notes/a.txt")?;
//! let job = SimpleJob::new(FileSource::open("notes/a.txt")?, url).on_conflict(ConflictBehavior::Replace);
//! let summary = uploader.upload_simple(job).await?;
//! println!("stored: {}", summary.completion.verification);
//! # Ok(()) }
//! ```
//!
//! ## What the transport guarantees
//!
//! - **No `Authorization` on upload URLs.** Requests the core marks
//!   [`Auth::None`](resumable_core::http::Auth::None) go through a client this crate builds with
//!   no default headers, even when the caller hands in its own client
//!   ([`UploaderBuilder::api_client`]) with an `Authorization` default; that client is used for
//!   bearer requests only.
//! - **Bytes as they are.** No compression, no redirects, `Content-Length` always sent; source
//!   ranges are read by position when sent (again for a retry), a short read is an error, never
//!   zeros.
//! - **Completion proven.** Every block read for sending feeds the core's
//!   [`SourceDigest`](resumable_core::digest::SourceDigest), so the source's QuickXorHash,
//!   CRC-32, SHA-1 and SHA-256 come from the same reads; when the engine waits for them (the service
//!   named the stored file), the driver hands them over, reading only what the sending never
//!   read. An upload ends `Completed` only once the stored file's size and hashes match, and
//!   [`UploadSummary::source_hashes`] carries them (no second pass for a summary).
//! - **Time limits that scale.** Each request's limit comes from its machine
//!   ([`Driven::time_limit`](resumable_core::session::Driven::time_limit): for uploads it
//!   grows with the fragment and shrinks with the measured throughput); an idle limit ([`TimeoutPolicy`]) catches
//!   connections that stop moving.
//! - **Checkpoints that never mislead.** Saved off the executor after each confirmed fragment,
//!   atomically (a [`FileCheckpointStore`] writes, fsyncs and renames; a [`CheckpointStore`] of
//!   your own, say a database row, promises the same); a checkpoint whose source changed restarts in a new
//!   session; a damaged one restarts; one of another upload is refused.
//! - **A bandwidth limit for the whole uploader.** With
//!   [`UploaderBuilder::rate_limit`], request bodies of all its uploads draw from one
//!   [`RateLimit`] (a token bucket holding 50 ms of the rate), so concurrent uploads share the
//!   limit, as `rclone --bwlimit` users expect, and the rate holds within a few percent over
//!   seconds.
//! - **Retries the caller can veto.** A job's [`should_retry`](job::Job::should_retry) hook
//!   sees each retry the engine scheduled; declining ends the upload as failed (not
//!   cancelled), the session and checkpoint kept for a later resume.
//! - **Traced, never a secret.** A span per upload and per request, events for answers,
//!   retries, resyncs, lost sessions, the end (see [Tracing](#tracing)); URLs appear as their
//!   origin only, tokens never.
//! - **Tokens refreshed once on 401** through the caller's [`TokenProvider`](token::TokenProvider).
//! - **Cancel on drop.** Dropping an [`UploadTask`] before its end deletes the session (a WOPI
//!   session cannot be deleted: the host lets it expire).
//!
//! ## Tracing
//!
//! The transport reports to [`tracing`] (install any subscriber to see it):
//!
//! | what | level | fields |
//! |---|---|---|
//! | span `upload` | info | `protocol` (`graph`, `wopi`, `tus`, `ietf-resumable-upload`), `total` (bytes), `destination` (scheme and host only) |
//! | span `request` | debug | `method`, `kind`, `content_range` (Graph) or `offset` (tus), `len`; when answered `status`, `elapsed_ms` |
//! | event `answer` / `no answer` | debug | `status`, or `error` and `detail`; `elapsed_ms` |
//! | event `retry scheduled` | info | `attempt` (since the last progress), `cause`, `delay_ms`, `declined` (by the job's hook) |
//! | events `resynchronised`, `session replaced`, `session lost`, `upload completed`, `upload cancelled`, `upload stopped` | info | what each counts |
//! | event `upload failed` | warn | `cause` |
//!
//! Never a secret: a URL shows only its origin, no header but `Content-Range` and
//! `Upload-Offset` is read, and causes are the engine's own texts, which redact URLs
//! ([`SecretUrl`](resumable_core::secret::SecretUrl)) and never hold tokens or locks.
//!
//! ## Other machines
//!
//! [`driver::drive`] is the loop itself, generic over any `StateMachine` that also implements
//! [`Driven`](resumable_core::session::Driven); [`UploadTask`] runs any machine that also
//! implements [`driver::TaskMachine`]: the Graph upload, and the WOPI upload as [`WopiTask`].
//! The [`driver`] module holds what a loop of your own is built from.
//!
//! ## Workbook sessions
//!
//! [`workbook::WorkbookSession`] opens a Graph workbook session and keeps it alive in the
//! background (refreshing it when the caller is quiet, replacing it when the service drops it),
//! sends the caller's workbook requests under it, and closes it on `close()` or drop.
//!
//! ## Where things are
//!
//! | path | holds |
//! |---|---|
//! | the crate root | [`Uploader`] and its [`UploaderBuilder`], the jobs ([`UploadJob`], [`WopiJob`], [`SimpleJob`]), the running [`UploadTask`] ([`WopiTask`]), outcomes ([`UploadSummary`], [`WopiSummary`], [`UploadStats`], [`UploadFailure`], [`FailureCause`], [`StartError`]), the checkpoint stores ([`CheckpointStore`], the trait; [`FileCheckpointStore`], the default), [`TimeoutPolicy`], [`RateLimit`] |
//! | [`job`] | [`Job`](job::Job), the one type behind both jobs, and its protocols ([`Graph`](job::Graph), [`Wopi`](job::Wopi)) |
//! | [`source`] | where the bytes come from: the [`Source`](source::Source) trait, [`FileSource`](source::FileSource), [`BytesSource`](source::BytesSource) |
//! | [`token`] | bearer tokens: [`TokenProvider`](token::TokenProvider), [`TokenError`](token::TokenError) |
//! | [`workbook`] | Graph workbook sessions |
//! | [`driver`] | the driver loop and its pieces, for a loop of your own |
//!
//! Types of the core (destinations, targets, events, configurations, secrets) are used from
//! [`resumable_core`], never re-exported here.
//!
//! ## Features
//!
//! - `rustls` (default): `https://` URLs, through rustls. Without it only `http://` URLs work,
//!   which is enough for loopback tests.
//! - `http2` (default): HTTP/2 where the server offers it.

// An upload's failure is returned once, at its end; its size does not matter, and boxing it
// would only make matching on it clumsier.
#![allow(clippy::result_large_err)]

mod body_stream;
mod checkpoint_writer;
mod chunk_hash;
mod clock;
pub mod driver;
mod exchange;
pub mod job;
mod outcome;
mod prefetch;
mod rate_limit;
mod simple_job;
mod source_digest;
mod start;
mod task;
mod task_machine;
mod timeouts;
pub mod token;
mod trace;
mod tus_job;
mod uploader;
mod wopi_job;
mod wopi_start;
pub mod workbook;

pub use outcome::{FailureCause, UploadFailure, UploadStats, UploadSummary};
pub use rate_limit::RateLimit;
pub use resumable_io::{CheckpointStore, FileCheckpointStore, source};
pub use simple_job::{SimpleJob, SimpleTask};
pub use start::StartError;
pub use task::UploadTask;
pub use timeouts::TimeoutPolicy;
pub use tus_job::{SourceFeed, TusSummary, TusTask};
pub use uploader::{Uploader, UploaderBuilder};
pub use wopi_job::{WopiSummary, WopiTask};

/// One file to upload into a Graph upload session: a source, a
/// [`Destination`](resumable_core::graph::Destination), a
/// [`Target`](resumable_core::graph::Target), and options. Its constructors and setters are
/// those of [`Job`](job::Job): the common options for every protocol, and the Graph ones.
pub type UploadJob = job::Job<job::Graph>;

/// One file to upload to a WOPI host: a source, the file URL, the commit's sequence number and
/// lock, and options. Its constructors and setters are those of [`Job`](job::Job): the common
/// options for every protocol, and the WOPI ones.
pub type WopiJob = job::Job<job::Wopi>;

/// One file to upload to a tus 1.0 server or an IETF resumable-upload draft server: a source,
/// the creation URL, the protocol, metadata, and options. Its constructors and setters are
/// those of [`Job`](job::Job).
pub type TusJob = job::Job<job::Tus>;
