//! # resumable-ureq
//!
//! A blocking transport for [`resumable_core`], for programs without an async runtime: it
//! sends the requests the core's state machines describe over [`ureq`], reads fragment bytes
//! from a [`Source`](source::Source) as they are sent, sleeps until the machines' deadlines,
//! and saves checkpoints atomically. It holds no protocol policy of its own: what to send,
//! when, how long to wait, what an answer means, what to save and when the upload is done are
//! the machines' decisions.
//!
//! - [`Uploader::upload`] runs a Graph upload session ([`UploadJob`]: drive items, print
//!   documents, mail attachments) to its end on the calling thread;
//! - [`Uploader::upload_wopi`] does the same for a WOPI host ([`WopiJob`]);
//! - [`workbook::WorkbookSession`] opens a Graph workbook session and keeps it alive from a
//!   thread of its own while the caller works.
//!
//! ## Uploading a file
//!
//! ```no_run
//! use resumable_core::graph::{DriveItem, Event, Target};
//! use resumable_core::secret::Secret;
//! use resumable_ureq::source::FileSource;
//! use resumable_core::graph::Destination;
//! use resumable_ureq::{FileCheckpointStore, UploadJob, Uploader};
//!
//! let uploader = Uploader::builder().token(Secret::new("eyJ0eXAi...")).build();
//! let mut job = UploadJob::new(
//!     FileSource::open("big.bin")?,
//!     Destination::new_session(
//!         "https://graph.microsoft.com/v1.0/me/drive/root:/big.bin:/createUploadSession",
//!     ),
//!     Target::DriveItem(DriveItem::new()),
//! )
//! // Survive a crash: run the same job again and it resumes where the server is.
//! .checkpoint(FileCheckpointStore::new("big.bin.checkpoint"))
//! .on_progress(|p| eprintln!("{} of {} bytes", p.confirmed, p.total))
//! .on_event(|event| {
//!     if let Event::RetryScheduled { reason, delay, .. } = event {
//!         eprintln!("retry in {delay:?}: {reason}");
//!     }
//! });
//! // Stop it from another thread (or from a callback): the checkpoint is kept to resume.
//! let handle = job.handle();
//! std::thread::spawn(move || {
//!     std::thread::sleep(std::time::Duration::from_secs(3600));
//!     handle.stop();
//! });
//! match uploader.upload(job) {
//!     Ok(summary) => println!("stored: {}", summary.completion.verification),
//!     Err(failure) => eprintln!("{failure}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What the transport does
//!
//! - **One request at a time.** Every request the machine hands out is queued and sent in
//!   order, each one's answer handed in before the next goes out. A machine that hands out
//!   several at once (print documents go four at a time) sees them answered one after another,
//!   as on a slow link: correct, only not concurrent. Use `resumable-reqwest` for concurrency.
//! - **No `Authorization` on upload URLs.** Only requests the machine marks
//!   [`Auth::Bearer`](resumable_core::http::Auth::Bearer) carry the token; user information in
//!   a URL (`user:password@`) is taken out before sending, never turned into a header.
//! - **Bytes as they are.** No compression, no redirects, `Content-Length` on every `PUT` and
//!   `POST`; source ranges are read by position when sent (again for a retry), and a short
//!   read is an error, never zeros. The CRC-32 of the source bytes of each body is reported to
//!   the machine before its answer.
//! - **Completion proven.** Every block read for sending feeds the core's
//!   [`SourceDigest`](resumable_core::digest::SourceDigest); when the machine waits for the
//!   source's hashes, the transport gives them, reading only what the sending never read.
//! - **The machine's time limits.** Each request runs under the limit its machine computed
//!   (for uploads it grows with the body and shrinks with the measured throughput), and under
//!   the idle limit of [`Timeouts`].
//! - **Checkpoints saved atomically** after every event the machine says changes them (a
//!   [`FileCheckpointStore`] writes a temporary file, fsyncs, renames; a [`CheckpointStore`] of
//!   your own, say a database row, promises the same).
//! - **Retries the caller can veto.** A job's `should_retry` hook sees each retry the engine
//!   scheduled ([`RetryAttempt`](resumable_core::session::RetryAttempt)); declining ends the
//!   upload as failed, the session and checkpoint kept to resume.
//! - **Traced.** The same spans and events as `resumable-reqwest` (its crate documentation,
//!   "Tracing", lists them), on the upload's thread: a span per upload (`protocol`, `total`,
//!   `destination` as scheme and host) and per request (`method`, `kind`, `content_range` or
//!   `offset`, `len`, then `status`, `elapsed_ms`); retries, resyncs, lost sessions and the end
//!   at info, failures at warn.
//! - **Secrets stay hidden.** URLs, tokens and session ids print redacted in every `Debug` and
//!   `Display` of this crate, and in its traces. ureq itself logs full URLs (through the `log` crate) at trace
//!   level only: keep `ureq` below trace in logs that others read.
//!
//! ## Features
//!
//! - `rustls` (default): `https://` URLs, through rustls with the webpki roots. Without it only
//!   `http://` works (enough for tests against a loopback emulator).

// An upload's failure is returned once, at its end; its size does not matter, and boxing it
// would only make matching on it clumsier.
#![allow(clippy::result_large_err)]

mod clock;
mod digest;
mod driver;
mod exchange;
mod outcome;
mod plan;
mod trace;
mod tus;
mod upload;
mod wopi;
pub mod workbook;

pub use exchange::Timeouts;
pub use outcome::{Failure, FailureCause, StartError, Stats, Summary};
pub use resumable_io::{CheckpointStore, FileCheckpointStore, source};
pub use tus::TusJob;
pub use upload::{Progress, UploadHandle, UploadJob, Uploader, UploaderBuilder};
pub use wopi::WopiJob;
