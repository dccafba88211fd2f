//! What to upload and how: the target (drive item, print document, mail attachment), its
//! conflict behaviour and deferred commit, fragment sizes, retry and session policies, the seed.
//!
//! A configuration is part of every [`Checkpoint`](super::Checkpoint), so it is serialisable and
//! holds no secrets and no clock readings.

use alloc::string::String;
use core::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chunk::{ChunkPlanner, FragmentRule, FragmentSizing};
use crate::retry::RetryPolicy;
use crate::time::Duration;

use super::error::{ConfigError, TargetKind};

/// What the service does when the file name is taken (`@microsoft.graph.conflictBehavior`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConflictBehavior {
    /// Refuse: the last fragment answers `409 Conflict` (the service default).
    Fail,
    /// Overwrite the existing file.
    Replace,
    /// Keep both: the service picks a new name (`big 1.bin`).
    Rename,
}

impl ConflictBehavior {
    /// The value as Graph spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConflictBehavior::Fail => "fail",
            ConflictBehavior::Replace => "replace",
            ConflictBehavior::Rename => "rename",
        }
    }
}

impl fmt::Display for ConflictBehavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A OneDrive / SharePoint drive item (SPEC 1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DriveItem {
    /// `item.name`; `None` leaves the name the creation URL gives.
    pub name: Option<String>,
    /// `item.@microsoft.graph.conflictBehavior`; `None` leaves the service default (`fail`).
    pub conflict: Option<ConflictBehavior>,
    /// `deferCommit`: the last fragment leaves the bytes uncommitted until
    /// [`Upload::commit`](super::Upload::commit).
    pub defer_commit: bool,
    /// `if-match` sent with the session creation (an eTag the existing item must have).
    pub if_match: Option<String>,
    /// `if-none-match` sent with the session creation.
    pub if_none_match: Option<String>,
}

impl DriveItem {
    /// A drive item with the service's defaults.
    ///
    /// ```
    /// use resumable_core::graph::{ConflictBehavior, DriveItem};
    /// let item = DriveItem::new().named("big.bin").on_conflict(ConflictBehavior::Rename);
    /// assert_eq!(item.name.as_deref(), Some("big.bin"));
    /// ```
    pub fn new() -> Self {
        DriveItem::default()
    }

    /// Sets `item.name`.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the conflict behaviour.
    pub fn on_conflict(mut self, conflict: ConflictBehavior) -> Self {
        self.conflict = Some(conflict);
        self
    }

    /// Asks for a deferred commit.
    pub fn deferred(mut self) -> Self {
        self.defer_commit = true;
        self
    }
}

/// A Universal Print document (SPEC 1.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PrintDocument {
    /// `properties.documentName`.
    pub document_name: String,
    /// `properties.contentType`, such as `application/pdf`.
    pub content_type: String,
}

impl PrintDocument {
    /// A print document.
    pub fn new(document_name: impl Into<String>, content_type: impl Into<String>) -> Self {
        PrintDocument {
            document_name: document_name.into(),
            content_type: content_type.into(),
        }
    }
}

/// An Outlook mail attachment (SPEC 1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MailAttachment {
    /// `AttachmentItem.name`.
    pub name: String,
    /// `AttachmentItem.contentType`, if given.
    pub content_type: Option<String>,
    /// `AttachmentItem.isInline`.
    pub is_inline: bool,
}

impl MailAttachment {
    /// A file attachment called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        MailAttachment {
            name: name.into(),
            content_type: None,
            is_inline: false,
        }
    }
}

/// Where the bytes go: decides the creation body, the fragment rule and how many fragments may be
/// in flight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Target {
    /// A drive item: fragments in order, one at a time, 320 KiB multiples.
    DriveItem(DriveItem),
    /// A print document: fragments in any order, up to 4 at once, each under 10 MB.
    PrintDocument(PrintDocument),
    /// A mail attachment: fragments in order, one at a time, at most 4 MB.
    MailAttachment(MailAttachment),
}

/// The largest mail attachment an upload session takes: 150 MB. Read in decimal megabytes, the
/// smaller reading, so that no service that holds to either reading refuses a file this engine
/// accepted (the 4 MB fragment limit is read the same way).
pub const MAIL_ATTACHMENT_MAX: u64 = 150_000_000;

impl Target {
    /// The fragment rule of the target.
    pub const fn rule(&self) -> FragmentRule {
        match self {
            Target::DriveItem(_) => FragmentRule::GRAPH_DRIVE,
            Target::PrintDocument(_) => FragmentRule::GRAPH_PRINT,
            Target::MailAttachment(_) => FragmentRule::GRAPH_ATTACHMENT,
        }
    }

    /// What the upload creates.
    pub const fn kind(&self) -> TargetKind {
        match self {
            Target::DriveItem(_) => TargetKind::DriveItem,
            Target::PrintDocument(_) => TargetKind::PrintDocument,
            Target::MailAttachment(_) => TargetKind::MailAttachment,
        }
    }

