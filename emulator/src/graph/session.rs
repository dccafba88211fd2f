//! Graph upload sessions: their state, their registry, and the forms their answers take.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use resumable_core::range::ByteRange;
use resumable_core::range_set::RangeSet;
use resumable_core::time::UnixTime;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::drive::ConflictBehavior;
use super::path::DriveTarget;
use crate::clock::{deadline_after, wall_after};
use crate::config::RangeForm;
use crate::slots::SessionSlots;
use crate::storage::{Finished, PositionalSink, Protocol, SequentialSink, remove_part};

/// Gaps a print session can track. Each out-of-order fragment can split one gap in two; a client
/// that scatters more than this many islands gets `416` (documented limit of the emulator).
pub(crate) const PRINT_GAP_CAPACITY: usize = 1024;

/// What a session uploads.
#[derive(Clone, Debug)]
pub(crate) enum Variant {
    Drive {
        target: DriveTarget,
        conflict: ConflictBehavior,
        defer_commit: bool,
    },
    Print {
        document: String,
        name: Option<String>,
        content_type: Option<String>,
    },
    Mail {
        message: String,
        name: String,
    },
}

impl Variant {
    pub(crate) fn protocol(&self) -> Protocol {
        match self {
            Variant::Drive { .. } => Protocol::GraphDrive,
            Variant::Print { .. } => Protocol::GraphPrint,
            Variant::Mail { .. } => Protocol::GraphMail,
        }
    }

    /// The query parameter that carries the token, as each service names it (SPEC 1.1).
    pub(crate) fn token_param(&self) -> &'static str {
        match self {
            Variant::Drive { .. } => "tempauth",
            Variant::Print { .. } => "tempauthtoken",
            Variant::Mail { .. } => "authtoken",
        }
    }
}

/// The received bytes of a session.
pub(crate) enum Content {
    /// Drive items and mail attachments: in order. `None` while a fragment is being written.
    Sequential(Option<SequentialSink>),
    /// Print documents: any order.
    Positional {
        sink: Option<PositionalSink>,
        missing: Box<RangeSet<PRINT_GAP_CAPACITY>>,
        in_flight: Vec<ByteRange>,
    },
    /// Every byte received; waiting for a commit (deferred, or after a `409`). The bytes are in
    /// the session's part file.
    Complete(Finished),
}

/// One Graph upload session.
pub(crate) struct GraphSession {
    pub(crate) ordinal: u64,
    pub(crate) id: String,
    pub(crate) token: String,
    pub(crate) variant: Variant,
    /// The file size: declared at creation or fixed by the first fragment.
    pub(crate) total: Option<u64>,
    /// Bytes received in order (drive, mail).
    pub(crate) position: u64,
    pub(crate) content: Content,
    /// The part file the content is written to (none when content is discarded). It is created
    /// by the first write, so it may not exist yet.
    pub(crate) part: Option<PathBuf>,
    pub(crate) lifetime: Duration,
    /// When the session was created (wall clock).
    pub(crate) created_wall: UnixTime,
    pub(crate) expires_at: Instant,
    pub(crate) expires_wall: UnixTime,
    /// Set when the session is gone for good (expired early, cancelled, committed).
    pub(crate) ended: bool,
}

impl GraphSession {
    /// Whether the session can no longer be used.
    pub(crate) fn is_gone(&self, now: Instant) -> bool {
        self.ended || now >= self.expires_at
    }

    /// Pushes the expiry `lifetime` from now (creation and every accepted fragment).
    pub(crate) fn extend(&mut self) {
        self.expires_at = deadline_after(self.lifetime);
        self.expires_wall = wall_after(self.lifetime);
    }

    /// Ends the session and gives up its bytes: answers the part file to remove. Whoever ends a
    /// session this way removes the file; a request still writing to it (its writer is out)
    /// sees `ended` when it comes back and removes the file again, in case it wrote after.
    pub(crate) fn discard(&mut self) -> Option<PathBuf> {
        self.ended = true;
        self.part.clone()
    }

    /// Whether the last byte has arrived and the content is being finished (its sink is out).
    pub(crate) fn finishing(&self) -> bool {
        self.total == Some(self.position) && matches!(self.content, Content::Sequential(None))
    }

    /// Whether every byte has arrived.
    pub(crate) fn all_received(&self) -> bool {
        matches!(self.content, Content::Complete(_)) || self.finishing()
    }

