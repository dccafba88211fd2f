//! The upload engine: Microsoft Graph upload sessions (drive items, print documents, mail
//! attachments) as a sans-IO state machine, [`Upload`].
//!
//! # Life of an upload
//!
//! 1. **Create the session** ([`State::CreatingSession`]): `POST createUploadSession` with the
//!    target's JSON body (`item`/`conflictBehavior`/`name`/`fileSize`/`deferCommit`, print
//!    `properties`, or the mail `AttachmentItem`) and the caller's bearer token, for this
//!    request only. Or start from a session made elsewhere ([`Upload::continue_session`]) or from
//!    a [`Checkpoint`] ([`Upload::resume`]); both ask the server where it is first.
//! 2. **Upload fragments** ([`State::Uploading`]): `PUT uploadUrl` with `Content-Range` and a
//!    body described as a range of the source ([`Body::Source`](crate::http::Body::Source)), never
//!    with an `Authorization` header. Drives and mail send in order, one at a time; drives end
//!    every fragment but the last on a 320 KiB boundary; print documents keep up to four in
//!    flight.
//! 3. **Resynchronise when unsure** ([`State::Resynchronising`]): after a timeout, a lost
//!    connection, a 5xx, a 416 or a 404, `GET uploadUrl` says which bytes the server has; the
//!    next fragment starts there (skipping or trimming what was already stored).
//! 4. **Wait when told** ([`State::WaitingToRetry`]): `Retry-After` is honoured; blind retries
//!    back off exponentially with seeded jitter inside a budget that refills on progress.
//! 5. **Finish**: the last fragment's answer carries the item ([`State::Completed`]); with a
//!    deferred commit the bytes wait in [`State::CommitPending`] for [`Upload::commit`]; a name
//!    conflict waits in [`State::NameConflict`] for [`Upload::commit_with_source_url`].
//!
//! Sessions expire: the engine knows when from `expirationDateTime` (each answer extends it) and
//! treats the session as gone shortly before, rather than sending into a dead session. A session
//! that is gone (404 after a few delayed retries, or expired) is replaced by a new one and the
//! upload starts over, within [`SessionPolicy::max_sessions`]. Two exceptions: when a request
//! that could have finished the upload went unanswered, the engine first checks whether it did
//! (or reports [`UploadError::CompletionUnconfirmed`]); and when every byte was stored and the
//! upload waited for the caller (a commit, a name conflict), it reports
//! [`UploadError::UncommittedSessionLost`] and stops, since the caller had yet to decide.
//!
//! # Small files: the simple upload
//!
//! A drive item that fits one request (up to [`SIMPLE_UPLOAD_CUTOFF`], 4 MB, by default) can go
//! as one `PUT …:/content` with the whole file and no session: [`SimpleUpload`], driven the
//! same way and ending with the same [`Completion`], proven the same way (size and hashes
//! against the source's). It is also the only way to store an empty file. [`content_url`]
//! and [`content_url_for_session`] spell its URL.
//!
//! The WOPI dialect, [`WopiUpload`](crate::wopi::WopiUpload), lives beside this one in
//! [`wopi`](crate::wopi); both are built from the shared machinery in
//! [`session`](crate::session) (in-flight table, retry schedule, expiry, throughput, checkpoint
//! envelope) and get their [`StateMachine`](crate::session::StateMachine) from it.
//!
//! # Files
//!
//! | file | holds |
//! |---|---|
//! | `upload.rs` | [`Upload`]: its fields, constructors, accessors and commands |
//! | `dialect.rs` | what the dialect decides for the shared machine, and what it answers a transport |
//! | `requests.rs` | the next request |
//! | `handling.rs` | what an answer (or its absence) means |
//! | `session.rs` | the session's account: ranges, expiry, retries, loss |
//! | `verdict.rs` | the verified end: when an answer that names the file proves the upload |
//! | `start.rs` | [`plan_start`]: fresh, resumed or restarted, from a checkpoint |
//! | `simple.rs` | [`SimpleUpload`]: a small file in one `PUT …:/content`, no session, proven like the rest |
//! | `simple_dialect.rs` | what the simple upload decides for the shared machine, and answers a transport |
//! | `item_url.rs` | item, content and session URLs from a folder URL and a relative path ([`content_url`], [`content_url_for_session`]) |
//! | `checkpoint.rs`, `config.rs`, `event.rs`, `error.rs`, `state.rs` | the values of the same names |

mod checkpoint;
mod config;
mod dialect;
mod error;
mod event;
mod handling;
mod item_url;
mod requests;
mod session;
mod simple;
mod simple_dialect;
mod start;
mod state;
mod upload;
mod verdict;

pub use checkpoint::{Checkpoint, Fingerprint, FragmentCrc, Stage, Verified};
pub use config::{
    ConflictBehavior, DriveItem, ExplicitCommit, MAIL_ATTACHMENT_MAX, MailAttachment,
    PrintDocument, SessionLoss, SessionPolicy, Target, UploadConfig,
};
pub use error::{ConfigError, SessionLossCause, TargetKind, UploadError};
pub use event::{Completion, Event};
pub use item_url::{
    ItemUrlError, content_url, content_url_for_session, item_url, item_url_of_content,
    upload_session_url,
};
pub use simple::{SIMPLE_UPLOAD_CUTOFF, SimpleConfig, SimpleSent, SimpleUpload};
pub use start::{Destination, SourceNow, StartPlan, plan_start};
pub use state::State;
pub use upload::Upload;

#[cfg(test)]
mod tests;