    /// Whether fragments must go strictly in order, one at a time.
    pub const fn is_sequential(&self) -> bool {
        !matches!(self, Target::PrintDocument(_))
    }

    /// The deferred-commit flag (drive items only).
    pub fn defer_commit(&self) -> bool {
        matches!(self, Target::DriveItem(item) if item.defer_commit)
    }

    /// The default preferred fragment size: 10 MiB for drives (Microsoft's advice), 5 MB for
    /// print (25 × the recommended 200 KB), 4 MB for mail (the maximum).
    pub const fn default_fragment_size(&self) -> u64 {
        match self {
            Target::DriveItem(_) => 32 * 327_680,
            Target::PrintDocument(_) => 5_000_000,
            Target::MailAttachment(_) => 4_000_000,
        }
    }

    /// The JSON body of the `createUploadSession` request for a `total`-byte file.
    ///
    /// ```
    /// use resumable_core::graph::{DriveItem, MailAttachment, Target};
    /// let drive = Target::DriveItem(DriveItem::new().named("a.bin"));
    /// assert_eq!(&drive.create_body(5)[..],
    ///     br#"{"deferCommit":false,"item":{"fileSize":5,"name":"a.bin"}}"#);
    /// let mail = Target::MailAttachment(MailAttachment::new("x.pdf"));
    /// assert_eq!(&mail.create_body(7)[..],
    ///     br#"{"AttachmentItem":{"attachmentType":"file","name":"x.pdf","size":7}}"#);
    /// ```
    pub fn create_body(&self, total: u64) -> Bytes {
        let mut root = Map::new();
        match self {
            Target::DriveItem(item) => {
                let mut fields = Map::new();
                if let Some(conflict) = item.conflict {
                    fields.insert(
                        "@microsoft.graph.conflictBehavior".into(),
                        conflict.as_str().into(),
                    );
                }
                if let Some(name) = &item.name {
                    fields.insert("name".into(), name.as_str().into());
                }
                fields.insert("fileSize".into(), total.into());
                root.insert("item".into(), Value::Object(fields));
                root.insert("deferCommit".into(), item.defer_commit.into());
            }
            Target::PrintDocument(doc) => {
                let mut fields = Map::new();
                fields.insert("documentName".into(), doc.document_name.as_str().into());
                fields.insert("contentType".into(), doc.content_type.as_str().into());
                fields.insert("size".into(), total.into());
                root.insert("properties".into(), Value::Object(fields));
            }
            Target::MailAttachment(mail) => {
                let mut fields = Map::new();
                fields.insert("attachmentType".into(), "file".into());
                fields.insert("name".into(), mail.name.as_str().into());
                fields.insert("size".into(), total.into());
                if let Some(content_type) = &mail.content_type {
                    fields.insert("contentType".into(), content_type.as_str().into());
                }
                if mail.is_inline {
                    fields.insert("isInline".into(), true.into());
                }
                root.insert("AttachmentItem".into(), Value::Object(fields));
            }
        }
        // Serialising a map of strings, numbers and booleans cannot fail.
        Bytes::from(serde_json::to_vec(&Value::Object(root)).unwrap_or_default())
    }
}

/// What to do when an upload session is lost (404 after retries, or expired).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionLoss {
    /// Create a new session and upload the whole file again. A Graph session cannot be continued
    /// from an offset in another session, so this is the only way on.
    StartOver,
    /// Stop with [`UploadError::SessionLost`](super::UploadError::SessionLost).
    Fail,
}

/// How the engine treats lost sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPolicy {
    /// How many `404`s on a session are retried (busy SharePoint sites answer 404 for a
    /// moment) before the session counts as lost.
    pub not_found_retries: u32,
    /// The wait before each of those retries.
    pub not_found_delay: Duration,
    /// The most sessions one upload may create (the first included).
    pub max_sessions: u32,
    /// What a lost session leads to.
    pub on_loss: SessionLoss,
    /// A session whose expiry is this close counts as expired: a fragment sent in its last
    /// moments could arrive after it. Never more than a quarter of the lifetime the server
    /// granted.
    pub expiry_margin: Duration,
    /// Answers that break the protocol (an item before the last byte, ranges claiming bytes
    /// never sent) tolerated before giving up on the service. Each one leads to asking the
    /// service where it is.
    #[serde(default = "default_max_violations")]
    pub max_violations: u32,
    /// Times a session may lose bytes it had confirmed before the upload gives up on it.
    #[serde(default = "default_max_regressions")]
    pub max_regressions: u32,
    /// The send budget of one session: at most this many times the file, plus four of the
    /// largest fragments, plus the bytes the session confirmed, go into one session (retries
    /// and re-sends included). A session that has not kept the file by then is given up on. A
    /// new session has a budget of its own.
    #[serde(default = "default_send_budget_files")]
    pub send_budget_files: u32,
}