    /// The missing ranges, as the session's variant writes them.
    pub(crate) fn expected_ranges(&self, drive_form: RangeForm) -> Vec<String> {
        if self.all_received() {
            return Vec::new();
        }
        match &self.content {
            Content::Positional { missing, .. } => {
                missing.iter().map(|gap| gap.to_string()).collect()
            }
            _ => self.ranges_from(self.position, drive_form),
        }
    }

    /// The ranges of an in-order upload that lacks everything from `from` on, as the variant
    /// writes them.
    fn ranges_from(&self, from: u64, drive_form: RangeForm) -> Vec<String> {
        match &self.variant {
            Variant::Mail { .. } => vec![from.to_string()],
            Variant::Drive { .. } => match (drive_form, self.total) {
                (RangeForm::Closed, Some(total)) if total > from => {
                    vec![format!("{from}-{}", total - 1)]
                }
                _ => vec![format!("{from}-")],
            },
            Variant::Print { .. } => vec![format!("{from}-")],
        }
    }

    /// The status body (`GET {uploadUrl}` and in-progress fragment answers). Mail writes
    /// PascalCase names, the others camelCase.
    pub(crate) fn status_json(&self, drive_form: RangeForm) -> Value {
        self.status_json_with(self.expected_ranges(drive_form))
    }

    /// A status body that claims the upload lacks everything from `from` on, whatever it
    /// really lacks (the lie of `skip-ahead`).
    pub(crate) fn status_json_claiming(&self, from: u64, drive_form: RangeForm) -> Value {
        self.status_json_with(self.ranges_from(from, drive_form))
    }

    fn status_json_with(&self, ranges: Vec<String>) -> Value {
        let expiry = self.expires_wall.to_string();
        match self.variant {
            Variant::Mail { .. } => json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.uploadSession",
                "ExpirationDateTime": expiry,
                "NextExpectedRanges": ranges,
            }),
            _ => json!({
                "expirationDateTime": expiry,
                "nextExpectedRanges": ranges,
            }),
        }
    }

    /// The creation answer body.
    pub(crate) fn created_json(&self, upload_url: &str, drive_form: RangeForm) -> Value {
        let ranges = match self.variant {
            // Print answers the closed form on creation (SPEC 1.2); mail and drive `0-`.
            Variant::Print { .. } => self.expected_ranges(drive_form),
            _ => vec!["0-".to_owned()],
        };
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.uploadSession",
            "uploadUrl": upload_url,
            "expirationDateTime": self.expires_wall.to_string(),
            "nextExpectedRanges": ranges,
        })
    }
}

/// The live Graph upload sessions, by id, each holding one of the emulator's session slots.
///
/// Lock order: the map's lock is never held while a session is locked (and the other way
/// round): look a session up, let go of the map, then lock the session.
pub(crate) struct GraphSessions {
    sessions: Mutex<HashMap<String, Arc<Mutex<GraphSession>>>>,
    completed: Mutex<HashMap<String, Completed>>,
    slots: Arc<SessionSlots>,
}

/// What is kept of a completed upload for one session lifetime: enough to recognise a resend
/// of its bytes (the commonest retry, after the answer to the last fragment was lost), which
/// answers `404` like any request on an ended session but counts as bytes received twice.
struct Completed {
    token: String,
    token_param: &'static str,
    total: u64,
    forget_at: Instant,
}

