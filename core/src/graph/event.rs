//! What an [`Upload`](super::Upload) reports through
//! [`poll_event`](crate::session::StateMachine::poll_event), each with what the caller should do.

use alloc::string::String;
use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::property;

use crate::range::ByteRange;
use crate::time::{Duration, Instant, UnixTime};

use crate::digest::stored::{StoredItem, Verification};

use super::error::{SessionLossCause, UploadError};
use crate::session::failure::{loss_line, retry_line};
use crate::session::{Failure, Violation};

/// The finished upload, as the service described it.
///
/// The item JSON may hold a pre-authenticated link (`@microsoft.graph.downloadUrl`): anyone
/// with it can read the file. So `Debug` prints only the item's size and id, and a checkpoint
/// keeps the item without such links ([`Completion::without_links`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The status of the final answer (`200` or `201`; `200` too when the engine confirmed the
    /// item itself after a lost answer).
    pub status: u16,
    /// The item JSON (drive item, print document), if the answer had a body. May hold a
    /// pre-authenticated download link: do not log it whole.
    pub item: Option<String>,
    /// The `Location` header (mail attachments), if the answer had one.
    pub location: Option<String>,
    /// What was checked of the stored file against the source before the upload was called
    /// done (its size, the hashes the service reported); `Display` says it in a phrase such as
    /// `size and quickXorHash checked`.
    #[serde(default)]
    pub verification: Verification,
}

impl Completion {
    /// A completion as an answer gave it, nothing checked yet.
    pub(crate) fn new(status: u16, item: Option<String>, location: Option<String>) -> Self {
        Completion {
            status,
            item,
            location,
            verification: Verification::default(),
        }
    }

    /// The item as typed fields (id, name, size, the hashes reported, web URL), if the answer
    /// had one that reads as a Graph item; the raw JSON stays in [`Completion::item`].
    ///
    /// ```
    /// use resumable_core::digest::stored::HashKind;
    /// use resumable_core::graph::Completion;
    /// let done = Completion {
    ///     status: 201,
    ///     item: Some(
    ///         r#"{"id":"01","name":"a.bin","size":3,"webUrl":"https://contoso.example/a.bin",
    ///             "file":{"hashes":{"quickXorHash":"YQAAAAAAAAAAAAAAAwAAAAAAAAA="}}}"#
    ///             .into(),
    ///     ),
    ///     location: None,
    ///     verification: Default::default(),
    /// };
    /// let item = done.stored_item().unwrap();
    /// assert_eq!((item.id.as_deref(), item.name.as_deref(), item.size), (Some("01"), Some("a.bin"), Some(3)));
    /// assert_eq!(item.hash(HashKind::QuickXor), Some("YQAAAAAAAAAAAAAAAwAAAAAAAAA="));
    /// assert_eq!(item.web_url.as_deref(), Some("https://contoso.example/a.bin"));
    /// ```
    pub fn stored_item(&self) -> Option<StoredItem> {
        StoredItem::parse_graph(self.item.as_deref()?).ok()
    }

    /// The same completion with every pre-authenticated link taken out of the item: properties
    /// whose name ends in `downloadUrl` (`@microsoft.graph.downloadUrl`,
    /// `@content.downloadUrl`), at any depth, any casing. An item that is not JSON is dropped,
    /// since nothing can be said about what it holds. What a checkpoint keeps.
    ///
    /// ```
    /// use resumable_core::graph::Completion;
    /// let done = Completion {
    ///     status: 201,
    ///     item: Some(r#"{"id":"01","@microsoft.graph.downloadUrl":"https://dl/x?tempauth=t"}"#.into()),
    ///     location: None,
    ///     verification: Default::default(),
    /// };
    /// assert_eq!(done.without_links().item.as_deref(), Some(r#"{"id":"01"}"#));
    /// assert!(!format!("{done:?}").contains("tempauth"));
    /// ```
    pub fn without_links(&self) -> Completion {
        let item = self.item.as_deref().and_then(|item| {
            let mut value: Value = serde_json::from_str(item).ok()?;
            strip_links(&mut value);
            serde_json::to_string(&value).ok()
        });
        Completion {
            status: self.status,
            item,
            location: self.location.clone(),
            verification: self.verification.clone(),
        }
    }
}