const fn default_max_violations() -> u32 {
    3
}

const fn default_max_regressions() -> u32 {
    3
}

const fn default_send_budget_files() -> u32 {
    2
}

impl Default for SessionPolicy {
    /// 3 retries 5 s apart, 3 sessions, start over, a 10 s expiry margin, 3 protocol
    /// violations, 3 regressions, and a send budget of twice the file per session.
    fn default() -> Self {
        SessionPolicy {
            not_found_retries: 3,
            not_found_delay: Duration::from_secs(5),
            max_sessions: 3,
            on_loss: SessionLoss::StartOver,
            expiry_margin: Duration::from_secs(10),
            max_violations: default_max_violations(),
            max_regressions: default_max_regressions(),
            send_budget_files: default_send_budget_files(),
        }
    }
}

/// Everything an [`Upload`](super::Upload) needs to know besides its URLs.
///
/// ```
/// use resumable_core::chunk::FragmentSizing;
/// use resumable_core::graph::{DriveItem, Target, UploadConfig};
/// let mut config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 4_533_322);
/// config.fragment_size = FragmentSizing::Fixed(327_680 * 4);
/// config.seed = 7;
/// assert!(config.validate().is_ok());
/// config.fragment_size = FragmentSizing::Fixed(1_000_000);
/// assert_eq!(config.validate().unwrap_err().to_string(),
///     "invalid fragment size: fragment size 1000000 is not a multiple of 327680 bytes; try 983040 or 1310720");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UploadConfig {
    /// Where the bytes go.
    pub target: Target,
    /// The file's size in bytes; constant for the whole upload.
    pub total: u64,
    /// How fragment sizes are chosen.
    pub fragment_size: FragmentSizing,
    /// Fragments in flight at once for print documents (1 to 4); drives and mail always use 1.
    pub parallel_fragments: u8,
    /// Backoff and retry budget.
    pub retry: RetryPolicy,
    /// Lost and expired sessions.
    pub session: SessionPolicy,
    /// Seeds the retry jitter, so a run can be replayed exactly.
    pub seed: u64,
}

impl UploadConfig {
    /// A configuration with the target's default fragment size and the default policies.
    pub fn new(target: Target, total: u64) -> Self {
        let fragment_size = FragmentSizing::Fixed(target.default_fragment_size());
        UploadConfig {
            target,
            total,
            fragment_size,
            parallel_fragments: 4,
            retry: RetryPolicy::default(),
            session: SessionPolicy::default(),
            seed: 0,
        }
    }

    /// Checks what can be checked before any request: the file is not empty, fits the target,
    /// and the fragment sizes suit its rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.total == 0 {
            return Err(ConfigError::EmptyFile);
        }
        if matches!(self.target, Target::MailAttachment(_)) && self.total > MAIL_ATTACHMENT_MAX {
            return Err(ConfigError::TooLarge {
                total: self.total,
                max: MAIL_ATTACHMENT_MAX,
            });
        }
        self.fragment_size
            .check(self.target.rule())
            .map_err(ConfigError::FragmentSize)
    }

    /// How many fragments may be in flight at once for this target.
    pub fn max_in_flight(&self) -> usize {
        if self.target.is_sequential() {
            1
        } else {
            usize::from(self.parallel_fragments.clamp(1, 4))
        }
    }

    /// The largest fragment the planner may choose.
    pub(crate) fn largest_fragment(&self) -> u64 {
        self.fragment_size.largest()
    }

    /// The planner this configuration asks for.
    pub(crate) fn planner(&self) -> ChunkPlanner {
        self.fragment_size.planner(self.target.rule())
    }
}

/// The explicit commit of a session's bytes as a drive item: `PUT {item_url}` with the caller's
/// bearer token and `{"name", "@microsoft.graph.conflictBehavior", "@microsoft.graph.sourceUrl"}`.
///
/// When its answer is lost and the session is gone, the engine reads `item_url` to learn whether
/// it completed, under the `fail` conflict behaviour (with `replace` or `rename` an older file
/// could pass for it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExplicitCommit {
    /// The item's Graph URL, such as
    /// `https://graph.microsoft.com/v1.0/drives/{drive-id}/items/{parent-id}:/{name}:`.
    pub item_url: String,
    /// The file name to commit as.
    pub name: String,
    /// What to do if the name is taken.
    pub conflict: ConflictBehavior,
}

impl ExplicitCommit {
    /// An explicit commit to `item_url` as `name`.
    pub fn new(
        item_url: impl Into<String>,
        name: impl Into<String>,
        conflict: ConflictBehavior,
    ) -> Self {
        ExplicitCommit {
            item_url: item_url.into(),
            name: name.into(),
            conflict,
        }
    }
}