impl GraphSessions {
    pub(crate) fn new(slots: Arc<SessionSlots>) -> Self {
        GraphSessions {
            sessions: Mutex::new(HashMap::new()),
            completed: Mutex::new(HashMap::new()),
            slots,
        }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<Mutex<GraphSession>>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a session; the caller has taken a slot for it.
    pub(crate) fn insert(&self, session: GraphSession) -> Arc<Mutex<GraphSession>> {
        let id = session.id.clone();
        let session = Arc::new(Mutex::new(session));
        self.map().insert(id, session.clone());
        session
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Mutex<GraphSession>>> {
        self.map().get(id).cloned()
    }

    /// Forgets a session (once: its slot is given back when it leaves the map).
    pub(crate) fn remove(&self, id: &str) {
        if self.map().remove(id).is_some() {
            self.slots.release();
        }
    }

    fn completed(&self) -> MutexGuard<'_, HashMap<String, Completed>> {
        self.completed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets a session whose upload completed with `total` bytes, remembering enough of it to
    /// recognise a resend of those bytes for one more session lifetime.
    pub(crate) fn complete(&self, session: &Mutex<GraphSession>, total: u64) {
        let (id, completed) = {
            let guard = lock(session);
            let completed = Completed {
                token: guard.token.clone(),
                token_param: guard.variant.token_param(),
                total,
                forget_at: deadline_after(guard.lifetime),
            };
            (guard.id.clone(), completed)
        };
        self.remove(&id);
        self.completed().insert(id, completed);
    }

    /// How many of a fragment's bytes the completed upload `id` already holds: all of them when
    /// the URL's token is the upload's and `range` lies within its `total`, else none.
    pub(crate) fn resent_bytes(&self, id: &str, query: &str, range: ByteRange, total: u64) -> u64 {
        let completed = self.completed();
        let Some(upload) = completed.get(id) else {
            return 0;
        };
        let token = super::query_value(query, upload.token_param);
        let same = token.as_deref() == Some(upload.token.as_str())
            && total == upload.total
            && range.end() <= total;
        if same { range.len() } else { 0 }
    }

    /// Ends a session that did not complete (cancelled, expired): forgets it and removes its
    /// part file. Answers whether this call ended it; a session that had already ended (a
    /// completion owns its part file now) is only forgotten.
    pub(crate) fn retire(&self, session: &Mutex<GraphSession>) -> bool {
        let (id, ended_here, part) = {
            let mut guard = lock(session);
            if guard.ended {
                (guard.id.clone(), false, None)
            } else {
                (guard.id.clone(), true, guard.discard())
            }
        };
        self.remove(&id);
        if let Some(part) = part {
            remove_part(&part);
        }
        ended_here
    }

    /// Retires every session that is gone at `now`, and forgets completed uploads whose time
    /// is up; answers how many sessions went.
    pub(crate) fn sweep(&self, now: Instant) -> usize {
        self.completed().retain(|_, upload| now < upload.forget_at);
        let all: Vec<_> = self.map().values().cloned().collect();
        let mut swept = 0;
        for session in all {
            if lock(&session).is_gone(now) {
                self.retire(&session);
                swept += 1;
            }
        }
        swept
    }

    /// When the first live session expires.
    pub(crate) fn earliest_expiry(&self) -> Option<Instant> {
        let all: Vec<_> = self.map().values().cloned().collect();
        all.iter().map(|session| lock(session).expires_at).min()
    }
}

/// Locks a session, surviving a poisoned lock (a panicking handler must not wedge a session).
pub(crate) fn lock(session: &Mutex<GraphSession>) -> MutexGuard<'_, GraphSession> {
    session.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(variant: Variant, content: Content, total: u64, position: u64) -> GraphSession {
        GraphSession {
            ordinal: 1,
            id: "s".into(),
            token: "t".into(),
            variant,
            total: Some(total),
            position,
            content,
            part: None,
            lifetime: Duration::from_secs(60),
            created_wall: UnixTime::from_secs(0),
            expires_at: Instant::now(),
            expires_wall: UnixTime::from_secs(0),
            ended: false,
        }
    }

    #[test]
    fn each_variant_writes_its_own_range_form() {
        let drive = Variant::Drive {
            target: DriveTarget {
                drive: "me/drive".into(),
                parent: "root:".into(),
                name: "a".into(),
            },
            conflict: ConflictBehavior::Fail,
            defer_commit: false,
        };
        let s = session(drive, Content::Sequential(None), 100, 26);
        assert_eq!(s.expected_ranges(RangeForm::Open), ["26-"]);
        assert_eq!(s.expected_ranges(RangeForm::Closed), ["26-99"]);
        let mail = Variant::Mail {
            message: "m".into(),
            name: "a.pdf".into(),
        };
        let s = session(mail, Content::Sequential(None), 100, 26);
        assert_eq!(s.expected_ranges(RangeForm::Open), ["26"]);
        let json = s.status_json(RangeForm::Open);
        assert_eq!(json["NextExpectedRanges"][0], "26");
        assert!(json.get("nextExpectedRanges").is_none());
        let mut missing = RangeSet::new(100);
        missing
            .mark_received(ByteRange::new(10, 20).unwrap())
            .unwrap();
        let print = Variant::Print {
            document: "d".into(),
            name: None,
            content_type: None,
        };
        let content = Content::Positional {
            sink: None,
            missing: Box::new(missing),
            in_flight: Vec::new(),
        };
        let s = session(print, content, 100, 0);
        assert_eq!(s.expected_ranges(RangeForm::Open), ["0-9", "20-99"]);
        let mut done = session(
            Variant::Print {
                document: "d".into(),
                name: None,
                content_type: None,
            },
            Content::Complete(Finished {
                hashes: resumable_core::digest::SourceHashes::of(&[0; 100]),
                disk_path: None,
            }),
            100,
            100,
        );
        done.ended = false;
        assert!(done.expected_ranges(RangeForm::Open).is_empty());
    }
}
