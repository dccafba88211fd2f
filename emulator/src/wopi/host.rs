//! What the WOPI host keeps: its files' states and its upload sessions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::reader::{ChunkStore, FrameReader};
use crate::slots::SessionSlots;
use crate::storage::remove_part;

/// What the host knows of a file.
#[derive(Clone, Debug, Default)]
pub(crate) struct FileState {
    pub(crate) sequence: u64,
    pub(crate) version: u64,
    /// The size of the last committed content (0 before the first commit).
    pub(crate) size: u64,
    /// The SHA-256 of the last committed content (`None` before the first commit: empty).
    pub(crate) sha256: Option<[u8; 32]>,
    pub(crate) lock: Option<String>,
}

impl FileState {
    /// The SHA-256 of the committed content in base64, as CheckFileInfo's `SHA256` writes it. A
    /// file never committed is empty, and so is its hash's input.
    pub(crate) fn sha256_text(&self) -> String {
        let sha256 = self
            .sha256
            .or_else(|| crate::storage::ContentDigest::new().hashes().sha256)
            .unwrap_or_default();
        resumable_core::digest::Base64::<44>::encode(&sha256)
            .as_str()
            .to_owned()
    }

    /// The version as `X-WOPI-ItemVersion` and CheckFileInfo's `Version` write it.
    pub(crate) fn version_text(&self) -> String {
        format!("v{}", self.version)
    }
}

/// One upload session: the stream received so far and the chunks decoded from it.
pub(crate) struct WopiSession {
    pub(super) ordinal: u64,
    pub(super) file_id: String,
    /// Bytes of the session stream received.
    pub(super) offset: u64,
    /// The offset the host last told the client in an answer that reached it (a lost answer
    /// tells nothing): bytes below it re-sent are bytes the client knew the host had.
    pub(super) confirmed: u64,
    /// Frame reader and chunk store; `None` while a request is writing to them.
    pub(super) stream: Option<(FrameReader, ChunkStore)>,
    /// The store's part file (none when content is discarded); created by the first write.
    pub(super) part: Option<PathBuf>,
    pub(super) idle: Duration,
    pub(super) expires_at: Instant,
    pub(super) ended: bool,
}

impl WopiSession {
    pub(super) fn is_gone(&self, now: Instant) -> bool {
        self.ended || now >= self.expires_at
    }

    /// Gives the stream back after a request, unless the session ended meanwhile (expired,
    /// committed by another request): then the stream is dropped and its part file removed.
    pub(crate) fn restore(session: &Mutex<WopiSession>, stream: (FrameReader, ChunkStore)) {
        let mut guard = lock(session);
        if !guard.ended {
            guard.stream = Some(stream);
            return;
        }
        let part = guard.part.clone();
        drop(guard);
        drop(stream);
        if let Some(part) = part {
            remove_part(&part);
        }
    }
}

/// The WOPI host's files and upload sessions; each session holds one of the emulator's session
/// slots. The map's lock is never held while a session is locked.
pub(crate) struct WopiHost {
    files: Mutex<HashMap<String, FileState>>,
    sessions: Mutex<HashMap<String, Arc<Mutex<WopiSession>>>>,
    slots: Arc<SessionSlots>,
}

impl WopiHost {
    pub(crate) fn new(slots: Arc<SessionSlots>) -> Self {
        WopiHost {
            files: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            slots,
        }
    }

    pub(crate) fn files(&self) -> MutexGuard<'_, HashMap<String, FileState>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn sessions(&self) -> MutexGuard<'_, HashMap<String, Arc<Mutex<WopiSession>>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The live session `token` of `file_id`; an expired one is retired on the way.
    pub(crate) fn session(&self, token: &str, file_id: &str) -> Option<Arc<Mutex<WopiSession>>> {
        let session = self.sessions().get(token).cloned()?;
        let (gone, same_file) = {
            let guard = lock(&session);
            (guard.is_gone(Instant::now()), guard.file_id == file_id)
        };
        if gone {
            self.discard(token);
            return None;
        }
        same_file.then_some(session)
    }

    /// Forgets a committed session (the commit owns its stream and part file now). Answers
    /// `false` if it had already ended (expired while the commit was checked).
    pub(crate) fn end(&self, token: &str) -> bool {
        let removed = self.sessions().remove(token);
        let Some(session) = removed else {
            return false;
        };
        self.slots.release();
        let mut guard = lock(&session);
        let was_live = !guard.ended;
        guard.ended = true;
        was_live
    }

    /// Ends a session that was not committed (expired): forgets it and removes its part file. A
    /// request still writing to it removes the file again when it comes back.
    pub(crate) fn discard(&self, token: &str) {
        let removed = self.sessions().remove(token);
        let Some(session) = removed else {
            return;
        };
        self.slots.release();
        let part = {
            let mut guard = lock(&session);
            guard.ended = true;
            guard.part.clone()
        };
        if let Some(part) = part {
            remove_part(&part);
        }
    }

    /// Discards every session that is gone at `now`; answers how many.
    pub(crate) fn sweep(&self, now: Instant) -> usize {
        let all: Vec<_> = self
            .sessions()
            .iter()
            .map(|(token, session)| (token.clone(), session.clone()))
            .collect();
        let mut swept = 0;
        for (token, session) in all {
            if lock(&session).is_gone(now) {
                self.discard(&token);
                swept += 1;
            }
        }
        swept
    }

    /// When the first live session expires.
    pub(crate) fn earliest_expiry(&self) -> Option<Instant> {
        let all: Vec<_> = self.sessions().values().cloned().collect();
        all.iter().map(|session| lock(session).expires_at).min()
    }
}

pub(crate) fn lock(session: &Mutex<WopiSession>) -> MutexGuard<'_, WopiSession> {
    session.lock().unwrap_or_else(|e| e.into_inner())
}
