//! What the tus endpoints keep: the uploads, and the ids of uploads that were deleted or
//! expired, so those answer `410 Gone` rather than `404`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use resumable_core::time::UnixTime;
use tokio::time::Instant;

use crate::clock::{deadline_after, wall_after};
use crate::slots::SessionSlots;
use crate::storage::{SequentialSink, remove_part};

/// The protocol an upload was created in. An upload is reached only through the endpoint of
/// its own protocol: a tus upload's id under `/ietf/files/` is unknown there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Dialect {
    /// tus 1.0.0 under `/tus/files/`.
    Tus,
    /// The IETF draft under `/ietf/files/`.
    Ietf,
}

/// Where an upload's bytes are.
pub(super) enum Content {
    /// Receiving: the stream of the bytes stored so far, between requests.
    Open(SequentialSink),
    /// A request holds the stream (writing to it, or finishing the file).
    Busy,
    /// Every byte arrived; the file is listed in `/_emulator/files`.
    Complete,
    /// Deleted or expired before it completed: the stream and its part file are gone.
    Discarded,
}

/// One upload.
pub(crate) struct HostedUpload {
    /// The fault plan's scope for the requests on this upload.
    pub(super) ordinal: u64,
    pub(super) dialect: Dialect,
    /// Bytes stored.
    pub(super) offset: u64,
    /// The upload's length, once the client said it (tus: at creation or on a later `PATCH`;
    /// the draft: also implied by the append that completes it).
    pub(super) length: Option<u64>,
    /// `Upload-Metadata` as the client sent it (tus), echoed by `HEAD`.
    pub(super) metadata: Option<String>,
    pub(super) content: Content,
    /// The stream's part file (none when content is discarded); created by the first write.
    pub(super) part: Option<PathBuf>,
    /// Real time the upload lives after its creation and after each append that stored bytes.
    pub(super) lifetime: Duration,
    pub(super) expires_at: Instant,
    /// The wall-clock time of `expires_at`, as `Upload-Expires` writes it.
    pub(super) expires_wall: UnixTime,
    /// Whether the upload still holds one of the emulator's session slots (until it completes
    /// or ends).
    pub(super) holds_slot: bool,
    /// Deleted or expired: requests that still hold it find it gone.
    pub(super) ended: bool,
}

impl HostedUpload {
    /// A new upload holding a session slot, whose stream (with part file `part`) is held by
    /// the creation request until it settles the upload.
    pub(super) fn new(
        ordinal: u64,
        dialect: Dialect,
        length: Option<u64>,
        metadata: Option<String>,
        part: Option<PathBuf>,
        lifetime: Duration,
    ) -> Self {
        HostedUpload {
            ordinal,
            dialect,
            offset: 0,
            length,
            metadata,
            part,
            content: Content::Busy,
            lifetime,
            expires_at: deadline_after(lifetime),
            expires_wall: wall_after(lifetime),
            holds_slot: true,
            ended: false,
        }
    }

    /// Whether it can no longer be used at `now`.
    pub(super) fn is_gone(&self, now: Instant) -> bool {
        self.ended || now >= self.expires_at
    }

    /// Whether every byte arrived.
    pub(super) fn is_complete(&self) -> bool {
        matches!(self.content, Content::Complete)
    }

    /// Starts its lifetime again (after an append that stored bytes).
    pub(super) fn renew(&mut self) {
        self.expires_at = deadline_after(self.lifetime);
        self.expires_wall = wall_after(self.lifetime);
    }

    /// The whole seconds it has left at `now`: the draft's `max-age`.
    pub(super) fn max_age(&self, now: Instant) -> u64 {
        self.expires_at.saturating_duration_since(now).as_secs()
    }
}

/// How many deleted or expired ids are remembered for `410`: beyond that the oldest are
/// forgotten and answer `404`, which tus allows as well.
const GONE_REMEMBERED: usize = 65_536;

/// Ids of uploads that were deleted or expired, with their dialect, oldest first.
#[derive(Default)]
struct GoneIds {
    order: VecDeque<(Dialect, String)>,
    set: HashSet<(Dialect, String)>,
}

impl GoneIds {
    /// Remembers that upload `id` of `dialect` is gone, forgetting the oldest beyond
    /// [`GONE_REMEMBERED`].
    fn remember(&mut self, dialect: Dialect, id: &str) {
        let key = (dialect, id.to_owned());
        if !self.set.insert(key.clone()) {
            return;
        }
        self.order.push_back(key);
        if self.order.len() > GONE_REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
    }
}

/// What an upload id names.
pub(crate) enum Lookup {
    /// A live upload (complete or not).
    Found(Arc<Mutex<HostedUpload>>),
    /// An upload that was deleted or expired.
    Gone,
    /// Nothing this endpoint ever had.
    Unknown,
}

/// The uploads of both endpoints. An incomplete upload holds one of the emulator's session
/// slots; a complete one gives it back but stays (for `HEAD`) until its lifetime ends. The
/// map's lock is never held while an upload is locked.
pub(crate) struct TusHost {
    uploads: Mutex<HashMap<String, Arc<Mutex<HostedUpload>>>>,
    gone: Mutex<GoneIds>,
    slots: Arc<SessionSlots>,
}

impl TusHost {
    /// No uploads yet; incomplete uploads will take their slots from `slots`, shared with
    /// every other kind of session.
    pub(crate) fn new(slots: Arc<SessionSlots>) -> Self {
        TusHost {
            uploads: Mutex::new(HashMap::new()),
            gone: Mutex::new(GoneIds::default()),
            slots,
        }
    }