/// Removes every property whose name ends in `downloadUrl`, at any depth.
fn strip_links(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.retain(|name, _| !name.to_ascii_lowercase().ends_with("downloadurl"));
            object.values_mut().for_each(strip_links);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_links),
        _ => {}
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// The item as its size and id: enough to recognise it, never a link.
        struct ItemSummary<'a>(&'a str);
        impl fmt::Debug for ItemSummary<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let id = serde_json::from_str::<Value>(self.0).ok().and_then(|item| {
                    let object = item.as_object()?;
                    property(object, "id")?.as_str().map(String::from)
                });
                write!(f, "<{} bytes of JSON", self.0.len())?;
                match id {
                    Some(id) => write!(f, ", id {id:?}>"),
                    None => f.write_str(">"),
                }
            }
        }
        f.debug_struct("Completion")
            .field("status", &self.status)
            .field("item", &self.item.as_deref().map(ItemSummary))
            .field("location", &self.location)
            .field("verification", &self.verification)
            .finish()
    }
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A session exists (`number` 1 is the first; more means it was recreated). Persist a
    /// checkpoint now if the upload must survive a crash: it holds the new session URL.
    SessionCreated {
        /// How many sessions this upload has had, this one included.
        number: u32,
        /// When it expires, if the server said.
        expires: Option<UnixTime>,
    },
    /// The server confirmed bytes. Update progress; persist a checkpoint if wanted.
    Acknowledged {
        /// The fragment the answer was for.
        range: ByteRange,
        /// Bytes the server has now.
        confirmed: u64,
        /// The file's size.
        total: u64,
    },
    /// A request failed and will be tried again at `at`. Nothing to do; show it if useful.
    RetryScheduled {
        /// What failed.
        reason: Failure,
        /// When the retry goes out (on the caller's clock).
        at: Instant,
        /// How long from the failure.
        delay: Duration,
    },
    /// The server said where it is; the upload continues from `offset` (its first missing byte).
    /// Nothing to do: the next fragment is read from the source at that offset.
    Resynchronised {
        /// The first byte the server lacks (the total if it lacks none).
        offset: u64,
        /// Bytes the server has.
        confirmed: u64,
    },
    /// The session was lost. If `starting_over`, a new session follows and the upload starts
    /// from byte 0 (reset progress); otherwise [`Event::Failed`] follows.
    SessionLost {
        /// Why.
        cause: SessionLossCause,
        /// Whether a new session is being created.
        starting_over: bool,
    },
    /// All bytes are stored and the session waits for a commit (deferred commit). Call
    /// [`Upload::commit`](super::Upload::commit) (or the explicit commit) before it expires.
    CommitPending {
        /// When the session expires, if known.
        expires: Option<UnixTime>,
    },
    /// The last fragment met a name conflict (`409`). Call
    /// [`Upload::commit_with_source_url`](super::Upload::commit_with_source_url) to store it under
    /// another name or with `replace`, or [`Upload::cancel`](super::Upload::cancel).
    NameConflict,
    /// An answer broke the protocol. The engine asks the service where it is and goes on;
    /// after [`SessionPolicy::max_violations`](super::SessionPolicy::max_violations) of them, or
    /// [`max_regressions`](super::SessionPolicy::max_regressions) regressions, it gives up on the
    /// service. Nothing to do; show it.
    ProtocolViolation(Violation),
    /// A file the service named after a lost answer is not this upload's (its size or a hash
    /// differs, or nothing proves it is): the upload goes on in a new session. Nothing to do.
    NotThisUpload(crate::digest::stored::Mismatch),
    /// The file exists, and its size and hashes (as far as the service reported them) match
    /// the source: [`Completion::verification`] says what was checked. The machine is finished.
    Completed(Completion),
    /// The upload stopped. Show the error (its `Display` says what to do); the machine is finished.
    /// Keep the last checkpoint if the error says to resume.
    Failed(UploadError),
    /// The upload was cancelled. The machine is finished.
    Cancelled,
}

/// One line that says what happened, for a log or a progress display.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::SessionCreated { number: 1, .. } => f.write_str("upload session created"),
            Event::SessionCreated { number, .. } => {
                write!(f, "new upload session created (#{number})")
            }
            Event::Acknowledged {
                confirmed, total, ..
            } => write!(f, "the server confirmed {confirmed} of {total} bytes"),
            Event::RetryScheduled { reason, delay, .. } => retry_line(f, reason, None, *delay),
            Event::Resynchronised { offset, confirmed } => write!(
                f,
                "asked the server where it is: it has {confirmed} bytes, continuing from byte {offset}"
            ),
            Event::SessionLost {
                cause,
                starting_over,
            } => {
                let cause = match cause {
                    SessionLossCause::Expired => "the upload session expired",
                    SessionLossCause::NotFound => "the upload session is gone (404)",
                    SessionLossCause::Unverifiable => {
                        "the upload session holds bytes sent before the interruption, and the file changed since"
                    }
                };
                loss_line(f, cause, *starting_over)
            }
            Event::CommitPending { .. } => f.write_str("all bytes received; committing"),
            Event::NameConflict => f.write_str("the name is taken (409)"),
            Event::ProtocolViolation(violation) => {
                write!(f, "{violation}; asking the service where it is")
            }
            Event::NotThisUpload(mismatch) => write!(
                f,
                "the file found at the destination is not this upload ({mismatch}); uploading again"
            ),
            Event::Completed(_) => f.write_str("completed"),
            Event::Failed(error) => write!(f, "{error}"),
            Event::Cancelled => f.write_str("cancelled; the session was deleted"),
        }
    }
}