    fn uploads(&self) -> MutexGuard<'_, HashMap<String, Arc<Mutex<HostedUpload>>>> {
        self.uploads.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn gone(&self) -> MutexGuard<'_, GoneIds> {
        self.gone.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new upload (its slot was acquired by the caller).
    pub(super) fn insert(&self, id: String, upload: Arc<Mutex<HostedUpload>>) {
        self.uploads().insert(id, upload);
    }

    /// The upload `id` of `dialect`; an expired one is discarded on the way and answers gone.
    pub(crate) fn lookup(&self, id: &str, dialect: Dialect) -> Lookup {
        let found = self.uploads().get(id).cloned();
        let Some(upload) = found else {
            return if self.gone().set.contains(&(dialect, id.to_owned())) {
                Lookup::Gone
            } else {
                Lookup::Unknown
            };
        };
        let (gone, same) = {
            let guard = lock(&upload);
            (guard.is_gone(Instant::now()), guard.dialect == dialect)
        };
        if !same {
            return Lookup::Unknown;
        }
        if gone {
            self.discard(id);
            return Lookup::Gone;
        }
        Lookup::Found(upload)
    }

    /// Gives back the slot of an upload that completed.
    pub(super) fn release(&self, upload: &mut HostedUpload) {
        if upload.holds_slot {
            upload.holds_slot = false;
            self.slots.release();
        }
    }

    /// Ends upload `id` (deleted or expired): forgets it, remembers its id for `410`, gives its
    /// slot back and removes its part file, unless a request holds its stream (that request
    /// removes the file when it comes back). A completed upload's file stays listed. Answers
    /// whether it was there and had not completed.
    pub(crate) fn discard(&self, id: &str) -> bool {
        let removed = self.uploads().remove(id);
        let Some(upload) = removed else {
            return false;
        };
        let (part, incomplete) = {
            let mut guard = lock(&upload);
            self.gone().remember(guard.dialect, id);
            guard.ended = true;
            self.release(&mut guard);
            let incomplete = !guard.is_complete();
            let part = match std::mem::replace(&mut guard.content, Content::Discarded) {
                Content::Open(sink) => {
                    drop(sink);
                    guard.part.clone()
                }
                // The request holding the stream cleans up when it comes back.
                Content::Busy => {
                    guard.content = Content::Busy;
                    None
                }
                Content::Complete => {
                    guard.content = Content::Complete;
                    None
                }
                Content::Discarded => None,
            };
            (part, incomplete)
        };
        if let Some(part) = part {
            remove_part(&part);
        }
        incomplete
    }

    /// Discards every upload that is gone at `now`; answers how many of them had not
    /// completed (expired uploads; completed ones merely leave).
    pub(crate) fn sweep(&self, now: Instant) -> usize {
        let all: Vec<_> = self
            .uploads()
            .iter()
            .map(|(id, upload)| (id.clone(), upload.clone()))
            .collect();
        all.into_iter()
            .filter(|(_, upload)| lock(upload).is_gone(now))
            .filter(|(id, _)| self.discard(id))
            .count()
    }

    /// When the first upload that holds a session slot expires.
    pub(crate) fn earliest_expiry(&self) -> Option<Instant> {
        let all: Vec<_> = self.uploads().values().cloned().collect();
        all.iter()
            .filter_map(|upload| {
                let guard = lock(upload);
                guard.holds_slot.then_some(guard.expires_at)
            })
            .min()
    }
}

/// Locks an upload; a request that panicked while holding it left it consistent enough to go
/// on with (every change under the lock is a few field writes), so poisoning is ignored.
pub(crate) fn lock(upload: &Mutex<HostedUpload>) -> MutexGuard<'_, HostedUpload> {
    upload.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StorageMode;
    use crate::storage::Storage;

    fn upload(storage: &Storage, lifetime: Duration) -> Arc<Mutex<HostedUpload>> {
        let mut upload = HostedUpload::new(1, Dialect::Tus, Some(10), None, None, lifetime);
        upload.content = Content::Open(storage.sequential());
        Arc::new(Mutex::new(upload))
    }

    #[tokio::test]
    async fn deleted_and_expired_uploads_answer_gone_and_free_their_slots() {
        let storage = Storage::new(&StorageMode::Discard).unwrap();
        let slots = Arc::new(SessionSlots::new(4));
        let host = TusHost::new(slots.clone());
        assert!(slots.acquire() && slots.acquire());
        host.insert("a".into(), upload(&storage, Duration::from_secs(60)));
        host.insert("b".into(), upload(&storage, Duration::ZERO));
        assert!(matches!(host.lookup("a", Dialect::Tus), Lookup::Found(_)));
        assert!(matches!(host.lookup("a", Dialect::Ietf), Lookup::Unknown));
        assert!(matches!(host.lookup("b", Dialect::Tus), Lookup::Gone));
        assert!(host.discard("a"));
        assert!(matches!(host.lookup("a", Dialect::Tus), Lookup::Gone));
        assert!(matches!(host.lookup("zzz", Dialect::Tus), Lookup::Unknown));
        assert_eq!(slots.live(), 0);
    }

    #[test]
    fn the_gone_list_is_bounded() {
        let mut gone = GoneIds::default();
        for i in 0..GONE_REMEMBERED + 10 {
            gone.remember(Dialect::Tus, &i.to_string());
        }
        assert_eq!(gone.order.len(), GONE_REMEMBERED);
        assert!(!gone.set.contains(&(Dialect::Tus, "0".to_owned())));
        assert!(gone.set.contains(&(Dialect::Tus, "10".to_owned())));
    }
}
